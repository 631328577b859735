"""The six registry rules of DOMAIN.md as pure functions over small frozen records.

Nothing here reads a database: the service loads the rows a rule needs (with the
row being added or changed already in place), calls the check, and lets the
refusal propagate.  Every refusal is a ``Conflict`` (clashes with other rows) or
a ``ValidationFailed`` (the row itself is incomplete), with a Chinese message that
quotes the seed where the seed states the rule, and a stable code.

Periods: memberships and affiliations are half-open, ``[joined_on, left_on)``, so
an institution that leaves on the day another joins never overlaps it.
Agreements carry a validity as written on the document ("有效期至…"), so their
``valid_to`` is the last valid day, inclusive.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from itertools import combinations
from typing import Final

from yilian.core.errors import Conflict, NotFound, ValidationFailed

__all__ = [
    "Affiliation",
    "Agreement",
    "AgreementKind",
    "Consortium",
    "ConsortiumLevel",
    "ConsortiumType",
    "Grid",
    "Integration",
    "Membership",
    "Mode",
    "PracticeExemption",
    "RegistryWarning",
    "Role",
    "check_affiliations",
    "check_grid",
    "check_lead",
    "check_no_duplicate_memberships",
    "check_one_tight_consortium",
    "check_partner_agreement",
    "city_grid_warnings",
    "find_practice_exemption",
    "needs_new_registration",
    "network_of",
]


class Role(StrEnum):
    LEAD = "lead"
    MEMBER = "member"
    PARTNER = "partner"


class Mode(StrEnum):
    CITY_GROUP = "city_group"
    COUNTY_COMMUNITY = "county_community"
    SPECIALTY_ALLIANCE = "specialty_alliance"
    TELEMEDICINE_NETWORK = "telemedicine_network"


class Integration(StrEnum):
    TIGHT = "tight"
    LOOSE = "loose"


class ConsortiumLevel(StrEnum):
    COUNTY = "county"
    CITY = "city"
    PROVINCE = "province"
    CROSS_REGION = "cross_region"


class ConsortiumType(StrEnum):
    GENERAL = "general"
    TCM = "tcm"
    MCH = "mch"
    SPECIALTY = "specialty"


class AgreementKind(StrEnum):
    SUPPORT = "support"
    TRUSTEESHIP = "trusteeship"
    COLLABORATION = "collaboration"


_LEVEL_ZH: Final = {"county": "县级", "city": "市级", "province": "省级", "cross_region": "跨区域"}
_TYPE_ZH: Final = {"general": "综合", "tcm": "中医", "mch": "妇幼", "specialty": "专科"}

#: Roles that make an institution part of a consortium's network; partners
#: (协作单位) work with the network from outside it (001).
_NETWORK_ROLES: Final = frozenset({Role.LEAD, Role.MEMBER})
_TIGHT_MODES: Final = frozenset({Mode.CITY_GROUP, Mode.COUNTY_COMMUNITY})
_GROUP_LEVELS: Final = frozenset({ConsortiumLevel.CITY, ConsortiumLevel.PROVINCE})
#: Only these sign the seed's "帮扶或者托管协议" (000 四(一)); collaboration does not.
_EXEMPTING_KINDS: Final = frozenset({AgreementKind.SUPPORT, AgreementKind.TRUSTEESHIP})

_Q_INSIDE: Final = "“紧密型城市医疗集团在内部由牵头医院和成员单位构成”"
_Q_ONE_GROUP: Final = "“县域医共体可整体加入省、州市医院组建的医疗集团,原则上只加入1个同级别同类型的医疗集团”"
_Q_GRID: Final = "“每个网格布局建设1个紧密型城市医疗集团”"
_Q_GRIDS_PER_CITY: Final = "“每个城市规划网格数量原则上不少于2个”"
_Q_PARTNER: Final = "“协作单位与紧密型城市医疗集团建立业务协作机制”"


# --------------------------------------------------------------------------- records


@dataclass(frozen=True, slots=True, kw_only=True)
class Consortium:
    code: str
    name: str
    mode: Mode
    integration: Integration
    level: ConsortiumLevel
    type: ConsortiumType
    #: The grid a city group is built for (rule 4); ``None`` for everything else.
    grid: str | None = None

    @property
    def is_tight_network(self) -> bool:
        """Counts for rule 2: a tight city group or a tight county community."""
        return self.integration == Integration.TIGHT and self.mode in _TIGHT_MODES


@dataclass(frozen=True, slots=True, kw_only=True)
class _Tenure:
    joined_on: date
    left_on: date | None = None

    def __post_init__(self) -> None:
        # An empty or reversed period would be "current" never, yet could still
        # be counted by the overlap test; refuse it where it is made.
        if self.left_on is not None and self.left_on <= self.joined_on:
            raise ValidationFailed(
                f"退出日期（{self.left_on}）须晚于加入日期（{self.joined_on}）",
                code="registry_interval_invalid",
            )

    def is_current(self, on: date) -> bool:
        return self.joined_on <= on and (self.left_on is None or on < self.left_on)

    def overlaps(self, other: _Tenure) -> bool:
        return (other.left_on is None or self.joined_on < other.left_on) and (
            self.left_on is None or other.joined_on < self.left_on
        )

    def period_zh(self) -> str:
        return f"{self.joined_on}起" if self.left_on is None else f"{self.joined_on}至{self.left_on}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Membership(_Tenure):
    """A direct membership: an institution in a consortium as lead, member or partner."""

    institution: str
    consortium: str
    role: Role
    #: Code of the agreement a partner row rests on (rule 5).
    agreement: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Affiliation(_Tenure):
    """A consortium-level membership (整体加入): a county community in a city group."""

    community: str
    group: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Agreement:
    """对口支援 / 帮扶, 托管 or 业务协作 between two institutions; ``valid_to`` inclusive."""

    code: str
    kind: AgreementKind
    supporting: str
    supported: str
    valid_from: date
    valid_to: date | None = None
    #: The consortium the agreement is recorded under, if any (rule 6).
    consortium: str | None = None

    def __post_init__(self) -> None:
        if self.supporting == self.supported:
            raise ValidationFailed("协议双方不能是同一机构", code="registry_agreement_same_party")
        if self.valid_to is not None and self.valid_to < self.valid_from:
            raise ValidationFailed(
                f"协议有效期终止日（{self.valid_to}）早于起始日（{self.valid_from}）",
                code="registry_interval_invalid",
            )

    def is_current(self, on: date) -> bool:
        return self.valid_from <= on and (self.valid_to is None or on <= self.valid_to)

    def links(self, a: str, b: str) -> bool:
        return {self.supporting, self.supported} == {a, b}


@dataclass(frozen=True, slots=True, kw_only=True)
class Grid:
    """A city's service area (网格); it is created with the group built for it."""

    code: str
    name: str
    #: Division code of the city the grid belongs to.
    city: str


@dataclass(frozen=True, slots=True)
class RegistryWarning:
    """A rule the seed states "原则上" that is shown to the commission, not refused."""

    code: str
    message: str
    subject: str


@dataclass(frozen=True, slots=True)
class PracticeExemption:
    """Why practising at another institution needs no new registration (rule 6)."""

    consortium: str
    #: ``None`` when both are in the consortium's network; else the agreement's code.
    agreement: str | None


# --------------------------------------------------------------------------- helpers


def _index(consortia: Iterable[Consortium]) -> dict[str, Consortium]:
    return {c.code: c for c in consortia}


def _get(by_code: dict[str, Consortium], code: str) -> Consortium:
    try:
        return by_code[code]
    except KeyError:
        raise NotFound(f"医联体 {code} 不存在", code="registry_unknown_consortium", consortium=code) from None


def _kind_of(c: Consortium) -> str:
    return f"{_LEVEL_ZH[c.level]}{_TYPE_ZH[c.type]}"


# --------------------------------------------------------------------------- rule 1


def check_lead(consortium: Consortium, memberships: Iterable[Membership], on_date: date) -> Membership:
    """Rule 1: exactly one current lead, holding a direct membership; returns it.

    Lead periods may not overlap at all (one lead at a time, also in the past and
    the future), and on ``on_date`` one of them must be current.
    """
    leads = sorted(
        (m for m in memberships if m.consortium == consortium.code and m.role == Role.LEAD),
        key=lambda m: m.joined_on,
    )
    for a, b in combinations(leads, 2):
        if a.overlaps(b):
            raise Conflict(
                f"「{consortium.name}」同一时间只能有1个牵头单位：{a.institution}（{a.period_zh()}）"
                f"与{b.institution}（{b.period_zh()}）的牵头期间重叠",
                code="registry_two_leads",
                consortium=consortium.code,
                institutions=[a.institution, b.institution],
            )
    current = [m for m in leads if m.is_current(on_date)]
    if not current:
        raise ValidationFailed(
            f"「{consortium.name}」在{on_date}没有牵头单位：牵头医院须以“牵头单位”身份持有本医联体的"
            f"成员关系（{_Q_INSIDE}）",
            code="registry_lead_not_member",
            consortium=consortium.code,
        )
    return current[0]


# --------------------------------------------------------------------------- rule 2


def check_one_tight_consortium(
    institution: str, memberships: Iterable[Membership], consortia: Iterable[Consortium]
) -> None:
    """Rule 2: at most one tight city group or county community at a time, as lead or member.

    ``memberships`` holds the institution's direct memberships (others are
    ignored), the one being recorded included.  Partner roles, specialty
    alliances, telemedicine networks and loose consortia are not counted, nor
    are affiliations: a township centre whose community joined a city group is
    not a member of that group.
    """
    by_code = _index(consortia)
    counted = sorted(
        (
            (m, c)
            for m in memberships
            if m.institution == institution
            and m.role in _NETWORK_ROLES
            and (c := _get(by_code, m.consortium)).is_tight_network
        ),
        key=lambda mc: (mc[0].joined_on, mc[1].code),
    )
    for (a, ca), (b, cb) in combinations(counted, 2):
        # Two rows in the same consortium are a duplicate, not a second consortium.
        if ca.code != cb.code and a.overlaps(b):
            raise Conflict(
                f"机构 {institution} 同一时间只能是1个紧密型医联体的牵头单位或成员单位：已在「{ca.name}」"
                f"（{a.period_zh()}），不能同时加入「{cb.name}」（{b.period_zh()}）。"
                "以协作单位身份参与，或加入专科联盟、远程医疗协作网不受此限",
                code="registry_two_tight_consortia",
                institution=institution,
                consortia=[ca.code, cb.code],
            )


def check_no_duplicate_memberships(
    memberships: Iterable[Membership], affiliations: Iterable[Affiliation] = ()
) -> None:
    """One row per institution and consortium (per community and group) at a time.

    Rules 2 and 3 skip such pairs because they are not a second consortium; this
    check refuses them for what they are.
    """
    ms = sorted(memberships, key=lambda m: m.joined_on)
    for a, b in combinations(ms, 2):
        if (a.institution, a.consortium) == (b.institution, b.consortium) and a.overlaps(b):
            raise Conflict(
                f"机构 {a.institution} 在医联体 {a.consortium} 的成员关系期间重叠"
                f"（{a.period_zh()}；{b.period_zh()}）",
                code="registry_duplicate_membership",
                institution=a.institution,
                consortium=a.consortium,
            )
    afs = sorted(affiliations, key=lambda f: f.joined_on)
    for x, y in combinations(afs, 2):
        if (x.community, x.group) == (y.community, y.group) and x.overlaps(y):
            raise Conflict(
                f"医共体 {x.community} 整体加入 {x.group} 的期间重叠（{x.period_zh()}；{y.period_zh()}）",
                code="registry_duplicate_membership",
                community=x.community,
                group=x.group,
            )


# --------------------------------------------------------------------------- rule 3


def check_affiliations(
    community: Consortium,
    affiliations: Iterable[Affiliation],
    consortia: Iterable[Consortium],
    *,
    one_group_per_level_type: bool = True,
) -> None:
    """Rule 3: a county community joins city groups as a whole, one per (level, type) at a time.

    ``affiliations`` holds the community's affiliations (others are ignored),
    the one being recorded included.  The seed says "原则上", hence the flag.
    """
    mine = sorted((a for a in affiliations if a.community == community.code), key=lambda a: a.joined_on)
    if mine and community.mode != Mode.COUNTY_COMMUNITY:
        raise ValidationFailed(
            f"「{community.name}」不是县域医共体：只有县域医共体可以整体加入医疗集团（{_Q_ONE_GROUP}）",
            code="registry_affiliation_not_community",
            consortium=community.code,
        )
    by_code = _index(consortia)
    groups = [(a, _get(by_code, a.group)) for a in mine]
    for _, group in groups:
        if group.mode != Mode.CITY_GROUP or group.level not in _GROUP_LEVELS:
            raise ValidationFailed(
                f"「{group.name}」不是省、州市医院组建的医疗集团，县域医共体不能整体加入（{_Q_ONE_GROUP}）",
                code="registry_affiliation_not_city_group",
                group=group.code,
            )
    if not one_group_per_level_type:
        return
    for (a, ga), (b, gb) in combinations(groups, 2):
        if ga.code != gb.code and (ga.level, ga.type) == (gb.level, gb.type) and a.overlaps(b):
            raise Conflict(
                f"「{community.name}」已整体加入{_kind_of(ga)}医疗集团「{ga.name}」（{a.period_zh()}），"
                f"不能同时再加入同级别同类型的「{gb.name}」（{_Q_ONE_GROUP}）",
                code="registry_second_group_same_level_type",
                community=community.code,
                groups=[ga.code, gb.code],
            )


# --------------------------------------------------------------------------- rule 4


def check_grid(grid: Grid, consortia: Iterable[Consortium]) -> Consortium:
    """Rule 4: a grid has exactly one tight city group; returns it.

    The grid's groups are the consortia whose ``grid`` names it; exactly one of
    them must be a tight city group, and none may be anything else.
    """
    named = [c for c in consortia if c.grid == grid.code]
    groups = [c for c in named if c.mode == Mode.CITY_GROUP and c.integration == Integration.TIGHT]
    if not groups or len(named) > len(groups):
        others = "」「".join(c.name for c in named if c not in groups)
        raise ValidationFailed(
            f"网格「{grid.name}」须由1个紧密型城市医疗集团负责"
            + (f"，「{others}」不是紧密型城市医疗集团" if others else "")
            + f"（{_Q_GRID}）",
            code="registry_grid_needs_one_tight_group",
            grid=grid.code,
        )
    if len(groups) > 1:
        names = "」「".join(c.name for c in groups)
        raise Conflict(
            f"网格「{grid.name}」只能有1个紧密型城市医疗集团，现有「{names}」（{_Q_GRID}）",
            code="registry_grid_two_tight_groups",
            grid=grid.code,
            groups=[c.code for c in groups],
        )
    return groups[0]


def city_grid_warnings(grids: Iterable[Grid], *, min_grids: int = 2) -> list[RegistryWarning]:
    """Rule 4, second half: cities with grids but fewer than ``min_grids`` are flagged, not refused.

    Cities without any grid have not started the grid layout and are not listed.
    """
    per_city = Counter(g.city for g in grids)
    return [
        RegistryWarning(
            code="registry_city_few_grids",
            message=f"城市 {city} 只规划了{n}个网格，原则上不少于{min_grids}个（{_Q_GRIDS_PER_CITY}）",
            subject=city,
        )
        for city, n in sorted(per_city.items())
        if n < min_grids
    ]


# --------------------------------------------------------------------------- rule 5


def check_partner_agreement(
    membership: Membership,
    memberships: Iterable[Membership],
    agreements: Iterable[Agreement],
    on_date: date | None = None,
) -> Agreement | None:
    """Rule 5: a partner row points to a current agreement with the lead or a member.

    Any kind counts here (support, trusteeship, collaboration).  ``on_date``
    defaults to the day the partner joins.  Returns the agreement, or ``None``
    for a lead or member row, which needs none.
    """
    if membership.role != Role.PARTNER:
        return None
    on = on_date or membership.joined_on
    partner = membership.institution

    def refuse(message: str, reason: str) -> ValidationFailed:
        return ValidationFailed(
            f"{message}；协作单位须与本医联体的牵头单位或成员单位签订对口支援、托管或业务协作协议（{_Q_PARTNER}）",
            code="registry_partner_without_agreement",
            reason=reason,
            institution=partner,
            consortium=membership.consortium,
        )

    if membership.agreement is None:
        raise refuse(f"协作单位 {partner} 未登记协议", "missing")
    agreement = next((a for a in agreements if a.code == membership.agreement), None)
    if agreement is None:
        raise refuse(f"协作单位 {partner} 登记的协议 {membership.agreement} 不存在", "unknown")
    if not agreement.is_current(on):
        raise refuse(f"协议 {agreement.code} 在{on}不在有效期内", "not_current")
    if partner not in (agreement.supporting, agreement.supported):
        raise refuse(f"协议 {agreement.code} 的签约方不包括协作单位 {partner}", "not_party")
    other = agreement.supported if agreement.supporting == partner else agreement.supporting
    in_network = any(
        m.institution == other
        and m.consortium == membership.consortium
        and m.role in _NETWORK_ROLES
        and m.is_current(on)
        for m in memberships
    )
    if not in_network:
        raise refuse(
            f"协议 {agreement.code} 的另一方 {other} 在{on}不是本医联体的牵头单位或成员单位", "counterparty"
        )
    return agreement


# --------------------------------------------------------------------------- rule 6


def network_of(
    institution: str, memberships: Iterable[Membership], affiliations: Iterable[Affiliation], on_date: date
) -> frozenset[str]:
    """Codes of the consortia whose network holds ``institution`` on ``on_date``.

    A network is a consortium's current direct leads and members plus, for a
    city group, the leads and members of the county communities that joined it.
    """
    direct = {
        m.consortium
        for m in memberships
        if m.institution == institution and m.role in _NETWORK_ROLES and m.is_current(on_date)
    }
    via_groups = {a.group for a in affiliations if a.community in direct and a.is_current(on_date)}
    return frozenset(direct | via_groups)


def find_practice_exemption(
    home_inst: str,
    other_inst: str,
    memberships: Iterable[Membership],
    affiliations: Iterable[Affiliation],
    agreements: Iterable[Agreement],
    on_date: date,
) -> PracticeExemption | None:
    """Rule 6: the ground on which practice at ``other_inst`` needs no new registration, if any.

    1. Both are in one consortium's network (membership counts as the agreement).
    2. A current support or trusteeship agreement links them, recorded under a
       consortium both belong to (its network, or as a current partner) — the
       seed's "在医联体(包括跨区域医联体)内…签订帮扶或者托管协议".
    Collaboration agreements and agreements outside any consortium do not exempt.
    """
    ms = tuple(memberships)
    afs = tuple(affiliations)
    home = network_of(home_inst, ms, afs, on_date)
    other = network_of(other_inst, ms, afs, on_date)
    shared = sorted(home & other)
    if shared:
        return PracticeExemption(consortium=shared[0], agreement=None)

    def belongs(inst: str, net: frozenset[str]) -> frozenset[str]:
        partner_of = {
            m.consortium
            for m in ms
            if m.institution == inst and m.role == Role.PARTNER and m.is_current(on_date)
        }
        return net | partner_of

    home_all = belongs(home_inst, home)
    other_all = belongs(other_inst, other)
    for agreement in sorted(agreements, key=lambda a: a.code):
        if (
            agreement.kind in _EXEMPTING_KINDS
            and agreement.links(home_inst, other_inst)
            and agreement.is_current(on_date)
            # An agreement recorded under no consortium (None) is in neither set.
            and agreement.consortium in home_all
            and agreement.consortium in other_all
        ):
            return PracticeExemption(consortium=agreement.consortium, agreement=agreement.code)
    return None


def needs_new_registration(
    home_inst: str,
    other_inst: str,
    memberships: Iterable[Membership],
    affiliations: Iterable[Affiliation],
    agreements: Iterable[Agreement],
    on_date: date,
) -> bool:
    """Rule 6: whether practising at ``other_inst`` on a registration at ``home_inst`` needs a new one.

    "在医联体(包括跨区域医联体)内,医务人员在签订帮扶或者托管协议的医疗机构内执业,
    不需办理执业地点变更和执业机构备案手续" (000 四(一)).
    """
    if home_inst == other_inst:
        return False
    exemption = find_practice_exemption(home_inst, other_inst, memberships, affiliations, agreements, on_date)
    return exemption is None
