"""What-if: re-run a settled year under changed parameters, stored as a run marked as a what-if of
its base (``yilian settle whatif --year Y --base RUN --set key=value …``).

The keys are those of ``PAYMENT.md`` (``params.WHATIF_KEYS``); an unknown key or a bad value is
refused with the list of valid keys.  A key that the base run's method does not use (e.g.
``surplus.split`` on a DRG run) is accepted, has no effect, and is named in the run's note.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Final

from sqlalchemy.orm import Session

from yilian.core.errors import NotFound, ValidationFailed
from yilian.db.models import PaymentRun
from yilian.identity.principal import Principal
from yilian.payment import repository
from yilian.payment.budget.service import do_whatif_budget
from yilian.payment.capitation.service import do_whatif_capitation
from yilian.payment.dip.service import do_whatif_dip
from yilian.payment.params import PaymentParams, apply_overrides, parse_assignments
from yilian.payment.settlement.service import do_whatif_drg

# Which key families change the money of each method.
EFFECTIVE: Final = {
    "drg": ("budget", "point_value", "coefficient.", "outlier."),
    "dip": ("budget", "point_value", "coefficient."),
    "budget": ("budget", "surplus.", "reimbursement.", "deductible."),
    "capitation": (),
}


def ineffective_keys(kind: str, keys: Iterable[str]) -> list[str]:
    prefixes = EFFECTIVE.get(kind, ())
    return [k for k in keys if not any(k == p or (p.endswith(".") and k.startswith(p)) for p in prefixes)]


def do_whatif(session: Session, actor: Principal, *, year: int, base_run_id: int,
              assignments: Iterable[str] | Mapping[str, str]) -> PaymentRun:
    started = time.perf_counter()
    overrides = dict(assignments) if isinstance(assignments, Mapping) else parse_assignments(assignments)
    if not overrides:
        raise ValidationFailed("请至少给出一个假设参数（--set key=value）。", code="whatif_no_changes")
    base = repository.run(session, base_run_id)
    if base is None:
        raise NotFound(f"结算批次 {base_run_id} 不存在。", code="payment_run_not_found", run_id=base_run_id)
    if base.year != year:
        raise ValidationFailed(f"结算批次 {base_run_id} 是 {base.year} 年的，不是 {year} 年。",
                               code="whatif_year_mismatch", run_year=base.year)
    if base.kind == "grouping":
        raise ValidationFailed("分组批次没有金额，不能做假设测算。", code="whatif_no_money")
    params = apply_overrides(PaymentParams.from_dict(base.params), overrides)
    ignored = ineffective_keys(base.kind, overrides)
    note = f"以下参数对该结算方式不起作用：{'、'.join(ignored)}" if ignored else None
    if base.kind == "drg":
        return do_whatif_drg(session, actor, base, params, overrides, started, note)
    if base.kind == "dip":
        return do_whatif_dip(session, actor, base, params, overrides, started, note)
    if base.kind == "budget":
        return do_whatif_budget(session, actor, base, params, overrides, started, note)
    return do_whatif_capitation(session, actor, base, params, overrides, started, note)
