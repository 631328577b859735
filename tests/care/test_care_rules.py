"""Pure rules of an encounter and its settlement: every refusal with its stable code."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from yilian.care import layout
from yilian.care.rules import (
    EncounterData,
    SettlementData,
    age_at,
    check_encounter,
    length_of_stay,
    normalise_icd9,
    normalise_icd10,
)
from yilian.core.errors import ValidationFailed
from yilian.payment.drg import DEMO_PACK_DIR

TODAY = date(2025, 12, 31)
BORN = date(1960, 5, 1)
D = Decimal

SETTLEMENT = SettlementData(scheme="resident", total_cost=D("1000.00"), cost_drugs=D("600.00"),
                            cost_exams=D("400.00"))
STAY = EncounterData(source_system="HIS", source_id="ZY1", institution_code="H1", kind="inpatient",
                     start_date=date(2025, 3, 1), end_date=date(2025, 3, 8), discharge_mode="1",
                     diagnoses=("I10.x00", "E11.900"), procedures=("36.0601",), settlement=SETTLEMENT)
VISIT = EncounterData(source_system="HIS", source_id="MZ1", institution_code="H1", kind="outpatient",
                      start_date=date(2025, 3, 1), diagnoses=("J06.900",), settlement=SETTLEMENT)


def check(data: EncounterData, born: date = BORN, **kw: Any) -> Any:
    return check_encounter(data, birth_date=born, today=TODAY, **kw)


def refused(data: EncounterData, born: date = BORN) -> str:
    with pytest.raises(ValidationFailed) as exc:
        check(data, born)
    assert exc.value.message  # a Chinese message for people
    return exc.value.code


def stl(**kw: Any) -> SettlementData:
    return replace(SETTLEMENT, **kw)


def test_a_valid_stay_is_normalised() -> None:
    c = check(replace(STAY, diagnoses=(" i10.X00 ", "e11.900"), procedures=("36.0601", "81.5100X001")))
    assert c.diagnoses == ("I10.x00", "E11.900") and c.principal_dx == "I10.x00"
    assert c.procedures == ("36.0601", "81.5100x001") and c.principal_proc == "36.0601"
    assert c.los_days == 7 and c.age_years == 64 and c.age_days is None
    assert c.settlement.settled_on == date(2025, 3, 8)  # defaults to the discharge date
    assert c.settlement.policy_cost == D("1000.00") and not c.settlement.policy_cost_given
    assert not c.settlement.split_given


def test_length_of_stay_counts_a_same_day_stay_as_one_day() -> None:
    assert length_of_stay(date(2025, 6, 12), date(2025, 6, 15)) == 3  # 病案首页 example
    assert length_of_stay(date(2025, 6, 12), date(2025, 6, 12)) == 1
    c = check(replace(STAY, end_date=STAY.start_date, los_days=1))
    assert c.los_days == 1


def test_age_in_days_for_infants() -> None:
    assert age_at(date(2025, 1, 1), date(2025, 1, 20)) == (0, 19)
    assert age_at(date(2024, 3, 2), date(2025, 3, 1)) == (0, 364)
    assert age_at(date(2024, 3, 1), date(2025, 3, 1)) == (1, None)


@pytest.mark.parametrize(("data", "code"), [
    (replace(STAY, kind="day_surgery"), "kind_invalid"),
    (replace(STAY, source_id=" "), "source_id_required"),
    (replace(STAY, source_system="S" * 41), "source_system_too_long"),
    (replace(STAY, start_date=date(2026, 1, 1), end_date=date(2026, 1, 2)), "date_in_future"),
    (replace(STAY, start_date=date(1959, 1, 1)), "encounter_before_birth"),
    (replace(STAY, end_date=None), "discharge_date_required"),
    (replace(STAY, end_date=date(2025, 2, 28)), "discharge_before_admission"),
    (replace(STAY, los_days=8), "los_mismatch"),
    (replace(STAY, discharge_mode=None), "discharge_mode_required"),
    (replace(STAY, discharge_mode="6"), "discharge_mode_invalid"),
    (replace(VISIT, discharge_mode="1"), "discharge_mode_not_inpatient"),
    (replace(VISIT, end_date=date(2025, 3, 2)), "visit_dates_invalid"),
    (replace(VISIT, los_days=1), "los_not_inpatient"),
    (replace(STAY, diagnoses=()), "diagnosis_required"),
    (replace(STAY, diagnoses=("I10.x00", "hypertension")), "diagnosis_code_invalid"),
    (replace(STAY, diagnoses=("I10", "I10")), "diagnosis_duplicate"),
    (replace(STAY, diagnoses=("W19.x00", "S72.000")), "principal_diagnosis_external_cause"),
    (replace(STAY, procedures=("3606.01",)), "procedure_code_invalid"),
    (replace(STAY, procedures=("36.0601", "36.0601")), "procedure_duplicate"),
    (replace(STAY, birth_weight_g=3200), "birth_weight_not_newborn"),
    (replace(STAY, referral_episode_id=0), "referral_episode_invalid"),
    (replace(STAY, settlement=stl(scheme="commercial")), "scheme_invalid"),
    (replace(STAY, settlement=stl(source="hospital")), "source_invalid"),
    (replace(STAY, settlement=stl(settled_on=date(2025, 2, 1))), "settled_before_encounter"),
    (replace(STAY, settlement=stl(total_cost=D("1000.001"))), "money_not_cents"),
    (replace(STAY, settlement=stl(cost_drugs=D("-1.00"), cost_exams=D("1001.00"))), "amount_negative"),
    (replace(STAY, settlement=stl(total_cost=D("1e14"))), "amount_too_large"),
    (replace(STAY, settlement=stl(cost_exams=D("399.99"))), "costs_do_not_add_up"),
    (replace(STAY, settlement=stl(policy_cost=D("1000.01"))), "policy_cost_exceeds_total"),
    (replace(STAY, settlement=stl(fund_paid=D("700.00"), patient_paid=D("300.00"))), "split_incomplete"),
])
def test_refusals_have_stable_codes(data: EncounterData, code: str) -> None:
    assert refused(data) == code


SPLIT = {"deductible": D("200.00"), "ratio": D("0.9"), "fund_paid": D("720.00"), "patient_paid": D("280.00")}


@pytest.mark.parametrize(("changes", "code"), [
    ({"patient_paid": D("279.99")}, "paid_do_not_add_up"),
    ({"policy_cost": D("500.00"), "fund_paid": D("600.00"), "patient_paid": D("400.00")}, "fund_exceeds_policy_cost"),
    ({"policy_cost": D("100.00")}, "deductible_exceeds_policy_cost"),
    ({"ratio": D("1.1")}, "ratio_invalid"),
    ({"ratio": D("0.12345")}, "ratio_invalid"),
    ({"scheme": "self_pay"}, "self_pay_fund_paid"),
])
def test_a_given_split_is_validated(changes: dict[str, Any], code: str) -> None:
    assert check(replace(STAY, settlement=stl(**SPLIT))).settlement.split_given
    assert refused(replace(STAY, settlement=stl(**{**SPLIT, **changes}))) == code


def test_birth_weight_for_a_newborn() -> None:
    baby = replace(STAY, start_date=date(2025, 3, 1), end_date=date(2025, 3, 5), birth_weight_g=2100)
    assert check(baby, born=date(2025, 2, 20)).birth_weight_g == 2100
    assert refused(replace(baby, birth_weight_g=50), born=date(2025, 2, 20)) == "birth_weight_invalid"
    assert refused(baby, born=date(2025, 1, 1)) == "birth_weight_not_newborn"  # 59 days old


def test_default_policy_share_is_configuration() -> None:
    c = check(STAY, default_policy_share=D("0.85"))
    assert c.settlement.policy_cost == D("850.00")


def _pack_codes(name: str) -> list[str]:
    out: list[str] = []
    for folder in (DEMO_PACK_DIR, Path(__file__).resolve().parents[3] / "shared" / "data" / "chs-drg-1.1"):
        f = Path(folder) / name
        if f.exists():
            out += [line.split("\t")[0] for line in f.read_text(encoding="utf-8").splitlines()[1:] if line]
    return out


def test_every_code_of_the_rule_packs_has_a_valid_shape() -> None:
    """The shapes accept every 医保版 code the demo pack (and the CHS-DRG 1.1 pack, when present) lists."""
    dx, px = _pack_codes("icd10.tsv"), _pack_codes("icd9cm3.tsv")
    assert dx and px
    principal = next(c for c in dx if c[0] not in "VWXY")
    for code in dx:
        check(replace(STAY, diagnoses=(principal, code) if code != principal else (code,)))
    for code in px:
        check(replace(STAY, procedures=(code,)))


def test_national_short_forms_are_accepted() -> None:
    assert check(replace(STAY, diagnoses=("I10", "J18.9"), procedures=("36.06",))).diagnoses == ("I10", "J18.9")
    assert normalise_icd10("x60.000") == "X60.000"  # chapter XX keeps its capital X
    assert normalise_icd9("81.5100X001") == "81.5100x001"


# ---- the CSV layout -----------------------------------------------------------------------


def test_header_refuses_unknown_and_missing_columns() -> None:
    with pytest.raises(ValidationFailed) as exc:
        layout.read_header(["source_system", "source_id", "total", "kind"])
    assert exc.value.code == "import_header_invalid"
    assert "total" in exc.value.message and "resident_id_number" in exc.value.message


def test_row_parsing_refusals() -> None:
    header = layout.read_header(list(layout.COLUMNS))
    row = dict.fromkeys(layout.COLUMNS, "")
    row.update(source_system="HIS", source_id="MZ1", resident_id_number="x", institution_code="H1",
               kind="outpatient", start_date="2025-03-01", diagnoses="J06.900", scheme="resident", total_cost="10")

    def code(**changes: str) -> str:
        with pytest.raises(ValidationFailed) as exc:
            layout.parse_row([{**row, **changes}[c] for c in layout.COLUMNS], header)
        return exc.value.code

    data, raw_id = layout.parse_row([row[c] for c in layout.COLUMNS], header)
    assert raw_id == "x" and data.diagnoses == ("J06.900",) and data.settlement.total_cost == D("10")
    assert code(start_date="2025/03/01") == "date_invalid"
    assert code(start_date="") == "start_date_required"
    assert code(total_cost="") == "total_cost_required"
    assert code(total_cost="ten") == "number_invalid"
    assert code(los_days="7.5") == "number_invalid"
    assert code(resident_id_number="") == "resident_id_number_required"
    with pytest.raises(ValidationFailed) as exc:
        layout.parse_row([row[c] for c in layout.COLUMNS][:-1], header)
    assert exc.value.code == "row_width_invalid"
