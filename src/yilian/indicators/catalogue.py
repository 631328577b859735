"""The indicator catalogue of INDICATORS.md, defined once, as data.

Every code has its Chinese name, numerator and denominator (or a count), measure, population, dating
rule, attribution to units, the cuts it supports, direction, optional target, the feature that feeds
it and the note shown next to the number.  Pages, API, CLI, snapshots and scorecards all read these
definitions; the SQL that computes a code lives in ``queries/`` and is registered in ``engine.py``.

Pure: no database, no web.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Final

from yilian.core.errors import NotFound

CATALOGUE_VERSION: Final = "2025.1"


class Family(StrEnum):
    CARE_PATTERN = "care_pattern"
    FAMILY_DOCTOR = "family_doctor"
    CHRONIC = "chronic"
    SHARED = "shared"
    FUND = "fund"


FAMILY_NAMES_ZH: Final = {
    Family.CARE_PATTERN: "分级诊疗", Family.FAMILY_DOCTOR: "家庭医生签约", Family.CHRONIC: "慢性病管理",
    Family.SHARED: "资源共享与同质化", Family.FUND: "医保效能",
}


class Measure(StrEnum):
    """The unit of measure of the value (not the output's ``unit`` field, which names an org unit)."""

    FRACTION = "fraction"
    COUNT = "count"
    RATIO = "ratio"
    YUAN = "yuan"
    DAYS = "days"
    INDEX = "index"


MEASURE_NAMES_ZH: Final = {
    Measure.FRACTION: "比例", Measure.COUNT: "计数", Measure.RATIO: "比值", Measure.YUAN: "元",
    Measure.DAYS: "天", Measure.INDEX: "指数",
}


class Quantity(StrEnum):
    """What a numerator or denominator counts: decides its exact printed form."""

    COUNT = "count"  # integer
    YUAN = "yuan"  # 2 decimals
    WEIGHT = "weight"  # 4 decimals (Σ RW)


class Direction(StrEnum):
    UP = "up"
    DOWN = "down"
    NEUTRAL = "neutral"


DIRECTION_SYMBOLS: Final = {Direction.UP: "↑", Direction.DOWN: "↓", Direction.NEUTRAL: "·"}
DIRECTION_NAMES_ZH: Final = {Direction.UP: "越高越好", Direction.DOWN: "越低越好", Direction.NEUTRAL: "不评优劣"}


class Cut(StrEnum):
    COUNTY = "county"
    CONSORTIUM = "consortium"
    INSTITUTION = "institution"
    GRID = "grid"


CUT_NAMES_ZH: Final = {Cut.COUNTY: "全县", Cut.CONSORTIUM: "医联体", Cut.INSTITUTION: "机构", Cut.GRID: "网格"}
ALL_CUTS: Final = (Cut.COUNTY, Cut.CONSORTIUM, Cut.INSTITUTION, Cut.GRID)


class Attribution(StrEnum):
    """To which unit a record belongs (INDICATORS.md "Attribution to units")."""

    CARE = "care"  # the institution of care, and its consortium by membership on the record's date
    RESIDENTS = "residents"  # people by home: the centre serving their home township, and its consortium
    SENDER = "sender"
    RECEIVER = "receiver"
    LEAD = "lead"  # the lead hospitals' stays
    OFFERING = "offering"  # slots: the institution offering them
    TEAM = "team"  # contracts: the team's institution
    CENTRE = "centre"  # shared diagnostic centres
    BUDGET = "budget"  # consortium budgets


ATTRIBUTION_NAMES_ZH: Final = {
    Attribution.CARE: "按就诊机构（及其在就诊日所属医联体）",
    Attribution.RESIDENTS: "按居民住址（住址乡镇的乡镇卫生院/社区卫生服务中心及其医联体）",
    Attribution.SENDER: "按转出机构",
    Attribution.RECEIVER: "按接收机构",
    Attribution.LEAD: "按牵头医院",
    Attribution.OFFERING: "按提供号源的机构",
    Attribution.TEAM: "按签约团队所在机构",
    Attribution.CENTRE: "按共享中心",
    Attribution.BUDGET: "按医共体预算",
}


class Source(StrEnum):
    """The feature that feeds a code."""

    CARE = "care"
    REFERRALS = "referrals"
    SCHEDULING = "scheduling"
    CONTRACTS = "contracts"
    CHRONIC = "chronic"
    DIAGNOSTICS = "diagnostics"
    STAFF = "staff"
    PAYMENT = "payment"


SOURCE_NAMES_ZH: Final = {
    Source.CARE: "诊疗与结算数据（机构 HIS、医保结算）", Source.REFERRALS: "双向转诊",
    Source.SCHEDULING: "号源与预约", Source.CONTRACTS: "家庭医生签约", Source.CHRONIC: "慢性病管理（登记与随访）",
    Source.DIAGNOSTICS: "共享检查检验与结果互认", Source.STAFF: "人员派驻与收入",
    Source.PAYMENT: "医保支付（分组与预算）",
}


class Reason(StrEnum):
    """Why a row has no value (``status = no_data``); stable codes of the output contract."""

    ZERO_DENOMINATOR = "zero_denominator"
    SOURCE_PENDING = "source_pending"
    NO_PRIOR_YEAR = "no_prior_year"
    NOT_GROUPED = "not_grouped"
    NO_BUDGET = "no_budget"


REASON_NAMES_ZH: Final = {
    Reason.ZERO_DENOMINATOR: "分母为零",
    Reason.SOURCE_PENDING: "数据来源功能尚未上线",
    Reason.NO_PRIOR_YEAR: "上年同期无数据",
    Reason.NOT_GROUPED: "住院病例尚未分组",
    Reason.NO_BUDGET: "无当年预算",
}


class PeriodRule(StrEnum):
    ANY = "any"  # month, quarter or year
    ROLLING_YEAR = "rolling_year"  # defined on years; shorter periods use the 12 months ending on the period end
    YEAR = "year"  # year periods


@dataclass(frozen=True, slots=True)
class Target:
    op: str  # ">=" | "<=" | "≈"
    value: Decimal
    note: str = ""

    def met(self, value: Decimal) -> bool:
        if self.op == ">=":
            return value >= self.value
        if self.op == "<=":
            return value <= self.value
        return abs(value - self.value) <= Decimal("0.03") * abs(self.value)


@dataclass(frozen=True, slots=True)
class Indicator:
    code: str
    name: str
    family: Family
    measure: Measure
    direction: Direction
    numerator: str
    denominator: str | None
    population: str
    dating: str
    attribution: Attribution
    source: Source
    num_quantity: Quantity = Quantity.COUNT
    den_quantity: Quantity | None = Quantity.COUNT
    target: Target | None = None
    note: str = ""
    groups: tuple[str, ...] = ()
    cuts: tuple[Cut, ...] = ALL_CUTS
    period_rule: PeriodRule = PeriodRule.ANY

    @property
    def is_count(self) -> bool:
        return self.measure == Measure.COUNT

    @property
    def symbol(self) -> str:
        return DIRECTION_SYMBOLS[self.direction]


def _frac(code: str, name: str, family: Family, direction: Direction, numerator: str, denominator: str, *,
          population: str, dating: str, attribution: Attribution, source: Source, **kw: object) -> Indicator:
    return Indicator(code, name, family, Measure.FRACTION, direction, numerator, denominator, population, dating,
                     attribution, source, **kw)  # type: ignore[arg-type]


_CP, _FD, _CH, _SH, _FU = Family.CARE_PATTERN, Family.FAMILY_DOCTOR, Family.CHRONIC, Family.SHARED, Family.FUND
_UP, _DOWN, _NEUTRAL = Direction.UP, Direction.DOWN, Direction.NEUTRAL
_INSURED = "本县参保居民（参保地为本县，按就诊日的参保记录）"
_VISITS = "门诊、急诊人次，按就诊日期"
_STAYS = "住院人次，按出院日期"
_IN_COUNTY = "县域内医疗机构"
_REFERRALS_DATED = "转诊按提交日期；接诊、闭环、随访等结果按计算时刻统计，近期数值会随结果到达而变化"
_CHRONIC_NOTE = "慢性病管理功能（登记与随访、血压血糖值）上线前显示为无数据。“管理”= 在册且统计期内至少随访一次。"
_ROLLING = "按年定义；季度或月按截至期末的 12 个月计算"
_KEY_GROUPS = ("elderly_65", "child_0_6", "pregnant", "hypertension", "t2dm", "severe_mental", "tuberculosis",
               "disabled", "poverty")

INDICATORS: Final[tuple[Indicator, ...]] = (
    # ---- care pattern (分级诊疗) -------------------------------------------------------------
    _frac("county_retention_inpatient", "县域就诊率（住院）", _CP, _UP,
          "本县参保居民在县域内医疗机构的住院人次", "本县参保居民的全部住院人次（县内与县外）",
          population=_INSURED, dating=_STAYS, attribution=Attribution.RESIDENTS, source=Source.CARE,
          target=Target(">=", Decimal("0.90"), "约 90%"),
          note="县外住院来自医保结算数据；种子材料中的“县域内就诊率”按住院口径计。"),
    _frac("county_retention_outpatient", "县域就诊率（门诊）", _CP, _UP,
          "本县参保居民在县域内医疗机构的门急诊人次", "本县参保居民的全部门急诊人次（县内与县外）",
          population=_INSURED, dating=_VISITS, attribution=Attribution.RESIDENTS, source=Source.CARE,
          note="县外门诊只能看到持医保卡结算的部分，因此本指标偏高。"),
    _frac("primary_visit_share", "县域内基层医疗卫生机构诊疗人次占比", _CP, _UP,
          "县域内基层医疗卫生机构（乡镇卫生院、社区卫生服务中心/站、村卫生室）门急诊人次", "县域内医疗机构门急诊人次",
          population=_IN_COUNTY, dating=_VISITS, attribution=Attribution.CARE, source=Source.CARE,
          target=Target(">=", Decimal("0.65"), "≥ 65%（2015 年试点标准；部分省份 2025 年约 55%）")),
    _frac("township_visit_share", "乡镇卫生院门诊量占比", _CP, _UP,
          "乡镇卫生院（中心卫生院、乡卫生院）门急诊人次", "县域内医疗机构门急诊人次",
          population=_IN_COUNTY, dating=_VISITS, attribution=Attribution.CARE, source=Source.CARE,
          note="天长市口径（种子材料 002）。"),
    _frac("primary_inpatient_share", "基层住院人次占比", _CP, _UP,
          "县域内基层医疗卫生机构住院人次", "县域内医疗机构住院人次",
          population=_IN_COUNTY, dating=_STAYS, attribution=Attribution.CARE, source=Source.CARE),
    Indicator("up_referrals", "上转人次", _CP, Measure.COUNT, _NEUTRAL,
              "统计期内提交的上转（门急诊 + 住院），撤回（cancelled）的除外", None,
              "转诊", "转诊按提交日期", Attribution.SENDER, Source.REFERRALS, den_quantity=None),
    Indicator("down_referrals", "下转人次", _CP, Measure.COUNT, _UP,
              "统计期内提交的下转，撤回（cancelled）的除外", None,
              "转诊", "转诊按提交日期", Attribution.SENDER, Source.REFERRALS, den_quantity=None),
    Indicator("down_up_ratio", "下转/上转比", _CP, Measure.RATIO, _UP,
              "下转人次", "上转人次", "转诊", "转诊按提交日期", Attribution.SENDER, Source.REFERRALS,
              target=Target(">=", Decimal("1"), "≥ 1")),
    _frac("down_referral_rate", "下转率", _CP, _UP,
          "牵头医院统计期内出院且带有下转的住院人次（同一医院在入院至出院后 3 天内为同一居民提交了未撤回的下转）",
          "牵头医院统计期内出院人次", population="牵头医院的住院", dating=_STAYS, attribution=Attribution.LEAD,
          source=Source.REFERRALS, note="全县：各牵头医院；医联体：其牵头医院；机构：本机构的住院。"),
    _frac("referral_timely_accept_rate", "转诊及时接诊率", _CP, _UP,
          "在接诊时限（accept_escalate）内接诊的转诊（自动接诊视为及时）",
          "统计期内提交、已接诊、被接收方拒绝、超时未处理或已过接诊时限仍未决定的转诊",
          population="转诊", dating=_REFERRALS_DATED, attribution=Attribution.RECEIVER, source=Source.REFERRALS,
          note="不含时限内撤回或审批未通过的转诊，以及仍在时限内的转诊。"),
    _frac("referral_closure_rate", "转诊闭环率", _CP, _UP,
          "目前已完成（completed）的转诊", "统计期内提交且被接诊（含直接预约）的全部转诊",
          population="转诊", dating=_REFERRALS_DATED, attribution=Attribution.SENDER, source=Source.REFERRALS),
    _frac("down_followup_on_time_rate", "下转随访及时率", _CP, _UP,
          "首次随访日期不晚于随访期限（接诊后 7 天）的已接诊下转",
          "统计期内提交、已接诊且随访期限已过或已有随访的下转",
          population="下转", dating=_REFERRALS_DATED, attribution=Attribution.RECEIVER, source=Source.REFERRALS),
    _frac("reserved_slot_use_rate", "预留号源使用率", _CP, _UP,
          "统计期内日期的预留号源（转诊池、签约居民池）中，由转诊或签约居民从预留池预约且未取消的",
          "统计期内日期提供的预留号源", population="预留号源", dating="号源按号源日期",
          attribution=Attribution.OFFERING, source=Source.SCHEDULING,
          note="释放给公众的号源计为已提供、未使用，无论之后由谁预约。"),
    _frac("orderly_out_of_county_rate", "有序外转率", _CP, _UP,
          "本县参保居民的县外住院中，关联到已审批或免审批转诊的人次", "本县参保居民的县外住院人次",
          population=_INSURED, dating=_STAYS, attribution=Attribution.RESIDENTS, source=Source.REFERRALS),
    _frac("appointment_rate", "门诊预约诊疗率", _CP, _UP,
          "县域内医疗机构普通门诊人次中与医联平台预约相符的（同一居民、机构、日期，非爽约）",
          "县域内医疗机构普通门诊（不含急诊）人次", population=_IN_COUNTY, dating=_VISITS,
          attribution=Attribution.CARE, source=Source.SCHEDULING,
          note="仅在成员单位自有 HIS 中的预约无法看到，因此本指标偏低。"),
    # ---- family doctors (家庭医生签约) ------------------------------------------------------
    _frac("contract_rate", "家庭医生签约率", _FD, _UP,
          "期末有有效签约的居民数", "期末常住居民数", population="常住居民（按住址）",
          dating="签约按服务期：期末日在服务期内", attribution=Attribution.RESIDENTS, source=Source.CONTRACTS,
          target=Target(">=", Decimal("0.45"), "≥ 45%")),
    _frac("contract_rate_key", "重点人群签约率", _FD, _UP,
          "期末有有效签约的重点人群居民数", "期末重点人群居民数",
          population="重点人群（按住址；一人属多个人群时合计行只计一次）",
          dating="签约按服务期：期末日在服务期内", attribution=Attribution.RESIDENTS, source=Source.CONTRACTS,
          groups=_KEY_GROUPS),
    _frac("contract_renewal_rate", "续约率", _FD, _UP,
          "统计期内服务期届满、且 30 天内同一居民开始新签约（任一团队）的签约",
          "统计期内服务期届满的签约（提前解约的除外）",
          population="签约", dating="按服务期届满日", attribution=Attribution.TEAM, source=Source.CONTRACTS),
    _frac("contract_delivery_rate", "履约率", _FD, _UP,
          "统计期内到期、期末前已提供的服务包项目", "统计期内到期的服务包项目",
          population="签约服务项目", dating="服务项目按应提供日期", attribution=Attribution.TEAM,
          source=Source.CONTRACTS),
    # ---- chronic disease (慢性病管理) --------------------------------------------------------
    _frac("htn_management_rate", "高血压患者管理率", _CH, _UP, "已管理的高血压患者数",
          "应管理患者数（成年人口 × 患病率，可配置）", population="成年常住居民（按住址）", dating=_ROLLING,
          attribution=Attribution.RESIDENTS, source=Source.CHRONIC, note=_CHRONIC_NOTE,
          period_rule=PeriodRule.ROLLING_YEAR),
    _frac("htn_standard_management_rate", "高血压患者规范管理率", _CH, _UP, "年内随访 ≥ 4 次的已管理患者",
          "已管理的高血压患者", population="已管理的高血压患者（按住址）", dating=_ROLLING,
          attribution=Attribution.RESIDENTS, source=Source.CHRONIC, note=_CHRONIC_NOTE,
          period_rule=PeriodRule.ROLLING_YEAR),
    _frac("htn_control_rate", "管理人群血压控制率", _CH, _UP, "统计期内最后一次血压 < 140/90 mmHg 的已管理患者",
          "已管理的高血压患者", population="已管理的高血压患者（按住址）", dating=_ROLLING,
          attribution=Attribution.RESIDENTS, source=Source.CHRONIC, note=_CHRONIC_NOTE,
          period_rule=PeriodRule.ROLLING_YEAR),
    _frac("t2dm_management_rate", "2型糖尿病患者管理率", _CH, _UP, "已管理的 2 型糖尿病患者数",
          "应管理患者数（成年人口 × 患病率，可配置）", population="成年常住居民（按住址）", dating=_ROLLING,
          attribution=Attribution.RESIDENTS, source=Source.CHRONIC, note=_CHRONIC_NOTE,
          period_rule=PeriodRule.ROLLING_YEAR),
    _frac("t2dm_standard_management_rate", "2型糖尿病患者规范管理率", _CH, _UP, "年内随访 ≥ 4 次的已管理患者",
          "已管理的 2 型糖尿病患者", population="已管理的 2 型糖尿病患者（按住址）", dating=_ROLLING,
          attribution=Attribution.RESIDENTS, source=Source.CHRONIC, note=_CHRONIC_NOTE,
          period_rule=PeriodRule.ROLLING_YEAR),
    _frac("t2dm_control_rate", "管理人群血糖控制率", _CH, _UP, "统计期内最后一次空腹血糖 < 7.0 mmol/L 的已管理患者",
          "已管理的 2 型糖尿病患者", population="已管理的 2 型糖尿病患者（按住址）", dating=_ROLLING,
          attribution=Attribution.RESIDENTS, source=Source.CHRONIC, note=_CHRONIC_NOTE,
          period_rule=PeriodRule.ROLLING_YEAR),
    _frac("chronic_managed_hospitalisation_rate", "慢性病健康管理人群住院率", _CH, _DOWN,
          "统计期内有出院记录的已管理高血压或 2 型糖尿病患者（每人计一次）", "已管理的高血压或 2 型糖尿病患者",
          population="已管理的慢性病患者（按住址）", dating=_ROLLING, attribution=Attribution.RESIDENTS,
          source=Source.CHRONIC, note=_CHRONIC_NOTE, period_rule=PeriodRule.ROLLING_YEAR),
    # ---- shared resources and parity (资源共享 / 同质化) ------------------------------------
    Indicator("remote_diagnosis_volume", "远程诊断服务量", _SH, Measure.COUNT, _UP,
              "共享中心在统计期内为其他成员单位出具的报告（影像、心电、病理、检验）", None, "共享中心的报告",
              "报告按出具日期", Attribution.CENTRE, Source.DIAGNOSTICS, den_quantity=None,
              note="共享检查检验功能上线前显示为无数据。"),
    _frac("result_recognition_rate", "检查检验结果互认率", _SH, _UP,
          "因认可有效的既往结果而免做的检查检验", "免做的 + 重复开具的同类可互认检查检验",
          population="可互认的检查检验医嘱", dating="按医嘱日期", attribution=Attribution.CARE,
          source=Source.DIAGNOSTICS, note="结果互认功能上线前显示为无数据。"),
    Indicator("dispatched_senior_doctors", "中级及以上医师派驻 6 个月以上人数", _SH, Measure.COUNT, _UP,
              "年内由牵头医院长期派驻到基层累计 ≥ 183 天、职称中级及以上的医师（去重；短期支援和巡诊不计）", None,
              "医师", "按年；跨年派驻只计年内天数", Attribution.LEAD, Source.STAFF, den_quantity=None,
              period_rule=PeriodRule.YEAR, note="人员派驻功能上线前显示为无数据。"),
    Indicator("primary_to_lead_income_ratio", "基层与牵头医院人员人均收入比", _SH, Measure.RATIO, _UP,
              "基层人员人均收入", "牵头医院人员人均收入", "在岗人员", "按统计期", Attribution.CARE, Source.STAFF,
              num_quantity=Quantity.YUAN, den_quantity=Quantity.YUAN, note="人员收入数据上线前显示为无数据。"),
    # ---- insurance fund and efficiency (医保效能) -------------------------------------------
    _frac("fund_in_county_share", "县域内医保基金支出占比", _FU, _UP,
          "本县参保居民在县域内医疗机构的医保基金支付", "本县参保居民在各处的医保基金支付（门急诊与住院）",
          population=_INSURED, dating="结算随其诊疗记录：门急诊按就诊日期，住院按出院日期",
          attribution=Attribution.RESIDENTS, source=Source.CARE, num_quantity=Quantity.YUAN,
          den_quantity=Quantity.YUAN),
    _frac("fund_primary_share", "基层医保基金支出占比", _FU, _UP,
          "县域内基层医疗卫生机构的医保基金支付", "县域内医疗机构的医保基金支付",
          population=_IN_COUNTY, dating="结算随其诊疗记录：门急诊按就诊日期，住院按出院日期",
          attribution=Attribution.CARE, source=Source.CARE, num_quantity=Quantity.YUAN, den_quantity=Quantity.YUAN),
    _frac("effective_reimbursement_rate", "住院实际补偿比", _FU, _UP,
          "本县参保居民已结算住院的医保基金支付", "同一批住院的医疗总费用（县内与县外）",
          population=_INSURED, dating=_STAYS, attribution=Attribution.RESIDENTS, source=Source.CARE,
          num_quantity=Quantity.YUAN, den_quantity=Quantity.YUAN, note="天长市“实际补偿比”口径（种子材料 002）。"),
    Indicator("inpatient_cost_per_stay", "住院次均费用", _FU, Measure.YUAN, _DOWN,
              "统计期内出院且已结算住院的医疗总费用", "这些出院人次", _IN_COUNTY, _STAYS, Attribution.CARE,
              Source.CARE, num_quantity=Quantity.YUAN),
    Indicator("inpatient_cost_per_stay_growth", "住院次均费用增长率", _FU, Measure.FRACTION, _DOWN,
              "本期住院次均费用", "上年同期住院次均费用", _IN_COUNTY, _STAYS, Attribution.CARE, Source.CARE,
              num_quantity=Quantity.YUAN, den_quantity=Quantity.YUAN, note="数值 = 分子 ÷ 分母 − 1，可为负。"),
    Indicator("outpatient_cost_per_visit", "门诊次均费用", _FU, Measure.YUAN, _DOWN,
              "统计期内已结算门急诊的医疗总费用", "这些门急诊人次", _IN_COUNTY, _VISITS, Attribution.CARE,
              Source.CARE, num_quantity=Quantity.YUAN),
    Indicator("outpatient_cost_per_visit_growth", "门诊次均费用增长率", _FU, Measure.FRACTION, _DOWN,
              "本期门诊次均费用", "上年同期门诊次均费用", _IN_COUNTY, _VISITS, Attribution.CARE, Source.CARE,
              num_quantity=Quantity.YUAN, den_quantity=Quantity.YUAN, note="数值 = 分子 ÷ 分母 − 1，可为负。"),
    Indicator("average_length_of_stay", "平均住院日", _FU, Measure.DAYS, _DOWN,
              "统计期内出院者的住院床日（出院日期 − 入院日期，至少 1 天）", "统计期内出院人次", _IN_COUNTY, _STAYS,
              Attribution.CARE, Source.CARE),
    Indicator("cmi", "病例组合指数 CMI", _FU, Measure.INDEX, _NEUTRAL,
              "统计期内出院且已分组住院的 RW 之和（取最近一次分组结果及其权重）", "这些住院人次", _IN_COUNTY, _STAYS,
              Attribution.CARE, Source.PAYMENT, num_quantity=Quantity.WEIGHT,
              note="住院病例分组（DRG 结算或模拟数据的分组）完成前显示为无数据。"),
    _frac("drug_cost_share", "药占比", _FU, _DOWN, "药品费用", "医疗总费用（门急诊与住院，已结算）",
          population=_IN_COUNTY, dating="结算随其诊疗记录：门急诊按就诊日期，住院按出院日期",
          attribution=Attribution.CARE, source=Source.CARE, num_quantity=Quantity.YUAN, den_quantity=Quantity.YUAN),
    Indicator("budget_surplus_rate", "医共体基金结余率", _FU, Measure.FRACTION, _UP,
              "预算 − 计入该预算的医保基金支出", "预算（季度、月按天数折算）", "医共体预算", "按统计期",
              Attribution.BUDGET, Source.PAYMENT, num_quantity=Quantity.YUAN, den_quantity=Quantity.YUAN,
              cuts=(Cut.COUNTY, Cut.CONSORTIUM, Cut.GRID), note="全县为各医共体之和；机构行及无当年预算时为无数据。"),
)

_BY_CODE: Final = {i.code: i for i in INDICATORS}
FAMILIES: Final = tuple(Family)


def get(code: str) -> Indicator:
    try:
        return _BY_CODE[code]
    except KeyError:
        raise NotFound(f"指标代码“{code}”不存在", code="indicator_not_found") from None


def codes() -> list[str]:
    return [i.code for i in INDICATORS]


def by_family(family: Family) -> Iterator[Indicator]:
    return (i for i in INDICATORS if i.family == family)


def version() -> str:
    """The catalogue version plus a digest of the definitions: a changed definition changes it."""
    digest = hashlib.sha256(repr(INDICATORS).encode("utf-8")).hexdigest()[:10]
    return f"{CATALOGUE_VERSION}+{digest}"


def parse_cut(raw: str) -> Cut:
    from yilian.core.errors import ValidationFailed

    try:
        return Cut((raw or "").strip())
    except ValueError:
        valid = "、".join(f"{c.value}（{n}）" for c, n in CUT_NAMES_ZH.items())
        raise ValidationFailed(f"未知的统计口径“{raw}”，可选：{valid}", code="cut_invalid") from None
