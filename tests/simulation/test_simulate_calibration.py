"""Calibration: each preset's year lands on its targets (SYNTHETIC.md), measured twice.

The acceptance test of the generator: from 10,000 residents up, every target of a preset within
its tolerance (± 3 pp for shares; a "≥" target passes at target − 3 pp; ± 15 % for ratios of
counts).  The indicators are computed here with SQL written from INDICATORS.md's definitions,
independently of the generator's own self-check (``simulation/measure.py``), and then by the
platform's indicator engine (``yilian indicators compute --period Y``, county cut), which must
agree with that SQL and land on every target of SYNTHETIC.md's table — the referral ratios and
the contract rate included.
"""

from __future__ import annotations

import pytest
from simulation_world import generate, indicator_values
from sqlalchemy import Engine

from yilian.db.session import make_engine, session_scope
from yilian.indicators import service
from yilian.simulation.presets import get_preset

RESIDENTS = 10_000


def _engine(url: str) -> Engine:
    return make_engine(url)


@pytest.mark.parametrize("preset_name", ["qidong-2016", "tianchang-2016", "target-2025"])
def test_preset_lands_on_its_targets(committed_db: str, preset_name: str) -> None:
    summary = generate(committed_db, preset_name, RESIDENTS, seed=2016)
    preset = get_preset(preset_name)
    engine = _engine(committed_db)
    try:
        values = indicator_values(engine, preset.county_code, int(summary["year"]))
        computed = _engine_values(engine, int(summary["year"]))
    finally:
        engine.dispose()
    for t in preset.targets:
        value = values[t.code]
        assert value >= t.target - t.tolerance, (t.code, value)
        if not t.at_least:
            assert value <= t.target + t.tolerance, (t.code, value)
        else:
            assert t.aim is not None and abs(value - t.aim) <= t.tolerance, (t.code, value)
    # The generator's own report agrees with the SQL above.
    reported = {t["code"]: t["value"] for t in summary["targets"]}
    for code, value in reported.items():
        assert abs(value - values[code]) < 1e-4, code
    # County retention and the primary-care visit share are reported for every preset.
    assert 0.85 < values["county_retention_inpatient"] < 0.95
    assert 0.55 < values["primary_visit_share"] < 0.80
    # The indicator engine gives the same numbers, and lands on every target of SYNTHETIC.md.
    for code, value in values.items():
        assert abs(computed[code] - value) <= 1e-4, (code, computed[code], value)
    for code, low, high in ENGINE_TARGETS[preset_name]:
        assert low <= computed[code] <= high, (code, computed[code], low, high)


#: SYNTHETIC.md's targets by preset as (code, lowest, highest) with their tolerance applied: ± 3 pp for
#: shares, ± 15 % for ratios of counts; a "≥" target has no upper bound.  ``up_down_ratio`` is
#: up_referrals ÷ down_referrals (Qidong's 21.4 = 29,371 ÷ 1,373); ``down_up_ratio`` the engine's own code.
ENGINE_TARGETS: dict[str, list[tuple[str, float, float]]] = {
    "tianchang-2016": [("county_retention_inpatient", 0.8924, 0.9524), ("township_visit_share", 0.497, 0.557),
                       ("effective_reimbursement_rate", 0.67, 0.73),
                       ("down_up_ratio", 6321 / 2732 * 0.85, 6321 / 2732 * 1.15)],
    "qidong-2016": [("primary_visit_share", 0.689, 0.749), ("primary_inpatient_share", 0.468, 0.528),
                    ("county_retention_inpatient", 0.853, 0.913),
                    ("up_down_ratio", 29371 / 1373 * 0.85, 29371 / 1373 * 1.15)],
    "target-2025": [("county_retention_inpatient", 0.87, 1.0), ("primary_visit_share", 0.62, 1.0),
                    ("down_up_ratio", 0.85, float("inf")), ("contract_rate", 0.42, 1.0)],
}


def _engine_values(engine: Engine, year: int) -> dict[str, float]:
    with session_scope(engine) as session:
        rows = [r for r in service.compute(session, str(year), "county") if not r.group]  # the one county row
    out = {r.code: float(r.value) for r in rows if r.value is not None}
    if out.get("down_up_ratio"):
        out["up_down_ratio"] = 1 / out["down_up_ratio"]
    return out
