"""Bulk-load mode: secondary indexes of the generated tables are built after the load.

Maintaining a B-tree index row by row costs a random page access per row once the index
outgrows the cache — at 1 M residents that was most of PostgreSQL's work (resident by ID hash
and name, encounter by resident and date, care relationships).  Building the index once from
the loaded rows is a sort, several times cheaper.  So, inside the run's transaction, the
non-constraint indexes of these tables are dropped before the population stage and re-created
from their exact stored definitions (``pg_indexes.indexdef`` / ``sqlite_master.sql``) once the
rows are in.  Unique indexes are re-created too, which re-checks uniqueness over all rows; a
failure rolls the whole run back.  Primary keys, unique constraints and foreign keys stay.

DDL is transactional on both databases, so a failed run leaves the schema as it was.  On
PostgreSQL the dropped indexes' tables are locked until commit — acceptable for a generator
that only writes into an empty database.  Feature stages ordered between the two steps see
these tables without their secondary indexes.
"""

from __future__ import annotations

from sqlalchemy import Connection, text

from yilian.db.bulk import is_postgres
from yilian.simulation.pipeline import SimContext, Stage, Tracker, register_stage

TABLES = ("resident", "insurance_enrolment", "key_population", "care_relationship", "encounter", "settlement")
_KEY = "deferred_indexes"


def drop(conn: Connection) -> list[str]:
    """Drop the secondary indexes of ``TABLES``; returns the statements that re-create them."""
    if is_postgres(conn):
        found = conn.execute(text(
            "select i.indexname, i.indexdef from pg_indexes i where i.schemaname = current_schema() "
            "and i.tablename = any(:tables) and not exists (select 1 from pg_constraint c "
            "where c.conname = i.indexname and c.connamespace = to_regnamespace(current_schema())) "
            "order by i.tablename, i.indexname"), {"tables": list(TABLES)}).all()
    else:
        marks = ", ".join(f"'{t}'" for t in TABLES)
        found = conn.execute(text(
            f"select name, sql from sqlite_master where type = 'index' and sql is not null "
            f"and tbl_name in ({marks}) order by tbl_name, name")).all()
    for name, _ in found:
        conn.exec_driver_sql(f'DROP INDEX "{name}"')
    return [sql for _, sql in found]


def create(conn: Connection, statements: list[str], track: Tracker | None = None) -> None:
    if is_postgres(conn):
        # Index builds sort in memory up to this much, then spill to disk.
        conn.exec_driver_sql("SET LOCAL maintenance_work_mem = '512MB'")
    for sql in statements:
        conn.exec_driver_sql(sql)
        if track is not None:
            track.advance()


def _off(ctx: SimContext, track: Tracker) -> None:
    ctx.extras[_KEY] = drop(ctx.conn)
    track.total(1)
    track.advance()


def _on(ctx: SimContext, track: Tracker) -> None:
    statements: list[str] = ctx.extras.pop(_KEY, [])
    track.total(len(statements) or 1)
    create(ctx.conn, statements, track)


register_stage(Stage("indexes_off", "暂停二级索引", 150, _off))
register_stage(Stage("indexes_on", "重建索引", 850, _on))
