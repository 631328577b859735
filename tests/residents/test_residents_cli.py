"""``yilian residents duplicates`` through the root command, on a committed database:
data on stdout, errors as exit codes."""

from __future__ import annotations

import csv
import io
import json

from residents_world import no_id, world
from typer.testing import CliRunner

from yilian.cli.main import app
from yilian.db.session import engine_for, make_engine, session_scope


def test_duplicates_command_prints_pairs(committed_db: str) -> None:
    setup = make_engine(committed_db)
    with session_scope(setup) as session:
        w = world(session)
        pair = (no_id(session, w.clin_a, name="曹操").id, no_id(session, w.clin_a, name="曹操").id)
        no_id(session, w.clin_a, name="刘备")
    setup.dispose()
    runner = CliRunner()
    command = ["residents", "duplicates", "--database", committed_db]
    try:
        as_json = runner.invoke(app, [*command, "--format", "json"])
        assert as_json.exit_code == 0, as_json.output
        rows = json.loads(as_json.stdout)  # stdout carries only the data
        assert [(r["a_id"], r["b_id"], r["name"]) for r in rows] == [(*pair, "曹操")]
        as_csv = runner.invoke(app, [*command, "--format", "csv"])
        assert [r["township"] for r in csv.DictReader(io.StringIO(as_csv.stdout))] == ["320102001"]
        refused = runner.invoke(app, [*command, "--size", "0"])
        assert refused.exit_code == 2 and "page_size_invalid" in refused.output
    finally:
        engine_for(committed_db).dispose()  # let the throwaway database be dropped
