"""Money is Decimal, rounded half-up to the cent only where money is paid."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


def to_money(value: Decimal | int | str) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def format_yuan(value: Decimal | None) -> str:
    return "" if value is None else f"{to_money(value):,.2f}"
