"""Set-based bulk writes for batch work (synthetic data, CSV import, settlement runs).

PostgreSQL gets ``COPY … FROM STDIN`` (binary-safe text rows through psycopg 3); SQLite gets
``executemany`` inside the caller's transaction.  Callers stream rows in chunks and never build
ORM objects per row.  IDs for rows that others reference are reserved up front with
``reserve_ids`` so child rows (settlements of encounters) can be written in the same pass.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, MetaData, Table, func, select, text


def is_postgres(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql"


def copy_rows(conn: Connection, table: Table, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Insert rows (tuples in ``columns`` order) as fast as the database allows; returns the count."""
    if is_postgres(conn):
        raw = conn.connection.driver_connection
        assert raw is not None
        cols = ", ".join(f'"{c}"' for c in columns)
        n = 0
        with raw.cursor() as cur, cur.copy(f'COPY "{table.name}" ({cols}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row(row)
                n += 1
        return n
    placeholders = ", ".join("?" for _ in columns)
    cols = ", ".join(f'"{c}"' for c in columns)
    raw_conn = conn.connection.driver_connection
    assert raw_conn is not None
    batch = rows if isinstance(rows, list) else list(rows)
    cur = raw_conn.cursor()
    try:
        cur.executemany(f'INSERT INTO "{table.name}" ({cols}) VALUES ({placeholders})', batch)
    finally:
        cur.close()
    return len(batch)


def reserve_ids(conn: Connection, table: Table, n: int, pk: str = "id") -> int:
    """Reserve ``n`` consecutive primary keys; returns the first.

    PostgreSQL advances the sequence atomically, so concurrent writers get disjoint blocks.
    SQLite has no sequence: the block starts after the current maximum, which is safe because the
    caller holds the write lock (BEGIN IMMEDIATE) — but write the block before reserving another.
    """
    if n <= 0:
        raise ValueError("n must be positive")
    if is_postgres(conn):
        seq = conn.execute(text("select pg_get_serial_sequence(:t, :c)"), {"t": table.name, "c": pk}).scalar_one()
        # Advance the sequence by n in one statement; the block [last - n + 1, last] is ours.
        last = conn.execute(
            text("select setval(CAST(:s AS regclass), nextval(CAST(:s AS regclass)) + :n - 1)"), {"s": seq, "n": n}
        ).scalar_one()
        return int(last) - n + 1
    current = conn.execute(select(func.max(table.c[pk]))).scalar() or 0
    return int(current) + 1


def sync_sequence(conn: Connection, table: Table, pk: str = "id") -> None:
    """After explicit-id inserts on PostgreSQL, move the sequence past the largest id."""
    if not is_postgres(conn):
        return
    seq = conn.execute(text("select pg_get_serial_sequence(:t, :c)"), {"t": table.name, "c": pk}).scalar_one()
    if seq:
        conn.execute(
            text(
                f'select setval(CAST(:s AS regclass), coalesce((select max("{pk}") from "{table.name}"), 0) + 1, false)'
            ),
            {"s": seq},
        )


def update_rows(conn: Connection, table: Table, key: str, columns: Sequence[str],
                rows: Sequence[Sequence[Any]]) -> int:
    """Set ``columns`` of the rows whose ``key`` is the first value of each tuple, set-based: the tuples
    go to a temporary table (``copy_rows``, driver-ready values), then one ``UPDATE … FROM`` joins it
    (PostgreSQL, and SQLite ≥ 3.33 alike).  Returns the number of rows updated."""
    if not rows:
        return 0
    tmp = f"tmp_upd_{table.name}"
    cols = (key, *columns)
    types = ", ".join(f'"{c}" {table.c[c].type.compile(conn.dialect)}' for c in cols)
    conn.execute(text(f'CREATE TEMPORARY TABLE "{tmp}" ({types})'))
    try:
        copy_rows(conn, Table(tmp, MetaData()), cols, rows)  # only the name is read
        sets = ", ".join(f'"{c}" = u."{c}"' for c in columns)
        n = conn.execute(text(f'UPDATE "{table.name}" SET {sets} FROM "{tmp}" u '
                              f'WHERE "{table.name}"."{key}" = u."{key}"')).rowcount
    finally:
        conn.execute(text(f'DROP TABLE "{tmp}"'))
    return int(n)
