"""Users, grants, login throttling, tokens and access scope."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import builders as b
from yilian.core.errors import Conflict, Forbidden, RateLimited, Unauthenticated, ValidationFailed
from yilian.db.models import AuditLog, User
from yilian.identity import service
from yilian.identity.passwords import verify_password
from yilian.identity.roles import Perm, Role, parse_role


def test_create_user_hashes_password_and_audits(session: Session) -> None:
    inst = b.institution(session)
    u = service.do_create_user(session, b.admin(), username="doc1", password="long-enough-1", role=Role.CLINICIAN,
                               institution_id=inst.id)
    assert u.password_hash.startswith("$argon2") and "long-enough-1" not in u.password_hash
    assert verify_password(u.password_hash, "long-enough-1")
    audit = session.scalar(select(AuditLog).where(AuditLog.entity == "user", AuditLog.entity_id == str(u.id)))
    assert audit is not None and "password" not in str(audit.after)


@pytest.mark.parametrize(("role", "kw", "code"), [
    (Role.CLINICIAN, {}, "grant_scope_required"),
    (Role.CLINICIAN, {"division_code": "320102"}, "grant_scope_required"),
    (Role.CONSORTIUM_MANAGER, {}, "grant_scope_required"),
    (Role.COMMISSION_OFFICER, {}, "grant_scope_required"),
    (Role.SYSTEM_ADMIN, {"division_code": "320102"}, "grant_scope_unexpected"),
])
def test_grant_scope_must_fit_role(session: Session, role: Role, kw: dict[str, object], code: str) -> None:
    before = session.scalar(select(func.count()).select_from(User))
    with pytest.raises(ValidationFailed) as info:
        service.do_create_user(session, b.admin(), username="x", password="long-enough-1", role=role, **kw)  # type: ignore[arg-type]
    assert info.value.code == code
    assert session.scalar(select(func.count()).select_from(User)) == before


def test_duplicate_username_and_short_password_refused(session: Session) -> None:
    service.do_create_user(session, b.admin(), username="dup", password="long-enough-1", role=Role.SYSTEM_ADMIN)
    with pytest.raises(Conflict):
        service.do_create_user(session, b.admin(), username="dup", password="long-enough-1", role=Role.SYSTEM_ADMIN)
    with pytest.raises(ValidationFailed) as info:
        service.do_create_user(session, b.admin(), username="short", password="short", role=Role.SYSTEM_ADMIN)
    assert info.value.code == "password_too_short"


def test_only_admin_creates_users(session: Session) -> None:
    with pytest.raises(Forbidden):
        service.do_create_user(session, b.principal(Role.COMMISSION_OFFICER, division_code="320102"),
                               username="nope", password="long-enough-1", role=Role.SYSTEM_ADMIN)


def test_unknown_role_refused() -> None:
    with pytest.raises(ValidationFailed) as info:
        parse_role("doctor")
    assert info.value.code == "role_unknown"


def test_login_success_and_throttling(session: Session) -> None:
    u = b.user(session, Role.SYSTEM_ADMIN)
    ok = service.authenticate(session, u.username, b.PASSWORD, "127.0.0.1", 3, 300)
    assert ok.principal is not None and ok.principal.user_id == u.id
    for _ in range(3):
        bad = service.authenticate(session, u.username, "wrong-password", "127.0.0.1", 3, 300)
        assert isinstance(bad.error, Unauthenticated)
    blocked = service.authenticate(session, u.username, b.PASSWORD, "127.0.0.2", 3, 300)
    assert isinstance(blocked.error, RateLimited), "the right password is refused while throttled"


def test_unknown_user_gets_the_same_error(session: Session) -> None:
    out = service.authenticate(session, "nobody", "whatever-pass", "127.0.0.1", 5, 300)
    assert isinstance(out.error, Unauthenticated) and out.error.code == "login_failed"


def test_token_round_trip_and_tamper(session: Session) -> None:
    u = b.user(session, Role.SYSTEM_ADMIN)
    p = service.principal_by_id(session, u.id)
    token = service.issue_token("k" * 32, p)
    assert service.principal_from_token(session, "k" * 32, token, 60).user_id == u.id
    with pytest.raises(Unauthenticated):
        service.principal_from_token(session, "k" * 32, token + "x", 60)
    with pytest.raises(Unauthenticated):
        service.principal_from_token(session, "other-secret" * 3, token, 60)


def test_scope_by_role(session: Session) -> None:
    lead, town, other = b.institution(session), b.institution(session, category="C210", level="unrated"), \
        b.institution(session, division_code="330102")
    c = b.consortium(session, lead=lead)
    b.member(session, c, town)
    clin = b.principal(Role.CLINICIAN, institution_id=town.id)
    mgr = b.principal(Role.CONSORTIUM_MANAGER, consortium_id=c.id)
    officer = b.principal(Role.COMMISSION_OFFICER, division_code="320000")
    on = date(2025, 1, 1)
    assert service.institution_scope(session, clin, Perm.RESIDENT_READ, on) == {town.id}
    assert service.institution_scope(session, mgr, Perm.RESIDENT_READ, on) == {lead.id, town.id}
    officer_scope = service.institution_scope(session, officer, Perm.RESIDENT_READ, on)
    assert officer_scope is not None and {lead.id, town.id} <= officer_scope and other.id not in officer_scope
    assert service.institution_scope(session, b.admin(), Perm.RESIDENT_READ, on) is None


def test_clinician_refused_resident_outside_scope(session: Session) -> None:
    mine, theirs = b.institution(session), b.institution(session)
    r_mine, r_theirs = b.resident(session, name="甲"), b.resident(session, name="乙")
    b.relate(session, r_mine, mine)
    b.relate(session, r_theirs, theirs, kind="treated")
    clin = b.principal(Role.CLINICIAN, institution_id=mine.id)
    service.check_resident_access(session, clin, r_mine.id)
    with pytest.raises(Forbidden) as info:
        service.check_resident_access(session, clin, r_theirs.id)
    assert info.value.code == "resident_out_of_scope"
