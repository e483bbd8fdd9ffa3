"""``pcinet bench ...``: measurements that print JSON."""

from __future__ import annotations

from typing import Annotated

import typer

from pcinet.bench.scheduler import run_scheduler_bench
from pcinet.cli.output import console, print_json

bench_app = typer.Typer(help="Benchmarks; results print as JSON with --json.", no_args_is_help=True)


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
