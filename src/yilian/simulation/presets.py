"""Scenario presets (SYNTHETIC.md): where the county is, how it is organised, and its care pattern.

A preset is plain frozen data.  The care shares below are what the quotas steer to, so a
preset's targets land by construction; they are stated against the indicators' own
definitions (INDICATORS.md):

* ``village_visit_share`` + ``township_visit_share`` = ``primary_visit_share`` (visits at
  in-county primary-care institutions ÷ all visits at in-county institutions);
* ``out_of_county_stay_share`` = 1 − ``county_retention_inpatient`` (insured residents' stays);
* ``primary_inpatient_share`` = stays at in-county primary care ÷ all in-county stays.

Reimbursement parameters (ratios, deductibles, policy-range shares) are per preset so that
``effective_reimbursement_rate`` lands where a preset has a target (Tianchang's 70 %).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Final

from yilian.core.errors import ValidationFailed


@dataclass(frozen=True)
class Hospital:
    """A county or out-of-county hospital (these do not multiply with the residents)."""

    key: str  # short code suffix, e.g. RMYY
    name: str
    category: str  # WS 218 code
    level: str
    grade: str | None
    beds: int
    ownership: str = "public"
    physicians: int = 40


@dataclass(frozen=True)
class Community:
    """A county community (医共体) led by one county hospital; townships are dealt round-robin."""

    key: str
    name: str
    type: str  # general | tcm | mch
    lead: str  # Hospital.key
    extra_members: tuple[str, ...] = ()  # county hospitals joining as members


@dataclass(frozen=True)
class Place:
    province: tuple[str, str]  # (code, name)
    city: tuple[str, str]
    county: tuple[str, str]
    city_district: tuple[str, str]  # where the city hospitals are
    capital: tuple[str, str]  # provincial capital (a city)
    capital_district: tuple[str, str]
    prefix: str  # institution code prefix, e.g. QD
    townships: tuple[str, ...]  # real-looking township names, used first


@dataclass(frozen=True)
class Target:
    code: str
    target: float
    tolerance: float  # percentage points as a fraction (0.03) for shares
    at_least: bool = False  # a "≥" target: passes at target − tolerance
    aim: float | None = None


@dataclass(frozen=True)
class Money:
    """Reimbursement parameters by place (primary, county, out_of_county, out_of_county_unreferred)."""

    inpatient_ratio: tuple[str, str, str, str] = ("0.90", "0.75", "0.55", "0.45")
    outpatient_ratio: tuple[str, str, str, str] = ("0.60", "0.50", "0", "0")
    inpatient_deductible: tuple[str, str, str, str] = ("200.00", "500.00", "1000.00", "1000.00")
    outpatient_deductible: tuple[str, str, str, str] = ("0.00", "0.00", "0.00", "0.00")
    # Share of a claim's total inside the policy range (政策范围内), by place.
    inpatient_policy_share: tuple[float, float, float, float] = (0.92, 0.88, 0.80, 0.80)
    outpatient_policy_share: tuple[float, float, float, float] = (0.95, 0.92, 0.85, 0.85)

    def decimals(self, name: str) -> dict[str, Decimal]:
        values: tuple[str, str, str, str] = getattr(self, name)
        return dict(zip(PLACES, (Decimal(v) for v in values), strict=True))


PLACES: Final = ("primary", "county", "out_of_county", "out_of_county_unreferred")


@dataclass(frozen=True)
class Rates:
    """Volumes and population rates; defaults from SYNTHETIC.md (≈ China 2020)."""

    visits_per_resident: float = 6.0
    stays_per_100: float = 19.0
    out_of_county_visit_share: float = 0.03  # of insured residents' visits, arriving as claims
    referred_out_of_county_share: float = 0.60  # out-of-county stays with an approved referral
    emergency_share: tuple[float, float, float] = (0.0, 0.04, 0.10)  # village, township, hospital
    sex_ratio_births: float = 1.12
    births_per_1000: float = 8.5
    deaths_per_1000: float = 7.0  # ≈ China 2020; more at older ages (``demography.MORTALITY_SHAPE``)
    in_hospital_death_share: float = 0.35  # deaths at the end of a stay (离院方式 5 死亡)
    contract_renewal_rate: float = 0.80  # contracts whose term ends in the year that are renewed
    insurance: tuple[float, float, float] = (0.82, 0.15, 0.03)  # resident, employee, uninsured
    hypertension_adult: float = 0.27
    t2dm_adult: float = 0.11
    disability: float = 0.06
    poverty: float = 0.03
    severe_mental: float = 0.005
    tuberculosis: float = 0.0005
    sick_newborn_share: float = 0.12  # births with a neonatal stay
    rural_skew: float = 0.0  # > 0 moves weight from ages 20–44 to 60+
    # Mean cost (yuan) and length of stay by care level: primary (township), secondary, tertiary.
    inpatient_cost: tuple[float, float, float] = (2500.0, 6800.0, 13900.0)
    los_days: tuple[float, float, float] = (6.7, 8.0, 9.0)
    # Outpatient cost per visit: village clinic, township centre, secondary, tertiary.
    outpatient_cost: tuple[float, float, float, float] = (55.0, 95.0, 230.0, 350.0)
    # Secondary diagnoses (CC / MCC lists) at primary, secondary, tertiary level.
    cc_rate: tuple[float, float, float] = (0.12, 0.25, 0.35)
    mcc_rate: tuple[float, float, float] = (0.02, 0.06, 0.12)
    # Share of stays drawn from the whole ADRG list (pack only), by level; the rest from the common mix.
    long_tail: tuple[float, float, float] = (0.0, 0.08, 0.22)


@dataclass(frozen=True)
class Preset:
    name: str
    title_zh: str
    year: int
    place: Place
    hospitals: tuple[Hospital, ...]  # in-county hospitals
    communities: tuple[Community, ...]
    out_of_county: tuple[Hospital, ...]  # last one is the provincial hospital
    village_visit_share: float
    township_visit_share: float
    out_of_county_stay_share: float
    primary_inpatient_share: float
    targets: tuple[Target, ...]
    money: Money = field(default_factory=Money)
    rates: Rates = field(default_factory=Rates)

    @property
    def county_code(self) -> str:
        return self.place.county[0]


def _hospitals(county: str, general_level: tuple[str, str], tcm: str, mch: str,
               extra: tuple[Hospital, ...] = ()) -> tuple[Hospital, ...]:
    return (
        Hospital("RMYY", f"{county}人民医院", "A100", general_level[0], general_level[1], 900, physicians=70),
        Hospital("ZYY", tcm, "A210", "2", "A", 450, physicians=35),
        Hospital("FYBJY", mch, "G100", "2", "A", 180, physicians=25),
        *extra,
    )


QIDONG: Final = Preset(
    name="qidong-2016",
    title_zh="启东 2016（两个医疗集团）",
    year=2016,
    place=Place(("320000", "江苏省"), ("320600", "南通市"), ("320681", "启东市"), ("320602", "崇川区"),
                ("320100", "南京市"), ("320106", "鼓楼区"), "QD",
                ("汇龙镇", "南阳镇", "北新镇", "王鲍镇", "合作镇", "海复镇", "近海镇", "寅阳镇", "惠萍镇",
                 "东海镇", "吕四港镇", "启隆乡")),
    hospitals=_hospitals("启东市", ("3", "B"), "启东市中医院", "启东市妇幼保健院"),
    communities=(
        Community("RMYY-JT", "启东市人民医院医疗集团", "general", "RMYY", ("FYBJY",)),
        Community("ZYY-JT", "启东市中医院医疗集团", "tcm", "ZYY"),
    ),
    out_of_county=(
        Hospital("NTFY", "南通大学附属医院", "A100", "3", "A", 3000),
        Hospital("NTYY", "南通市第一人民医院", "A100", "3", "A", 2000),
        Hospital("NTZY", "南通市中医院", "A210", "3", "A", 1000),
        Hospital("JSSRMYY", "江苏省人民医院", "A100", "3", "A", 4000),
    ),
    village_visit_share=0.28,
    township_visit_share=0.439,
    out_of_county_stay_share=1 - 0.883,
    primary_inpatient_share=0.498,
    targets=(
        Target("primary_visit_share", 0.719, 0.03),
        Target("primary_inpatient_share", 0.498, 0.03),
        Target("county_retention_inpatient", 0.883, 0.03),
    ),
)

TIANCHANG: Final = Preset(
    name="tianchang-2016",
    title_zh="天长 2016（三个医共体）",
    year=2016,
    place=Place(("340000", "安徽省"), ("341100", "滁州市"), ("341181", "天长市"), ("341102", "琅琊区"),
                ("340100", "合肥市"), ("340103", "庐阳区"), "TC",
                ("秦栏镇", "仁和集镇", "冶山镇", "铜城镇", "大通镇", "张铺镇", "杨村镇", "石梁镇", "新街镇",
                 "万寿镇", "汊涧镇", "郑集镇", "永丰镇", "金集镇")),
    hospitals=_hospitals("天长市", ("2", "A"), "天长市中医院", "天长市妇幼保健院",
                         (Hospital("TKYY", "天康医院", "A100", "2", "A", 500, "private", 30),)),
    communities=(
        Community("RMYY-GT", "天长市人民医院医共体", "general", "RMYY", ("FYBJY",)),
        Community("ZYY-GT", "天长市中医院医共体", "tcm", "ZYY"),
        Community("TKYY-GT", "天康医院医共体", "general", "TKYY"),
    ),
    out_of_county=(
        Hospital("CZYY", "滁州市第一人民医院", "A100", "3", "A", 1800),
        Hospital("CZEY", "滁州市第二人民医院", "A100", "3", "B", 1200),
        Hospital("AHSLYY", "安徽省立医院", "A100", "3", "A", 4000),
    ),
    village_visit_share=0.12,
    township_visit_share=0.527,
    out_of_county_stay_share=1 - 0.9224,
    primary_inpatient_share=0.35,
    targets=(
        Target("county_retention_inpatient", 0.9224, 0.03),
        Target("township_visit_share", 0.527, 0.03),
        Target("effective_reimbursement_rate", 0.70, 0.03),
    ),
    # Rural scheme of 2016 with generous in-county ratios: tuned so that the stays'
    # fund ÷ total (effective_reimbursement_rate) lands at 70 % (measured in the tests).
    money=Money(
        inpatient_ratio=("0.95", "0.82", "0.65", "0.50"),
        inpatient_deductible=("100.00", "300.00", "800.00", "1000.00"),
        inpatient_policy_share=(0.96, 0.93, 0.85, 0.85),
    ),
)

TARGET_2025: Final = Preset(
    name="target-2025",
    title_zh="2025 目标县（三个医共体：综合、中医、妇幼）",
    year=2025,
    place=Place(("530000", "云南省"), ("530300", "曲靖市"), ("530322", "陆良县"), ("530302", "麒麟区"),
                ("530100", "昆明市"), ("530102", "五华区"), "LL",
                ("中枢镇", "召夸镇", "马街镇", "三岔河镇", "大莫古镇", "芳华镇", "小百户镇", "板桥镇",
                 "活水乡", "龙海乡")),
    hospitals=_hospitals("陆良县", ("3", "B"), "陆良县中医医院", "陆良县妇幼保健院"),
    communities=(
        Community("RMYY-GT", "陆良县人民医院医共体", "general", "RMYY"),
        Community("ZYY-GT", "陆良县中医医院医共体", "tcm", "ZYY"),
        Community("FYBJY-GT", "陆良县妇幼保健院医共体", "mch", "FYBJY"),
    ),
    out_of_county=(
        Hospital("QJYY", "曲靖市第一人民医院", "A100", "3", "A", 2500),
        Hospital("QJEY", "曲靖市第二人民医院", "A100", "3", "B", 1500),
        Hospital("QJZY", "曲靖市中医医院", "A210", "3", "A", 1000),
        Hospital("YNSYY", "云南省第一人民医院", "A100", "3", "A", 3500),
    ),
    village_visit_share=0.26,
    township_visit_share=0.42,
    out_of_county_stay_share=1 - 0.92,
    primary_inpatient_share=0.40,
    targets=(
        Target("county_retention_inpatient", 0.90, 0.03, at_least=True, aim=0.92),
        Target("primary_visit_share", 0.65, 0.03, at_least=True, aim=0.68),
    ),
)

PRESETS: Final[dict[str, Preset]] = {p.name: p for p in (TARGET_2025, QIDONG, TIANCHANG)}
DEFAULT_PRESET: Final = TARGET_2025.name


def get_preset(name: str) -> Preset:
    try:
        return PRESETS[name]
    except KeyError:
        valid = "、".join(PRESETS)
        raise ValidationFailed(f"未知的预设“{name}”，可选：{valid}。", code="simulate_unknown_preset") from None
