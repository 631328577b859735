"""Contract policy: the seeds' and national values as defaults, every one configurable.

The vocabulary the policy is written in lives here too (benefit codes, service
frequencies, package items, the "1+1+1" slots), because a policy must be
expressible without importing the rules that apply it.  ``PriorityBenefit`` is
also the vocabulary of scheduling's booking flags and of the referral episode's
"一免三优先": contracts is the lowest of those three features, so it owns the codes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

__all__ = [
    "BENEFIT_NAMES_ZH",
    "DEFAULT_BASIC_PACKAGE",
    "DEFAULT_COMBINATION_SLOTS",
    "PRIMARY_CARE_CENTRE_CATEGORIES",
    "CombinationSlot",
    "ContractPolicy",
    "Frequency",
    "PackageItem",
    "PriorityBenefit",
]


class PriorityBenefit(StrEnum):
    """The codes of "一免三优先": 免挂号费, 优先预约专家门诊, 优先安排辅助检查, 优先安排住院 (002)."""

    REGISTRATION_FEE_WAIVER = "registration_fee_waiver"
    PRIORITY_APPOINTMENT = "priority_appointment"
    PRIORITY_EXAM = "priority_exam"
    PRIORITY_ADMISSION = "priority_admission"


BENEFIT_NAMES_ZH: Final[dict[PriorityBenefit, str]] = {
    PriorityBenefit.REGISTRATION_FEE_WAIVER: "免挂号费",
    PriorityBenefit.PRIORITY_APPOINTMENT: "优先预约专家门诊",
    PriorityBenefit.PRIORITY_EXAM: "优先安排辅助检查",
    PriorityBenefit.PRIORITY_ADMISSION: "优先安排住院",
}


class Frequency(StrEnum):
    """How often a package item is owed; each period of the term owes one delivery."""

    ONCE = "once"  # once in the whole term
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    SEMIANNUAL = "semiannual"
    ANNUAL = "annual"

    @property
    def months(self) -> int | None:
        """Length of one period in months; ``None`` for once-per-term."""
        return _FREQUENCY_MONTHS[self]


_FREQUENCY_MONTHS: Final[dict[Frequency, int | None]] = {
    Frequency.ONCE: None,
    Frequency.MONTHLY: 1,
    Frequency.QUARTERLY: 3,
    Frequency.SEMIANNUAL: 6,
    Frequency.ANNUAL: 12,
}


@dataclass(frozen=True, slots=True)
class PackageItem:
    """One service a package promises, e.g. quarterly blood-pressure follow-up.

    ``populations`` names the key-population codes (DOMAIN.md) the item is owed
    to; empty means every contracted resident.
    """

    code: str
    name_zh: str
    frequency: Frequency
    populations: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class CombinationSlot:
    """One place of a combination signing ("1+1+1"): which institutions may fill it.

    An institution fits when its category is listed (if any are) and its tier is
    listed (if any are); an empty set means "any".
    """

    code: str
    name_zh: str
    categories: frozenset[str] = frozenset()
    tiers: frozenset[int] = frozenset()


#: Community and township health centres: the institutions a family-doctor team
#: belongs to and the "1" of "1+1+1" (village clinics and stations sign under their centre).
PRIMARY_CARE_CENTRE_CATEGORIES: Final = frozenset({"B100", "C100", "C210", "C220"})

#: Shanghai's reading of "1+1+1" [policy]: one community health centre, one
#: district-level hospital, one city-level hospital.  Tiers stand in for the
#: administrative level (二级 = tier 2, 三级 = tier 3), which DOMAIN.md does not model.
DEFAULT_COMBINATION_SLOTS: Final = (
    CombinationSlot("community", "社区卫生服务中心", categories=PRIMARY_CARE_CENTRE_CATEGORIES),
    CombinationSlot("district", "区级医院", tiers=frozenset({2})),
    CombinationSlot("city", "市级医院", tiers=frozenset({3})),
)

#: A small basic package [practice]: the chronic follow-ups are quarterly because
#: the standard-management indicators count ≥ 4 follow-ups a year (INDICATORS.md).
DEFAULT_BASIC_PACKAGE: Final = (
    PackageItem("health_assessment", "年度健康评估", Frequency.ANNUAL),
    PackageItem("htn_followup", "高血压患者随访", Frequency.QUARTERLY, frozenset({"hypertension"})),
    PackageItem("t2dm_followup", "2型糖尿病患者随访", Frequency.QUARTERLY, frozenset({"t2dm"})),
    PackageItem("elderly_checkup", "老年人健康体检", Frequency.ANNUAL, frozenset({"elderly_65"})),
)


@dataclass(frozen=True, slots=True)
class ContractPolicy:
    """Contract rules of one consortium (or the system defaults)."""

    #: [policy] term ≥ 1 year.
    min_term_years: int = 1
    #: [practice] a renewal or switch may be recorded this many days before the term ends.
    renewal_window_days: int = 90
    #: [practice] residents one team may hold; a team's own limit overrides it.
    panel_limit: int = 2000
    #: "持續推進“1+1+1”組合簽約" (004 item 7); off where the consortium does not offer it.
    combination_enabled: bool = True
    combination_slots: tuple[CombinationSlot, ...] = DEFAULT_COMBINATION_SLOTS
    #: "上级医院对签约患者提供优先接诊、优先检查、优先住院等服务" (000 三(三)); the fee
    #: waiver is the referral episode's (Luohu/Zhenjiang), not the contract's, by default.
    priority_rights: frozenset[PriorityBenefit] = field(
        default_factory=lambda: frozenset(
            {
                PriorityBenefit.PRIORITY_APPOINTMENT,
                PriorityBenefit.PRIORITY_EXAM,
                PriorityBenefit.PRIORITY_ADMISSION,
            }
        )
    )
    basic_package: tuple[PackageItem, ...] = DEFAULT_BASIC_PACKAGE
