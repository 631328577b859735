"""Role codes (stable identifiers) and the permissions each role carries."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    SYSTEM_ADMIN = "system_admin"
    COMMISSION_OFFICER = "commission_officer"
    CONSORTIUM_MANAGER = "consortium_manager"
    REFERRAL_OFFICER = "referral_officer"
    CLINICIAN = "clinician"
    PHARMACIST = "pharmacist"
    INSURANCE_OFFICER = "insurance_officer"


ROLE_NAMES_ZH: dict[Role, str] = {
    Role.SYSTEM_ADMIN: "系统管理员",
    Role.COMMISSION_OFFICER: "卫健委工作人员",
    Role.CONSORTIUM_MANAGER: "医联体管理人员",
    Role.REFERRAL_OFFICER: "转诊办人员",
    Role.CLINICIAN: "医生",
    Role.PHARMACIST: "药师",
    Role.INSURANCE_OFFICER: "医保局工作人员",
}

# Which scope each role is granted in: decides the option `yilian user create` requires.
INSTITUTION_ROLES = frozenset({Role.CLINICIAN, Role.PHARMACIST})
CONSORTIUM_ROLES = frozenset({Role.CONSORTIUM_MANAGER, Role.REFERRAL_OFFICER})
DIVISION_ROLES = frozenset({Role.COMMISSION_OFFICER, Role.INSURANCE_OFFICER})


class Perm(StrEnum):
    REGISTRY_READ = "registry.read"
    REGISTRY_MANAGE = "registry.manage"  # institutions, practitioners, divisions, imports
    CONSORTIUM_CREATE = "consortium.create"  # set up consortia and grids
    CONSORTIUM_MANAGE = "consortium.manage"  # members, affiliations, agreements of a consortium
    RESIDENT_READ = "resident.read"
    RESIDENT_WRITE = "resident.write"
    USER_MANAGE = "user.manage"
    AUDIT_READ = "audit.read"
    CARE_INGEST = "care.ingest"  # send encounters and settlements (HIS records, insurance claims)
    PAYMENT_READ = "payment.read"  # settlement runs, statements, budget ledger
    PAYMENT_RUN = "payment.run"  # start settlement, grouping and what-if runs


_ALL = frozenset(Perm)

ROLE_PERMS: dict[Role, frozenset[Perm]] = {
    Role.SYSTEM_ADMIN: _ALL,
    Role.COMMISSION_OFFICER: frozenset(
        {Perm.REGISTRY_READ, Perm.REGISTRY_MANAGE, Perm.CONSORTIUM_CREATE, Perm.CONSORTIUM_MANAGE,
         Perm.RESIDENT_READ, Perm.AUDIT_READ, Perm.PAYMENT_READ}
    ),
    Role.CONSORTIUM_MANAGER: frozenset(
        {Perm.REGISTRY_READ, Perm.CONSORTIUM_MANAGE, Perm.RESIDENT_READ, Perm.PAYMENT_READ}
    ),
    Role.REFERRAL_OFFICER: frozenset({Perm.REGISTRY_READ, Perm.RESIDENT_READ}),
    Role.CLINICIAN: frozenset({Perm.REGISTRY_READ, Perm.RESIDENT_READ, Perm.RESIDENT_WRITE, Perm.CARE_INGEST}),
    Role.PHARMACIST: frozenset({Perm.REGISTRY_READ, Perm.RESIDENT_READ}),
    Role.INSURANCE_OFFICER: frozenset(
        {Perm.REGISTRY_READ, Perm.RESIDENT_READ, Perm.CARE_INGEST, Perm.PAYMENT_READ, Perm.PAYMENT_RUN}
    ),
}


def parse_role(value: str) -> Role:
    from yilian.core.errors import ValidationFailed

    try:
        return Role(value)
    except ValueError:
        valid = "、".join(r.value for r in Role)
        raise ValidationFailed(f"未知的角色“{value}”，可选：{valid}", code="role_unknown") from None
