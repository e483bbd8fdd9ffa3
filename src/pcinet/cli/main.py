"""Entry point: ``pcinet``."""

from __future__ import annotations

import typer

from pcinet.cli.bench import bench_app
from pcinet.cli.plan import devspec_app, plan_command

app = typer.Typer(
    name="pcinet",
    help="pcinet: PCI pass-through networking where the network tells the scheduler what it needs.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.command("plan")(plan_command)
app.add_typer(devspec_app, name="devspec")
app.add_typer(bench_app, name="bench")


def main() -> None:
    app()
