"""Identity use cases: users, login with throttling, API tokens, access scope."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.orm import Session

from yilian.core.clock import today_local, utcnow
from yilian.core.errors import (
    Conflict,
    DomainError,
    Forbidden,
    NotFound,
    RateLimited,
    Unauthenticated,
    ValidationFailed,
)
from yilian.core.paging import Page, PageRequest
from yilian.db.models import AuditLog, RoleGrant, User
from yilian.identity import audit, repository
from yilian.identity.passwords import DUMMY_HASH, hash_password, verify_password
from yilian.identity.principal import Grant, Principal, division_prefix
from yilian.identity.roles import CONSORTIUM_ROLES, DIVISION_ROLES, INSTITUTION_ROLES, Perm, Role

TOKEN_SALT = "yilian-api-token"


def principal_of(user: User) -> Principal:
    grants = tuple(
        Grant(Role(g.role), g.institution_id, g.consortium_id, g.division_code) for g in user.grants
    )
    return Principal(user_id=user.id, username=user.username, display_name=user.display_name, grants=grants)


def check_grant_scope(role: Role, institution_id: int | None, consortium_id: int | None,
                      division_code: str | None) -> None:
    """Each role is granted in exactly the scope it works in (ARCHITECTURE.md, role codes)."""
    given = {"institution": institution_id is not None, "consortium": consortium_id is not None,
             "division": division_code is not None}
    needed = (
        "institution" if role in INSTITUTION_ROLES
        else "consortium" if role in CONSORTIUM_ROLES
        else "division" if role in DIVISION_ROLES
        else None
    )
    names = {"institution": "--institution 机构", "consortium": "--consortium 医联体",
             "division": "--division 行政区划"}
    if needed is None:
        if any(given.values()):
            raise ValidationFailed("系统管理员不限定机构、医联体或行政区划。", code="grant_scope_unexpected")
        return
    if not given[needed] or sum(given.values()) != 1:
        raise ValidationFailed(f"角色 {role.value} 需要且只需要指定{names[needed]}。", code="grant_scope_required")


def do_create_user(
    session: Session,
    actor: Principal,
    *,
    username: str,
    password: str,
    role: Role,
    display_name: str | None = None,
    institution_id: int | None = None,
    consortium_id: int | None = None,
    division_code: str | None = None,
) -> User:
    actor.require(Perm.USER_MANAGE)
    username = username.strip()
    if not username or len(username) > 60:
        raise ValidationFailed("用户名不能为空，且不超过 60 个字符。", code="username_invalid")
    check_grant_scope(role, institution_id, consortium_id, division_code)
    if repository.user_by_username(session, username) is not None:
        raise Conflict(f"用户名“{username}”已存在。", code="username_taken")
    user = User(username=username, display_name=display_name or username,
                password_hash=hash_password(password), is_active=True, created_at=utcnow())
    session.add(user)
    session.flush()
    session.add(RoleGrant(user_id=user.id, role=role.value, institution_id=institution_id,
                          consortium_id=consortium_id, division_code=division_code))
    session.flush()
    session.refresh(user)
    audit.record(session, actor, "create", "user", user.id,
                 after={"username": username, "role": role.value, "institution_id": institution_id,
                        "consortium_id": consortium_id, "division_code": division_code})
    return user


@dataclass(frozen=True)
class LoginOutcome:
    """A login either yields a principal or a refusal; failures are recorded in the session
    and the edge must commit them before raising ``error``, so throttling survives refusal."""

    principal: Principal | None
    error: DomainError | None


def authenticate(session: Session, username: str, password: str, client: str,
                 max_attempts: int, window_seconds: int) -> LoginOutcome:
    """Verify a password; too many failures for a username or a client address are refused."""
    now = utcnow()
    since = now - timedelta(seconds=window_seconds)
    keys = (f"user:{username.strip().lower()}", f"client:{client}")
    if any(repository.count_failures(session, k, since) >= max_attempts for k in keys):
        return LoginOutcome(None, RateLimited("登录失败次数过多，请稍后再试。", code="login_rate_limited"))
    user = repository.user_by_username(session, username.strip())
    ok = verify_password(user.password_hash if user else DUMMY_HASH, password)
    if not ok or user is None or not user.is_active:
        for k in keys:
            repository.add_failure(session, k, now)
        return LoginOutcome(None, Unauthenticated("用户名或密码错误。", code="login_failed"))
    repository.clear_failures(session, keys[0])
    user.last_login_at = now
    return LoginOutcome(principal_of(user), None)


def principal_by_id(session: Session, user_id: int) -> Principal:
    user = repository.user_by_id(session, user_id)
    if user is None or not user.is_active:
        raise Unauthenticated("登录已失效，请重新登录。", code="session_invalid")
    return principal_of(user)


def issue_token(secret: str, principal: Principal) -> str:
    return URLSafeTimedSerializer(secret, salt=TOKEN_SALT).dumps({"uid": principal.user_id})


def principal_from_token(session: Session, secret: str, token: str, max_age: int) -> Principal:
    try:
        data = URLSafeTimedSerializer(secret, salt=TOKEN_SALT).loads(token, max_age=max_age)
    except SignatureExpired:
        raise Unauthenticated("访问令牌已过期。", code="token_expired") from None
    except BadSignature:
        raise Unauthenticated("访问令牌无效。", code="token_invalid") from None
    return principal_by_id(session, int(data["uid"]))


# ---- access scope -------------------------------------------------------------------------

def institution_scope(session: Session, principal: Principal, perm: Perm, on: date | None = None) -> set[int] | None:
    """Institutions whose data the principal may use for ``perm``; None means unrestricted."""
    on = on or today_local()
    grants = principal.grants_with(perm)
    if not grants:
        return set()
    out: set[int] = set()
    for g in grants:
        if g.role == Role.SYSTEM_ADMIN:
            return None
        if g.institution_id is not None:
            out.add(g.institution_id)
        if g.consortium_id is not None:
            out |= repository.consortium_institution_ids(session, g.consortium_id, on)
        if g.division_code is not None:
            out |= repository.division_institution_ids(session, division_prefix(g.division_code))
    return out


def care_ingest_scope(session: Session, principal: Principal) -> set[int] | None:
    """Institutions whose records the principal may send.  Clinicians send their own
    institution's records; the insurance bureau sends claims from any institution, in or out of
    county (that is how out-of-county care reaches the county); admins anything."""
    principal.require(Perm.CARE_INGEST)
    if any(g.role == Role.INSURANCE_OFFICER for g in principal.grants):
        return None
    return institution_scope(session, principal, Perm.CARE_INGEST)


def check_resident_access(session: Session, principal: Principal, resident_id: int) -> None:
    """A resident is visible only through a care relationship with an institution in scope."""
    principal.require(Perm.RESIDENT_READ)
    scope = institution_scope(session, principal, Perm.RESIDENT_READ)
    if scope is None:
        return
    if not scope or not repository.has_relationship(session, resident_id, scope, today_local()):
        raise Forbidden("您所在机构与该居民没有诊疗或签约关系，无权查看。", code="resident_out_of_scope")


def list_users(session: Session, actor: Principal) -> list[User]:
    actor.require(Perm.USER_MANAGE)
    return repository.list_users(session)


def get_user(session: Session, actor: Principal, user_id: int) -> User:
    actor.require(Perm.USER_MANAGE)
    user = repository.user_by_id(session, user_id)
    if user is None:
        raise NotFound("用户不存在。", code="user_not_found")
    return user


def resolve_grant_scope(session: Session, institution: str | None, consortium: str | None,
                        division: str | None) -> tuple[int | None, int | None, str | None]:
    """Codes given on the command line → the ids a grant stores; unknown codes are refused."""
    inst_id = cons_id = None
    if institution:
        inst_id = repository.institution_id(session, institution)
        if inst_id is None:
            raise NotFound(f"机构代码“{institution}”不存在。", code="institution_not_found")
    if consortium:
        cons_id = repository.consortium_id(session, consortium)
        if cons_id is None:
            raise NotFound(f"医联体代码“{consortium}”不存在。", code="consortium_not_found")
    if division and not repository.division_exists(session, division):
        raise NotFound(f"行政区划代码“{division}”不存在。", code="division_not_found")
    return inst_id, cons_id, division or None


def audit_log(session: Session, actor: Principal, page: PageRequest, *, entity: str | None = None,
              action: str | None = None, resident_id: int | None = None,
              who: str | None = None) -> Page[AuditLog]:
    """The audit trail, for admins and commission officers (audit.read)."""
    actor.require(Perm.AUDIT_READ)
    items, total = repository.page_of(session, repository.audit_query(entity, action, resident_id, who),
                                      page.size, page.offset)
    return Page(items=items, total=total, number=page.number, size=page.size)
