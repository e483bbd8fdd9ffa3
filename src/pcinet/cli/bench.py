"""``pcinet bench ...``: measurements that print JSON."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from pcinet.bench.scheduler import run_scheduler_bench
from pcinet.cli.output import console, fail, new_app, print_json
from pcinet.core.errors import InvalidInput, PcinetError

bench_app = new_app(help="Benchmarks; results print as JSON with --json.", no_args_is_help=True)

FreshDatabaseOption = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        help="A FRESH database (sqlite:///... or postgresql://...); default: a temporary "
        "SQLite file.",
    ),
]


def print_result(result: dict[str, Any], *, as_json: bool) -> None:
    """A benchmark's result: its JSON, or one ``key: value`` line per figure."""
    if as_json:
        print_json(result)
        return
    width = max((len(key) for key in result), default=0)
    for key, value in result.items():
        console.print(f"{key:>{width}}: {value}", markup=False)


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
    print_result(result, as_json=as_json)


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
    database_url: FreshDatabaseOption = None,
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
    print_result(result, as_json=as_json)


@bench_app.command("parse")
def bench_parse(
    hosts: Annotated[int, typer.Option("--hosts", min=1, max=100_000)] = 1000,
    vfs_per_pf: Annotated[int, typer.Option("--vfs-per-pf", min=1, max=256)] = 64,
    repeat: Annotated[int, typer.Option("--repeat", min=1, max=1000)] = 5,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Time the input parsers: a CLOUD document of --hosts hosts (2 PFs x --vfs-per-pf VFs,
    in memory, as ``pcinet plan`` checks it), one host's report as the REST API parses it,
    and one device."""
    from pcinet.bench.parsing import run_parse_bench

    print_result(run_parse_bench(hosts, vfs_per_pf=vfs_per_pf, repeat=repeat), as_json=as_json)


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
    print_result(result, as_json=as_json)


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
    print_result(result, as_json=as_json)


@bench_app.command("stress")
def bench_stress(
    *,
    database_url: FreshDatabaseOption = None,
    replicas: Annotated[
        int, typer.Option("--replicas", min=1, max=32, help="pcinet serve processes.")
    ] = 4,
    clients: Annotated[int, typer.Option("--clients", min=1, max=256, help="Client threads.")] = 16,
    seconds: Annotated[
        float, typer.Option("--seconds", min=0.1, max=86400, help="How long clients run.")
    ] = 60.0,
    seed: Annotated[int, typer.Option("--seed")] = 1,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """R controller processes on one database, C clients creating and deleting networks,
    ports and servers at random over HTTP (racing for the last VFs, VLANs and quota), then
    the invariant check. Exit 0 when no answer was unexpected (no 5xx, every 4xx a correct
    code) and no invariant is violated, else 1."""
    from pcinet.bench.stress import run_stress

    try:
        with _stress_database(database_url) as url:
            result = run_stress(url, replicas=replicas, clients=clients, seconds=seconds, seed=seed)
    except PcinetError as exc:
        fail(exc, as_json=as_json)
    print_result(result, as_json=as_json)
    if not result["ok"]:
        raise typer.Exit(1)


@contextmanager
def _stress_database(url: str | None) -> Iterator[str]:
    if url is not None:
        yield url
        return
    with tempfile.TemporaryDirectory(prefix="pcinet-stress-db-") as tmp:
        yield f"sqlite:///{Path(tmp) / 'stress.db'}"


@bench_app.command("crash")
def bench_crash(
    *,
    database_url: FreshDatabaseOption = None,
    kills: Annotated[int, typer.Option("--kills", min=1, max=10000, help="SIGKILLs.")] = 30,
    clients: Annotated[int, typer.Option("--clients", min=1, max=64)] = 3,
    seed: Annotated[int, typer.Option("--seed")] = 1,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """SIGKILL a controller at random points while servers are created and deleted,
    restarting it each time; then compare what clients were told with the database, and
    check the invariants. Exit 0 when nothing was lost or half-written, else 1."""
    from pcinet.bench.crash import run_crash

    try:
        with _stress_database(database_url) as url:
            result = run_crash(url, kills=kills, clients=clients, seed=seed)
    except PcinetError as exc:
        fail(exc, as_json=as_json)
    print_result(result, as_json=as_json)
    if not result["ok"]:
        raise typer.Exit(1)
