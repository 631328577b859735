"""Referral policy of a consortium, with REFERRAL.md / DOMAIN.md defaults, and catalogue loading.

A governing consortium's policy is copied onto a referral's deadlines at
submission (REFERRAL.md "deadlines"); everything else is read live.  A referral
with no governing consortium uses ``ReferralPolicy()`` as it is.

Catalogue CSV layout (UTF-8, BOM allowed, header row required, columns in any order)::

    catalogue,icd10,name
    down,I10,原发性高血压
    rehab,I69,脑血管病后遗症
    up,I21,急性心肌梗死

- ``catalogue``: ``up`` (up-referral), ``down`` (down-referral), ``rehab``
  (rehabilitation down-referral), ``must_treat_county`` (county hospitals must
  treat), ``must_treat_township`` (township centres must treat);
- ``icd10``: an ICD-10 code (``I10``, ``E11.9``, ``I63.900``); an entry covers
  its sub-codes, so ``I63`` matches ``I63.900x001``;
- ``name``: the disease name as the catalogue prints it.

Blank lines and lines whose first cell starts with ``#`` are skipped.  Any bad
row refuses the whole file (a half-loaded catalogue would silently refuse
eligible patients), listing every bad line with its reason.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from datetime import timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Final

from yilian.contracts.config import PriorityBenefit
from yilian.core.errors import ValidationFailed

__all__ = [
    "CATALOGUE_NAMES_ZH",
    "DOWN_DEADLINES",
    "ROUTINE_DEADLINES",
    "TIANCHANG_CATALOGUE_SIZES",
    "URGENT_DEADLINES",
    "CatalogueEntry",
    "CatalogueKind",
    "Catalogues",
    "DeadlineSet",
    "ReferralPolicy",
    "catalogue_size_warnings",
    "normalise_diagnosis",
    "parse_catalogue_csv",
]


class CatalogueKind(StrEnum):
    UP = "up"
    DOWN = "down"
    REHAB = "rehab"
    MUST_TREAT_COUNTY = "must_treat_county"
    MUST_TREAT_TOWNSHIP = "must_treat_township"


CATALOGUE_NAMES_ZH: Final[dict[CatalogueKind, str]] = {
    CatalogueKind.UP: "上转病种目录",
    CatalogueKind.DOWN: "下转病种目录",
    CatalogueKind.REHAB: "康复期下转病种目录",
    CatalogueKind.MUST_TREAT_COUNTY: "县级医院确保收治病种目录",
    CatalogueKind.MUST_TREAT_TOWNSHIP: "乡镇卫生院确保收治病种目录",
}

#: Tianchang (002): "确定县级公立医院122种、镇卫生院50种确保收治病种目录,明确县级医院
#: 41个下转病种和15个康复期下转病种清单".  The seed gives the sizes, not the lists.
TIANCHANG_CATALOGUE_SIZES: Final[Mapping[CatalogueKind, int]] = MappingProxyType(
    {
        CatalogueKind.MUST_TREAT_COUNTY: 122,
        CatalogueKind.MUST_TREAT_TOWNSHIP: 50,
        CatalogueKind.DOWN: 41,
        CatalogueKind.REHAB: 15,
    }
)

_ICD10: Final = re.compile(r"[A-Z][0-9]{2}(\.[0-9A-Z]{1,8})?")


def normalise_diagnosis(code: str) -> str:
    """Upper-case, the primary part of a dagger/asterisk pair ("A01.000x005+J17.0*" → "A01.000X005")."""
    return code.strip().upper().split("+", 1)[0].rstrip("*†")


@dataclass(frozen=True, slots=True)
class CatalogueEntry:
    kind: CatalogueKind
    code: str
    name: str
    #: Line of the source file (0 when not loaded from a file), for error reports.
    line: int = 0

    def matches(self, diagnosis: str) -> bool:
        return normalise_diagnosis(diagnosis).startswith(self.code)


@dataclass(frozen=True, slots=True)
class Catalogues:
    entries: tuple[CatalogueEntry, ...] = ()

    def of(self, kind: CatalogueKind) -> tuple[CatalogueEntry, ...]:
        return tuple(e for e in self.entries if e.kind == kind)

    def contains(self, kinds: Iterable[CatalogueKind], diagnosis: str | None) -> bool:
        if not diagnosis:
            return False
        wanted = frozenset(kinds)
        return any(e.kind in wanted and e.matches(diagnosis) for e in self.entries)

    def sizes(self) -> dict[CatalogueKind, int]:
        return {k: sum(1 for e in self.entries if e.kind == k) for k in CatalogueKind}


def catalogue_size_warnings(catalogues: Catalogues, expected: Mapping[CatalogueKind, int]) -> list[str]:
    """Catalogues whose size differs from the configured shape: flagged to the manager, not refused."""
    sizes = catalogues.sizes()
    return [
        f"{CATALOGUE_NAMES_ZH[kind]}应有{n}种，实际载入{sizes[kind]}种"
        for kind, n in expected.items()
        if sizes[kind] != n
    ]


_COLUMNS: Final = ("catalogue", "icd10", "name")


def parse_catalogue_csv(text: str) -> list[CatalogueEntry]:
    """Parse a catalogue file (layout in the module docstring); refuse it whole on any bad row."""
    rows = csv.reader(io.StringIO(text.removeprefix("\ufeff")))
    errors: list[dict[str, Any]] = []
    header: list[str] | None = None
    entries: list[CatalogueEntry] = []
    seen: dict[tuple[CatalogueKind, str], int] = {}
    for cells in rows:
        line = rows.line_num
        if not any(c.strip() for c in cells) or cells[0].strip().startswith("#"):
            continue
        if header is None:
            header = [c.strip().lower() for c in cells]
            if sorted(header) != sorted(_COLUMNS):
                raise ValidationFailed(
                    f"目录文件第{line}行表头应为 {','.join(_COLUMNS)}，实际为 {','.join(header)}",
                    code="catalogue_invalid",
                    errors=[{"line": line, "reason": "header"}],
                )
            continue
        if len(cells) != len(header):
            errors.append({"line": line, "reason": f"应有{len(header)}列，实际{len(cells)}列"})
            continue
        row = {h: c.strip() for h, c in zip(header, cells, strict=True)}
        reasons: list[str] = []
        try:
            kind: CatalogueKind | None = CatalogueKind(row["catalogue"].lower())
        except ValueError:
            kind = None
            reasons.append(
                f"未知目录“{row['catalogue']}”（可选：{'、'.join(k.value for k in CatalogueKind)}）"
            )
        code = row["icd10"].upper()
        if not _ICD10.fullmatch(code):
            reasons.append(f"ICD-10编码“{row['icd10']}”格式不正确")
        if not row["name"]:
            reasons.append("病种名称为空")
        if kind is not None and not reasons:
            first = seen.setdefault((kind, code), line)
            if first != line:
                reasons.append(f"与第{first}行重复")
        if reasons:
            errors.append({"line": line, "reason": "；".join(reasons)})
        elif kind is not None:
            entries.append(CatalogueEntry(kind, code, row["name"], line))
    if header is None:
        raise ValidationFailed(
            "目录文件为空", code="catalogue_invalid", errors=[{"line": 0, "reason": "empty"}]
        )
    if errors:
        listed = "；".join(f"第{e['line']}行：{e['reason']}" for e in errors[:10])
        more = f"（另有{len(errors) - 10}处）" if len(errors) > 10 else ""
        raise ValidationFailed(
            f"目录文件有{len(errors)}处错误，未导入：{listed}{more}", code="catalogue_invalid", errors=errors
        )
    return entries


@dataclass(frozen=True, slots=True)
class DeadlineSet:
    """The deadlines of REFERRAL.md for one (direction, urgency); ``None`` = not watched.

    Field names are the document's deadline keys, so configuration and the
    copy stored on a referral use the same names.
    """

    approval_escalate: timedelta | None = None
    approval_final: timedelta | None = None
    accept_escalate: timedelta | None = None
    accept_final: timedelta | None = None
    arrange_escalate: timedelta | None = None
    attendance_escalate: timedelta | None = None
    no_show_final: timedelta | None = None
    outcome_escalate_outpatient: timedelta | None = None
    outcome_escalate_inpatient: timedelta | None = None
    cancel_escalate: timedelta | None = None
    followup_due: timedelta | None = None

    def to_seconds(self) -> dict[str, int | None]:
        """For storing the copy on the referral (JSON)."""
        out: dict[str, int | None] = {}
        for f in fields(self):
            value: timedelta | None = getattr(self, f.name)
            out[f.name] = None if value is None else int(value.total_seconds())
        return out

    @classmethod
    def from_seconds(cls, data: Mapping[str, int | None]) -> DeadlineSet:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValidationFailed(
                f"未知的时限配置项：{'、'.join(sorted(unknown))}",
                code="deadline_key_unknown",
                keys=sorted(unknown),
            )
        return cls(**{k: None if v is None else timedelta(seconds=v) for k, v in data.items()})


_H = timedelta(hours=1)
_D = timedelta(days=1)

ROUTINE_DEADLINES: Final = DeadlineSet(
    approval_escalate=24 * _H,
    approval_final=72 * _H,
    accept_escalate=24 * _H,
    accept_final=72 * _H,
    arrange_escalate=72 * _H,
    attendance_escalate=24 * _H,
    no_show_final=14 * _D,
    outcome_escalate_outpatient=72 * _H,
    outcome_escalate_inpatient=30 * _D,
    cancel_escalate=24 * _H,
)
URGENT_DEADLINES: Final = DeadlineSet(
    approval_escalate=timedelta(minutes=30),
    approval_final=1 * _H,
    accept_escalate=2 * _H,
    accept_final=6 * _H,
    arrange_escalate=4 * _H,
    attendance_escalate=4 * _H,
    no_show_final=72 * _H,
    outcome_escalate_outpatient=72 * _H,
    outcome_escalate_inpatient=30 * _D,
    cancel_escalate=2 * _H,
)
#: Down-referrals: no approval, and after acceptance only the follow-up clock.
DOWN_DEADLINES: Final = DeadlineSet(
    accept_escalate=48 * _H,
    accept_final=120 * _H,
    cancel_escalate=24 * _H,
    followup_due=7 * _D,
)


def _all_benefits() -> frozenset[PriorityBenefit]:
    return frozenset(PriorityBenefit)


@dataclass(frozen=True, slots=True)
class ReferralPolicy:
    """The referral settings of one governing consortium (defaults: REFERRAL.md)."""

    routine: DeadlineSet = ROUTINE_DEADLINES
    urgent: DeadlineSet = URGENT_DEADLINES
    down: DeadlineSet = DOWN_DEADLINES
    #: "一免三优先" granted to an accepted up/lateral episode (Luohu/Zhenjiang: all four).
    benefits: frozenset[PriorityBenefit] = field(default_factory=_all_benefits)
    #: Accept a down-referral to the resident's own contracted team in the submit transaction.
    down_auto_accept: bool = True
    #: Tianchang "严格外转审批": out-of-network referrals wait for the referral office.
    out_of_network_approval: bool = True
    #: Institutions that may receive up-referrals whatever their tier (designated specialty centres).
    designated_centres: frozenset[int] = frozenset()
    catalogues: Catalogues = Catalogues()
    #: Expected catalogue sizes, checked when a catalogue is loaded (warnings only).
    catalogue_sizes: Mapping[CatalogueKind, int] = field(default_factory=lambda: TIANCHANG_CATALOGUE_SIZES)
    #: How often the deadline job runs inside the app.
    tick_interval: timedelta = timedelta(minutes=5)

    def deadline_set(self, *, down: bool, urgent: bool) -> DeadlineSet:
        """The set copied onto a referral at submission (a down-referral is always routine)."""
        if down:
            return self.down
        return self.urgent if urgent else self.routine
