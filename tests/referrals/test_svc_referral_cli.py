"""``yilian referrals tick`` runs the deadline job once: counts per action on stdout, zeros the second time;
``catalogue-import`` loads a CSV for a consortium."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select
from svc_world import CATALOGUE_CSV, NOW, submitted, world
from typer.testing import CliRunner

from yilian.db.models import Consortium, ReferralCatalogueEntry, ReferralEscalation
from yilian.db.session import make_engine, session_scope
from yilian.referrals.cli import app

runner = CliRunner()


def test_tick_twice(committed_db: str) -> None:
    engine = make_engine(committed_db)
    try:
        with session_scope(engine) as session:
            w = world(session)
            submitted(session, w)
        when = (NOW + timedelta(hours=25)).isoformat()
        first = runner.invoke(app, ["tick", "--now", when, "--format", "json", "--database", committed_db])
        assert first.exit_code == 0, first.output
        counts = json.loads(first.stdout.strip().splitlines()[-1])["counts"]
        assert counts["escalate.accept"] == 1 and sum(counts.values()) == 1
        second = runner.invoke(app, ["tick", "--now", when, "--database", committed_db])
        assert second.exit_code == 0
        table = dict(line.split("\t") for line in second.stdout.strip().splitlines() if "\t" in line)
        assert set(table.values()) == {"0"} and "expire" in table
        with session_scope(engine) as session:
            assert session.scalar(select(func.count()).select_from(ReferralEscalation)) == 1
        bad = runner.invoke(app, ["tick", "--now", "2026-06-01T09:00", "--database", committed_db])
        assert bad.exit_code == 2 and "now_invalid" in bad.output
    finally:
        engine.dispose()


def test_catalogue_import(committed_db: str, tmp_path: Path) -> None:
    engine = make_engine(committed_db)
    try:
        with session_scope(engine) as session:
            w = world(session)
            code = session.get(Consortium, w.y).code  # type: ignore[union-attr]
        path = tmp_path / "catalogue.csv"
        path.write_text("\ufeff" + CATALOGUE_CSV, encoding="utf-8")
        result = runner.invoke(app, ["catalogue-import", str(path), "--consortium", code, "--database", committed_db])
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout.strip().splitlines()[-1])["up"] == 2
        with session_scope(engine) as session:
            n = session.scalar(select(func.count()).select_from(ReferralCatalogueEntry).where(
                ReferralCatalogueEntry.consortium_id == w.y))
            assert n == 7
        missing = runner.invoke(app, ["catalogue-import", str(path), "--consortium", "NOPE", "--database",
                                      committed_db])
        assert missing.exit_code == 3
    finally:
        engine.dispose()
