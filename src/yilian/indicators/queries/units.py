"""Units of a cut and the maps from records (by institution) and residents (by home) to them.

- county: one unit (code ''): records of every in-county institution; residents insured in the county.
- institution: every in-county institution (out-of-county institutions are never units).
- consortium: county communities and city groups active in the period; records belong to a consortium
  by the institution's membership (lead or member, half-open [joined_on, left_on)) on the record's date,
  including the leads and members of county communities that joined a city group as a whole.
- grid: a grid is served by exactly one city group; its records are that group's.

A resident belongs to the township or community health centre serving their home township (the
lowest-id centre when a township has several) and, through it, to that centre's units.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Final

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    and_,
    case,
    distinct,
    func,
    literal_column,
    or_,
    select,
)
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql import Subquery

from yilian.db.models import Consortium, ConsortiumAffiliation, ConsortiumMembership, Grid, Institution
from yilian.indicators.catalogue import Cut
from yilian.indicators.periods import Period

# Township/street health centres and community health centres serve residents by home (DOMAIN.md).
HOME_CENTRE_CATEGORIES: Final = ("B100", "C100", "C210", "C220")
TOWNSHIP_CATEGORIES: Final = ("C210", "C220")
NETWORK_MODES: Final = ("county_community", "city_group")
NETWORK_ROLES: Final = ("lead", "member")


@dataclass(frozen=True, slots=True)
class Unit:
    cut: Cut
    code: str  # '' for the county
    name: str
    id: int | None = None  # institution, consortium or grid id


@dataclass(frozen=True, slots=True)
class UnitMap:
    """``(institution_id, unit)`` rows, with ``valid_from``/``valid_to`` when membership is dated."""

    rows: Subquery
    dated: bool

    def on(self, institution_id: Any, day: Any) -> ColumnElement[bool]:
        cond: ColumnElement[bool] = self.rows.c.institution_id == institution_id
        if self.dated:
            cond = and_(cond, self.rows.c.valid_from <= day,
                        or_(self.rows.c.valid_to.is_(None), self.rows.c.valid_to > day))
        return cond


def county_codes() -> Select[tuple[str]]:
    """The county: the 6-digit divisions where the in-county institutions are located."""
    return select(distinct(func.substr(Institution.division_code, 1, 6))).where(Institution.in_county.is_(True))


def home_centres() -> Subquery:
    """``(division_code, centre_id)``: the centre serving each township that has one."""
    return (
        select(Institution.division_code.label("division_code"), func.min(Institution.id).label("centre_id"))
        .where(Institution.in_county.is_(True), Institution.category.in_(HOME_CENTRE_CATEGORIES))
        .group_by(Institution.division_code)
        .subquery("home_centre")
    )


def _later(a: Any, b: Any) -> ColumnElement[Any]:
    return case((a > b, a), else_=b)


def _earlier_open(a: Any, b: Any) -> ColumnElement[Any]:
    """The earlier of two end dates where NULL means open-ended."""
    return case((a.is_(None), b), (b.is_(None), a), (a < b, a), else_=b)


def _network_rows(labels: Subquery) -> Select[Any]:
    """Institutions in each labelled consortium's network, with the interval of that membership."""
    m = ConsortiumMembership
    direct = (
        select(m.institution_id.label("institution_id"), labels.c.unit.label("unit"),
               m.joined_on.label("valid_from"), m.left_on.label("valid_to"))
        .join(labels, labels.c.consortium_id == m.consortium_id)
        .where(m.role.in_(NETWORK_ROLES))
    )
    cm = aliased(ConsortiumMembership)
    a = ConsortiumAffiliation
    via = (
        select(cm.institution_id, labels.c.unit, _later(cm.joined_on, a.joined_on),
               _earlier_open(cm.left_on, a.left_on))
        .select_from(cm)
        .join(a, a.community_id == cm.consortium_id)
        .join(labels, labels.c.consortium_id == a.group_id)
        .where(cm.role.in_(NETWORK_ROLES))
    )
    return direct.union_all(via)  # type: ignore[return-value]


def institution_map(cut: Cut) -> UnitMap:
    """Map an institution of care (on a record's date) to the units of ``cut``."""
    if cut == Cut.COUNTY:
        rows = select(Institution.id.label("institution_id"), literal_column("''", String).label("unit")).where(
            Institution.in_county.is_(True))
        return UnitMap(rows.subquery("unit_map"), dated=False)
    if cut == Cut.INSTITUTION:
        rows = select(Institution.id.label("institution_id"), Institution.code.label("unit")).where(
            Institution.in_county.is_(True))
        return UnitMap(rows.subquery("unit_map"), dated=False)
    if cut == Cut.CONSORTIUM:
        labels = (select(Consortium.id.label("consortium_id"), Consortium.code.label("unit"))
                  .where(Consortium.mode.in_(NETWORK_MODES)).subquery("labels"))
    else:
        labels = select(Grid.group_id.label("consortium_id"), Grid.code.label("unit")).subquery("labels")
    return UnitMap(_network_rows(labels).subquery("unit_map"), dated=True)


def lead_map(cut: Cut) -> UnitMap:
    """Lead hospitals only: the consortium's (or grid group's) lead on the date; county: every lead of a
    county community or city group; institution: every in-county institution (its own stays)."""
    if cut == Cut.INSTITUTION:
        return institution_map(cut)
    m = ConsortiumMembership
    if cut == Cut.COUNTY:
        rows: Select[Any] = (
            select(m.institution_id.label("institution_id"), literal_column("''", String).label("unit"),
                   m.joined_on.label("valid_from"), m.left_on.label("valid_to"))
            .join(Consortium, Consortium.id == m.consortium_id)
            .join(Institution, Institution.id == m.institution_id)
            .where(m.role == "lead", Consortium.mode.in_(NETWORK_MODES), Institution.in_county.is_(True))
        )
    elif cut == Cut.CONSORTIUM:
        rows = (
            select(m.institution_id.label("institution_id"), Consortium.code.label("unit"),
                   m.joined_on.label("valid_from"), m.left_on.label("valid_to"))
            .join(Consortium, Consortium.id == m.consortium_id)
            .where(m.role == "lead", Consortium.mode.in_(NETWORK_MODES))
        )
    else:
        rows = (
            select(m.institution_id.label("institution_id"), Grid.code.label("unit"),
                   m.joined_on.label("valid_from"), m.left_on.label("valid_to"))
            .join(Grid, Grid.group_id == m.consortium_id)
            .where(m.role == "lead")
        )
    return UnitMap(rows.subquery("lead_map"), dated=True)


def units(session: Session, cut: Cut, period: Period) -> list[Unit]:
    """Every unit of ``cut`` for ``period``, ordered by code (the output order)."""
    if cut == Cut.COUNTY:
        return [Unit(cut, "", "全县")]
    if cut == Cut.INSTITUTION:
        rows = session.execute(select(Institution.id, Institution.code, Institution.name)
                               .where(Institution.in_county.is_(True)).order_by(Institution.code))
        return [Unit(cut, code, name, id_) for id_, code, name in rows]
    if cut == Cut.CONSORTIUM:
        rows = session.execute(
            select(Consortium.id, Consortium.code, Consortium.name)
            .where(Consortium.mode.in_(NETWORK_MODES), Consortium.established_on <= period.end,
                   or_(Consortium.dissolved_on.is_(None), Consortium.dissolved_on > period.start))
            .order_by(Consortium.code))
        return [Unit(cut, code, name, id_) for id_, code, name in rows]
    rows = session.execute(select(Grid.id, Grid.code, Grid.name).order_by(Grid.code))
    return [Unit(cut, code, name, id_) for id_, code, name in rows]


def unit_network_on(session: Session, cut: Cut, unit: str, on: date) -> set[int]:
    """Institution ids of a unit on a day (for pages that list a unit's institutions)."""
    umap = institution_map(cut)
    stmt = select(umap.rows.c.institution_id).where(umap.rows.c.unit == unit)
    if umap.dated:
        stmt = stmt.where(umap.rows.c.valid_from <= on,
                          or_(umap.rows.c.valid_to.is_(None), umap.rows.c.valid_to > on))
    return set(session.scalars(stmt))


def with_unit(stmt: Select[Any], cut: Cut, institution_id: Any, day: Any, *, leads: bool = False) -> Select[Any]:
    """Add the ``unit`` of the record's institution on the record's day (records outside every unit drop)."""
    umap = lead_map(cut) if leads else institution_map(cut)
    return stmt.add_columns(umap.rows.c.unit.label("unit")).join(umap.rows, umap.on(institution_id, day))


def with_home_unit(stmt: Select[Any], cut: Cut, home_division: Any, day: Any) -> Select[Any]:
    """Add the ``unit`` of a resident's home: the centre serving the home township and its units on
    ``day``; every resident is in the county's unit (the caller restricts the population)."""
    if cut == Cut.COUNTY:
        return stmt.add_columns(literal_column("''", String).label("unit"))
    home = home_centres()
    umap = institution_map(cut)
    return (stmt.add_columns(umap.rows.c.unit.label("unit"))
            .join(home, home.c.division_code == home_division)
            .join(umap.rows, umap.on(home.c.centre_id, day)))
