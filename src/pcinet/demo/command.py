"""``pcinet demo``: the seed scenario end to end on a real controller, in seconds.

Starts a controller (uvicorn in a thread) on a fresh SQLite file in a temporary directory
(or ``--database-url``) and a real host agent process per host (``pcinet agent run`` with
the fake VF driver on a generated sysfs tree, ``pcinet.demo.agents``), drives the
controller over HTTP with ``pcinet.client`` only, prints where every port went (host, VF,
physnet, VLAN, MAC), the VFs as the agents programmed them, and how many of the same boots
a physnet-blind scheduler would have sent to a VF that cannot reach the network.
``--json`` prints one JSON object instead. Exit 0 when every placed port is on its
network's physnet, 1 otherwise (or when the controller or an agent fails).
"""

from __future__ import annotations

import secrets
import shutil
import tempfile
import time
from collections import Counter
from contextlib import ExitStack
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.panel import Panel
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from pcinet.cli.output import EXIT_NOT_FOUND, console, err_console, fail, print_json
from pcinet.cli.remote import table
from pcinet.client import Client, Json
from pcinet.config import Settings
from pcinet.core.errors import PcinetError
from pcinet.demo.agents import DemoAgents
from pcinet.demo.cloud import ADAPTERS, HOSTS, VFS_PER_PF, VLAN_RANGES, server_plans
from pcinet.demo.scenario import DemoResult, run_scenario

if TYPE_CHECKING:
    from pcinet.service.controller import Controller


def demo_command(
    *,
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url", help="A fresh database (default: SQLite in a temporary directory)."
        ),
    ] = None,
    servers: Annotated[
        int, typer.Option("--servers", min=1, max=200, help="Servers to boot.")
    ] = 12,
    seed: Annotated[int, typer.Option("--seed", help="Shuffles the order of the requests.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    keep: Annotated[
        bool,
        typer.Option("--keep", help="Keep the temporary database; print it and the admin token."),
    ] = False,
) -> None:
    """Boot servers with SR-IOV ports on a real controller and show which host, VF, physnet
    and VLAN each port got; then what a physnet-blind scheduler would have done."""
    from sqlalchemy.exc import SQLAlchemyError

    from pcinet.api.server import background  # the API stack, only when run
    from pcinet.service.controller import Controller

    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="pcinet-demo-"))
    url = database_url or f"sqlite:///{workdir}/pcinet.db"
    token = secrets.token_urlsafe(24)
    try:
        settings = Settings(database_url=url, network_vlan_ranges=VLAN_RANGES, admin_token=token)
        plans = server_plans(servers, seed)
        with _progress(enabled=not as_json) as progress, ExitStack() as stack:
            task = progress.add_task("starting the controller", total=len(plans))
            try:
                controller = Controller.start(settings)
                stack.callback(controller.close)
                controller_url = stack.enter_context(background(settings, controller=controller))
            except (RuntimeError, SQLAlchemyError) as exc:  # did not start: say so
                _controller_failed(exc, as_json=as_json)
            client = stack.enter_context(Client(controller_url, token))
            progress.update(task, description="starting host agents")
            tokens = {h: client.create_token("agents", "service", host=h)["token"] for h in HOSTS}
            agents = DemoAgents(workdir, controller_url, tokens)
            stack.callback(agents.stop)
            agents.start()

            def step(name: str) -> None:
                progress.update(task, description=f"booting {name}")
                progress.advance(task)

            result = run_scenario(
                client,
                agents,
                plans,
                strategy=settings.scheduler_strategy,
                step=step,
                host_order=partial(known_order, controller),
            )
    except PcinetError as exc:
        fail(exc, as_json=as_json)
    finally:
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)
    elapsed = round(time.monotonic() - started, 2)
    out: Json = {
        "controller": controller_url,
        "database_url": url if keep or database_url else None,
        "workdir": str(workdir) if keep else None,
        "admin_token": token if keep or database_url else None,
        "seed": seed,
        **result.to_dict(),
        "elapsed_s": elapsed,
    }
    if as_json:
        print_json(out)
    else:
        _render(result, out)
    if result.comparison.get("pcinet_misplaced"):
        raise typer.Exit(EXIT_NOT_FOUND)


def known_order(controller: Controller) -> list[str]:
    """The demo's hosts in the order the controller's scheduler knows them (the order their
    agents first reported them): equal hosts are ranked in that order."""
    known = controller.cache.snapshot.by_name
    return sorted(HOSTS, key=lambda h: known.get(h, len(known)))


def _controller_failed(exc: Exception, *, as_json: bool) -> NoReturn:
    if as_json:
        print_json({"error": {"code": "controller_failed", "message": str(exc)}})
    else:
        err_console.print(f"[bold red]error[/] [dim](controller_failed)[/]: {exc}")
    raise typer.Exit(EXIT_NOT_FOUND)


def _progress(*, enabled: bool) -> Progress:
    return Progress(
        TextColumn("{task.description:<24}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
        disable=not enabled,
    )


def _render(result: DemoResult, out: Json) -> None:
    where = out["database_url"] or "SQLite in a temporary directory"
    console.print(f"[bold]pcinet demo[/]: controller {out['controller']} ({where})", soft_wrap=True)
    adapters = [(a.pf_address, a.devname, a.physnet, a.numa_node, VFS_PER_PF) for a in ADAPTERS]
    console.print(
        table(
            f"hosts {', '.join(HOSTS)}, each:",
            ("PF", "devname", "physnet", "NUMA", "VFs"),
            adapters,
        )
    )
    console.print(
        table(
            "provider networks",
            ("network", "physnet", "VLAN (from range)"),
            [(n["name"], n["physnet"], n["vlan"]) for n in result.networks],
        )
    )
    rows = [
        (
            p["server"],
            p["host"],
            str(p["port"]).removeprefix(f"{p['server']}-"),
            p["vf"],
            p["physnet"],
            p["vlan"],
            p["mac"],
            p["status"],
        )
        for p in result.placements
    ]
    columns = ("server", "host", "port", "PCI address", "physnet", "VLAN", "MAC", "status")
    console.print(table("placements", columns, rows, compact=True))
    servers = {p["server"]: p["host"] for p in result.placements}
    per_host = Counter(servers.values())
    console.print(
        "servers per host: "
        + ", ".join(f"{h} {per_host.get(h, 0)}" for h in HOSTS)
        + f"; host agents programmed {result.agent_applied} VFs"
    )
    vf_rows = [
        (
            v["host"],
            v["address"],
            f"{v['pf']} vf {v['vf_index']}",
            v["vlan"],
            v["mac"],
            v["trust"],
            v["spoofchk"],
            v["link_state"],
            v["port_id"][:8],
        )
        for v in result.vfs
    ]
    vf_columns = ("host", "VF", "PF", "VLAN", "MAC", "trust", "spoofchk", "link", "port")
    console.print(
        table(
            "VFs as the host agents programmed them (read back)", vf_columns, vf_rows, compact=True
        )
    )

    for rejected in result.rejected:
        console.print(
            f"\n[bold red]{rejected['server']}[/]: {rejected['code']}: {rejected['message']}"
        )
        reasons = sorted(rejected["hosts"].items())
        if reasons:
            console.print(table(None, ("host", "why not"), reasons))

    if result.released:
        rel = result.released
        state = "available again" if rel["available"] else "[red]still held[/]"
        restored = (
            "restored by the agent to "
            + "; ".join(f"VLAN {v['vlan']} MAC {v['mac']}" for v in rel["restored_to"])
            if rel["restored"]
            else "[red]not restored[/]"
        )
        vfs = ", ".join(rel["vfs"])
        console.print(
            f"\ndeleted {rel['server']} on {rel['host']}: VF {vfs} {state}, {restored}",
            soft_wrap=True,
        )

    _render_comparison(result.comparison, result.blind_examples)
    console.print(f"\ndone in {out['elapsed_s']:.2f} s")
    if out["admin_token"]:
        console.print(
            f"kept the database; to look around: PCINET_DATABASE_URL={out['database_url']} "
            f"PCINET_NETWORK_VLAN_RANGES={VLAN_RANGES} PCINET_ADMIN_TOKEN={out['admin_token']} "
            "pcinet serve",
            soft_wrap=True,
            markup=False,
            emoji=False,
            highlight=False,
        )


def _render_comparison(comparison: Json, examples: list[Json]) -> None:
    boots = comparison["boots"]
    refused = boots - comparison["pcinet_placed"]
    text = (
        f"The same {boots} boot requests on the same cloud, same weighers and seeds:\n"
        f"  physnet-blind: [bold red]{comparison['blind_misplaced']}[/] boots put a port on a "
        f"VF that cannot reach its network ({comparison['blind_misplaced_ports']} ports); "
        "each fails late, at port binding on the host\n"
        f"  pcinet:        [bold green]{comparison['pcinet_misplaced']}[/] "
        f"({comparison['pcinet_placed']} placed, {refused} refused up front with reasons)"
    )
    if comparison.get("aware_replay_matches"):
        text += "\n  (the same replay with physnets puts every boot where the controller did)"
    console.print(Panel(text, title="physnet-blind vs pcinet", expand=False))
    if examples:
        shown: list[Any] = [
            (e["server"], e["network"], ", ".join(e["needs"]), e["host"], e["vf"], e["vf_physnet"])
            for e in examples[:6]
        ]
        columns = ("server", "network", "needs", "blind host", "blind VF", "VF physnet")
        more = f" (first 6 of {len(examples)})" if len(examples) > 6 else ""
        console.print(table(f"misplaced by the blind scheduler{more}", columns, shown))
