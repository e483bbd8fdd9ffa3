"""Entry point: ``pcinet``."""

from __future__ import annotations

from typing import Annotated

import typer

from pcinet import __version__
from pcinet.cli.admin import alias_app, quota_app, token_app
from pcinet.cli.agent import agent_app
from pcinet.cli.bench import bench_app
from pcinet.cli.bench_ux import bench_ux  # noqa: F401 (registers ``bench ux``)
from pcinet.cli.capacity import capacity_command
from pcinet.cli.check import admin_app
from pcinet.cli.hosts import host_app
from pcinet.cli.networks import network_app
from pcinet.cli.novabench import bench_nova_command
from pcinet.cli.output import CONTEXT_SETTINGS
from pcinet.cli.plan import devspec_app, plan_command
from pcinet.cli.ports import port_app
from pcinet.cli.serve import db_app, serve_command
from pcinet.cli.servers import server_app
from pcinet.cli.sim import sim_command
from pcinet.cli.whynot import why_not_command
from pcinet.demo.command import demo_command

app = typer.Typer(
    name="pcinet",
    help="pcinet: PCI pass-through networking where the network tells the scheduler what it needs.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings=CONTEXT_SETTINGS,
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"pcinet {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """pcinet: PCI pass-through networking where the network tells the scheduler what it
    needs. ``-h`` or ``--help`` on any command explains it."""


app.command("plan")(plan_command)
app.add_typer(devspec_app, name="devspec")
app.add_typer(bench_app, name="bench")
bench_app.command("nova")(bench_nova_command)
app.command("serve")(serve_command)
app.add_typer(db_app, name="db")
app.add_typer(admin_app, name="admin")
app.command("demo")(demo_command)
app.command("sim")(sim_command)
# Against a controller (--url, --token, -f/-c/--json on every command that prints):
app.add_typer(network_app, name="network")
app.add_typer(port_app, name="port")
app.add_typer(server_app, name="server")
app.command("capacity")(capacity_command)
app.command("why-not")(why_not_command)
app.add_typer(host_app, name="host")
app.add_typer(alias_app, name="alias")
app.add_typer(token_app, name="token")
app.add_typer(quota_app, name="quota")
# On a compute host:
app.add_typer(agent_app, name="agent")


def main() -> None:
    app()
