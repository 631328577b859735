"""Properties of grouping over generated cases, on the demo pack and (when present) CHS-DRG 1.1."""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path

import pytest
from drg_testkit import NEEDS_SHARED, SHARED_PACK, copy_demo_pack
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from yilian.payment.drg import DEMO_PACK_DIR, DrgCase, Grouper, Status, load_grouper
from yilian.payment.drg.pack import RulePack


def _pools(pack: RulePack) -> tuple[list[str], list[str], list[str]]:
    """Principals, secondaries and procedures the rules care about, plus codes they don't."""
    rng = random.Random(7)  # fixed: the pools are part of the test's definition
    listed = sorted(set().union(*pack.mdc_dx.values(), *pack.adrg_dx.values()))
    others = sorted(pack.diagnosis_names)
    principals = rng.sample(listed, min(400, len(listed))) + rng.sample(others, min(60, len(others)))
    complications = sorted(set(pack.mcc) | set(pack.cc) | set(pack.exclusion))
    secondaries = rng.sample(complications, min(300, len(complications))) + principals[:200]
    tables = sorted({c for t in pack.adrg_proc.values() for codes in t.values() for c in codes})
    procedures = rng.sample(tables, min(300, len(tables))) + rng.sample(
        sorted(pack.or_procedures), min(100, len(pack.or_procedures))
    )
    procedures += rng.sample(sorted(pack.procedure_names), min(60, len(pack.procedure_names)))
    return [*principals, "X99.999"], secondaries, [*procedures, "99.9999"]


_STRATEGIES: dict[int, st.SearchStrategy[DrgCase]] = {}


def cases(pack: RulePack) -> st.SearchStrategy[DrgCase]:
    """Generated discharges over ``pack``'s codes (built once per pack)."""
    if id(pack) not in _STRATEGIES:
        _STRATEGIES[id(pack)] = _cases(pack)
    return _STRATEGIES[id(pack)]


def _cases(pack: RulePack) -> st.SearchStrategy[DrgCase]:
    principals, secondaries, procedures = _pools(pack)
    # mostly valid: ages 0 (MDCP) and adults, rarely an impossible one
    age = st.one_of(st.sampled_from([0, 0, 0, 1, 5, 18, 30, 45, 60, 70, 80, 95]), st.integers(-1, 151))
    return st.builds(
        lambda sex, years, days, weight, pdx, sdx, px: DrgCase(
            sex=sex,
            age_years=years,
            diagnoses=(pdx, *sdx),
            procedures=tuple(px),
            age_days=days,
            birth_weight_g=weight,
        ),
        st.sampled_from([1, 2] * 5 + [0]),
        age,
        st.one_of(st.none(), st.integers(0, 40), st.integers(0, 370)),
        st.one_of(st.integers(300, 5000), st.sampled_from([None, 0, 1499, 1500, 1999, 2000, 2499, 2500])),
        st.sampled_from(principals),
        st.lists(st.sampled_from(secondaries), max_size=6),
        st.lists(st.sampled_from(procedures), max_size=4),
    )


def _qy_pack(target: Path) -> Path:
    pack_dir = copy_demo_pack(target)
    (pack_dir / "pack.tsv").write_text((pack_dir / "pack.tsv").read_text().replace("qy\toff", "qy\ton"))
    return pack_dir


@pytest.fixture(scope="module", params=["demo", "demo-qy", "chs-drg-1.1"])
def grouper(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Grouper:
    if request.param == "demo":
        return load_grouper(DEMO_PACK_DIR)
    if request.param == "demo-qy":
        return load_grouper(_qy_pack(tmp_path_factory.mktemp("qy") / "pack"))
    if not SHARED_PACK.is_dir():
        pytest.skip(NEEDS_SHARED)
    return load_grouper(SHARED_PACK)


def check_properties(grouper: Grouper, c: DrgCase) -> None:
    pack = grouper.pack
    result = grouper.group(c)
    if result.status is Status.GROUPED:
        assert result.mdc is not None and result.adrg is not None
        mdc = next(m for m in pack.mdcs if m.code == result.mdc)
        if result.adrg == f"{mdc.letter}QY":
            assert pack.qy and result.drg == result.adrg
        else:
            assert result.adrg in {a.code for a in pack.adrgs[result.mdc]}  # ADRG belongs to its MDC
            assert result.drg in {d.code for d in pack.drgs[result.adrg]}  # DRG belongs to its ADRG
    else:
        assert (result.drg, result.mdc, result.adrg, result.split) == ("0000", None, None, None)
    # deterministic, and the explain path (no index) agrees with the indexed fast path
    assert grouper.group(c) == result
    explained = grouper.group(c, explain=True)
    assert replace(explained, trace=None) == result
    # the split is the first DRG whose condition holds for the secondaries the trace counted
    if result.split is not None and explained.trace is not None:
        counted = {s.kind for s in explained.trace.secondaries if s.counted}
        level = 2 if "mcc" in counted else 1 if counted else 0
        first = next(
            d
            for d in pack.drgs[result.adrg or ""]
            if d.split == "none" or (d.split == "mcc" and level == 2) or (d.split == "mcc_or_cc" and level >= 1)
        )
        assert first.code == result.drg
    # the order of secondaries, and of procedures after the principal one, does not matter
    if len(c.diagnoses) > 1 or len(c.procedures) > 2:
        shuffled = c._replace(
            diagnoses=(c.diagnoses[0], *reversed(c.diagnoses[1:])),
            procedures=c.procedures[:1] + tuple(reversed(c.procedures[1:])),
        )
        again = grouper.group(shuffled)
        assert (again.status, again.drg, again.reason) == (result.status, result.drg, result.reason)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_grouping_properties(grouper: Grouper, data: st.DataObject) -> None:
    check_properties(grouper, data.draw(cases(grouper.pack)))


def test_a_fresh_grouper_agrees_with_a_warm_one(grouper: Grouper) -> None:
    """Plans are built lazily per principal; building them in another order changes nothing."""
    rng = random.Random(11)
    principals, secondaries, procedures = _pools(grouper.pack)
    sample = [
        DrgCase(
            sex=rng.choice([1, 2]),
            age_years=rng.choice([0, 30, 70]),
            age_days=rng.choice([None, 5, 100]),
            birth_weight_g=rng.choice([None, 1400, 3000]),
            diagnoses=(rng.choice(principals), *rng.sample(secondaries, 3)),
            procedures=tuple(rng.sample(procedures, rng.randint(0, 2))),
        )
        for _ in range(500)
    ]
    fresh = Grouper(grouper.pack)
    assert [fresh.group(c) for c in reversed(sample)][::-1] == [grouper.group(c) for c in sample]
