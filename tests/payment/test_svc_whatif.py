"""What-if runs: stored like any run and marked as a what-if of the base, the difference per
institution, refusals that list the valid keys; and DB-level properties of stored runs."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from payment_svc_testkit import DEMO, ES35, FR21, FR23, FR25, FT29, Stay, add_stays, county, mixed_year, weights_file
from sqlalchemy import select
from sqlalchemy.orm import Session

from builders import admin
from yilian.core.errors import NotFound, ValidationFailed
from yilian.db.models import PaymentRun, PaymentRunCase, PaymentRunInstitution
from yilian.payment.compare import compare
from yilian.payment.params import WHATIF_KEYS
from yilian.payment.settlement.service import DrgSettleRequest, do_settle_drg
from yilian.payment.whatif import do_whatif

BUDGET = Decimal("1000000.00")


def _base(session: Session, weights: Path | None = None) -> tuple[PaymentRun, object]:
    c = county(session)
    add_stays(session, mixed_year(c))
    run = do_settle_drg(session, admin(), DrgSettleRequest(year=2025, budget=BUDGET, rules=DEMO, weights=weights))
    return run, c


def test_whatif_is_stored_marked_and_compared(session: Session) -> None:
    base, c = _base(session)
    before = [(ln.institution_id, ln.payment, ln.points) for ln in session.scalars(
        select(PaymentRunInstitution).where(PaymentRunInstitution.run_id == base.id))]
    digest = base.result_digest
    run = do_whatif(session, admin(), year=2025, base_run_id=base.id, assignments=["coefficient.2=1.0"])
    session.expire_all()
    after = [(ln.institution_id, ln.payment, ln.points) for ln in session.scalars(
        select(PaymentRunInstitution).where(PaymentRunInstitution.run_id == base.id))]
    assert before == after and session.get(PaymentRun, base.id).result_digest == digest  # type: ignore[union-attr]
    assert run.base_run_id == base.id and run.overrides == {"coefficient.2": "1.0"}
    assert run.params["point_method"]["coefficients"]["2"] == "1.0" and run.kind == "drg"
    assert run.rules_version == base.rules_version and run.cases == base.cases
    diff = compare(session, base, run)
    assert diff.total_a == diff.total_b == BUDGET
    secondary = next(d for d in diff.lines if d.institution_id == c.secondary.id)  # type: ignore[attr-defined]
    assert secondary.difference > 0 and secondary.percent is not None and secondary.percent > 0
    others = [d for d in diff.lines if d.institution_id != c.secondary.id]  # type: ignore[attr-defined]
    assert all(d.difference < 0 for d in others)


@pytest.mark.parametrize("weights", [False, True])
def test_whatif_without_a_real_change_reproduces_the_base(session: Session, tmp_path: Path, weights: bool) -> None:
    table = weights_file(tmp_path, {"FR23": ("0.8010", "4221.88"), "FR25": ("0.7", ""), "FR21": ("1.6", ""),
                                    "ES35": ("0.5", ""), "FT29": ("0.3", "")}) if weights else None
    base, _ = _base(session, table)
    run = do_whatif(session, admin(), year=2025, base_run_id=base.id, assignments={"budget": "1000000"})
    assert run.result_digest == base.result_digest
    cases = {c.encounter_id: c.money for c in session.scalars(select(PaymentRunCase).where(
        PaymentRunCase.run_id == run.id))}
    base_cases = {c.encounter_id: c.money for c in session.scalars(select(PaymentRunCase).where(
        PaymentRunCase.run_id == base.id))}
    assert cases == base_cases


def test_point_value_and_outlier_keys_change_the_money(session: Session) -> None:
    base, _ = _base(session)
    fixed = do_whatif(session, admin(), year=2025, base_run_id=base.id, assignments=["point_value=10"])
    assert fixed.point_value == Decimal("10") and fixed.point_value_source == "fixed"
    assert fixed.total_payment == (fixed.total_points * 10).quantize(Decimal("0.01"))  # type: ignore[operator]
    none = do_whatif(session, admin(), year=2025, base_run_id=base.id, assignments=["outlier.strategy=none"])
    kinds = set(session.scalars(select(PaymentRunCase.kind).where(PaymentRunCase.run_id == none.id)))
    assert "high" not in kinds and "low" not in kinds


def test_refusals_list_the_valid_keys(session: Session) -> None:
    base, _ = _base(session)
    with pytest.raises(ValidationFailed) as unknown:
        do_whatif(session, admin(), year=2025, base_run_id=base.id, assignments=["colour=blue"])
    assert unknown.value.code == "whatif_bad_key" and tuple(unknown.value.details["valid_keys"]) == WHATIF_KEYS
    assert "outlier.strategy" in unknown.value.message
    with pytest.raises(ValidationFailed) as bad:
        do_whatif(session, admin(), year=2025, base_run_id=base.id, assignments=["coefficient.3=-1"])
    assert bad.value.code == "whatif_bad_value" and "coefficient.3" in bad.value.message
    with pytest.raises(ValidationFailed) as year:
        do_whatif(session, admin(), year=2024, base_run_id=base.id, assignments=["budget=1"])
    assert year.value.code == "whatif_year_mismatch"
    with pytest.raises(NotFound):
        do_whatif(session, admin(), year=2025, base_run_id=base.id + 999, assignments=["budget=1"])
    with pytest.raises(ValidationFailed) as nothing:
        do_whatif(session, admin(), year=2025, base_run_id=base.id, assignments=[])
    assert nothing.value.code == "whatif_no_changes"
    count = len(list(session.scalars(select(PaymentRun.id))))
    assert count == 1  # refused what-ifs store nothing


def test_a_key_the_method_does_not_use_is_noted(session: Session) -> None:
    base, _ = _base(session)
    run = do_whatif(session, admin(), year=2025, base_run_id=base.id, assignments=["surplus.split=5:3:2"])
    assert run.note is not None and "surplus.split" in run.note and run.result_digest == base.result_digest


CODES = (FR23, FR25, FR21, ES35, FT29)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(stays=st.lists(st.tuples(st.integers(0, 2), st.integers(0, 4), st.integers(50, 90_000), st.integers(1, 12)),
                      min_size=1, max_size=25),
       budget=st.integers(1, 10**9).map(lambda cents: Decimal(cents) / 100))
def test_stored_run_pays_exactly_the_budget_and_reruns_identically(session: Session, stays: list[tuple[int, int, int,
                                                                   int]], budget: Decimal) -> None:
    nested = session.begin_nested()
    try:
        c = county(session)
        places = (c.tertiary, c.secondary, c.centre)
        add_stays(session, [Stay(places[p], CODES[k], cost, date(2025, m, 1)) for p, k, cost, m in stays])
        req = DrgSettleRequest(year=2025, budget=budget, rules=DEMO)
        first, second = do_settle_drg(session, admin(), req), do_settle_drg(session, admin(), req)
        paid = [line.payment for line in session.scalars(select(PaymentRunInstitution).where(
            PaymentRunInstitution.run_id == first.id))]
        assert sum(p for p in paid if p is not None) == budget == first.total_payment
        assert first.result_digest == second.result_digest
    finally:
        nested.rollback()
