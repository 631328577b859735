"""The `yilian` command: help lists the commands; user creation refuses bad input with exit codes."""

from __future__ import annotations

from typer.testing import CliRunner

from yilian.cli.main import app

runner = CliRunner()


def test_help_lists_the_commands() -> None:
    out = runner.invoke(app, ["--help"]).output
    for name in ("db", "user", "registry", "residents", "demo", "serve"):
        assert name in out


def test_user_create_and_refusals(committed_db: str) -> None:
    assert runner.invoke(app, ["demo", "load", "--database", committed_db]).exit_code == 0
    ok = runner.invoke(
        app,
        [
            "user",
            "create",
            "--username",
            "newdoc",
            "--password",
            "long-enough-1",
            "--role",
            "clinician",
            "--institution",
            "QD-HL-WSY",
            "--database",
            committed_db,
        ],
    )
    assert ok.exit_code == 0, ok.output
    dup = runner.invoke(
        app,
        [
            "user",
            "create",
            "--username",
            "newdoc",
            "--password",
            "long-enough-1",
            "--role",
            "clinician",
            "--institution",
            "QD-HL-WSY",
            "--database",
            committed_db,
        ],
    )
    assert dup.exit_code == 5 and "username_taken" in dup.output
    unknown = runner.invoke(
        app,
        [
            "user",
            "create",
            "--username",
            "x1",
            "--password",
            "long-enough-1",
            "--role",
            "clinician",
            "--institution",
            "NOPE",
            "--database",
            committed_db,
        ],
    )
    assert unknown.exit_code == 3 and "institution_not_found" in unknown.output
    wrong_scope = runner.invoke(
        app,
        [
            "user",
            "create",
            "--username",
            "x2",
            "--password",
            "long-enough-1",
            "--role",
            "clinician",
            "--division",
            "320681",
            "--database",
            committed_db,
        ],
    )
    assert wrong_scope.exit_code == 2 and "grant_scope_required" in wrong_scope.output
    bad_role = runner.invoke(
        app,
        [
            "user",
            "create",
            "--username",
            "x3",
            "--password",
            "long-enough-1",
            "--role",
            "doctor",
            "--institution",
            "QD-HL-WSY",
            "--database",
            committed_db,
        ],
    )
    assert bad_role.exit_code == 2 and "role_unknown" in bad_role.output
    listed = runner.invoke(app, ["user", "list", "--database", committed_db]).output
    assert "newdoc" in listed and "x1" not in listed


def test_demo_load_is_idempotent(committed_db: str) -> None:
    first = runner.invoke(app, ["demo", "load", "--database", committed_db])
    second = runner.invoke(app, ["demo", "load", "--database", committed_db])
    assert first.exit_code == 0 and second.exit_code == 0, second.output


def test_registry_import_cli(committed_db: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "div.csv"
    f.write_text(
        "code,name,level,parent_code\n320000,江苏省,province,\n32068X,坏代码,county,320000\n", encoding="utf-8"
    )
    r = runner.invoke(app, ["registry", "import", str(f), "--database", committed_db])
    assert r.exit_code == 0, r.output
    assert '"created": 1' in r.stdout and '"rejected": 1' in r.stdout
    again = runner.invoke(app, ["registry", "import", str(f), "--database", committed_db])
    assert '"created": 0' in again.stdout and '"unchanged": 1' in again.stdout
