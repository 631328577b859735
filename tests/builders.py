"""Small typed builders for test data: each returns a flushed ORM row with sensible defaults."""

from __future__ import annotations

import itertools
from datetime import date

from sqlalchemy.orm import Session

from yilian.core.clock import utcnow
from yilian.db.models import (
    CareRelationship,
    Consortium,
    ConsortiumMembership,
    Division,
    Institution,
    Resident,
    RoleGrant,
    User,
)
from yilian.identity.passwords import hash_password
from yilian.identity.principal import Grant, Principal
from yilian.identity.roles import Role

_seq = itertools.count(1)
PASSWORD = "secret-pass-123"
_HASH: str | None = None


def _password_hash() -> str:
    global _HASH
    if _HASH is None:
        _HASH = hash_password(PASSWORD)
    return _HASH


def division(session: Session, code: str = "320102", name: str = "测试县", level: str = "county",
             parent_code: str | None = None) -> Division:
    existing = session.get(Division, code)
    if existing:
        return existing
    d = Division(code=code, name=name, level=level, parent_code=parent_code)
    session.add(d)
    session.flush()
    return d


def institution(session: Session, *, code: str | None = None, name: str | None = None, category: str = "A100",
                level: str = "2", division_code: str = "320102", parent_id: int | None = None) -> Institution:
    from yilian.registry.categories import is_primary_care, tier

    division(session, division_code, f"区划{division_code}", "county" if len(division_code) == 6 else "township")
    n = next(_seq)
    inst = Institution(
        code=code or f"T{n:05d}", name=name or f"测试机构{n}", category=category, level=level, grade=None,
        ownership="public", beds=100, division_code=division_code, parent_id=parent_id,
        is_primary_care=is_primary_care(category), tier=tier(category, level), in_county=True,
        created_at=utcnow(),
    )
    session.add(inst)
    session.flush()
    return inst


def consortium(session: Session, *, code: str | None = None, mode: str = "county_community",
               integration: str = "tight", level: str = "county", type_: str = "general",
               lead: Institution | None = None, division_code: str = "320102",
               established_on: date = date(2024, 1, 1)) -> Consortium:
    n = next(_seq)
    division(session, division_code)
    c = Consortium(code=code or f"C{n:05d}", name=f"测试医联体{n}", mode=mode, integration=integration, level=level,
                   type=type_, division_code=division_code, established_on=established_on, created_at=utcnow())
    session.add(c)
    session.flush()
    if lead is not None:
        member(session, c, lead, "lead", established_on)
    return c


def member(session: Session, c: Consortium, inst: Institution, role: str = "member",
           joined_on: date = date(2024, 1, 1), left_on: date | None = None) -> ConsortiumMembership:
    m = ConsortiumMembership(consortium_id=c.id, institution_id=inst.id, role=role, joined_on=joined_on,
                             left_on=left_on)
    session.add(m)
    session.flush()
    return m


def user(session: Session, role: Role = Role.CLINICIAN, *, institution_id: int | None = None,
         consortium_id: int | None = None, division_code: str | None = None,
         username: str | None = None) -> User:
    n = next(_seq)
    u = User(username=username or f"user{n}", display_name=f"用户{n}", password_hash=_password_hash(),
             is_active=True, created_at=utcnow())
    session.add(u)
    session.flush()
    session.add(RoleGrant(user_id=u.id, role=role.value, institution_id=institution_id,
                          consortium_id=consortium_id, division_code=division_code))
    session.flush()
    session.refresh(u)
    return u


def principal(role: Role = Role.CLINICIAN, *, user_id: int | None = None, institution_id: int | None = None,
              consortium_id: int | None = None, division_code: str | None = None) -> Principal:
    return Principal(user_id=user_id, username=f"p-{role.value}", display_name=role.value,
                     grants=(Grant(role, institution_id, consortium_id, division_code),))


def admin() -> Principal:
    return principal(Role.SYSTEM_ADMIN)


def resident(session: Session, *, name: str = "张三", sex: int = 1, birth_date: date = date(1960, 5, 1),
             division_code: str | None = None) -> Resident:
    now = utcnow()
    r = Resident(name=name, sex=sex, birth_date=birth_date, address_division_code=division_code,
                 created_at=now, updated_at=now)
    session.add(r)
    session.flush()
    return r


def relate(session: Session, r: Resident, inst: Institution, kind: str = "registered",
           since: date = date(2024, 1, 1)) -> CareRelationship:
    rel = CareRelationship(resident_id=r.id, institution_id=inst.id, kind=kind, since=since)
    session.add(rel)
    session.flush()
    return rel
