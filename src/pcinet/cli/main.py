"""Entry point: ``pcinet``."""

from __future__ import annotations

import typer

from pcinet.cli.admin import alias_app, token_app
from pcinet.cli.agent import agent_app
from pcinet.cli.bench import bench_app
from pcinet.cli.hosts import host_app
from pcinet.cli.networks import network_app
from pcinet.cli.plan import devspec_app, plan_command
from pcinet.cli.ports import port_app
from pcinet.cli.serve import db_app, serve_command
from pcinet.cli.servers import server_app
from pcinet.demo.command import demo_command

app = typer.Typer(
    name="pcinet",
    help="pcinet: PCI pass-through networking where the network tells the scheduler what it needs.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.command("plan")(plan_command)
app.add_typer(devspec_app, name="devspec")
app.add_typer(bench_app, name="bench")
app.command("serve")(serve_command)
app.add_typer(db_app, name="db")
app.command("demo")(demo_command)
# Against a controller (--url, --token, --json on every command):
app.add_typer(network_app, name="network")
app.add_typer(port_app, name="port")
app.add_typer(server_app, name="server")
app.add_typer(host_app, name="host")
app.add_typer(alias_app, name="alias")
app.add_typer(token_app, name="token")
# On a compute host:
app.add_typer(agent_app, name="agent")


def main() -> None:
    app()
