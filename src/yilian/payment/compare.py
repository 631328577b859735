"""Two runs side by side: the difference per institution (what a what-if changed)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.orm import Session

from yilian.db.models import PaymentRun
from yilian.payment import repository
from yilian.payment.money import CALC_CONTEXT, MONEY_ZERO, ZERO

PCT_Q = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class DiffLine:
    institution_id: int
    code: str
    name: str
    level: str
    cases: int
    points_a: Decimal | None
    points_b: Decimal | None
    payment_a: Decimal
    payment_b: Decimal

    @property
    def difference(self) -> Decimal:
        return self.payment_b - self.payment_a

    @property
    def percent(self) -> Decimal | None:
        """Change in % of run A's payment (None when A paid nothing)."""
        if self.payment_a == ZERO:
            return None
        return CALC_CONTEXT.divide(self.difference * 100, self.payment_a).quantize(PCT_Q)


@dataclass(frozen=True, slots=True)
class Comparison:
    a: PaymentRun
    b: PaymentRun
    lines: list[DiffLine]

    @property
    def total_a(self) -> Decimal:
        return sum((line.payment_a for line in self.lines), MONEY_ZERO)

    @property
    def total_b(self) -> Decimal:
        return sum((line.payment_b for line in self.lines), MONEY_ZERO)

    @property
    def changed(self) -> list[DiffLine]:
        return [line for line in self.lines if line.difference != ZERO]


def compare(session: Session, a: PaymentRun, b: PaymentRun, institution_ids: frozenset[int] | None = None
            ) -> Comparison:
    """Per institution: payment (statement ``payment``) and points of each run; an institution in one
    run only shows 0 in the other.  Sorted by the size of the change, largest first."""
    left = {info.id: (line, info) for line, info in repository.statement(session, a.id, institution_ids)}
    right = {info.id: (line, info) for line, info in repository.statement(session, b.id, institution_ids)}
    lines: list[DiffLine] = []
    for iid in sorted(set(left) | set(right)):
        la, lb = left.get(iid), right.get(iid)
        line, info = (la or lb)  # type: ignore[misc]
        lines.append(DiffLine(
            institution_id=iid, code=info.code, name=info.name, level=info.level, cases=line.cases,
            points_a=la[0].points if la else None, points_b=lb[0].points if lb else None,
            payment_a=(la[0].payment if la and la[0].payment is not None else MONEY_ZERO),
            payment_b=(lb[0].payment if lb and lb[0].payment is not None else MONEY_ZERO)))
    lines.sort(key=lambda d: (-abs(d.difference), d.code))
    return Comparison(a, b, lines)
