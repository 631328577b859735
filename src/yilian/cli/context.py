"""What every CLI command shares: settings, the engine, one transaction, error → exit code."""

from __future__ import annotations

import getpass
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import ParamSpec, TypeVar

import typer
from rich.console import Console
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from yilian.core.config import get_settings
from yilian.core.errors import DomainError
from yilian.db.session import engine_for, session_scope
from yilian.identity.principal import Principal, system_principal

# Progress bars and messages go to stderr; stdout carries only a command's data.
err = Console(stderr=True)
out = Console()

P = ParamSpec("P")
R = TypeVar("R")


def engine(database: str | None = None) -> Engine:
    return engine_for(database or get_settings().database_url)


@contextmanager
def transaction(database: str | None = None) -> Iterator[Session]:
    with session_scope(engine(database)) as session:
        yield session


def cli_actor() -> Principal:
    try:
        who = getpass.getuser()
    except Exception:
        who = "unknown"
    return system_principal(f"cli:{who}")


def handles_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Map DomainError to a Chinese message on stderr and the error's exit code."""

    @wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except DomainError as exc:
            err.print(f"[red]错误[/red]：{exc.message} [dim]({exc.code})[/dim]")
            raise typer.Exit(exc.exit_code) from None

    return wrapper


def fail(message: str, code: int = 2) -> None:
    print(message, file=sys.stderr)
    raise typer.Exit(code)
