"""The generator's fast paths give exactly what the slow, shared code gives."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest

from yilian.care.reimbursement import Claim, reimburse
from yilian.care.rules import CareGroup
from yilian.simulation.presets import PLACES, get_preset
from yilian.simulation.settle import _PLACE, _SCHEMES, Settler, cents_to_float


@pytest.mark.parametrize("preset", ["target-2025", "qidong-2016", "tianchang-2016"])
def test_integer_claims_match_reimburse(preset: str) -> None:
    settler = Settler(get_preset(preset), cents_to_float, float)
    assert len(settler._fast) == len(CareGroup) * len(PLACES) * len(_SCHEMES)  # no combination falls back
    rng = random.Random(7)
    for _ in range(20_000):
        total = rng.choice((rng.randint(0, 100_000), rng.randint(0, 50_000_000)))
        policy = rng.randint(0, total)
        group, place, scheme = rng.choice(list(CareGroup)), rng.choice(PLACES), rng.randrange(len(_SCHEMES))
        r = reimburse(Claim(Decimal(total).scaleb(-2), Decimal(policy).scaleb(-2), _PLACE[place], group,
                            _SCHEMES[scheme]), settler.config)
        assert settler._claim(total, policy, group, place, scheme) == (
            int(r.fund.scaleb(2)), int(r.deductible.scaleb(2)), r.ratio)


def test_float_money_is_the_exact_decimal() -> None:
    rng = random.Random(3)
    for cents in [*range(0, 20_000), *(rng.randrange(10**14) for _ in range(20_000))]:
        assert Decimal(repr(cents_to_float(cents))) == Decimal(cents).scaleb(-2)
