"""Calibration: each preset's year lands on its targets (SYNTHETIC.md), measured by plain SQL.

The acceptance test of the generator: from 10,000 residents up, every target of a preset within
its tolerance (± 3 pp for shares; a "≥" target passes at target − 3 pp).  The indicators are
computed here with SQL written from INDICATORS.md's definitions, independently of the
generator's own self-check (``simulation/measure.py``).
"""

from __future__ import annotations

import pytest
from simulation_world import generate, indicator_values
from sqlalchemy import Engine

from yilian.db.session import make_engine
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
