"""Pure parts of the generator: quotas, keyed streams, presets, code tables."""

from __future__ import annotations

import random

import pytest

from yilian.core.errors import ValidationFailed
from yilian.simulation import codes_data
from yilian.simulation.codes import code_source
from yilian.simulation.presets import PRESETS, get_preset
from yilian.simulation.quota import Quota, assign
from yilian.simulation.rng import stream


def test_quota_tracks_shares_within_one_item_whatever_the_batches() -> None:
    rng = random.Random(5)
    q = Quota([0.28, 0.439, 0.281])
    total = [0, 0, 0]
    for _ in range(500):
        m = rng.randint(0, 40)
        got = q.split(m)
        assert sum(got) == m and min(got) >= 0
        total = [a + b for a, b in zip(total, got, strict=True)]
        for share, n in zip(q.shares, total, strict=True):
            assert abs(n - share * q.total) < 1.0 + 1e-9


def test_assign_fills_the_counts_and_prefers_heavier_items() -> None:
    rng = random.Random(1)
    items = list(range(2000))
    cats = assign(rng, items, [1000, 1000], lambda i, c: 10.0 if i < 1000 else 1.0)
    assert cats.count(1) == 1000
    assert sum(1 for i in range(1000) if cats[i] == 1) > 800  # heavy items mostly taken first


def test_streams_are_keyed_not_sequential() -> None:
    a = [stream(1, 2025, "visits", 10).random() for _ in range(3)]
    assert a == [stream(1, 2025, "visits", 10).random() for _ in range(3)]
    assert stream(1, 2025, "visits", 10).random() != stream(1, 2025, "visits", 11).random()
    assert stream(1, 2025, "visits", 10).random() != stream(2, 2025, "visits", 10).random()


def test_presets_are_consistent() -> None:
    for p in PRESETS.values():
        assert 0 < p.village_visit_share + p.township_visit_share < 1
        assert len(p.communities) in (2, 3) and 3 <= len(p.out_of_county) + 1 <= 5
        assert {c.lead for c in p.communities} <= {h.key for h in p.hospitals}
    assert [c.lead for c in get_preset("tianchang-2016").communities] == ["RMYY", "ZYY", "TKYY"]
    assert len(get_preset("qidong-2016").communities) == 2
    assert {c.type for c in get_preset("target-2025").communities} == {"general", "tcm", "mch"}
    with pytest.raises(ValidationFailed):
        get_preset("nowhere")


def test_built_in_list_has_a_few_dozen_codes_and_draws_them() -> None:
    codes = {v.code for v in codes_data.VISIT_CODES} | {c for e in codes_data.STAY_MIX for c in e.dx}
    assert len(codes) >= 40
    src = code_source(None, (0.1, 0.2, 0.3), (0.02, 0.05, 0.1), (0, 0, 0))
    rng = random.Random(3)
    for age in (0, 3, 30, 70):
        for sex in (1, 2):
            dx, _ = src.visit(rng, 1, age, sex, [], False)
            assert dx in codes
            stay = src.stay(rng, 1, max(age, 1), sex, ["htn"])
            assert stay.diagnoses[0] and stay.adrg is None
    delivery = src.stay(rng, 2, 28, 2, [], "delivery")
    assert delivery.dept == "FCK"
    newborn = src.newborn(rng, 1800)
    assert newborn.diagnoses[0].startswith("P07")
