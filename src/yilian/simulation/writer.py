"""Set-based writes for the generator: value adaptation per database and id reservation.

Rows are tuples in a table's column order.  PostgreSQL takes Python values through
``COPY``; SQLite's driver gets the forms SQLAlchemy itself would store (dates as ISO
text, UTC timestamps without zone, money as float), so rows written here read back
exactly like ORM-written rows.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from types import TracebackType
from typing import Any

from sqlalchemy import Connection, Table

from yilian.db.bulk import copy_rows, is_postgres, reserve_ids


def _sqlite_value(v: Any) -> Any:
    if isinstance(v, datetime):
        return v.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, Decimal):
        return float(v)
    if isinstance(v, bool):
        return int(v)
    return v


class Writer:
    """Writes rows of one connection; counts what it wrote per table."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.postgres = is_postgres(conn)

    def rows(self, table: Table, columns: Sequence[str], rows: Iterable[Sequence[Any]], *, adapt: bool = True) -> int:
        """``adapt=False``: the caller already built driver-ready values (the hot path of the care stage)."""
        if self.postgres or not adapt:
            rows = rows if self.postgres or isinstance(rows, list) else list(rows)
            if not self.postgres and not rows:
                return 0
            return copy_rows(self.conn, table, columns, rows)
        adapted = [tuple(_sqlite_value(v) for v in row) for row in rows]
        if not adapted:
            return 0
        return copy_rows(self.conn, table, columns, adapted)

    def reserve(self, table: Table, n: int) -> int:
        """First of ``n`` consecutive ids.  On SQLite the block must be written before the next
        reservation in the same table (the reservation reads the current maximum)."""
        return reserve_ids(self.conn, table, n)


class BackgroundWriter:
    """Runs ``flush(ctx, writer, job)`` for each submitted job, in order, on one thread.

    While it runs the thread owns the connection: the submitting thread only generates.  Both
    drivers release the GIL while the database works (psycopg waiting on the server, sqlite3
    inside ``sqlite3_step``), so generation and writing overlap on two cores.  The queue is
    short, so memory stays at a few days' rows.  A failure in the thread is raised in the
    submitter at the next ``submit`` or at exit.
    """

    def __init__(self, ctx: Any, writer: Writer, flush: Callable[[Any, Writer, Any], None], depth: int = 3) -> None:
        self._ctx, self._writer, self._flush = ctx, writer, flush
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="simulate-writer", daemon=True)

    def __enter__(self) -> BackgroundWriter:
        self._thread.start()
        return self

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            if self._error is None:
                try:
                    self._flush(self._ctx, self._writer, job)
                except BaseException as exc:  # re-raised in the submitting thread
                    self._error = exc

    def submit(self, job: Any) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put(job)

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._queue.put(None)
        self._thread.join()
        if self._error is not None and exc is None:
            raise self._error
