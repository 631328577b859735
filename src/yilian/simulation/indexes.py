"""Bulk-load mode: secondary indexes of the generated tables are built after the load.

Maintaining a B-tree index row by row costs a random page access per row once the index
outgrows the cache — at 1 M residents that was most of PostgreSQL's work (resident by ID hash
and name, encounter by resident and date, care relationships).  Building the index once from
the loaded rows is a sort, several times cheaper.  So, inside the run's transaction, the
non-constraint indexes of these tables are dropped before the population stage and re-created
from their exact stored definitions (``pg_indexes.indexdef`` / ``sqlite_master.sql``) once the
rows are in.  Unique indexes are re-created too, which re-checks uniqueness over all rows; a
failure rolls the whole run back.  Primary keys, unique constraints and foreign keys stay.

On PostgreSQL the same goes for constraints checked row by row: each foreign key costs a
lookup per inserted row (an encounter checks five, a contract delivery six) and a unique
constraint a B-tree insertion.  So the foreign keys of the bulk-loaded tables (and of the
contract and referral tables the feature steps fill) and the unique constraints of ``TABLES``
are dropped too and re-added after the load: ``ADD CONSTRAINT … FOREIGN KEY`` validates all
rows in one join, ``UNIQUE`` builds its index in one sort.  Kept: primary keys, unique
constraints that a foreign key references, and foreign keys with a cascading action (their
``ON DELETE`` behaviour is in use during the run).  SQLite cannot drop constraints; its foreign
key checks are primary-key lookups in the same process and stay.

DDL is transactional on both databases, so a failed run leaves the schema as it was.  On
PostgreSQL the dropped indexes' tables are locked until commit — acceptable for a generator
that only writes into an empty database.  Feature stages ordered between the two steps see
these tables without their secondary indexes (and, on PostgreSQL, without those constraints:
a row that breaks one fails the run when it is re-added).
"""

from __future__ import annotations

from sqlalchemy import Connection, text

from yilian.db.bulk import is_postgres
from yilian.simulation.pipeline import SimContext, Stage, Tracker, register_stage

TABLES = ("resident", "insurance_enrolment", "key_population", "care_relationship", "encounter", "settlement")
#: Tables whose foreign keys are deferred on PostgreSQL: ``TABLES`` and what the feature steps bulk-load.
FK_TABLES = (*TABLES, "contract", "contract_package", "contract_delivery", "referral_episode", "referral_event",
             "referral_followup")
_KEY = "deferred_indexes"

# Unique constraints of TABLES that no foreign key relies on, then foreign keys of FK_TABLES
# without a cascading action; unique ones first, so they are re-added before the keys.
_PG_CONSTRAINTS = """
select t.relname, c.conname, pg_get_constraintdef(c.oid)
from pg_constraint c join pg_class t on t.oid = c.conrelid
where t.relnamespace = to_regnamespace(current_schema())
  and ((c.contype = 'u' and t.relname = any(:tables)
        and not exists (select 1 from pg_constraint f where f.contype = 'f' and f.conindid = c.conindid))
    or (c.contype = 'f' and t.relname = any(:fk_tables) and c.confdeltype = 'a' and c.confupdtype = 'a'))
order by c.contype desc, t.relname, c.conname
"""


def drop(conn: Connection) -> list[str]:
    """Drop the secondary indexes of ``TABLES`` (on PostgreSQL also the constraints above); returns the
    statements that re-create them, indexes first."""
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
    statements = [sql for _, sql in found]
    if is_postgres(conn):
        constraints = conn.execute(text(_PG_CONSTRAINTS), {"tables": list(TABLES),
                                                           "fk_tables": list(FK_TABLES)}).all()
        for table, name, _ in constraints:
            conn.exec_driver_sql(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')
        statements += [f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}'
                       for table, name, definition in constraints]
    return statements


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
