"""Parameters of a settlement year: typed, frozen, serialisable, overridable.

Every ratio, threshold and amount the payment calculations use lives here, with
the defaults of ``PAYMENT.md`` (seed figures and [policy] defaults), so that a run
can store the exact parameter set it used (:meth:`PaymentParams.to_dict`) and be
reproduced (:meth:`PaymentParams.from_dict`), and a what-if run can change a few of
them by name (:func:`apply_overrides`).  Nothing in the calculations reads a
module constant instead of a parameter.

Construction validates: an object of these classes is always a usable parameter
set, so the calculations need not re-check ranges case by case.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from itertools import pairwise
from types import MappingProxyType, UnionType
from typing import Any, Final, Union, get_args, get_origin, get_type_hints

from yilian.core.errors import ValidationFailed
from yilian.payment.money import CALC_CONTEXT, CENT, HUNDRED, ONE, ZERO

SCHEMA_VERSION: Final = 1

LEVELS: Final = ("1", "2", "3", "unrated")
LEVEL_NAMES_ZH: Final = MappingProxyType({"1": "一级", "2": "二级", "3": "三级", "unrated": "未定级"})
PLACES: Final = ("primary", "county", "out_of_county", "out_of_county_unreferred")
PLACE_NAMES_ZH: Final = MappingProxyType(
    {
        "primary": "基层",
        "county": "县级",
        "out_of_county": "县外（经转诊）",
        "out_of_county_unreferred": "县外（未转诊）",
    }
)
# Names shared with the strategy registry in settlement/calc.py (a test keeps the two in step).
OUTLIER_STRATEGIES: Final = ("default", "proportional", "none")
SURPLUS_TIERS: Final = ("county_hospital", "township_centre", "village_clinic")
WITHIN_TIER_BASES: Final = ("score", "workload")
DIP_POINT_VALUE_BASES: Final = ("fund", "total")


def _invalid(message_zh: str) -> ValidationFailed:
    return ValidationFailed(message_zh, code="params_invalid")


def _require(condition: bool, message_zh: str) -> None:
    if not condition:
        raise _invalid(message_zh)


def _decimal(value: object, what_zh: str) -> Decimal:
    # Floats are refused on purpose: 0.1 as a float is not 0.1, and money must be exact.
    _require(
        isinstance(value, Decimal) and value.is_finite(),
        f"{what_zh}必须是有限的 Decimal，收到「{value!r}」。",
    )
    assert isinstance(value, Decimal)
    return value


def _ratio(value: object, what_zh: str, *, below_one: bool = False) -> None:
    number = _decimal(value, what_zh)
    upper_ok = number < ONE if below_one else number <= ONE
    _require(
        number >= ZERO and upper_ok,
        f"{what_zh}必须在 0 到 1 之间{'（不含 1）' if below_one else ''}，收到「{number}」。",
    )


def _money(value: object, what_zh: str) -> None:
    number = _decimal(value, what_zh)
    _require(number >= ZERO, f"{what_zh}不能为负数，收到「{number}」。")
    _require(
        number == number.quantize(CENT, context=CALC_CONTEXT), f"{what_zh}必须精确到分，收到「{number}」。"
    )


def _keyed(obj: object, name: str, keys: tuple[str, ...], what_zh: str) -> Mapping[str, Decimal]:
    """Freeze a mapping field and check that it has exactly the expected keys."""
    raw = getattr(obj, name)
    _require(isinstance(raw, Mapping), f"{what_zh}必须是映射。")
    frozen: Mapping[str, Decimal] = MappingProxyType(dict(raw))
    object.__setattr__(obj, name, frozen)
    _require(
        set(frozen) == set(keys),
        f"{what_zh}必须且只能包含：{'、'.join(keys)}；收到：{'、'.join(map(str, frozen)) or '无'}。",
    )
    return frozen


def _by_level(one: str, two: str, three: str, unrated: str) -> Mapping[str, Decimal]:
    return {"1": Decimal(one), "2": Decimal(two), "3": Decimal(three), "unrated": Decimal(unrated)}


def _by_place(primary: str, county: str, out_of_county: str, unreferred: str) -> Mapping[str, Decimal]:
    return {
        "primary": Decimal(primary),
        "county": Decimal(county),
        "out_of_county": Decimal(out_of_county),
        "out_of_county_unreferred": Decimal(unreferred),
    }


@dataclass(frozen=True)
class PointMethodParams:
    """DRG point method (按病组点数法); defaults [policy] from PAYMENT.md."""

    # 差异系数: 三级 1.00, 二级 0.85, 一级 and unrated 0.70.
    coefficients: Mapping[str, Decimal] = field(
        default_factory=lambda: _by_level("0.70", "0.85", "1.00", "0.70")
    )
    # High-outlier multiple K of the DRG's standard cost: 3 at 三级, 2 elsewhere.
    outlier_high_k: Mapping[str, Decimal] = field(default_factory=lambda: _by_level("2", "2", "3", "2"))
    # Low outlier: cost below this share of the DRG's mean cost.
    outlier_low_ratio: Decimal = Decimal("0.35")
    outlier_strategy: str = "default"
    # RW derivation: a DRG with fewer stays borrows its ADRG's mean, an ADRG its MDC's.
    rw_min_cases: int = 5

    def __post_init__(self) -> None:
        for level, value in _keyed(self, "coefficients", LEVELS, "机构差异系数").items():
            _require(
                _decimal(value, "机构差异系数") > ZERO, f"{LEVEL_NAMES_ZH[level]}机构差异系数必须为正数。"
            )
        for level, value in _keyed(self, "outlier_high_k", LEVELS, "高倍率倍数").items():
            _require(_decimal(value, "高倍率倍数") >= ONE, f"{LEVEL_NAMES_ZH[level]}高倍率倍数不能小于 1。")
        _ratio(self.outlier_low_ratio, "低倍率阈值", below_one=True)
        _require(
            self.outlier_strategy in OUTLIER_STRATEGIES,
            f"未知的特殊病例策略「{self.outlier_strategy}」，可用：{'、'.join(OUTLIER_STRATEGIES)}。",
        )
        _require(
            isinstance(self.rw_min_cases, int) and self.rw_min_cases >= 1,
            "权重计算的最少病例数必须为正整数。",
        )


@dataclass(frozen=True)
class DipParams:
    """DIP (按病种分值付费); defaults [policy] from PAYMENT.md."""

    # Weights of the historical years, oldest first; fewer years use the newest weights, reweighted.
    year_weights: tuple[Decimal, ...] = (Decimal(1), Decimal(2), Decimal(7))
    # A combination with fewer cases in a year folds into its diagnosis chapter's comprehensive group.
    min_cases: int = 5
    low_deviation: Decimal = Decimal("0.5")
    high_deviation: Decimal = Decimal(2)
    extreme_deviation: Decimal = Decimal(5)
    point_value_basis: str = "fund"

    def __post_init__(self) -> None:
        _require(
            isinstance(self.year_weights, tuple) and len(self.year_weights) >= 1, "历史年度权重至少一项。"
        )
        for weight in self.year_weights:
            _require(_decimal(weight, "历史年度权重") > ZERO, "历史年度权重必须为正数。")
        _require(isinstance(self.min_cases, int) and self.min_cases >= 1, "病种最少病例数必须为正整数。")
        low = _decimal(self.low_deviation, "费用偏差下限")
        high = _decimal(self.high_deviation, "费用偏差上限")
        extreme = _decimal(self.extreme_deviation, "极端费用偏差倍数")
        _require(ZERO < low < ONE < high <= extreme, "费用偏差阈值必须满足 0 < 下限 < 1 < 上限 ≤ 极端倍数。")
        _require(
            self.point_value_basis in DIP_POINT_VALUE_BASES,
            "DIP 点值口径只能是 fund（基金）或 total（总费用）。",
        )


@dataclass(frozen=True)
class OverspendTier:
    """One band of overspend, measured as a share of the budget.

    ``up_to`` is the band's upper bound (cumulative, e.g. 0.10 = up to 10 % of the
    budget), None for the last, open band; ``consortium_share`` is the part of the
    band the consortium bears, the rest is borne by the fund.
    """

    up_to: Decimal | None
    consortium_share: Decimal

    def __post_init__(self) -> None:
        if self.up_to is not None:
            _require(_decimal(self.up_to, "超支分档上限") > ZERO, "超支分档上限必须为正数。")
        _ratio(self.consortium_share, "医共体承担比例")


# Example tiers of PAYMENT.md: up to 10 % of the budget shared 50/50 with the fund,
# beyond that borne by the consortium.
DEFAULT_OVERSPEND_TIERS: Final = (OverspendTier(Decimal("0.10"), Decimal("0.5")), OverspendTier(None, ONE))
# Tianchang (seed 002): all overspend borne by the county (lead) hospital.
TIANCHANG_OVERSPEND_TIERS: Final = (OverspendTier(None, ONE),)


@dataclass(frozen=True)
class GlobalBudgetParams:
    """Consortium global budget (总额预算、结余留用、合理超支分担)."""

    # Zhejiang resident scheme funding per person, 2018 (seed 003); replace with the county's figure.
    per_capita: Decimal = Decimal("792.00")
    surplus_retained: Decimal = ONE
    surplus_tiers: tuple[str, ...] = SURPLUS_TIERS
    # Tianchang (seed 002): county hospital : township centres : village clinics = 6 : 3 : 1.
    surplus_split: tuple[Decimal, ...] = (Decimal(6), Decimal(3), Decimal(1))
    surplus_within: str = "score"
    overspend_tiers: tuple[OverspendTier, ...] = DEFAULT_OVERSPEND_TIERS

    def __post_init__(self) -> None:
        _money(self.per_capita, "人均预算")
        _ratio(self.surplus_retained, "结余留用比例")
        _require(
            isinstance(self.surplus_tiers, tuple)
            and len(self.surplus_tiers) >= 1
            and len(set(self.surplus_tiers)) == len(self.surplus_tiers)
            and all(isinstance(tier, str) and tier for tier in self.surplus_tiers),
            "结余分配层级必须是不重复的非空名称。",
        )
        _require(
            isinstance(self.surplus_split, tuple) and len(self.surplus_split) == len(self.surplus_tiers),
            f"结余分配比例必须有 {len(self.surplus_tiers)} 项（{'、'.join(self.surplus_tiers)}）。",
        )
        for part in self.surplus_split:
            _require(_decimal(part, "结余分配比例") >= ZERO, "结余分配比例不能为负数。")
        _require(sum(self.surplus_split, ZERO) > ZERO, "结余分配比例之和必须为正数。")
        _require(
            self.surplus_within in WITHIN_TIER_BASES,
            "层级内分配依据只能是 score（绩效得分）或 workload（工作量）。",
        )
        tiers = self.overspend_tiers
        _require(
            isinstance(tiers, tuple) and len(tiers) >= 1 and all(isinstance(t, OverspendTier) for t in tiers),
            "超支分担至少需要一档，且每档须为 OverspendTier。",
        )
        bounds = [tier.up_to for tier in tiers]
        _require(
            bounds[-1] is None and None not in bounds[:-1], "超支分担的最后一档（且仅最后一档）上限为空。"
        )
        finite = [bound for bound in bounds[:-1] if bound is not None]
        _require(all(a < b for a, b in pairwise(finite)), "超支分档上限必须递增。")


@dataclass(frozen=True)
class ReimbursementParams:
    """Tiered reimbursement (差别化报销) by place; defaults [policy] from PAYMENT.md."""

    inpatient_ratio: Mapping[str, Decimal] = field(
        default_factory=lambda: _by_place("0.90", "0.75", "0.55", "0.45")
    )
    outpatient_ratio: Mapping[str, Decimal] = field(
        default_factory=lambda: _by_place("0.60", "0.50", "0", "0")
    )
    inpatient_deductible: Mapping[str, Decimal] = field(
        default_factory=lambda: _by_place("200.00", "500.00", "1000.00", "1000.00")
    )
    # PAYMENT.md names no outpatient deductible; zero until a county configures one.
    outpatient_deductible: Mapping[str, Decimal] = field(
        default_factory=lambda: _by_place("0.00", "0.00", "0.00", "0.00")
    )

    def __post_init__(self) -> None:
        for name, what in (("inpatient_ratio", "住院报销比例"), ("outpatient_ratio", "门诊报销比例")):
            for value in _keyed(self, name, PLACES, what).values():
                _ratio(value, what)
        for name, what in (("inpatient_deductible", "住院起付线"), ("outpatient_deductible", "门诊起付线")):
            for value in _keyed(self, name, PLACES, what).values():
                _money(value, what)


@dataclass(frozen=True)
class CapitationParams:
    """Family-doctor outpatient capitation (按人头付费); defaults [policy] from PAYMENT.md."""

    per_capita: Decimal = Decimal("120.00")
    # Share of contracted residents' outpatient fund spending outside the consortium that is deducted.
    outside_deduction: Decimal = Decimal("0.5")

    def __post_init__(self) -> None:
        _money(self.per_capita, "人头费标准")
        _ratio(self.outside_deduction, "外部门诊费用扣减比例")


@dataclass(frozen=True)
class PaymentParams:
    """The full parameter set of one settlement year.

    ``budget`` is the fund budget of the run (the DRG or DIP fund for a point
    settlement, the consortium's budget for a clearing); ``point_value``, when
    set, fixes the point value instead of deriving it from the budget (what-if).
    """

    year: int | None = None
    budget: Decimal | None = None
    point_value: Decimal | None = None
    point_method: PointMethodParams = field(default_factory=PointMethodParams)
    dip: DipParams = field(default_factory=DipParams)
    global_budget: GlobalBudgetParams = field(default_factory=GlobalBudgetParams)
    reimbursement: ReimbursementParams = field(default_factory=ReimbursementParams)
    capitation: CapitationParams = field(default_factory=CapitationParams)

    def __post_init__(self) -> None:
        _require(
            self.year is None or (isinstance(self.year, int) and 1900 < self.year < 3000), "结算年度无效。"
        )
        if self.budget is not None:
            _money(self.budget, "预算")
            _require(self.budget > ZERO, "预算必须为正数。")
        if self.point_value is not None:
            _require(_decimal(self.point_value, "点值") > ZERO, "点值必须为正数。")
        for name, cls in (
            ("point_method", PointMethodParams),
            ("dip", DipParams),
            ("global_budget", GlobalBudgetParams),
            ("reimbursement", ReimbursementParams),
            ("capitation", CapitationParams),
        ):
            _require(isinstance(getattr(self, name), cls), f"参数分组「{name}」类型错误。")

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form (Decimals as strings) that :meth:`from_dict` turns back into equal params."""
        body = _encode(self)
        assert isinstance(body, dict)
        return {"schema": SCHEMA_VERSION, **body}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PaymentParams:
        """Rebuild params stored by :meth:`to_dict`; missing fields take today's defaults."""
        if not isinstance(data, Mapping):
            raise _invalid("参数必须是 JSON 对象。")
        body = dict(data)
        schema = body.pop("schema", SCHEMA_VERSION)
        _require(schema == SCHEMA_VERSION, f"不支持的参数版本「{schema}」，当前版本为 {SCHEMA_VERSION}。")
        result = _decode_dataclass(cls, body, "")
        assert isinstance(result, PaymentParams)
        return result


def default_params(year: int | None = None) -> PaymentParams:
    """The defaults of PAYMENT.md for ``year``."""
    return PaymentParams(year=year)


def to_dict(params: PaymentParams) -> dict[str, Any]:
    return params.to_dict()


def from_dict(data: Mapping[str, Any]) -> PaymentParams:
    return PaymentParams.from_dict(data)


# --- serialisation --------------------------------------------------------------------------


def _encode(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(key): _encode(item) for key, item in value.items()}
    if isinstance(value, tuple):
        return [_encode(item) for item in value]
    if isinstance(value, Decimal):
        return str(value)
    return value


def _decode_dataclass(cls: type[Any], value: Any, path: str) -> Any:
    if not isinstance(value, Mapping):
        raise _invalid(f"参数「{path or '根'}」必须是 JSON 对象。")
    hints = get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(value) - set(names))
    _require(not unknown, f"参数「{path or '根'}」含未知字段：{'、'.join(map(str, unknown))}。")
    kwargs = {
        name: _decode(hints[name], value[name], f"{path}.{name}".lstrip("."))
        for name in names
        if name in value
    }
    return cls(**kwargs)


def _decode(hint: Any, value: Any, path: str) -> Any:
    origin = get_origin(hint)
    if origin in (Union, UnionType):
        options = [arg for arg in get_args(hint) if arg is not type(None)]
        if value is None:
            return None
        return _decode(options[0], value, path)
    if origin is Mapping:
        _require(isinstance(value, Mapping), f"参数「{path}」必须是 JSON 对象。")
        item_hint = get_args(hint)[1]
        return {str(key): _decode(item_hint, item, f"{path}.{key}") for key, item in value.items()}
    if origin is tuple:
        _require(isinstance(value, list | tuple), f"参数「{path}」必须是数组。")
        item_hint = get_args(hint)[0]
        return tuple(_decode(item_hint, item, f"{path}[{index}]") for index, item in enumerate(value))
    if hint is Decimal:
        # Strings as to_dict() writes them; ints and Decimals are exact too.  Floats are not.
        _require(
            isinstance(value, str | int | Decimal) and not isinstance(value, bool),
            f"参数「{path}」必须是写成字符串的数值，收到「{value!r}」。",
        )
        try:
            return Decimal(value)
        except InvalidOperation:
            raise _invalid(f"参数「{path}」不是数值：「{value}」。") from None
    if hint is int:
        _require(isinstance(value, int) and not isinstance(value, bool), f"参数「{path}」必须是整数。")
        return value
    if hint is str:
        _require(isinstance(value, str), f"参数「{path}」必须是字符串。")
        return value
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return _decode_dataclass(hint, value, path)
    raise TypeError(f"unsupported parameter type {hint!r} at {path}")  # a programming error, not input


# --- what-if overrides ----------------------------------------------------------------------

WHATIF_KEYS: Final[tuple[str, ...]] = (
    "budget",
    "point_value",
    *(f"coefficient.{level}" for level in LEVELS),
    *(f"outlier.high.{level}" for level in LEVELS),
    "outlier.low",
    "outlier.strategy",
    "surplus.retained",
    "surplus.split",
    *(f"reimbursement.{place}" for place in PLACES),
    *(f"deductible.{place}" for place in PLACES),
)


class _BadValue(Exception):
    """Internal: the reason (Chinese) a what-if value was refused."""


def _valid_keys_zh() -> str:
    return "可用的参数：" + ", ".join(WHATIF_KEYS) + "。"


def _number(text: str, *, percent: bool = False) -> Decimal:
    is_percent = percent and text.endswith("%")
    body = text[:-1].strip() if is_percent else text
    try:
        number = Decimal(body)
    except InvalidOperation:
        raise _BadValue("不是数值") from None
    if not number.is_finite():
        raise _BadValue("不是有限数值")
    return CALC_CONTEXT.divide(number, HUNDRED) if is_percent else number


def _share(text: str, *, below_one: bool = False) -> Decimal:
    number = _number(text, percent=True)
    if number < ZERO or number > ONE or (below_one and number == ONE):
        raise _BadValue(f"应在 0 到 1 之间{'（不含 1）' if below_one else ''}，也可写百分数如 80%")
    return number


def _positive(text: str) -> Decimal:
    number = _number(text)
    if number <= ZERO:
        raise _BadValue("应为正数")
    return number


def _amount(text: str, *, positive: bool) -> Decimal:
    number = _number(text)
    if number < ZERO or (positive and number == ZERO):
        raise _BadValue("应为正的金额" if positive else "应为非负金额")
    if number != number.quantize(CENT, context=CALC_CONTEXT):
        raise _BadValue("金额最多精确到分")
    return number.quantize(CENT, context=CALC_CONTEXT)


def _split(text: str, tiers: tuple[str, ...]) -> tuple[Decimal, ...]:
    parts = [part.strip() for part in text.replace("：", ":").split(":")]
    if len(parts) != len(tiers):
        raise _BadValue(f"应为 {len(tiers)} 个以冒号分隔的非负数（{'、'.join(tiers)}），如 6:3:1")
    numbers = tuple(_number(part) for part in parts)
    if any(number < ZERO for number in numbers) or sum(numbers, ZERO) <= ZERO:
        raise _BadValue("各项不能为负数，且总和必须为正数")
    return numbers


def _apply_one(params: PaymentParams, key: str, text: str) -> PaymentParams:
    replace = dataclasses.replace
    family, _, member = key.rpartition(".")
    point, budget, reimb = params.point_method, params.global_budget, params.reimbursement
    if key == "budget":
        return replace(params, budget=_amount(text, positive=True))
    if key == "point_value":
        return replace(params, point_value=_positive(text))
    if family == "coefficient":
        return replace(
            params, point_method=replace(point, coefficients={**point.coefficients, member: _positive(text)})
        )
    if family == "outlier.high":
        k = _number(text)
        if k < ONE:
            raise _BadValue("高倍率倍数不能小于 1")
        return replace(
            params, point_method=replace(point, outlier_high_k={**point.outlier_high_k, member: k})
        )
    if key == "outlier.low":
        return replace(params, point_method=replace(point, outlier_low_ratio=_share(text, below_one=True)))
    if key == "outlier.strategy":
        if text not in OUTLIER_STRATEGIES:
            raise _BadValue(f"可选策略：{'、'.join(OUTLIER_STRATEGIES)}")
        return replace(params, point_method=replace(point, outlier_strategy=text))
    if key == "surplus.retained":
        return replace(params, global_budget=replace(budget, surplus_retained=_share(text)))
    if key == "surplus.split":
        return replace(
            params, global_budget=replace(budget, surplus_split=_split(text, budget.surplus_tiers))
        )
    if family == "reimbursement":
        ratios = {**reimb.inpatient_ratio, member: _share(text)}
        return replace(params, reimbursement=replace(reimb, inpatient_ratio=ratios))
    if family == "deductible":
        amounts = {**reimb.inpatient_deductible, member: _amount(text, positive=False)}
        return replace(params, reimbursement=replace(reimb, inpatient_deductible=amounts))
    raise AssertionError(
        f"what-if key {key} listed but not handled"
    )  # WHATIF_KEYS and this function disagree


def apply_overrides(params: PaymentParams, overrides: Mapping[str, object]) -> PaymentParams:
    """Return ``params`` with the what-if keys of PAYMENT.md changed.

    Values are text as typed on the command line (``"0.8"``, ``"80%"``, ``"6:3:1"``).
    An unknown key is refused with code ``whatif_bad_key``, a bad value with
    ``whatif_bad_value``; both messages list the valid keys.  The input params are
    not changed (they are frozen).
    """
    result = params
    for key, raw in overrides.items():
        if key not in WHATIF_KEYS:
            raise ValidationFailed(
                f"未知的假设参数「{key}」。{_valid_keys_zh()}",
                code="whatif_bad_key",
                key=key,
                valid_keys=WHATIF_KEYS,
            )
        text = str(raw).strip()
        try:
            result = _apply_one(result, key, text)
        except (_BadValue, ValidationFailed) as exc:
            reason = exc.message.rstrip("。") if isinstance(exc, ValidationFailed) else str(exc)
            raise ValidationFailed(
                f"假设参数「{key}」的值「{text}」无效：{reason}。{_valid_keys_zh()}",
                code="whatif_bad_value",
                key=key,
                value=text,
                valid_keys=WHATIF_KEYS,
            ) from None
    return result


def parse_assignments(items: Iterable[str]) -> dict[str, str]:
    """Turn ``["key=value", ...]`` (the CLI's ``--set``) into a mapping; a key given twice is refused."""
    result: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ValidationFailed(
                f"假设参数「{item}」应写成 key=value。{_valid_keys_zh()}", code="whatif_bad_value", value=item
            )
        if key in result:
            raise ValidationFailed(f"假设参数「{key}」重复给出。", code="whatif_bad_key", key=key)
        result[key] = value.strip()
    return result
