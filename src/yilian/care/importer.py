"""``yilian care import``: CSV batches of encounters with their settlements, set-based.

Per chunk of rows (``CareConfig.import_chunk_size``):

1. each row is parsed and checked in Python by the same rules as the API (``layout``, ``rules``);
   a refused row goes to the report with its line number, source id, reason and code;
2. ID numbers become lookup hashes at once (never kept, never logged), and residents,
   institutions, departments and practitioners are resolved in one query per table;
3. rows already recorded under their (source_system, source_id) are compared, not written:
   identical → unchanged, different → refused ``encounter_changed`` (as the API does); a source
   id repeated inside the file is compared with its first occurrence;
4. the new rows are settled (deductibles already paid in a referral episode come from one
   grouped query, then run on through the chunk in file order), get a block of reserved ids,
   and go in with one COPY (PostgreSQL) or executemany (SQLite) per table;
5. missing ``treated`` care relationships for the chunk are added in one INSERT … SELECT.

Idempotent: re-importing a file finds every good row recorded and writes nothing — no rows, no
audit entry.  An import that writes rows leaves one audit entry with the id ranges it wrote
(rows of a batch are not audited one by one: a year of visits is millions of rows).  The
transaction belongs to the caller (the CLI commits once at the end, so a failed run leaves
nothing half-written and can simply be run again).
"""

from __future__ import annotations

import csv
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from itertools import islice
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from yilian.care import events, layout, repository
from yilian.care.config import CareConfig, default_config
from yilian.care.repository import ENCOUNTER_COLUMNS, SETTLEMENT_COLUMNS
from yilian.care.rules import CheckedEncounter, EncounterData, care_group, check_encounter
from yilian.care.schemas import ImportReport, RejectedRow
from yilian.care.service import (
    Resolved,
    Resolver,
    changed_fields,
    changed_refusal,
    encounter_values,
    id_number_hash,
    sender_values,
    settlement_values,
)
from yilian.core import events as core_events
from yilian.core.clock import today_local, utcnow
from yilian.core.errors import DomainError, ValidationFailed
from yilian.core.pii import PiiCipher
from yilian.identity import audit
from yilian.identity.principal import Principal
from yilian.identity.service import care_ingest_scope
from yilian.residents.crypto import cipher

__all__ = ["import_csv", "refresh_statistics"]

Progress = Callable[[int], None]


@dataclass(slots=True)
class _Parsed:
    line: int
    data: EncounterData
    id_hash: str


@dataclass(slots=True)
class _Ready:
    line: int
    checked: CheckedEncounter
    resolved: Resolved


@dataclass(slots=True)
class _Run:
    session: Session
    actor: Principal
    config: CareConfig
    today: date
    resolver: Resolver
    pii: PiiCipher
    total: int = 0
    created: int = 0
    unchanged: int = 0
    relationships: int = 0
    rejected: list[RejectedRow] = field(default_factory=list)
    id_ranges: list[tuple[int, int]] = field(default_factory=list)

    def reject(self, line: int, source_id: str, exc: DomainError) -> None:
        self.rejected.append(RejectedRow(line=line, source_id=source_id, code=exc.code, reason=exc.message))


def _rows(reader: Any) -> Iterator[tuple[int, list[str]]]:
    for fields in reader:
        if fields and any(f.strip() for f in fields):  # blank lines are not rows
            yield reader.line_num, fields


def _parse(run: _Run, header: layout.Header, chunk: Sequence[tuple[int, list[str]]]) -> list[_Parsed]:
    parsed: list[_Parsed] = []
    for line, fields in chunk:
        try:
            data, raw_id = layout.parse_row(fields, header)
            parsed.append(_Parsed(line, data, id_number_hash(raw_id, run.today, run.pii)))
        except DomainError as exc:
            run.reject(line, layout.source_id_of(fields, header), exc)
    return parsed


def _check(run: _Run, parsed: list[_Parsed]) -> list[_Ready]:
    run.resolver.prefetch([(p.data, p.id_hash) for p in parsed])
    ready: list[_Ready] = []
    for p in parsed:
        try:
            resolved = run.resolver.resolve(p.data, p.id_hash)
            checked = check_encounter(p.data, birth_date=resolved.birth_date, today=run.today,
                                      default_policy_share=run.config.default_policy_share)
        except DomainError as exc:
            run.reject(p.line, p.data.source_id.strip()[:64], exc)
            continue
        ready.append(_Ready(p.line, checked, resolved))
    return ready


def _new_only(run: _Run, ready: list[_Ready]) -> list[tuple[_Ready, dict[str, Any]]]:
    """Drop rows already recorded (unchanged) or changed (refused), and repeats inside the chunk."""
    by_system: dict[str, set[str]] = {}
    for r in ready:
        by_system.setdefault(r.checked.source_system, set()).add(r.checked.source_id)
    stored = {system: repository.stored_by_source(run.session, system, ids) for system, ids in by_system.items()}
    first_seen: dict[tuple[str, str], dict[str, Any]] = {}
    fresh: list[tuple[_Ready, dict[str, Any]]] = []
    for r in ready:
        c = r.checked
        sent = sender_values(c, r.resolved)
        key = (c.source_system, c.source_id)
        if key in first_seen:
            if changed_fields(sent, first_seen[key]):
                run.reject(r.line, c.source_id, ValidationFailed(
                    "同一文件中该就诊编号出现多次且内容不同，只导入了第一次出现的记录。", code="duplicate_in_file"))
            else:
                run.unchanged += 1
            continue
        first_seen[key] = sent
        existing = stored[c.source_system].get(c.source_id)
        if existing is None:
            fresh.append((r, sent))
            continue
        diff = changed_fields(sent, existing)
        if diff:
            run.reject(r.line, c.source_id, changed_refusal(diff, int(existing["id"])))
        else:
            run.unchanged += 1
    return fresh


def _write(run: _Run, fresh: list[tuple[_Ready, dict[str, Any]]]) -> None:
    session, config = run.session, run.config
    episodes = {r.checked.referral_episode_id for r, _ in fresh if r.checked.referral_episode_id is not None}
    paid = repository.episode_deductibles(session, episodes) if episodes else {}
    settled: list[tuple[_Ready, dict[str, Any]]] = []
    for r, _ in fresh:
        c = r.checked
        key = (c.referral_episode_id, care_group(c.kind).value) if c.referral_episode_id is not None else None
        before = paid.get(key, Decimal("0.00")) if key else Decimal("0.00")
        try:
            values = settlement_values(c, r.resolved, before, config)
        except DomainError as exc:
            run.reject(r.line, c.source_id, exc)
            continue
        if key:
            paid[key] = before + values["deductible"]
        settled.append((r, values))
    if not settled:
        return
    first = repository.reserve_encounter_ids(session, len(settled))
    received = utcnow()
    enc_rows, stl_rows = [], []
    for offset, (r, s) in enumerate(settled):
        ev = encounter_values(r.checked, r.resolved, received)
        ev["id"] = s["encounter_id"] = first + offset
        enc_rows.append(tuple(ev[c] for c in ENCOUNTER_COLUMNS))
        stl_rows.append(tuple(s[c] for c in SETTLEMENT_COLUMNS))
    repository.insert_encounters(session, enc_rows)
    repository.insert_settlements(session, stl_rows)
    last = first + len(settled) - 1
    run.relationships += repository.insert_treated_relationships(session, first, last)
    run.created += len(settled)
    run.id_ranges.append((first, last))
    core_events.publish(session, events.encounters_imported(first, last))


def import_csv(
    session: Session, actor: Principal, path: Path, progress: Progress | None = None, *,
    config: CareConfig | None = None, today: date | None = None,
) -> ImportReport:
    """Import a CSV file of encounters (layout: docs/care/import.md); returns the report.

    ``progress`` is called with the number of data rows done after each chunk.  ``today`` is
    the reference date for "not in the future" (China's date; a simulation passes its clock).
    """
    started = time.perf_counter()
    config = config or default_config()
    run = _Run(session, actor, config, today or today_local(),
               Resolver(session, care_ingest_scope(session, actor)), cipher())
    try:
        fh = path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise ValidationFailed(f"无法读取文件 {path.name}：{exc.strerror}", code="import_unreadable") from None
    with fh:
        reader = csv.reader(fh)
        try:
            header_row = next(reader, None)
            if not header_row:
                raise ValidationFailed("CSV 文件为空。", code="import_empty")
            header = layout.read_header(header_row)
            rows = _rows(reader)
            while chunk := list(islice(rows, config.import_chunk_size)):
                run.total += len(chunk)
                _write(run, _new_only(run, _check(run, _parse(run, header, chunk))))
                if progress is not None:
                    progress(len(chunk))
        except UnicodeDecodeError:
            raise ValidationFailed("文件不是 UTF-8 编码的文本，请另存为 UTF-8 的 CSV。",
                                   code="import_unreadable") from None
        except csv.Error as exc:
            raise ValidationFailed(f"CSV 格式错误（第{reader.line_num}行）：{exc}", code="import_malformed") from None
    if run.created:
        audit.record(session, actor, "import", "encounter",
                     after={"file": path.name, "created": run.created, "id_ranges": run.id_ranges,
                            "relationships_created": run.relationships},
                     detail=f"导入就诊记录 {path.name}：新增{run.created}条，未变{run.unchanged}条，"
                            f"拒绝{len(run.rejected)}条，新建就诊关系{run.relationships}条")
    return ImportReport(file=path.name, total=run.total, created=run.created, unchanged=run.unchanged,
                        rejected=sorted(run.rejected, key=lambda r: r.line), relationships_created=run.relationships,
                        seconds=round(time.perf_counter() - started, 3))


def refresh_statistics(session: Session) -> None:
    """After a large import: refresh the planner's statistics (SQLite; PostgreSQL does it itself)."""
    repository.refresh_statistics(session)
