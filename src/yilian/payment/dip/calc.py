"""DIP (按病种分值付费): combination scores, case scores, cost deviation, point value.

A combination (病种) is the caller's key for "principal diagnosis category +
procedure" (e.g. ``"I21.0|00.66"``); this module does not build keys, it scores
them.  Like the DRG point method, inputs are column arrays and outputs are columns
plus per-institution sums; scores are unrounded ``Decimal`` at 40 digits and money
is rounded ROUND_HALF_UP to the cent (see :mod:`yilian.payment.money`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Final

from yilian.core.errors import ValidationFailed
from yilian.payment.money import (
    CALC_CONTEXT,
    HUNDRED,
    INFINITY,
    MONEY_ZERO,
    ONE,
    ZERO,
    apportion,
    calc_context,
    require_cents,
    round_cent,
)
from yilian.payment.params import LEVELS, DipParams

# ICD-10 chapters by code range (first letter + two digits), WHO numbering.
ICD10_CHAPTERS: Final[tuple[tuple[str, str, str, str], ...]] = (
    ("I", "A00", "B99", "某些传染病和寄生虫病"),
    ("II", "C00", "D48", "肿瘤"),
    ("III", "D50", "D89", "血液及造血器官疾病和某些涉及免疫机制的疾患"),
    ("IV", "E00", "E90", "内分泌、营养和代谢疾病"),
    ("V", "F00", "F99", "精神和行为障碍"),
    ("VI", "G00", "G99", "神经系统疾病"),
    ("VII", "H00", "H59", "眼和附器疾病"),
    ("VIII", "H60", "H95", "耳和乳突疾病"),
    ("IX", "I00", "I99", "循环系统疾病"),
    ("X", "J00", "J99", "呼吸系统疾病"),
    ("XI", "K00", "K93", "消化系统疾病"),
    ("XII", "L00", "L99", "皮肤和皮下组织疾病"),
    ("XIII", "M00", "M99", "肌肉骨骼系统和结缔组织疾病"),
    ("XIV", "N00", "N99", "泌尿生殖系统疾病"),
    ("XV", "O00", "O99", "妊娠、分娩和产褥期"),
    ("XVI", "P00", "P96", "起源于围生期的某些情况"),
    ("XVII", "Q00", "Q99", "先天性畸形、变形和染色体异常"),
    ("XVIII", "R00", "R99", "症状、体征和临床与实验室异常所见，不可归类在他处者"),
    ("XIX", "S00", "T98", "损伤、中毒和外因的某些其他后果"),
    ("XX", "V01", "Y98", "疾病和死亡的外因"),
    ("XXI", "Z00", "Z99", "影响健康状态和与保健机构接触的因素"),
    ("XXII", "U00", "U85", "用于特殊目的的编码"),
)
CHAPTER_PREFIX: Final = "chapter:"

GROUP_COMBINATION: Final = "combination"
GROUP_CHAPTER: Final = "chapter"

KIND_NORMAL: Final = "normal"
KIND_LOW: Final = "low"  # cost < low deviation × standard cost
KIND_HIGH: Final = "high"  # cost > high deviation × standard cost
KIND_EXTREME: Final = "extreme"  # cost > extreme deviation × standard cost: paid as high, flagged
# No combination and no chapter group to score against: cost ÷ overall mean × 100, flagged.
KIND_UNSCORED: Final = "unscored"
FLAGGED_KINDS: Final = frozenset({KIND_EXTREME, KIND_UNSCORED})


def chapter_of(diagnosis: str) -> str | None:
    """ICD-10 chapter (Roman numeral) of a code such as ``I21.000x001``; None when unreadable."""
    code = diagnosis.strip().upper()
    if len(code) < 3 or not code[0].isalpha() or not code[1:3].isdigit():
        return None
    head = code[:3]
    for numeral, first, last, _ in ICD10_CHAPTERS:
        if first <= head <= last:
            return numeral
    return None


def chapter_group(diagnosis: str) -> str | None:
    """Key of the comprehensive group (综合病种) a folded case belongs to, e.g. ``chapter:IX``."""
    numeral = chapter_of(diagnosis)
    return None if numeral is None else CHAPTER_PREFIX + numeral


@dataclass(frozen=True, slots=True)
class DipYear:
    """One historical year of cases, as parallel columns."""

    combinations: Sequence[str]
    diagnoses: Sequence[str]
    costs: Sequence[Decimal]

    def __post_init__(self) -> None:
        if not len(self.combinations) == len(self.diagnoses) == len(self.costs):
            raise ValidationFailed("病种、诊断与费用的条数不一致。", code="dip_length_mismatch")


@dataclass(frozen=True, slots=True)
class DipGroup:
    key: str
    kind: str  # GROUP_COMBINATION | GROUP_CHAPTER
    score: Decimal  # unrounded: standard cost ÷ overall mean × 100
    standard_cost: Decimal  # year-weighted mean cost
    cases: int  # cases that counted, all years
    years: tuple[int, ...]  # indices (oldest = 0) of the years that counted


@dataclass(frozen=True, slots=True)
class DipCatalogue:
    groups: Mapping[str, DipGroup]
    overall_mean_cost: Decimal
    year_weights: tuple[Decimal, ...]  # the weights actually applied, oldest first


def _weighted_mean(means: Mapping[int, Decimal], weights: Sequence[Decimal]) -> Decimal:
    # "Fewer years: reweight what exists": only the years present share the weight.
    weight_sum = sum((weights[year] for year in means), ZERO)
    return sum((weights[year] * mean for year, mean in means.items()), ZERO) / weight_sum


def combination_scores(history: Sequence[DipYear], params: DipParams) -> DipCatalogue:
    """Scores of every combination and chapter group from up to ``len(params.year_weights)`` years.

    ``history`` is oldest first; with fewer years the newest weights are used
    (three years 1:2:7, two years 2:7, one year 7).  In each year a combination
    with fewer than ``params.min_cases`` cases is folded into its diagnosis
    chapter's comprehensive group for that year; a combination's mean uses only the
    years where it stood on its own.  Score = weighted mean cost ÷ weighted mean
    cost of all cases × 100.
    """
    if not history:
        raise ValidationFailed("没有历史年度数据，无法计算病种分值。", code="dip_no_history")
    if len(history) > len(params.year_weights):
        raise ValidationFailed(
            f"历史年度最多 {len(params.year_weights)} 年，收到 {len(history)} 年。", code="dip_too_many_years"
        )
    weights = params.year_weights[-len(history) :]
    group_means: dict[str, dict[int, Decimal]] = {}
    group_cases: dict[str, int] = {}
    group_kind: dict[str, str] = {}
    overall: dict[int, Decimal] = {}
    with calc_context():
        for year, cases in enumerate(history):
            sums: dict[str, Decimal] = {}
            counts: dict[str, int] = {}
            year_total = ZERO
            for combination, cost in zip(cases.combinations, cases.costs, strict=True):
                if combination.startswith(CHAPTER_PREFIX) or not combination:
                    raise ValidationFailed(f"病种编码「{combination}」无效。", code="dip_bad_combination")
                if not (cost.is_finite() and cost >= ZERO):
                    raise ValidationFailed(
                        f"病种「{combination}」的费用「{cost}」无效。", code="dip_bad_cost"
                    )
                sums[combination] = sums.get(combination, ZERO) + cost
                counts[combination] = counts.get(combination, 0) + 1
                year_total += cost
            if counts:
                overall[year] = year_total / len(cases.costs)
            folded_sums: dict[str, Decimal] = {}
            folded_counts: dict[str, int] = {}
            for combination, diagnosis, cost in zip(
                cases.combinations, cases.diagnoses, cases.costs, strict=True
            ):
                if counts[combination] >= params.min_cases:
                    continue
                group = chapter_group(diagnosis)
                if group is not None:  # an unreadable diagnosis still counts in the overall mean
                    folded_sums[group] = folded_sums.get(group, ZERO) + cost
                    folded_counts[group] = folded_counts.get(group, 0) + 1
            own = [
                (key, GROUP_COMBINATION, sums[key], n) for key, n in counts.items() if n >= params.min_cases
            ]
            folded = [(key, GROUP_CHAPTER, folded_sums[key], n) for key, n in folded_counts.items()]
            for key, kind, total, n in own + folded:
                group_means.setdefault(key, {})[year] = total / n
                group_cases[key] = group_cases.get(key, 0) + n
                group_kind[key] = kind
        if not overall:
            raise ValidationFailed("历史年度没有病例，无法计算病种分值。", code="dip_no_history")
        overall_mean = _weighted_mean(overall, weights)
        if overall_mean <= ZERO:
            raise ValidationFailed("历史病例的平均费用为 0，无法计算病种分值。", code="dip_zero_mean")
        groups: dict[str, DipGroup] = {}
        for key in sorted(group_means):
            standard = _weighted_mean(group_means[key], weights)
            groups[key] = DipGroup(
                key=key,
                kind=group_kind[key],
                score=standard / overall_mean * HUNDRED,
                standard_cost=standard,
                cases=group_cases[key],
                years=tuple(sorted(group_means[key])),
            )
    return DipCatalogue(MappingProxyType(groups), overall_mean, tuple(weights))


@dataclass(frozen=True, slots=True)
class _Cuts:
    group: DipGroup
    low: Decimal
    high: Decimal
    extreme: Decimal


@dataclass(frozen=True, slots=True)
class DipScored:
    """Scores of a chunk of cases as columns, plus per-institution sums."""

    scores: list[Decimal]
    groups: list[str]  # the group key used ("" when unscored)
    kinds: list[str]
    flagged: list[int]
    institution_scores: dict[str, Decimal]
    total_scores: Decimal


class DipScorer:
    """Scores settlement-year cases against a catalogue; build once, call :meth:`score` per chunk.

    ``coefficients`` maps level → coefficient (default: the point method's level
    coefficients passed by the caller); ``institution_coefficients`` overrides per
    institution.
    """

    def __init__(
        self,
        catalogue: DipCatalogue,
        params: DipParams,
        institution_levels: Mapping[str, str],
        coefficients: Mapping[str, Decimal],
        institution_coefficients: Mapping[str, Decimal] | None = None,
    ) -> None:
        self.catalogue = catalogue
        self.params = params
        overrides = institution_coefficients or {}
        self._coefficient: dict[str, Decimal] = {}
        for institution, level in institution_levels.items():
            if level not in LEVELS:
                raise ValidationFailed(
                    f"机构「{institution}」的级别「{level}」无效，应为：{'、'.join(LEVELS)}。",
                    code="dip_bad_level",
                )
            value = overrides.get(institution, coefficients[level])
            if not (value.is_finite() and value > ZERO):
                raise ValidationFailed(
                    f"机构「{institution}」的差异系数必须为正数。", code="dip_bad_coefficient"
                )
            self._coefficient[institution] = value
        self._cuts: dict[str, _Cuts] = {}
        with calc_context():
            for key, group in catalogue.groups.items():
                std = group.standard_cost
                if std > ZERO:
                    cuts = _Cuts(
                        group,
                        params.low_deviation * std,
                        params.high_deviation * std,
                        params.extreme_deviation * std,
                    )
                else:  # a zero-cost group has no cost ratio: no deviation rule applies
                    cuts = _Cuts(group, -INFINITY, INFINITY, INFINITY)
                self._cuts[key] = cuts

    def score(
        self,
        institutions: Sequence[str],
        combinations: Sequence[str],
        diagnoses: Sequence[str],
        costs: Sequence[Decimal],
    ) -> DipScored:
        """Case score = group score × coefficient, adjusted for cost deviation:
        ratio < low → × ratio; ratio > high → × (ratio − high + 1); ratio > extreme → the same, flagged."""
        if not len(institutions) == len(combinations) == len(diagnoses) == len(costs):
            raise ValidationFailed("机构、病种、诊断与费用的条数不一致。", code="dip_length_mismatch")
        high_offset = self.params.high_deviation - ONE
        overall = self.catalogue.overall_mean_cost
        cuts_of, coefficient_of = self._cuts, self._coefficient
        scores: list[Decimal] = []
        groups: list[str] = []
        kinds: list[str] = []
        flagged: list[int] = []
        by_institution: dict[str, Decimal] = {}
        index = -1
        try:
            with calc_context():
                for index, (institution, combination, diagnosis, cost) in enumerate(
                    zip(institutions, combinations, diagnoses, costs, strict=True)
                ):
                    coefficient = coefficient_of.get(institution)
                    if coefficient is None:
                        raise ValidationFailed(
                            f"未知的结算机构「{institution}」：未给出其级别。", code="dip_unknown_institution"
                        )
                    if not ZERO <= cost < INFINITY:
                        raise ValidationFailed(
                            f"第 {index + 1} 条病例的费用「{cost}」无效。", code="dip_bad_cost"
                        )
                    cuts = cuts_of.get(combination)
                    if cuts is None:
                        chapter = chapter_group(diagnosis)
                        cuts = cuts_of.get(chapter) if chapter is not None else None
                    if cuts is None:
                        value, kind, group_key = cost / overall * HUNDRED, KIND_UNSCORED, ""
                        flagged.append(index)
                    else:
                        group = cuts.group
                        value, group_key = group.score * coefficient, group.key
                        if cost < cuts.low:
                            value, kind = value * cost / group.standard_cost, KIND_LOW
                        elif cost > cuts.high:
                            value = value * (cost / group.standard_cost - high_offset)
                            kind = KIND_HIGH
                            if cost > cuts.extreme:
                                kind = KIND_EXTREME
                                flagged.append(index)
                        else:
                            kind = KIND_NORMAL
                    scores.append(value)
                    groups.append(group_key)
                    kinds.append(kind)
                    by_institution[institution] = by_institution.get(institution, ZERO) + value
                total = sum(by_institution.values(), ZERO)
        except InvalidOperation:
            raise ValidationFailed(f"第 {index + 1} 条病例的费用无效。", code="dip_bad_cost") from None
        return DipScored(scores, groups, kinds, flagged, by_institution, total)


def dip_point_value(
    fund: Decimal, total_scores: Decimal, *, basis: str = "fund", reimbursement_ratio: Decimal | None = None
) -> Decimal:
    """Point value = fund ÷ Σ scores; the ``total`` basis uses (fund ÷ reimbursement ratio) ÷ Σ scores."""
    require_cents(fund, "DIP 基金预算")
    if fund <= ZERO:
        raise ValidationFailed(f"DIP 基金预算必须为正数，收到「{fund}」。", code="dip_bad_fund")
    if not (total_scores.is_finite() and total_scores > ZERO):
        raise ValidationFailed("总分值为 0，无法计算点值。", code="dip_no_scores")
    if basis == "fund":
        return CALC_CONTEXT.divide(fund, total_scores)
    if basis == "total":
        if reimbursement_ratio is None or not (ZERO < reimbursement_ratio <= ONE):
            raise ValidationFailed("按总费用口径计算点值需要 (0, 1] 之间的报销比例。", code="dip_bad_ratio")
        return CALC_CONTEXT.divide(CALC_CONTEXT.divide(fund, reimbursement_ratio), total_scores)
    raise ValidationFailed(f"未知的点值口径「{basis}」，可用：fund、total。", code="dip_bad_basis")


@dataclass(frozen=True, slots=True)
class DipPayments:
    point_value: Decimal
    basis: str
    payments: Mapping[str, Decimal]


def dip_payments(
    institution_scores: Mapping[str, Decimal],
    fund: Decimal,
    *,
    basis: str = "fund",
    reimbursement_ratio: Decimal | None = None,
    patient_paid: Mapping[str, Decimal] | None = None,
) -> DipPayments:
    """Institution payments of the year.

    ``fund`` basis: the fund is apportioned by scores (largest remainder), so the
    payments sum exactly to it.  ``total`` basis: the point value prices total cost,
    so an institution's fund payment = its scores × point value − what its patients
    paid, rounded to the cent and floored at 0 (patients' payments are never clawed
    back here); the sum then tracks the fund only as far as the ratio is right.
    """
    with calc_context():
        total_scores = sum(institution_scores.values(), ZERO)
    value = dip_point_value(fund, total_scores, basis=basis, reimbursement_ratio=reimbursement_ratio)
    if basis == "fund":
        return DipPayments(value, basis, apportion(fund, institution_scores))
    if patient_paid is None:
        raise ValidationFailed("按总费用口径结算需要各机构的个人支付金额。", code="dip_no_patient_paid")
    payments = {
        code: max(MONEY_ZERO, round_cent(CALC_CONTEXT.multiply(scores, value)) - patient_paid.get(code, ZERO))
        for code, scores in institution_scores.items()
    }
    return DipPayments(value, basis, payments)
