"""The six registry rules of DOMAIN.md: each accepted and refused, with interval edges."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yilian.core.errors import Conflict, NotFound, ValidationFailed
from yilian.registry.rules import (
    Affiliation,
    Agreement,
    AgreementKind,
    Consortium,
    ConsortiumLevel,
    ConsortiumType,
    Grid,
    Integration,
    Membership,
    Mode,
    PracticeExemption,
    RegistryWarning,
    Role,
    check_affiliations,
    check_grid,
    check_lead,
    check_no_duplicate_memberships,
    check_one_tight_consortium,
    check_partner_agreement,
    city_grid_warnings,
    find_practice_exemption,
    needs_new_registration,
    network_of,
)

D0 = date(2024, 1, 1)
SWITCH = date(2024, 6, 1)
LATER = date(2024, 9, 1)


# --------------------------------------------------------------------------- builders


def cons(
    code: str,
    mode: Mode = Mode.COUNTY_COMMUNITY,
    *,
    integration: Integration = Integration.TIGHT,
    level: ConsortiumLevel = ConsortiumLevel.COUNTY,
    type_: ConsortiumType = ConsortiumType.GENERAL,
    grid: str | None = None,
) -> Consortium:
    return Consortium(
        code=code,
        name=f"{code}医联体",
        mode=mode,
        integration=integration,
        level=level,
        type=type_,
        grid=grid,
    )


def group(
    code: str,
    *,
    level: ConsortiumLevel = ConsortiumLevel.CITY,
    type_: ConsortiumType = ConsortiumType.GENERAL,
    grid: str | None = None,
    integration: Integration = Integration.TIGHT,
) -> Consortium:
    return cons(code, Mode.CITY_GROUP, level=level, type_=type_, grid=grid, integration=integration)


def mem(
    inst: str,
    consortium: str,
    role: Role = Role.MEMBER,
    joined: date = D0,
    left: date | None = None,
    agreement: str | None = None,
) -> Membership:
    return Membership(
        institution=inst,
        consortium=consortium,
        role=role,
        joined_on=joined,
        left_on=left,
        agreement=agreement,
    )


def aff(community: str, group_code: str, joined: date = D0, left: date | None = None) -> Affiliation:
    return Affiliation(community=community, group=group_code, joined_on=joined, left_on=left)


def agr(
    code: str,
    kind: AgreementKind,
    supporting: str,
    supported: str,
    *,
    consortium: str | None = None,
    valid_from: date = D0,
    valid_to: date | None = None,
) -> Agreement:
    return Agreement(
        code=code,
        kind=kind,
        supporting=supporting,
        supported=supported,
        valid_from=valid_from,
        valid_to=valid_to,
        consortium=consortium,
    )


# --------------------------------------------------------------------------- records and periods


def test_a_period_must_end_after_it_starts() -> None:
    for left in (D0, D0 - timedelta(days=1)):
        with pytest.raises(ValidationFailed) as caught:
            mem("H1", "K1", left=left)
        assert caught.value.code == "registry_interval_invalid"
        with pytest.raises(ValidationFailed):
            aff("K1", "G1", left=left)


def test_an_agreement_needs_two_parties_and_a_sane_validity() -> None:
    with pytest.raises(ValidationFailed) as caught:
        agr("A1", AgreementKind.SUPPORT, "H1", "H1")
    assert caught.value.code == "registry_agreement_same_party"
    with pytest.raises(ValidationFailed) as caught:
        agr("A1", AgreementKind.SUPPORT, "H1", "H2", valid_to=D0 - timedelta(days=1))
    assert caught.value.code == "registry_interval_invalid"
    one_day = agr("A1", AgreementKind.SUPPORT, "H1", "H2", valid_to=D0)  # valid_to is inclusive
    assert one_day.is_current(D0) and not one_day.is_current(D0 + timedelta(days=1))


@pytest.mark.parametrize(
    ("first", "second", "overlap"),
    [
        ((D0, SWITCH), (SWITCH, None), False),
        ((D0, SWITCH), (SWITCH, LATER), False),
        ((D0, SWITCH), (SWITCH - timedelta(days=1), LATER), True),
        ((D0, None), (LATER, None), True),
        ((D0, LATER), (SWITCH, SWITCH + timedelta(days=1)), True),
    ],
)
def test_overlap_edges_in_both_orders(
    first: tuple[date, date | None], second: tuple[date, date | None], overlap: bool
) -> None:
    a = mem("H1", "K1", joined=first[0], left=first[1])
    b = mem("H1", "K2", joined=second[0], left=second[1])
    assert a.overlaps(b) is overlap
    assert b.overlaps(a) is overlap


def test_half_open_periods() -> None:
    m = mem("H1", "K1", joined=D0, left=SWITCH)
    assert m.is_current(D0) and m.is_current(SWITCH - timedelta(days=1))
    assert not m.is_current(SWITCH) and not m.is_current(D0 - timedelta(days=1))
    assert not m.overlaps(mem("H1", "K2", joined=SWITCH))
    assert m.overlaps(mem("H1", "K2", joined=SWITCH - timedelta(days=1)))
    assert mem("H1", "K1").overlaps(mem("H1", "K2", joined=LATER))  # open-ended


days = st.integers(min_value=0, max_value=40)


@given(
    a_start=days,
    a_len=st.one_of(st.none(), st.integers(1, 20)),
    b_start=days,
    b_len=st.one_of(st.none(), st.integers(1, 20)),
)
def test_overlap_means_some_day_is_current_in_both(
    a_start: int, a_len: int | None, b_start: int, b_len: int | None
) -> None:
    def period(start: int, length: int | None) -> Membership:
        joined = D0 + timedelta(days=start)
        return mem(
            "H1", "K1", joined=joined, left=None if length is None else joined + timedelta(days=length)
        )

    a, b = period(a_start, a_len), period(b_start, b_len)
    shared = any(
        a.is_current(D0 + timedelta(days=d)) and b.is_current(D0 + timedelta(days=d)) for d in range(70)
    )
    assert a.overlaps(b) == b.overlaps(a) == shared


# --------------------------------------------------------------------------- rule 1: the lead is a member


def test_rule1_the_current_lead_is_returned() -> None:
    k = cons("K1")
    rows = [mem("H1", "K1", Role.LEAD), mem("T1", "K1"), mem("X1", "K2", Role.LEAD)]
    assert check_lead(k, rows, SWITCH).institution == "H1"


@pytest.mark.parametrize(
    "rows",
    [
        [],
        [mem("T1", "K1")],  # members but no lead
        [mem("H1", "K1", Role.PARTNER)],
        [mem("H1", "K2", Role.LEAD)],  # lead of another consortium
        [mem("H1", "K1", Role.LEAD, left=SWITCH)],  # the lead has left
        [mem("H1", "K1", Role.LEAD, joined=LATER)],  # not yet
    ],
)
def test_rule1_no_current_lead_is_refused(rows: list[Membership]) -> None:
    with pytest.raises(ValidationFailed) as caught:
        check_lead(cons("K1"), rows, SWITCH)
    assert caught.value.code == "registry_lead_not_member"
    assert "牵头医院和成员单位构成" in caught.value.message


def test_rule1_two_leads_at_a_time_are_refused_even_outside_the_checked_day() -> None:
    rows = [mem("H1", "K1", Role.LEAD, left=LATER), mem("H2", "K1", Role.LEAD, joined=SWITCH)]
    with pytest.raises(Conflict) as caught:
        check_lead(cons("K1"), rows, D0)
    assert caught.value.code == "registry_two_leads"


def test_rule1_handing_over_the_lead_on_one_day_is_no_overlap() -> None:
    rows = [mem("H1", "K1", Role.LEAD, left=SWITCH), mem("H2", "K1", Role.LEAD, joined=SWITCH)]
    assert check_lead(cons("K1"), rows, SWITCH - timedelta(days=1)).institution == "H1"
    assert check_lead(cons("K1"), rows, SWITCH).institution == "H2"


# --------------------------------------------------------------------------- rule 2: one tight consortium


TIGHT_2 = [
    cons("K1"),
    cons("K2"),
    group("G1"),
    group("G2", integration=Integration.LOOSE),
    cons("S1", Mode.SPECIALTY_ALLIANCE, integration=Integration.LOOSE, level=ConsortiumLevel.CROSS_REGION),
    cons("N1", Mode.TELEMEDICINE_NETWORK, integration=Integration.LOOSE),
    cons("S2", Mode.SPECIALTY_ALLIANCE),  # tight, but a specialty alliance
]


@pytest.mark.parametrize(
    "rows",
    [
        [mem("H1", "K1"), mem("H1", "G1", Role.PARTNER)],  # partner of a tight city group (001)
        [mem("H1", "K1", Role.LEAD), mem("H1", "S1"), mem("H1", "S2"), mem("H1", "N1")],
        [mem("H1", "K1"), mem("H1", "G2")],  # loose city group
        [mem("H1", "K1", left=SWITCH), mem("H1", "K2", joined=SWITCH)],  # leaves the day the other starts
        [mem("H1", "K1"), mem("H2", "K2"), mem("H2", "G1")],  # other institutions' rows do not count
    ],
)
def test_rule2_accepted(rows: list[Membership]) -> None:
    check_one_tight_consortium("H1", rows, TIGHT_2)


def test_rule2_a_community_joining_a_city_group_makes_no_conflict_for_its_members() -> None:
    # T1 is a member of K1 only; K1 joined G1 as a whole, which gives T1 no membership of G1.
    check_one_tight_consortium("T1", [mem("T1", "K1"), mem("H9", "G1", Role.LEAD)], TIGHT_2)
    check_affiliations(cons("K1"), [aff("K1", "G1")], TIGHT_2)


@pytest.mark.parametrize(
    "rows",
    [
        [mem("H1", "K1"), mem("H1", "K2")],
        [mem("H1", "G1", Role.LEAD), mem("H1", "K1")],
        [mem("H1", "K1", left=SWITCH), mem("H1", "K2", joined=SWITCH - timedelta(days=1))],
        [mem("H1", "K1", left=SWITCH), mem("H1", "K2", joined=D0 - timedelta(days=30))],
    ],
)
def test_rule2_two_tight_consortia_at_a_time_are_refused(rows: list[Membership]) -> None:
    with pytest.raises(Conflict) as caught:
        check_one_tight_consortium("H1", rows, TIGHT_2)
    assert caught.value.code == "registry_two_tight_consortia"
    names = [c.name for c in TIGHT_2 if c.code in {r.consortium for r in rows}]
    assert all(name in caught.value.message for name in names)


def test_rule2_two_rows_in_one_consortium_are_not_two_consortia() -> None:
    # A duplicate is refused by check_no_duplicate_memberships, under its own code.
    check_one_tight_consortium("H1", [mem("H1", "K1"), mem("H1", "K1", Role.LEAD, joined=LATER)], TIGHT_2)


def test_rule2_unknown_consortium_is_not_found() -> None:
    with pytest.raises(NotFound) as caught:
        check_one_tight_consortium("H1", [mem("H1", "K9")], TIGHT_2)
    assert caught.value.code == "registry_unknown_consortium"


def test_duplicate_rows_for_one_consortium_are_refused_but_consecutive_ones_are_not() -> None:
    check_no_duplicate_memberships(
        [mem("H1", "K1", left=SWITCH), mem("H1", "K1", Role.LEAD, joined=SWITCH), mem("H2", "K1")],
        [aff("K1", "G1", left=SWITCH), aff("K1", "G1", joined=SWITCH)],
    )
    with pytest.raises(Conflict) as caught:
        check_no_duplicate_memberships([mem("H1", "K1"), mem("H1", "K1", Role.LEAD, joined=LATER)])
    assert caught.value.code == "registry_duplicate_membership"
    with pytest.raises(Conflict) as caught:
        check_no_duplicate_memberships([], [aff("K1", "G1"), aff("K1", "G1", joined=LATER)])
    assert caught.value.code == "registry_duplicate_membership"


# --------------------------------------------------------------------------- rule 3: joining as a whole


GROUPS_3 = [
    cons("K1"),
    group("G_GEN"),
    group("G_GEN2"),
    group("G_TCM", type_=ConsortiumType.TCM),
    group("P_GEN", level=ConsortiumLevel.PROVINCE),
    group("C_GEN", level=ConsortiumLevel.COUNTY),
    cons("K2"),
    cons("S1", Mode.SPECIALTY_ALLIANCE, level=ConsortiumLevel.CITY),
]


@pytest.mark.parametrize(
    "rows",
    [
        [aff("K1", "G_GEN"), aff("K1", "G_TCM")],  # city general + city TCM
        [aff("K1", "G_GEN"), aff("K1", "P_GEN")],  # city general + province general
        [aff("K1", "G_GEN", left=SWITCH), aff("K1", "G_GEN2", joined=SWITCH)],  # one after the other
        [aff("K1", "G_GEN"), aff("K2", "G_GEN2")],  # another community's affiliation
    ],
)
def test_rule3_accepted(rows: list[Affiliation]) -> None:
    check_affiliations(cons("K1"), rows, GROUPS_3)


@pytest.mark.parametrize(
    "rows",
    [
        [aff("K1", "G_GEN"), aff("K1", "G_GEN2")],
        [aff("K1", "G_GEN", left=SWITCH), aff("K1", "G_GEN2", joined=SWITCH - timedelta(days=1))],
    ],
)
def test_rule3_second_group_of_the_same_level_and_type_is_refused(rows: list[Affiliation]) -> None:
    with pytest.raises(Conflict) as caught:
        check_affiliations(cons("K1"), rows, GROUPS_3)
    assert caught.value.code == "registry_second_group_same_level_type"
    assert "原则上只加入1个同级别同类型的医疗集团" in caught.value.message
    assert "G_GEN医联体" in caught.value.message and "G_GEN2医联体" in caught.value.message


def test_rule3_the_principle_can_be_switched_off() -> None:
    rows = [aff("K1", "G_GEN"), aff("K1", "G_GEN2")]
    check_affiliations(cons("K1"), rows, GROUPS_3, one_group_per_level_type=False)


def test_rule3_rejoining_the_same_group_is_not_a_second_group() -> None:
    # Overlapping rows for one group are a duplicate, refused by check_no_duplicate_memberships.
    check_affiliations(cons("K1"), [aff("K1", "G_GEN"), aff("K1", "G_GEN", joined=LATER)], GROUPS_3)


@pytest.mark.parametrize("joining", [group("G9"), cons("S9", Mode.SPECIALTY_ALLIANCE)])
def test_rule3_only_a_county_community_joins_as_a_whole(joining: Consortium) -> None:
    with pytest.raises(ValidationFailed) as caught:
        check_affiliations(joining, [aff(joining.code, "G_GEN")], GROUPS_3)
    assert caught.value.code == "registry_affiliation_not_community"


@pytest.mark.parametrize("target", ["K2", "S1", "C_GEN"])
def test_rule3_the_target_is_a_city_or_province_group(target: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        check_affiliations(cons("K1"), [aff("K1", target)], GROUPS_3)
    assert caught.value.code == "registry_affiliation_not_city_group"


# --------------------------------------------------------------------------- rule 4: grids


GRID = Grid(code="W1", name="东片网格", city="320100")


def test_rule4_a_grid_with_one_tight_city_group() -> None:
    chosen = check_grid(GRID, [group("G1", grid="W1"), group("G2", grid="W2"), cons("K1")])
    assert chosen.code == "G1"


@pytest.mark.parametrize(
    "consortia",
    [
        [],
        [group("G1", grid="W2")],
        [group("G1", grid="W1", integration=Integration.LOOSE)],
        [cons("K1", grid="W1")],
        [group("G1", grid="W1"), cons("K1", grid="W1")],
    ],
)
def test_rule4_a_grid_without_its_tight_city_group_is_refused(consortia: list[Consortium]) -> None:
    with pytest.raises(ValidationFailed) as caught:
        check_grid(GRID, consortia)
    assert caught.value.code == "registry_grid_needs_one_tight_group"
    assert "每个网格布局建设1个紧密型城市医疗集团" in caught.value.message


def test_rule4_a_grid_with_two_tight_city_groups_is_refused() -> None:
    with pytest.raises(Conflict) as caught:
        check_grid(GRID, [group("G1", grid="W1"), group("G2", grid="W1")])
    assert caught.value.code == "registry_grid_two_tight_groups"


def test_rule4_a_city_with_fewer_than_two_grids_is_flagged_not_refused() -> None:
    grids = [
        Grid(code="W1", name="东", city="320100"),
        Grid(code="W2", name="西", city="320100"),
        Grid(code="W3", name="北", city="320200"),
    ]
    warnings = city_grid_warnings(grids)
    assert warnings == [
        RegistryWarning(code="registry_city_few_grids", message=warnings[0].message, subject="320200")
    ]
    assert "原则上不少于2个" in warnings[0].message
    assert city_grid_warnings(grids, min_grids=3) != []
    assert len(city_grid_warnings(grids, min_grids=3)) == 2
    assert city_grid_warnings([]) == []


# --------------------------------------------------------------------------- rule 5: partners


MEMBERS_5 = [
    mem("L1", "G1", Role.LEAD),
    mem("M1", "G1"),
    mem("M2", "G1", left=SWITCH),
    mem("P2", "G1", Role.PARTNER, agreement="A9"),
]


@pytest.mark.parametrize(
    "agreement",
    [
        agr("A1", AgreementKind.COLLABORATION, "P1", "L1"),
        agr("A1", AgreementKind.SUPPORT, "M1", "P1"),  # the partner is the supported party
        agr("A1", AgreementKind.TRUSTEESHIP, "P1", "M1", valid_to=SWITCH),  # last valid day
    ],
)
def test_rule5_partner_with_a_current_agreement_with_the_lead_or_a_member(agreement: Agreement) -> None:
    partner = mem("P1", "G1", Role.PARTNER, joined=SWITCH, agreement="A1")
    assert check_partner_agreement(partner, MEMBERS_5, [agreement]) == agreement


def test_rule5_leads_and_members_need_no_agreement() -> None:
    assert check_partner_agreement(mem("M3", "G1"), MEMBERS_5, []) is None


@pytest.mark.parametrize(
    ("agreement_ref", "agreements", "reason"),
    [
        (None, [agr("A1", AgreementKind.SUPPORT, "P1", "L1")], "missing"),
        ("A2", [agr("A1", AgreementKind.SUPPORT, "P1", "L1")], "unknown"),
        (
            "A1",
            [agr("A1", AgreementKind.SUPPORT, "P1", "L1", valid_to=SWITCH - timedelta(days=1))],
            "not_current",
        ),
        ("A1", [agr("A1", AgreementKind.SUPPORT, "P1", "L1", valid_from=LATER)], "not_current"),
        ("A1", [agr("A1", AgreementKind.SUPPORT, "L1", "M1")], "not_party"),
        ("A1", [agr("A1", AgreementKind.SUPPORT, "P1", "X1")], "counterparty"),  # outsider
        ("A1", [agr("A1", AgreementKind.SUPPORT, "P1", "M2")], "counterparty"),  # member who left that day
        ("A1", [agr("A1", AgreementKind.COLLABORATION, "P1", "P2")], "counterparty"),  # another partner
    ],
)
def test_rule5_partner_without_a_qualifying_agreement_is_refused(
    agreement_ref: str | None, agreements: list[Agreement], reason: str
) -> None:
    partner = mem("P1", "G1", Role.PARTNER, joined=SWITCH, agreement=agreement_ref)
    with pytest.raises(ValidationFailed) as caught:
        check_partner_agreement(partner, MEMBERS_5, agreements)
    assert caught.value.code == "registry_partner_without_agreement"
    assert caught.value.details["reason"] == reason
    assert "协作单位与紧密型城市医疗集团建立业务协作机制" in caught.value.message


def test_rule5_checks_on_the_day_given() -> None:
    partner = mem("P1", "G1", Role.PARTNER, joined=D0, agreement="A1")
    agreements = [agr("A1", AgreementKind.SUPPORT, "P1", "L1", valid_from=SWITCH)]
    check_partner_agreement(partner, MEMBERS_5, agreements, SWITCH)
    with pytest.raises(ValidationFailed):
        check_partner_agreement(partner, MEMBERS_5, agreements)  # on joined_on, before the agreement


# --------------------------------------------------------------------------- rule 6: multi-site practice

# County community K1 (lead H1, township T1) joined city group G1 (lead C1, member C2) until LATER;
# community K2 (lead H2, township T2) joined G1 too; P1 is a partner of G1; S1 is a specialty
# alliance with members H1 and Y1; Z1 is outside every consortium.
MEMBERS_6 = [
    mem("H1", "K1", Role.LEAD),
    mem("T1", "K1"),
    mem("H2", "K2", Role.LEAD),
    mem("T2", "K2"),
    mem("C1", "G1", Role.LEAD),
    mem("C2", "G1", left=SWITCH),
    mem("P1", "G1", Role.PARTNER, agreement="COLLAB"),
    mem("Y1", "S1"),
    mem("H1", "S1", Role.LEAD),
]
AFFILIATIONS_6 = [aff("K1", "G1", left=LATER), aff("K2", "G1")]


def needs(a: str, b: str, agreements: list[Agreement] | None = None, on: date = D0) -> bool:
    return needs_new_registration(a, b, MEMBERS_6, AFFILIATIONS_6, agreements or [], on)


def test_rule6_network_of_includes_groups_joined_by_the_community() -> None:
    assert network_of("T1", MEMBERS_6, AFFILIATIONS_6, D0) == {"K1", "G1"}
    assert network_of("T1", MEMBERS_6, AFFILIATIONS_6, LATER) == {"K1"}
    assert network_of("P1", MEMBERS_6, AFFILIATIONS_6, D0) == frozenset()


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("H1", "T1"),  # one county community
        ("T1", "C1"),  # township of a community that joined the city group, and the group's lead
        ("T1", "T2"),  # townships of two communities that joined the same group
        ("H1", "Y1"),  # a specialty alliance is a consortium too (跨区域医联体)
        ("C1", "C1"),
    ],
)
def test_rule6_same_network_needs_no_new_registration(a: str, b: str) -> None:
    assert not needs(a, b)
    assert not needs(b, a)


@pytest.mark.parametrize(
    ("a", "b", "on"),
    [
        ("T1", "C1", LATER),  # the community left the group that day
        ("C2", "C1", SWITCH),  # C2 left the group that day
        ("P1", "C1", D0),  # a partner is not in the network
        ("Z1", "H1", D0),
        ("T1", "Y1", D0),  # T1's community lead is in S1, T1 is not
    ],
)
def test_rule6_outside_a_shared_network_a_new_registration_is_needed(a: str, b: str, on: date) -> None:
    assert needs(a, b, on=on)


def test_rule6_support_or_trusteeship_recorded_under_a_shared_consortium_exempts() -> None:
    support = agr("SUP", AgreementKind.SUPPORT, "P1", "T2", consortium="G1")
    assert not needs("P1", "T2", [support])
    assert find_practice_exemption("T2", "P1", MEMBERS_6, AFFILIATIONS_6, [support], D0) == PracticeExemption(
        consortium="G1", agreement="SUP"
    )
    trusteeship = agr("TRU", AgreementKind.TRUSTEESHIP, "C1", "P1", consortium="G1")
    assert not needs("C1", "P1", [trusteeship])


@pytest.mark.parametrize(
    "agreement",
    [
        agr("COL", AgreementKind.COLLABORATION, "P1", "T2", consortium="G1"),  # collaboration only
        agr("SUP", AgreementKind.SUPPORT, "P1", "T2"),  # outside any consortium
        agr("SUP", AgreementKind.SUPPORT, "P1", "T2", consortium="K1"),  # a consortium P1 is not in
        agr(
            "SUP",
            AgreementKind.SUPPORT,
            "P1",
            "T2",
            consortium="G1",
            valid_from=date(2023, 1, 1),
            valid_to=D0 - timedelta(days=1),
        ),  # expired the day before
        agr("SUP", AgreementKind.SUPPORT, "P1", "C1", consortium="G1"),  # links other institutions
    ],
)
def test_rule6_other_agreements_do_not_exempt(agreement: Agreement) -> None:
    assert needs("P1", "T2", [agreement])


def test_rule6_agreement_with_an_institution_outside_the_consortium_does_not_exempt() -> None:
    support = agr("SUP", AgreementKind.SUPPORT, "C1", "Z1", consortium="G1")
    assert needs("C1", "Z1", [support])


def test_rule6_membership_exemption_names_the_consortium() -> None:
    assert find_practice_exemption("T1", "C1", MEMBERS_6, AFFILIATIONS_6, [], D0) == PracticeExemption(
        consortium="G1", agreement=None
    )
    assert find_practice_exemption("Z1", "C1", MEMBERS_6, AFFILIATIONS_6, [], D0) is None
