"""The packages a contract includes: the basic package (created from the policy's defaults the
first time one is needed) and the personalised packages the resident qualifies for."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy.orm import Session

from yilian.contracts import repository
from yilian.contracts.config import ContractPolicy
from yilian.core.clock import utcnow
from yilian.core.errors import Conflict
from yilian.db.models import ServicePackage, ServicePackageItem
from yilian.identity import audit
from yilian.identity.principal import Principal
from yilian.residents.rules import derived_key_populations

__all__ = ["ensure_basic_package", "populations_of", "still_applicable"]


def populations_of(session: Session, resident_ids: list[int], on: date) -> dict[int, set[str]]:
    """Key-population codes on ``on``: recorded ones plus those derived from age."""
    out = repository.recorded_populations(session, resident_ids, on)
    for rid, (_name, born) in repository.birth_dates(session, resident_ids).items():
        out.setdefault(rid, set()).update(k.value for k in derived_key_populations(born, on))
    return out


def ensure_basic_package(
    session: Session, actor: Principal, consortium_id: int | None, policy: ContractPolicy
) -> ServicePackage:
    """The basic package in force; created from the policy's defaults the first time it is needed,
    so a fresh installation can sign without configuring packages first."""
    existing = repository.active_basic_package(session, consortium_id)
    if existing is not None:
        return existing
    code = "basic" if consortium_id is None else f"basic-{consortium_id}"
    pkg = repository.package_by_code(session, code)
    if pkg is not None:  # configured but switched off: an operator decision, not ours to undo
        raise Conflict("基础服务包已停用，请先配置基础服务包。", code="basic_package_inactive")
    pkg = ServicePackage(code=code, name="基础服务包", kind="basic", population=None, consortium_id=consortium_id,
                         active=True, created_at=utcnow())
    session.add(pkg)
    session.flush()
    for item in policy.basic_package:
        session.add(ServicePackageItem(
            package_id=pkg.id, code=item.code, name=item.name_zh, frequency=item.frequency.value,
            populations=",".join(sorted(item.populations)), price=Decimal("0"), payer="public_health",
        ))
    session.flush()
    audit.record(session, actor, "create", "service_package", pkg.id, after=audit.snapshot(pkg),
                 detail="按默认配置创建基础服务包")
    return pkg


def still_applicable(session: Session, resident_id: int, package_ids: list[int], on: date) -> list[int]:
    """The personalised packages among ``package_ids`` the resident still qualifies for on ``on``."""
    populations = populations_of(session, [resident_id], on)[resident_id]
    out: list[int] = []
    for pid in package_ids:
        pkg = repository.package(session, pid)
        if pkg is not None and pkg.active and pkg.kind == "personalised" and pkg.population in populations:
            out.append(pid)
    return out


# ---- signing ------------------------------------------------------------------------------
