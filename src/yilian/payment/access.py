"""Who may see and run payment settlements.

Permissions ``payment.run`` and ``payment.read`` (``identity/roles.py``) decide who; this module adds
the scoping, in one place:

* **run** settlements and what-ifs: system administrators and insurance officers (the bureau
  settles); an insurance officer only for a region inside their division;
* **read** runs and statements: the same, plus commission officers (their division's runs) and
  consortium managers (runs of their consortium, and statement lines of its member institutions
  in any run — other institutions' lines are hidden from them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from sqlalchemy.orm import Session

from yilian.core.clock import today_local
from yilian.core.errors import Forbidden
from yilian.identity import repository as identity_repository
from yilian.identity.principal import Principal, division_prefix
from yilian.identity.roles import ROLE_PERMS, Perm, Role
from yilian.payment.repository import RunFilter

# The roles whose permissions (identity/roles.py) include payment.run / payment.read.
RUN_ROLES: Final = frozenset(r for r, perms in ROLE_PERMS.items() if Perm.PAYMENT_RUN in perms)
READ_ROLES: Final = frozenset(r for r, perms in ROLE_PERMS.items() if Perm.PAYMENT_READ in perms)


@dataclass(frozen=True, slots=True)
class PaymentScope:
    """``unrestricted``: admins.  Otherwise the runs of ``filter`` are visible, and statement lines of
    a run are limited to ``line_institutions`` when that is not None (consortium managers)."""

    unrestricted: bool
    filter: RunFilter | None
    line_institutions: frozenset[int] | None
    division_prefixes: tuple[str, ...]
    consortium_ids: frozenset[int]

    def sees_division(self, division_code: str | None) -> bool:
        if self.unrestricted:
            return True
        return division_code is not None and any(division_code.startswith(p) for p in self.division_prefixes)


def read_scope(session: Session, principal: Principal) -> PaymentScope:
    """What the principal may read; refuses a principal with no payment role."""
    grants = [g for g in principal.grants if g.role in READ_ROLES]
    if not grants:
        raise Forbidden("您没有查看医保支付结算的权限。", code="payment_forbidden")
    if any(g.role == Role.SYSTEM_ADMIN for g in grants):
        return PaymentScope(True, None, None, (), frozenset())
    prefixes = tuple(sorted({division_prefix(g.division_code) for g in grants if g.division_code}))
    consortia = frozenset(g.consortium_id for g in grants if g.consortium_id is not None)
    if prefixes:  # officers see whole statements of their division's runs
        members: frozenset[int] | None = None
        institutions: frozenset[int] = frozenset()
        if consortia:  # also a consortium manager: their members' lines in other runs
            institutions = _members(session, consortia)
        return PaymentScope(False, RunFilter(prefixes, consortia, institutions), members, prefixes, consortia)
    institutions = _members(session, consortia)
    return PaymentScope(False, RunFilter((), consortia, institutions), institutions, (), consortia)


def _members(session: Session, consortia: frozenset[int]) -> frozenset[int]:
    out: set[int] = set()
    for cid in consortia:
        out |= identity_repository.consortium_institution_ids(session, cid, today_local())
    return frozenset(out)


def check_can_run(principal: Principal, division_code: str | None) -> None:
    """Settling needs the admin or insurance-officer role; an officer only inside their division."""
    grants = [g for g in principal.grants if g.role in RUN_ROLES]
    if not grants:
        raise Forbidden("只有医保局工作人员或系统管理员可以执行结算。", code="payment_run_forbidden")
    if any(g.role == Role.SYSTEM_ADMIN for g in grants):
        return
    prefixes = [division_prefix(g.division_code) for g in grants if g.division_code]
    if division_code is None or not any(division_code.startswith(p) for p in prefixes):
        raise Forbidden("只能结算本人所辖行政区划内的地区。", code="payment_run_out_of_scope",
                        division_code=division_code)
