"""Money and exact-arithmetic helpers shared by every payment calculation.

Two kinds of numbers flow through the payment engine:

* **Quantities** (points, scores, ratios, point values) are ``Decimal`` values that
  are never quantized.  They are computed in :data:`CALC_CONTEXT`, 40 significant
  digits: multiplications and additions of the short decimals that come from the
  data (costs in cents, RW with 4 decimals, coefficients) are exact at that width,
  and the only inexact step, a division, errs by less than 1e-40 relatively, far
  below a cent for any budget a region can have.  We chose Decimal over
  ``fractions.Fraction`` for the per-case path because Fraction arithmetic (a gcd
  per operation) is about ten times slower, and the batch settlement of a million
  discharges has a few microseconds per case.
* **Money** is ``Decimal`` rounded ROUND_HALF_UP to the cent, once, at the point
  where an amount is paid or charged.  Where several amounts must add up exactly
  to a total (institution payments to the budget, surplus shares to the surplus),
  :func:`apportion` uses the largest-remainder method over exact fractions.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager
from decimal import (
    ROUND_HALF_EVEN,
    ROUND_HALF_UP,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
    localcontext,
)
from fractions import Fraction
from math import floor

from yilian.core.errors import ValidationFailed

CENT = Decimal("0.01")
ZERO = Decimal(0)
MONEY_ZERO = Decimal("0.00")
ONE = Decimal(1)
HUNDRED = Decimal(100)
INFINITY = Decimal("Infinity")

CALC_PRECISION = 40
# Traps on: a NaN, a division by zero or an overflow is a bug or bad input, never a number to pay.
CALC_CONTEXT = Context(
    prec=CALC_PRECISION,
    rounding=ROUND_HALF_EVEN,
    traps=[InvalidOperation, DivisionByZero, Overflow],
)


def calc_context() -> AbstractContextManager[Context]:
    """Context manager that runs arithmetic at :data:`CALC_PRECISION` digits.

    Enter it once around a whole batch, not per case: ``localcontext`` costs far
    more than the arithmetic inside it.
    """
    return localcontext(CALC_CONTEXT)


def round_cent(amount: Decimal) -> Decimal:
    """Money rounding of the whole engine: ROUND_HALF_UP to the cent."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP, context=CALC_CONTEXT)


def is_cents(amount: Decimal) -> bool:
    """True when ``amount`` is finite and has no digits below the cent."""
    return amount.is_finite() and amount == amount.quantize(CENT, context=CALC_CONTEXT)


def require_cents(amount: Decimal, what_zh: str, code: str = "money_not_cents") -> Decimal:
    """Refuse an amount that is not a whole number of cents (an input typo, not a rounding job)."""
    if not is_cents(amount):
        raise ValidationFailed(f"{what_zh}必须是精确到分的金额，收到「{amount}」。", code=code)
    return amount


def apportion(total: Decimal, weights: Mapping[str, Decimal], quantum: Decimal = CENT) -> dict[str, Decimal]:
    """Split ``total`` in proportion to ``weights`` so the parts sum to ``total`` exactly.

    Largest-remainder (Hamilton) method over exact fractions: every part is the
    exact share rounded down to the quantum, then the leftover quanta go one each to
    the largest fractional remainders.  Ties break by key, ascending, so the result
    does not depend on the mapping's order.  Each part is within one quantum of its
    exact share.
    """
    if not weights:
        raise ValidationFailed("没有可分配的对象。", code="apportion_empty")
    if not total.is_finite() or total != total.quantize(quantum, context=CALC_CONTEXT):
        raise ValidationFailed(f"待分配金额「{total}」不是「{quantum}」的整数倍。", code="money_not_cents")
    exact_weights: dict[str, Fraction] = {}
    for key, weight in weights.items():
        if not weight.is_finite() or weight < 0:
            raise ValidationFailed(
                f"「{key}」的分配权重「{weight}」无效：必须为非负数。", code="apportion_bad_weight"
            )
        exact_weights[key] = Fraction(weight)
    weight_sum = sum(exact_weights.values(), Fraction(0))
    if weight_sum == 0:
        raise ValidationFailed("所有分配权重均为 0，无法按比例分配。", code="apportion_zero_weights")
    units_total = Fraction(total) / Fraction(quantum)  # an integer, checked above
    units: dict[str, int] = {}
    remainders: dict[str, Fraction] = {}
    for key, exact in exact_weights.items():
        share = units_total * exact / weight_sum
        whole = floor(share)
        units[key] = whole
        remainders[key] = share - whole
    # Exact shares sum to units_total, so 0 <= leftover < number of non-zero remainders.
    leftover = int(units_total) - sum(units.values())
    for key in sorted(remainders, key=lambda k: (-remainders[k], k))[:leftover]:
        units[key] += 1
    return {key: CALC_CONTEXT.multiply(Decimal(count), quantum) for key, count in units.items()}
