"""Portable SQL pieces: the same expression compiles to each dialect's date arithmetic, so SQLite and
PostgreSQL compute identical numbers."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Date, Integer, String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement


class days_between(FunctionElement[int]):
    """Whole days from the first date to the second (``later − earlier``)."""

    type = Integer()
    inherit_cache = True


@compiles(days_between)
def _days_between_default(element: days_between, compiler: SQLCompiler, **kw: Any) -> str:
    first, second = list(element.clauses)
    return f"({compiler.process(second, **kw)} - {compiler.process(first, **kw)})"


@compiles(days_between, "sqlite")
def _days_between_sqlite(element: days_between, compiler: SQLCompiler, **kw: Any) -> str:
    first, second = list(element.clauses)
    return (f"CAST(julianday({compiler.process(second, **kw)}) - julianday({compiler.process(first, **kw)})"
            " AS INTEGER)")


class add_days(FunctionElement[Any]):
    """A date plus a whole number of days."""

    type = Date()
    inherit_cache = True


@compiles(add_days)
def _add_days_default(element: add_days, compiler: SQLCompiler, **kw: Any) -> str:
    day, n = list(element.clauses)
    return f"({compiler.process(day, **kw)} + CAST({compiler.process(n, **kw)} AS INTEGER))"


@compiles(add_days, "sqlite")
def _add_days_sqlite(element: add_days, compiler: SQLCompiler, **kw: Any) -> str:
    day, n = list(element.clauses)
    return f"date({compiler.process(day, **kw)}, CAST({compiler.process(n, **kw)} AS TEXT) || ' days')"


class month_key(FunctionElement[str]):
    """``YYYY-MM`` of a date."""

    type = String()
    inherit_cache = True


@compiles(month_key)
def _month_key_default(element: month_key, compiler: SQLCompiler, **kw: Any) -> str:
    (day,) = list(element.clauses)
    return f"to_char({compiler.process(day, **kw)}, 'YYYY-MM')"


@compiles(month_key, "sqlite")
def _month_key_sqlite(element: month_key, compiler: SQLCompiler, **kw: Any) -> str:
    (day,) = list(element.clauses)
    return f"strftime('%Y-%m', {compiler.process(day, **kw)})"


class cents(FunctionElement[int]):
    """A money column as exact integer cents (SQLite stores NUMERIC as floating point)."""

    type = Integer()
    inherit_cache = True


@compiles(cents)
def _cents_default(element: cents, compiler: SQLCompiler, **kw: Any) -> str:
    (value,) = list(element.clauses)
    return f"CAST(ROUND({compiler.process(value, **kw)} * 100) AS BIGINT)"


@compiles(cents, "sqlite")
def _cents_sqlite(element: cents, compiler: SQLCompiler, **kw: Any) -> str:
    (value,) = list(element.clauses)
    return f"CAST(ROUND({compiler.process(value, **kw)} * 100) AS INTEGER)"


class local_date(FunctionElement[Any]):
    """The Asia/Shanghai calendar date of a stored UTC timestamp (China keeps UTC+8 all year)."""

    type = Date()
    inherit_cache = True


@compiles(local_date)
def _local_date_default(element: local_date, compiler: SQLCompiler, **kw: Any) -> str:
    (ts,) = list(element.clauses)
    return f"CAST(({compiler.process(ts, **kw)} AT TIME ZONE 'Asia/Shanghai') AS DATE)"


@compiles(local_date, "sqlite")
def _local_date_sqlite(element: local_date, compiler: SQLCompiler, **kw: Any) -> str:
    (ts,) = list(element.clauses)
    return f"date({compiler.process(ts, **kw)}, '+8 hours')"


class plus_seconds(FunctionElement[Any]):
    """A UTC timestamp plus a whole number of seconds."""

    inherit_cache = True

    def __init__(self, ts: Any, seconds: Any) -> None:
        super().__init__(ts, seconds)
        self.type = ts.type


@compiles(plus_seconds)
def _plus_seconds_default(element: plus_seconds, compiler: SQLCompiler, **kw: Any) -> str:
    ts, n = list(element.clauses)
    return f"({compiler.process(ts, **kw)} + make_interval(secs => {compiler.process(n, **kw)}))"


@compiles(plus_seconds, "sqlite")
def _plus_seconds_sqlite(element: plus_seconds, compiler: SQLCompiler, **kw: Any) -> str:
    ts, n = list(element.clauses)
    return (f"strftime('%Y-%m-%d %H:%M:%f', {compiler.process(ts, **kw)}, CAST({compiler.process(n, **kw)}"
            " AS TEXT) || ' seconds')")
