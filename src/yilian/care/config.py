"""Configuration of care: the reimbursement rules (差别化报销) and the import's working sizes.

Ratios and deductibles are policy, so they are configuration with PAYMENT.md's [policy] defaults
for the urban-rural resident scheme (城乡居民医保), never literals in the calculation:

| place | inpatient ratio | deductible per stay | outpatient pooled cover |
|---|---|---|---|
| primary (县域内基层) | 90 % | 200 | 60 % |
| county (县域内县级) | 75 % | 500 | 50 % |
| out_of_county (县外，经转诊) | 55 % | 1,000 | 0 % |
| out_of_county_unreferred (县外，未经转诊) | 45 % | 1,000 | 0 % |

PAYMENT.md names no outpatient deductible, so it defaults to zero.  The employee scheme has no
defaults in the policy texts: until a county configures its rules, employee-scheme settlements
must arrive with their fund/patient split (the calculation refuses to guess).  Self-pay
settlements need no rules: the fund pays nothing.

A deployment changes the values through ``CareConfig.from_dict`` (a JSON document with the same
keys as ``to_dict``); ``version`` names the set, so a stored figure can be traced to its rules.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any, Final

from yilian.care.rules import CareGroup, Place, Scheme
from yilian.core.errors import ConfigurationError

__all__ = ["CareConfig", "ReimbursementRules", "default_config"]

PLACES: Final = tuple(p.value for p in Place)


def _by_place(primary: str, county: str, out_of_county: str, unreferred: str) -> Mapping[str, Decimal]:
    return MappingProxyType({
        Place.PRIMARY.value: Decimal(primary),
        Place.COUNTY.value: Decimal(county),
        Place.OUT_OF_COUNTY.value: Decimal(out_of_county),
        Place.OUT_OF_COUNTY_UNREFERRED.value: Decimal(unreferred),
    })


def _bad(message: str) -> ConfigurationError:
    return ConfigurationError(message, code="care_config_invalid")


def _check_places(values: Mapping[str, Decimal], what: str, *, ratio: bool) -> None:
    if set(values) != set(PLACES):
        raise _bad(f"{what}须且只能按以下就医地点配置：{'、'.join(PLACES)}。")
    for place, value in values.items():
        if not isinstance(value, Decimal) or not value.is_finite():
            raise _bad(f"{what}（{place}）须为 Decimal。")
        if ratio and not 0 <= value <= 1:
            raise _bad(f"{what}（{place}）须在0到1之间。")
        if not ratio and (value < 0 or value != value.quantize(Decimal("0.01"))):
            raise _bad(f"{what}（{place}）须为非负、精确到分的金额。")


@dataclass(frozen=True)
class ReimbursementRules:
    """One scheme's tiered reimbursement; each mapping is keyed by ``Place`` value."""

    inpatient_ratio: Mapping[str, Decimal] = field(default_factory=lambda: _by_place("0.90", "0.75", "0.55", "0.45"))
    inpatient_deductible: Mapping[str, Decimal] = field(
        default_factory=lambda: _by_place("200.00", "500.00", "1000.00", "1000.00"))
    outpatient_ratio: Mapping[str, Decimal] = field(default_factory=lambda: _by_place("0.60", "0.50", "0", "0"))
    outpatient_deductible: Mapping[str, Decimal] = field(
        default_factory=lambda: _by_place("0.00", "0.00", "0.00", "0.00"))

    def __post_init__(self) -> None:
        _check_places(self.inpatient_ratio, "住院报销比例", ratio=True)
        _check_places(self.outpatient_ratio, "门诊统筹报销比例", ratio=True)
        _check_places(self.inpatient_deductible, "住院起付线", ratio=False)
        _check_places(self.outpatient_deductible, "门诊起付线", ratio=False)

    def ratio(self, group: CareGroup, place: Place) -> Decimal:
        return (self.inpatient_ratio if group is CareGroup.INPATIENT else self.outpatient_ratio)[place.value]

    def deductible(self, group: CareGroup, place: Place) -> Decimal:
        return (self.inpatient_deductible if group is CareGroup.INPATIENT else self.outpatient_deductible)[place.value]


@dataclass(frozen=True)
class CareConfig:
    version: str = "policy-default-1"
    #: Rules by insurance scheme; a scheme missing here must send its split (self_pay never needs one).
    reimbursement: Mapping[str, ReimbursementRules] = field(
        default_factory=lambda: MappingProxyType({Scheme.RESIDENT.value: ReimbursementRules()}))
    #: Share of the total counted as policy-range cost (政策范围内费用) when the sender leaves it
    #: out: 1 means "nothing outside the catalogue was declared".
    default_policy_share: Decimal = Decimal(1)
    #: Rows per set-based chunk of a CSV import: one lookup query per table and one COPY per
    #: chunk; 5,000 keeps SQLite's bound-parameter count and the memory per chunk small.
    import_chunk_size: int = 5000

    def __post_init__(self) -> None:
        unknown = set(self.reimbursement) - {s.value for s in Scheme}
        if unknown or Scheme.SELF_PAY.value in self.reimbursement:
            raise _bad("报销规则只能按 resident、employee 险种配置（自费不报销）。")
        if not 0 <= self.default_policy_share <= 1:
            raise _bad("默认政策范围内费用占比须在0到1之间。")
        if not 1 <= self.import_chunk_size <= 10000:
            raise _bad("导入批大小须在1到10000之间。")

    def rules_for(self, scheme: Scheme) -> ReimbursementRules | None:
        return self.reimbursement.get(scheme.value)

    def to_dict(self) -> dict[str, Any]:
        def dec(m: Mapping[str, Decimal]) -> dict[str, str]:
            return {k: str(v) for k, v in m.items()}

        return {
            "version": self.version,
            "reimbursement": {
                scheme: {"inpatient_ratio": dec(r.inpatient_ratio), "inpatient_deductible": dec(r.inpatient_deductible),
                         "outpatient_ratio": dec(r.outpatient_ratio),
                         "outpatient_deductible": dec(r.outpatient_deductible)}
                for scheme, r in self.reimbursement.items()
            },
            "default_policy_share": str(self.default_policy_share),
            "import_chunk_size": self.import_chunk_size,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CareConfig:
        """Build from ``to_dict``'s shape; numbers as strings so no float ever touches money."""
        try:
            rules = {
                scheme: ReimbursementRules(**{name: MappingProxyType({k: Decimal(str(v)) for k, v in values.items()})
                                              for name, values in body.items()})
                for scheme, body in dict(data.get("reimbursement", {})).items()
            }
            return cls(
                version=str(data.get("version", "custom")),
                reimbursement=MappingProxyType(rules) if "reimbursement" in data else cls().reimbursement,
                default_policy_share=Decimal(str(data.get("default_policy_share", "1"))),
                import_chunk_size=int(data.get("import_chunk_size", 5000)),
            )
        except (TypeError, ValueError, InvalidOperation, AttributeError) as exc:
            raise _bad(f"报销规则配置无法读取：{exc}") from None


_DEFAULT: Final = CareConfig()


def default_config() -> CareConfig:
    return _DEFAULT
