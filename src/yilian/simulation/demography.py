"""Population parameters: the 2020 census pyramid and age curves of conditions and care use.

The pyramid is China's seventh census (2020) in five-year bands, per cent of the total,
rounded: 0–14 ≈ 18 %, 60+ ≈ 18.7 %, 65+ ≈ 13.5 %.  Condition prevalences are age *shapes*
scaled so that the adult prevalence lands on the preset's figure for this pyramid — by
construction rather than by tuning (``scale_to``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

# (first age, last age, per cent of population, sex ratio males per female)
PYRAMID_2020: Final = (
    (0, 4, 5.50, 1.12), (5, 9, 6.40, 1.13), (10, 14, 6.05, 1.15), (15, 19, 5.20, 1.15),
    (20, 24, 5.30, 1.10), (25, 29, 6.50, 1.07), (30, 34, 8.70, 1.06), (35, 39, 6.90, 1.06),
    (40, 44, 6.60, 1.05), (45, 49, 8.20, 1.04), (50, 54, 8.30, 1.03), (55, 59, 7.00, 1.01),
    (60, 64, 5.20, 0.99), (65, 69, 5.00, 0.97), (70, 74, 3.55, 0.94), (75, 79, 2.25, 0.88),
    (80, 84, 1.55, 0.78), (85, 99, 1.15, 0.60),
)


@dataclass(frozen=True)
class Band:
    lo: int
    hi: int
    share: float
    male: float  # probability of male


def pyramid(rural_skew: float = 0.0) -> list[Band]:
    """Bands with shares summing to 1; ``rural_skew`` moves weight from ages 20–44 to 60+."""
    bands = []
    for lo, hi, pct, ratio in PYRAMID_2020:
        w = pct
        if 20 <= lo <= 40:
            w *= 1 - rural_skew / 2
        elif lo >= 60:
            w *= 1 + rural_skew
        bands.append(Band(lo, hi, w, ratio / (1 + ratio)))
    total = sum(b.share for b in bands)
    return [Band(b.lo, b.hi, b.share / total, b.male) for b in bands]


def _step(table: Sequence[tuple[int, float]], age: int) -> float:
    value = 0.0
    for start, v in table:
        if age >= start:
            value = v
    return value


# Relative prevalence by age (shape only; scaled to the adult prevalence).
HTN_SHAPE: Final = ((18, 0.06), (35, 0.16), (45, 0.29), (55, 0.44), (65, 0.56), (75, 0.62))
T2DM_SHAPE: Final = ((18, 0.02), (35, 0.05), (45, 0.10), (55, 0.16), (65, 0.20), (75, 0.20))
DISABILITY_SHAPE: Final = ((0, 0.01), (15, 0.02), (45, 0.05), (60, 0.10), (75, 0.20))
FERTILITY_SHAPE: Final = ((20, 0.7), (25, 1.0), (30, 0.8), (35, 0.35), (40, 0.08), (45, 0.0))
ADULT: Final = 18
# Relative yearly mortality by age (China 2020 life table, rounded per 1,000: infants ≈ 5, then
# under 1 until 40, doubling about every eight years after); scaled to the preset's crude death rate.
MORTALITY_SHAPE: Final = ((0, 5.0), (1, 0.3), (5, 0.2), (15, 0.4), (25, 0.6), (35, 1.1), (45, 2.6), (55, 6.0),
                          (65, 14.0), (75, 40.0), (85, 120.0))


def band_mean(bands: Sequence[Band], shape: Sequence[tuple[int, float]], lo: int = 0, hi: int = 200,
              female_only: bool = False) -> tuple[float, float]:
    """(Σ share × shape, Σ share) over ages lo..hi, ages spread evenly inside each band."""
    num = den = 0.0
    for b in bands:
        per_age = b.share / (b.hi - b.lo + 1) * ((1 - b.male) if female_only else 1.0)
        for age in range(max(b.lo, lo), min(b.hi, hi) + 1):
            num += per_age * _step(shape, age)
            den += per_age
    return num, den


def scale_to(bands: Sequence[Band], shape: Sequence[tuple[int, float]], target: float, lo: int = ADULT) -> float:
    """Factor k so that k × shape averages ``target`` over ages ≥ lo of this pyramid."""
    num, den = band_mean(bands, shape, lo)
    return target * den / num if num else 0.0


def prevalence(shape: Sequence[tuple[int, float]], k: float, age: int) -> float:
    return min(0.95, k * _step(shape, age))


# Relative yearly use of care by age: outpatient visits and stays (national health surveys'
# age gradient, rounded).  Scaled by the preset's totals at run time.
VISIT_RATE: Final = ((0, 2.2), (5, 0.9), (15, 0.6), (25, 0.75), (45, 1.0), (60, 1.5), (70, 1.8), (80, 1.9))
STAY_RATE: Final = ((0, 1.5), (1, 0.8), (5, 0.3), (15, 0.45), (45, 1.0), (60, 2.0), (70, 3.0), (80, 3.8))


def rate(table: Sequence[tuple[int, float]], age: int) -> float:
    return _step(table, age)
