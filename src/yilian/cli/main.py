"""The ``yilian`` command: mounts each feature's commands under the names the issues give."""

from __future__ import annotations

import typer

from yilian.cli import db as db_cli
from yilian.cli import serve as serve_cli
from yilian.cli.context import handles_errors

app = typer.Typer(help="医联 Yilian：医联体信息平台命令行。", no_args_is_help=True, add_completion=False)


def _mount() -> None:
    from yilian.care import cli as care_cli
    from yilian.contracts import cli as contracts_cli
    from yilian.identity import cli as identity_cli
    from yilian.referrals import cli as referrals_cli
    from yilian.referrals import events as referral_events
    from yilian.registry import cli as registry_cli
    from yilian.residents import cli as residents_cli
    from yilian.scheduling import cli as scheduling_cli

    app.add_typer(db_cli.app, name="db")
    app.add_typer(identity_cli.app, name="user")
    app.add_typer(registry_cli.app, name="registry")
    app.add_typer(residents_cli.app, name="residents")
    app.add_typer(care_cli.app, name="care")
    app.add_typer(contracts_cli.app, name="contracts")
    app.add_typer(scheduling_cli.app, name="scheduling")
    app.add_typer(referrals_cli.app, name="referrals")
    referral_events.register()  # after-commit handlers for commands that publish events
    app.command("serve")(handles_errors(serve_cli.serve))
    from yilian.simulation import cli as simulation_cli

    app.add_typer(simulation_cli.app, name="simulate")
    app.add_typer(simulation_cli.demo_app, name="demo")
    from yilian.indicators import cli as indicators_cli

    app.add_typer(indicators_cli.app, name="indicators")
    from yilian.payment import cli as payment_cli
    from yilian.payment.drg import cli as drg_cli

    app.add_typer(drg_cli.app, name="drg")
    app.add_typer(payment_cli.settle_app, name="settle")


_mount()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
