"""Who is acting, and where: the principal every service receives."""

from __future__ import annotations

from dataclasses import dataclass, field

from yilian.core.errors import Forbidden
from yilian.identity.roles import ROLE_NAMES_ZH, ROLE_PERMS, Perm, Role


@dataclass(frozen=True)
class Grant:
    role: Role
    institution_id: int | None = None
    consortium_id: int | None = None
    division_code: str | None = None


@dataclass(frozen=True)
class Principal:
    user_id: int | None
    username: str
    display_name: str
    grants: tuple[Grant, ...] = field(default_factory=tuple)

    @property
    def is_admin(self) -> bool:
        return any(g.role == Role.SYSTEM_ADMIN for g in self.grants)

    def perms(self) -> frozenset[Perm]:
        out: set[Perm] = set()
        for g in self.grants:
            out |= ROLE_PERMS[g.role]
        return frozenset(out)

    def has(self, perm: Perm) -> bool:
        return perm in self.perms()

    def require(self, perm: Perm) -> None:
        if not self.has(perm):
            raise Forbidden("您没有执行此操作的权限。", code="permission_denied", permission=perm.value)

    def roles(self) -> frozenset[Role]:
        return frozenset(g.role for g in self.grants)

    def role_names_zh(self) -> list[str]:
        return sorted({ROLE_NAMES_ZH[g.role] for g in self.grants})

    def grants_with(self, perm: Perm) -> list[Grant]:
        return [g for g in self.grants if perm in ROLE_PERMS[g.role]]


def system_principal(name: str = "system") -> Principal:
    """The actor for CLI batch work and scheduled jobs: full rights, audited under its name."""
    return Principal(user_id=None, username=name, display_name=name, grants=(Grant(Role.SYSTEM_ADMIN),))


def division_prefix(code: str) -> str:
    """'320000' → '32', '320100' → '3201', '320102' → '320102', 9-digit township as is."""
    if len(code) == 6:
        if code.endswith("0000"):
            return code[:2]
        if code.endswith("00"):
            return code[:4]
    return code
