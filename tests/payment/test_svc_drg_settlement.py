"""DRG point-method settlement over stored discharges: money adds up to the budget, reruns are
identical, the published worked example holds end to end, refusals name their reason."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from payment_svc_testkit import (
    DEMO,
    ES35,
    FR23,
    FR25,
    County,
    Stay,
    add_stays,
    county,
    mixed_year,
    weights_file,
)
from sqlalchemy import select
from sqlalchemy.orm import Session

from builders import admin, principal
from yilian.core.errors import Forbidden, NotFound, ValidationFailed
from yilian.db.models import PaymentRun, PaymentRunCase, PaymentRunInstitution, PaymentRunMonth, PaymentRunWeight
from yilian.identity.roles import Role
from yilian.payment.params import default_params
from yilian.payment.settlement.service import DrgSettleRequest, do_settle_drg

BUDGET = Decimal("1000000.00")


def _settle(session: Session, **kw: object) -> PaymentRun:
    req = DrgSettleRequest(**{"year": 2025, "budget": BUDGET, "rules": DEMO, **kw})  # type: ignore[arg-type]
    return do_settle_drg(session, admin(), req)


def _lines(session: Session, run: PaymentRun) -> list[PaymentRunInstitution]:
    return list(session.scalars(select(PaymentRunInstitution).where(PaymentRunInstitution.run_id == run.id)))


def _cases(session: Session, run: PaymentRun) -> dict[int, PaymentRunCase]:
    rows = session.scalars(select(PaymentRunCase).where(PaymentRunCase.run_id == run.id))
    return {c.encounter_id: c for c in rows}


@pytest.fixture()
def region(session: Session) -> County:
    c = county(session)
    add_stays(session, mixed_year(c))
    return c


def test_payments_sum_exactly_to_the_budget(session: Session, region: County) -> None:
    run = _settle(session)
    lines = _lines(session, run)
    assert sum(line.payment for line in lines if line.payment is not None) == BUDGET == run.total_payment
    # Only the region's insured discharges of the year: not the out-of-county, self-pay or 2024 stays.
    assert run.cases == 6 * 7 + 4
    assert {line.institution_id for line in lines} == {region.tertiary.id, region.secondary.id, region.centre.id}
    assert run.summary["statuses"] == {"grouped": 6 * 7 + 2, "ungrouped": 1, "invalid": 1}
    assert run.flagged == 2 and run.rules_name == "Yilian-demo" and run.weights_source == "derived"
    assert run.params["budget"] == "1000000.00" and run.params["year"] == 2025
    # Points and money: per-case money at the final point value, the clearing differs by cents only.
    for line in lines:
        assert line.rounding is not None and abs(line.rounding) <= Decimal("0.05")
        assert line.balance == line.payment - line.provisional  # type: ignore[operator]
    cases = _cases(session, run)
    kinds = {c.kind for c in cases.values()}
    assert {"normal", "high", "low", "ungrouped"} <= kinds
    flagged = [c for c in cases.values() if c.flagged]
    assert sorted(c.status for c in flagged) == ["invalid", "ungrouped"]


def test_rerun_gives_identical_money(session: Session, region: County) -> None:
    first, second = _settle(session), _settle(session)
    assert first.id != second.id
    assert first.result_digest == second.result_digest and first.inputs_digest == second.inputs_digest
    a, b = _cases(session, first), _cases(session, second)
    assert {k: (c.group_code, c.money) for k, c in a.items()} == {k: (c.group_code, c.money) for k, c in b.items()}


def test_published_worked_example_end_to_end(session: Session, tmp_path: Path) -> None:
    c = county(session)
    add_stays(session, [Stay(c.tertiary, FR23, 5000), Stay(c.tertiary, FR23, 15000), Stay(c.tertiary, FR23, 1200)])
    path = weights_file(tmp_path, {"FR23": ("0.8010", "4221.88")})
    params = dataclasses.replace(default_params(2025), point_value=Decimal("53.8381"))
    run = _settle(session, budget=None, weights=path, params=params)
    money = sorted((c.cost, c.kind, c.money) for c in _cases(session, run).values())
    assert money == [(Decimal("1200.00"), "low", Decimal("1225.74")),
                     (Decimal("5000.00"), "normal", Decimal("4312.43")),
                     (Decimal("15000.00"), "high", Decimal("6696.86"))]
    assert run.point_value_source == "fixed" and run.weights_source == "file"
    assert run.weights_version is not None and run.weights_version.startswith("sha256:")
    weight = session.get(PaymentRunWeight, (run.id, "FR23"))
    assert weight is not None and weight.rw == Decimal("0.8010") and weight.source == "file"


def test_budget_over_points_gives_48_yuan_a_point(session: Session, tmp_path: Path) -> None:
    c = county(session)
    add_stays(session, [Stay(c.tertiary, FR23, 250_000)] * 100)
    path = weights_file(tmp_path, {"FR23": ("250", "250000")}, city="1000")
    run = _settle(session, budget=Decimal("120000000.00"), weights=path)
    assert run.total_points == Decimal("2500000") and run.point_value == Decimal("48")
    assert {c.money for c in _cases(session, run).values()} == {Decimal("1200000.00")}


def test_weights_without_city_row_use_the_years_mean(session: Session, tmp_path: Path) -> None:
    c = county(session)
    add_stays(session, [Stay(c.tertiary, FR23, 4000), Stay(c.tertiary, FR23, 6000)])
    run = _settle(session, weights=weights_file(tmp_path, {"FR23": ("1.0", "")}, city=None))
    assert Decimal(run.summary["city_avg_cost"]) == Decimal(5000) and run.summary["city_avg_source"] == "derived"


def test_monthly_provisional_then_previous_year_point_value(session: Session, region: County) -> None:
    first = _settle(session)
    months = list(session.scalars(select(PaymentRunMonth).where(PaymentRunMonth.run_id == first.id)))
    assert first.summary["provisional_basis"] == "first_year" and {m.month for m in months} == set(range(1, 10))
    # First year: each month is budget ÷ 12 ÷ that month's points.
    by_month: dict[int, Decimal] = {}
    for m in months:
        by_month[m.month] = by_month.get(m.month, Decimal(0)) + m.provisional
    assert all(abs(v - BUDGET / 12) < Decimal("0.05") for v in by_month.values())
    add_stays(session, [dataclasses.replace(s, discharged=date(2026, s.discharged.month, s.discharged.day))
                        for s in mixed_year(region) if s.discharged.year == 2025])
    second = _settle(session, year=2026)
    assert second.summary["provisional_basis"] == "previous_year"
    assert Decimal(second.summary["previous_point_value"]) == first.point_value


def test_cmi_is_the_mean_weight_of_grouped_stays(session: Session, region: County) -> None:
    run = _settle(session)
    stored = session.scalars(select(PaymentRunWeight).where(PaymentRunWeight.run_id == run.id))
    weights = {w.code: w.rw for w in stored}
    cases = [c for c in _cases(session, run).values()
             if c.institution_id == region.centre.id and c.group_code in weights]
    expected = sum(weights[c.group_code] for c in cases) / len(cases)
    line = session.get(PaymentRunInstitution, (run.id, region.centre.id))
    assert line is not None and line.cmi is not None and abs(line.cmi - expected) < Decimal("0.00001")


def test_blended_coefficients_stay_within_bounds(session: Session, region: County) -> None:
    run = _settle(session, coefficient_strategy="blend")
    assert run.options["coefficient_strategy"] == "blend"
    for line in _lines(session, run):
        assert line.coefficient is not None and Decimal("0.5") <= line.coefficient <= Decimal("1.2")
    assert sum(line.payment or 0 for line in _lines(session, run)) == BUDGET


def test_grouping_run_records_drgs_without_money(session: Session, region: County) -> None:
    run = do_settle_drg(session, admin(), DrgSettleRequest(year=2025, rules=DEMO), kind="grouping")
    assert run.kind == "grouping" and run.total_payment is None and run.budget is None
    assert all(line.payment is None and line.cmi is not None for line in _lines(session, run)
               if line.institution_id != region.centre.id or line.cmi is not None)
    assert {c.money for c in _cases(session, run).values()} == {None}


def test_refusals(session: Session, region: County, tmp_path: Path) -> None:
    with pytest.raises(ValidationFailed) as no_budget:
        _settle(session, budget=None)
    assert no_budget.value.code == "settle_no_budget"
    with pytest.raises(ValidationFailed) as empty:
        _settle(session, year=2030)
    assert empty.value.code == "settle_no_discharges"
    with pytest.raises(NotFound):
        _settle(session, division="999999")
    bad = tmp_path / "bad.csv"
    bad.write_text("drg,weight\nFR23,1\n", encoding="utf-8")
    with pytest.raises(ValidationFailed) as unreadable:
        _settle(session, weights=bad)
    assert unreadable.value.code == "weights_unreadable" and str(bad) in unreadable.value.message
    with pytest.raises(ValidationFailed) as strategy:
        _settle(session, coefficient_strategy="magic")
    assert strategy.value.code == "settle_bad_coefficient_strategy"


def test_only_the_bureau_of_the_region_may_settle(session: Session, region: County) -> None:
    req = DrgSettleRequest(year=2025, budget=BUDGET, rules=DEMO)
    with pytest.raises(Forbidden) as clinician:
        do_settle_drg(session, principal(Role.CLINICIAN, institution_id=region.centre.id), req)
    assert clinician.value.code == "payment_run_forbidden"
    with pytest.raises(Forbidden) as elsewhere:
        do_settle_drg(session, principal(Role.INSURANCE_OFFICER, division_code="320100"),
                      dataclasses.replace(req, division="320999"))
    assert elsewhere.value.code == "payment_run_out_of_scope"
    own = do_settle_drg(session, principal(Role.INSURANCE_OFFICER, division_code="320999"), req)
    assert own.division_code == "320999" and own.total_payment == BUDGET


def test_a_drg_missing_from_the_table_is_paid_at_cost_and_flagged(session: Session, tmp_path: Path) -> None:
    c = county(session)
    add_stays(session, [Stay(c.tertiary, FR23, 5000), Stay(c.tertiary, FR25, 5270), Stay(c.tertiary, ES35, 100)])
    run = _settle(session, weights=weights_file(tmp_path, {"FR23": ("0.8010", "4221.88")}, city="5270"))
    kinds = {c.group_code: (c.kind, c.flagged, c.points) for c in _cases(session, run).values()}
    assert kinds["FR25"] == ("no_weight", True, Decimal("100"))
