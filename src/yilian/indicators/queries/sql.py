"""Portable SQL pieces: the same expression compiles to each dialect's date arithmetic, so SQLite and
PostgreSQL compute identical numbers."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Date, Integer, String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement


class days_between(FunctionElement[int]):  # noqa: N801 - reads like the SQL function it renders
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


class add_days(FunctionElement[Any]):  # noqa: N801
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
    return f"date({compiler.process(day, **kw)}, '+' || CAST({compiler.process(n, **kw)} AS TEXT) || ' day')"


class month_key(FunctionElement[str]):  # noqa: N801
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


class cents(FunctionElement[int]):  # noqa: N801
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
