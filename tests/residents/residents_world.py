"""A small world for residents tests: two institutions in one county, their staff, a township.

Plain functions, not fixtures: each test builds what it needs inside its own
rolled-back transaction and can see every name it uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from pydantic import SecretStr
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import builders as b
from yilian.db.models import AuditLog, CareRelationship, Institution, Resident, User
from yilian.identity.principal import Principal
from yilian.identity.roles import Role
from yilian.identity.service import principal_of
from yilian.residents import service
from yilian.residents.idcard import make_id_number
from yilian.residents.schemas import ResidentIn

TOWNSHIP = "320102001"
OTHER_TOWNSHIP = "320102002"


@dataclass
class World:
    inst_a: Institution
    inst_b: Institution
    clin_a_user: User
    clin_b_user: User
    pharm_a_user: User
    admin_user: User

    @property
    def clin_a(self) -> Principal:
        return principal_of(self.clin_a_user)

    @property
    def clin_b(self) -> Principal:
        return principal_of(self.clin_b_user)

    @property
    def pharm_a(self) -> Principal:
        return principal_of(self.pharm_a_user)

    @property
    def admin(self) -> Principal:
        return principal_of(self.admin_user)


def world(session: Session) -> World:
    b.division(session, "320102", "测试区", "county")
    b.division(session, TOWNSHIP, "幸福街道", "township", parent_code="320102")
    b.division(session, OTHER_TOWNSHIP, "和平镇", "township", parent_code="320102")
    inst_a = b.institution(session, name="幸福街道社区卫生服务中心", category="B100", level="1")
    inst_b = b.institution(session, name="和平镇卫生院", category="C210", level="1")
    return World(
        inst_a=inst_a, inst_b=inst_b,
        clin_a_user=b.user(session, Role.CLINICIAN, institution_id=inst_a.id),
        clin_b_user=b.user(session, Role.CLINICIAN, institution_id=inst_b.id),
        pharm_a_user=b.user(session, Role.PHARMACIST, institution_id=inst_a.id),
        admin_user=b.user(session, Role.SYSTEM_ADMIN),
    )


def number(born: date = date(1990, 1, 1), seq: int = 12, sex: int = 1, division6: str = "320102") -> str:
    return make_id_number(division6, born, seq, sex)


def resident_in(**fields: Any) -> ResidentIn:
    for key in ("id_number", "phone", "address_detail"):
        if isinstance(fields.get(key), str):
            fields[key] = SecretStr(fields[key])
    fields.setdefault("name", "王小明")
    return ResidentIn(**fields)


def register(session: Session, actor: Principal, institution_id: int | None = None,
             **fields: Any) -> tuple[Resident, bool]:
    return service.do_register_resident(session, actor, resident_in(**fields), institution_id)


def no_id(session: Session, actor: Principal, name: str = "李四", born: date = date(1950, 3, 3),
          township: str = TOWNSHIP, sex: int = 2) -> Resident:
    r, created = register(session, actor, name=name, sex=sex, birth_date=born, address_division_code=township)
    assert created
    return r


def counts(session: Session) -> tuple[int, int, int]:
    """Rows of the tables a refused registration must leave alone."""
    tables = (Resident, CareRelationship, AuditLog)
    return tuple(session.scalar(select(func.count()).select_from(m)) or 0 for m in tables)  # type: ignore[return-value]
