"""The catalogue holds every code of INDICATORS.md once, in its order, with complete definitions."""

from __future__ import annotations

import re
from pathlib import Path

from yilian.indicators import catalogue, engine
from yilian.indicators.catalogue import Measure, Source

SPEC = Path(__file__).resolve().parents[3] / "shared" / "design" / "INDICATORS.md"
# The codes of INDICATORS.md's tables, in order (also checked against the file when it is at hand).
EXPECTED = [
    "county_retention_inpatient", "county_retention_outpatient", "primary_visit_share", "township_visit_share",
    "primary_inpatient_share", "up_referrals", "down_referrals", "down_up_ratio", "down_referral_rate",
    "referral_timely_accept_rate", "referral_closure_rate", "down_followup_on_time_rate", "reserved_slot_use_rate",
    "orderly_out_of_county_rate", "appointment_rate", "contract_rate", "contract_rate_key", "contract_renewal_rate",
    "contract_delivery_rate", "htn_management_rate", "htn_standard_management_rate", "htn_control_rate",
    "t2dm_management_rate", "t2dm_standard_management_rate", "t2dm_control_rate",
    "chronic_managed_hospitalisation_rate", "remote_diagnosis_volume", "result_recognition_rate",
    "dispatched_senior_doctors", "primary_to_lead_income_ratio", "fund_in_county_share", "fund_primary_share",
    "effective_reimbursement_rate", "inpatient_cost_per_stay", "inpatient_cost_per_stay_growth",
    "outpatient_cost_per_visit", "outpatient_cost_per_visit_growth", "average_length_of_stay", "cmi",
    "drug_cost_share", "budget_surplus_rate",
]


def test_every_code_once_in_order() -> None:
    assert catalogue.codes() == EXPECTED
    if SPEC.exists():
        in_spec = re.findall(r"^\| `([a-z0-9_]+)` \|", SPEC.read_text(encoding="utf-8"), flags=re.M)
        assert in_spec == EXPECTED


def test_definitions_are_complete() -> None:
    for ind in catalogue.INDICATORS:
        assert ind.name and ind.numerator and ind.population and ind.dating, ind.code
        assert any("\u4e00" <= ch <= "\u9fff" for ch in ind.name), ind.code
        if ind.measure == Measure.COUNT:
            assert ind.denominator is None and ind.den_quantity is None, ind.code
        else:
            assert ind.denominator and ind.den_quantity is not None, ind.code
    assert catalogue.get("contract_rate_key").groups[-1] == "poverty"
    assert catalogue.get("county_retention_inpatient").target is not None


def test_pending_sources_are_the_features_not_landed() -> None:
    pending = {i.code for i in catalogue.INDICATORS} - engine.implemented_codes()
    assert pending == {i.code for i in catalogue.INDICATORS
                       if i.source in (Source.CHRONIC, Source.DIAGNOSTICS, Source.STAFF)}
    assert len(pending) == 11 and "htn_control_rate" in pending and "cmi" not in pending


def test_version_changes_with_definitions() -> None:
    v = catalogue.version()
    assert v.startswith(catalogue.CATALOGUE_VERSION + "+")
    assert catalogue.version() == v
