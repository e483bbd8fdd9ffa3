"""``pcinet bench ...``: measurements that print JSON."""

from __future__ import annotations

from typing import Annotated

import typer

from pcinet.bench.scheduler import run_scheduler_bench
from pcinet.cli.output import console, fail, new_app, print_json
from pcinet.core.errors import InvalidInput, PcinetError

bench_app = new_app(help="Benchmarks; results print as JSON with --json.", no_args_is_help=True)


@bench_app.command("scheduler")
def bench_scheduler(
    hosts: Annotated[int, typer.Option("--hosts", min=1, help="Hosts in the generated cloud.")],
    vfs_per_pf: Annotated[int, typer.Option("--vfs-per-pf", min=1, max=2048)] = 64,
    decisions: Annotated[int, typer.Option("--decisions", min=1)] = 2000,
    seed: Annotated[int, typer.Option("--seed")] = 1,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Generate a cloud (2 PFs per host, 4 physnets), then time scheduling decisions for a
    mix of requests, each decision claimed in the snapshot before the next."""
    result = run_scheduler_bench(
        hosts, vfs_per_pf=vfs_per_pf, decisions=decisions, seed=seed, progress=not as_json
    )
    if as_json:
        print_json(result)
        return
    for key, value in result.items():
        console.print(f"{key:>18}: {value}")


@bench_app.command("hardhost")
def bench_hardhost(
    repeat: Annotated[int, typer.Option("--repeat", min=1, max=1000)] = 15,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """The exact fit's hard cases: one host with 16 PFs x 64 VFs (also on 8 NUMA cells, and
    16 PFs x 1 VF), 8 whole PFs plus 9 VFs through aliases and ports, every NUMA policy;
    then the search budgets spent by hostile hosts. Times each decision on a fresh snapshot."""
    from pcinet.bench.hardhost import run_hardhost_bench

    result = run_hardhost_bench(repeat)
    if as_json:
        print_json(result)
        return
    for case in result["cases"]:
        console.print(f"{case['median_ms']:>9.3f} ms  {case['outcome']:<24} {case['case']}")
    for key in ("worst_median_ms", "worst_max_ms", "host_budget_ms", "decision_budget_ms"):
        console.print(f"{key:>18}: {result[key]}")


@bench_app.command("placement")
def bench_placement(
    *,
    hosts: Annotated[int, typer.Option("--hosts", min=1, help="Hosts to report.")],
    servers: Annotated[int, typer.Option("--servers", min=1, help="Servers to create (timed).")],
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url",
            help="A FRESH database (sqlite:///... or postgresql://...); default: a temporary "
            "SQLite file.",
        ),
    ] = None,
    workers: Annotated[
        int, typer.Option("--workers", min=1, help="Concurrent creates (threads) per process.")
    ] = 1,
    processes: Annotated[
        int,
        typer.Option(
            "--processes",
            min=1,
            help="Controller processes (replicas) on the one database; in http mode, client "
            "processes.",
        ),
    ] = 1,
    mode: Annotated[
        str, typer.Option("--mode", help="inprocess (service calls) or http (the REST API).")
    ] = "inprocess",
    http: Annotated[bool, typer.Option("--http", help="Same as --mode http.")] = False,
    inline_clients: Annotated[
        bool,
        typer.Option(
            "--inline-clients",
            help="http mode: run the clients as threads of the API's process (default: in "
            "--processes other processes).",
        ),
    ] = False,
    vfs_per_pf: Annotated[int, typer.Option("--vfs-per-pf", min=1, max=256)] = 8,
    reset: Annotated[
        bool, typer.Option("--reset", help="Delete every row of the database first.")
    ] = False,
    profile: Annotated[
        str | None,
        typer.Option("--profile", help="Write a cProfile dump (pstats) of the timed part."),
    ] = None,
    sql_stats: Annotated[
        bool, typer.Option("--sql-stats", help="Add the SQL statements by total time.")
    ] = False,
    cold_ports: Annotated[
        bool,
        typer.Option(
            "--cold-ports",
            help="Make the controller forget the ports it created (and the networks it read), "
            "so that every create reads its port, as on a replica that did not create it.",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Report hosts (2 PFs on phy1/phy2), create two provider networks and one direct port
    per server, then time durable server creates: each a committed schedule + claim + bind +
    VF state, in process or through the REST API."""
    from pcinet.bench.placement import MODES, run_placement_bench

    chosen = "http" if http else mode
    if chosen not in MODES:
        fail(InvalidInput(f"--mode: {mode!r} is not one of {', '.join(MODES)}"), as_json=as_json)
    try:
        result = run_placement_bench(
            hosts=hosts,
            servers=servers,
            database_url=database_url,
            workers=workers,
            processes=processes,
            mode="http" if chosen == "http" else "inprocess",
            vfs_per_pf=vfs_per_pf,
            reset=reset,
            inline_clients=inline_clients,
            profile=profile,
            sql_stats=sql_stats,
            cold_ports=cold_ports,
        )
    except PcinetError as exc:
        fail(exc, as_json=as_json)
    if as_json:
        print_json(result)
        return
    for key, value in result.items():
        console.print(f"{key:>18}: {value}")


@bench_app.command("agent")
def bench_agent(
    vfs: Annotated[int, typer.Option("--vfs", min=1, max=4096, help="VFs on the host.")] = 256,
    steady_passes: Annotated[int, typer.Option("--steady-passes", min=1, max=1000)] = 20,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Time the host agent's reconcile passes on a host with --vfs VFs (fake driver): the
    first (programs every VF), steady (nothing to do), a change of every VLAN, a restore."""
    from pcinet.bench.agent import run_agent_bench

    result = run_agent_bench(vfs, steady_passes)
    if as_json:
        print_json(result)
        return
    for key, value in result.items():
        console.print(f"{key:>22}: {value}")


@bench_app.command("discover")
def bench_discover(
    pfs: Annotated[int, typer.Option("--pfs", min=1, max=64, help="PFs on the host.")] = 4,
    vfs_per_pf: Annotated[int, typer.Option("--vfs-per-pf", min=0, max=256)] = 128,
    model: Annotated[str, typer.Option("--model", help="e810, x710, cx5 or cx6.")] = "e810",
    repeat: Annotated[int, typer.Option("--repeat", min=1, max=1000)] = 20,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Time device discovery (sysfs, generated tree) and the inventory report on a host with
    --pfs PFs of --vfs-per-pf VFs each."""
    from pcinet.bench.discover import run_discover_bench

    try:
        result = run_discover_bench(pfs, vfs_per_pf, model=model, repeat=repeat)
    except PcinetError as exc:
        fail(exc, as_json=as_json)
    if as_json:
        print_json(result)
        return
    for key, value in result.items():
        console.print(f"{key:>18}: {value}")
