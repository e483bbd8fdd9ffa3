"""``pcinet bench ux``: the cost of a /metrics scrape and of capacity answers at scale."""

from __future__ import annotations

from typing import Annotated

import typer

from pcinet.cli.bench import bench_app, print_result


@bench_app.command("ux")
def bench_ux(
    hosts: Annotated[int, typer.Option("--hosts", min=1, help="Hosts in the generated cloud.")],
    vfs_per_pf: Annotated[int, typer.Option("--vfs-per-pf", min=1, max=2048)] = 64,
    scrapes: Annotated[int, typer.Option("--scrapes", min=1)] = 20,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Time a /metrics scrape and capacity answers on a generated cloud, about a quarter
    full (one placement per host of the scheduler bench's mix)."""
    from pcinet.bench.ux import run_ux_bench

    result = run_ux_bench(hosts, vfs_per_pf=vfs_per_pf, scrapes=scrapes)
    print_result(result, as_json=as_json)
