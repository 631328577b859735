"""What grouping returns: the result and, in explain mode, the trace of how it was reached."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

UNGROUPED_DRG = "0000"


class Status(StrEnum):
    GROUPED = "grouped"
    UNGROUPED = "ungrouped"
    INVALID = "invalid"


@dataclass(frozen=True, slots=True)
class MdcTried:
    mdc: str
    rule: str
    entered: bool


@dataclass(frozen=True, slots=True)
class AdrgTried:
    """One ADRG rule tried inside an entered MDC (``adrg`` is ``<letter>QY`` for the QY step)."""

    adrg: str
    rule: str
    matched: bool


@dataclass(frozen=True, slots=True)
class SecondaryChecked:
    """A secondary diagnosis: ``kind`` ``mcc`` / ``cc`` / ``""``; ``excluded`` by ``table``."""

    code: str
    kind: str
    table: int | None
    excluded: bool

    @property
    def counted(self) -> bool:
        return bool(self.kind) and not self.excluded


@dataclass(frozen=True, slots=True)
class Trace:
    steps: tuple[MdcTried | AdrgTried, ...]
    principal_table: int | None = None
    secondaries: tuple[SecondaryChecked, ...] = ()

    def render(self) -> str:
        """One line in Chinese (the CSV ``message`` column must stay single-line)."""
        parts: list[str] = []
        skipped: list[str] = []
        failed: list[str] = []

        def flush() -> None:
            if skipped:
                parts.append("未进入 " + "、".join(skipped))
                skipped.clear()
            if failed:
                parts.append("不符 " + "、".join(failed))
                failed.clear()

        for step in self.steps:
            if isinstance(step, MdcTried):
                if step.entered:
                    flush()
                    parts.append(f"进入 {step.mdc}（{step.rule}）")
                else:
                    if failed:
                        flush()
                    skipped.append(step.mdc)
            elif step.matched:
                flush()
                parts.append(f"符合 {step.adrg}（{step.rule}）")
            else:
                failed.append(step.adrg)
        flush()
        if self.secondaries or self.principal_table is not None:
            table = self.principal_table
            parts.append(f"主要诊断排除表 {table}" if table is not None else "主要诊断无排除表")
            for s in self.secondaries:
                if s.excluded:
                    parts.append(f"{s.code} {s.kind.upper()} 被排除表 {s.table} 排除")
                elif s.kind:
                    parts.append(f"{s.code} {s.kind.upper()} 计入")
        return "；".join(parts)


@dataclass(frozen=True, slots=True)
class GroupResult:
    """``split`` is the DRG's split (``mcc``, ``mcc_or_cc``, ``none``) when grouped by one.

    ``reason`` is a stable code (:class:`~yilian.payment.drg.case.Reason`) or ``""``;
    ``message`` is for people, in Chinese, single-line.
    """

    status: Status
    drg: str
    mdc: str | None
    adrg: str | None
    split: str | None
    reason: str
    message: str
    pack_name: str
    pack_version: str
    trace: Trace | None = None
