"""``pcinet sim``: the simulator (one strategy, or every strategy with a report)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.progress import Progress
from rich.table import Table

from pcinet.cli.output import console, err_console, fail, print_json
from pcinet.core.errors import InvalidInput, PcinetError
from pcinet.sim.limits import ALL_STRATEGIES, DEFAULT_TIME_LIMIT_S, MAX_HOSTS, MAX_SERVERS

if TYPE_CHECKING:
    from pcinet.sim.compare import Setup


def sim_command(
    *,
    strategy: Annotated[
        str, typer.Option("--strategy", help="physnet-blind, nova, network-aware or optimal.")
    ] = "network-aware",
    hosts: Annotated[
        int, typer.Option("--hosts", min=1, max=MAX_HOSTS, help="Hosts in the generated cloud.")
    ] = 50,
    requests: Annotated[
        int, typer.Option("--requests", min=1, max=MAX_SERVERS, help="Servers arriving.")
    ] = 4000,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the cloud (the workload: +1).")] = 1,
    load: Annotated[
        float,
        typer.Option("--load", min=0.01, max=100.0, help="Offered load; 1.0 fills the cloud."),
    ] = 1.2,
    gpus: Annotated[bool, typer.Option("--gpus", help="Some racks have GPUs.")] = False,
    trace: Annotated[
        Path | None, typer.Option("--trace", help="A trace file (JSON) instead of arrivals.")
    ] = None,
    compare: Annotated[bool, typer.Option("--compare", help="Run every strategy.")] = False,
    report: Annotated[
        Path | None, typer.Option("--report", help="With --compare: write plots and report.md.")
    ] = None,
    optimal_time_limit: Annotated[
        float, typer.Option("--optimal-time-limit", min=1.0, help="Seconds for HiGHS.")
    ] = DEFAULT_TIME_LIMIT_S,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Simulate placements on a generated cloud: the physnet-blind 2014 behaviour, Nova's
    semantics, pcinet's scheduler, and an offline upper bound, on the same arrivals."""
    from pcinet.sim.compare import build
    from pcinet.sim.optimal import OptimumNotFound

    try:
        if not compare and strategy not in ALL_STRATEGIES:
            raise InvalidInput(
                f"--strategy: {strategy!r} is not one of {', '.join(ALL_STRATEGIES)}",
                field="strategy",
            )
        if report is not None and not compare:
            raise InvalidInput("--report: needs --compare", field="report")
        setup = build(hosts=hosts, requests=requests, seed=seed, load=load, gpus=gpus, trace=trace)
        setup.meta["command"] = "pcinet sim " + " ".join(sys.argv[2:])
        if compare:
            summaries = _compare(setup, report, optimal_time_limit, show=not as_json)
        else:
            summaries = [_one(setup, strategy, optimal_time_limit)]
    except OptimumNotFound as exc:
        fail(InvalidInput(str(exc), field="optimal-time-limit"), as_json=as_json)
    except PcinetError as exc:
        fail(exc, as_json=as_json)
    if as_json:
        print_json(summaries[0] if not compare else {"meta": setup.meta, "results": summaries})
        return
    _print(summaries)
    if report is not None:
        console.print(f"report: {report / 'report.md'}")


def _one(setup: Setup, strategy: str, time_limit: float) -> dict[str, Any]:
    from pcinet.sim.compare import optimal_summary
    from pcinet.sim.run import simulate

    if strategy == "optimal":
        return optimal_summary(setup, time_limit_s=time_limit)
    seed = setup.meta["seed"]
    return simulate(setup.cloud, setup.workload, strategy, seed=seed).summary()


def _compare(
    setup: Setup, report: Path | None, time_limit: float, *, show: bool
) -> list[dict[str, Any]]:
    from pcinet.sim.compare import optimal_summary
    from pcinet.sim.metrics import RunResult
    from pcinet.sim.report import write_report
    from pcinet.sim.run import simulate

    results: list[RunResult] = []
    total = len(setup.workload.servers)
    with Progress(console=err_console, transient=True, disable=not show) as bar:
        for name in ALL_STRATEGIES[:-1]:
            task = bar.add_task(name, total=total)
            results.append(
                simulate(
                    setup.cloud,
                    setup.workload,
                    name,
                    seed=setup.meta["seed"],
                    progress=lambda n, t=task: bar.update(t, completed=n),  # type: ignore[misc]
                )
            )
        task = bar.add_task("optimal (HiGHS)", total=None)
        optimal = optimal_summary(setup, time_limit_s=time_limit)
        bar.update(task, total=1, completed=1)
    if report is not None:
        write_report(report, setup.meta, results, optimal)
    return [r.summary() for r in results] + [optimal]


def _print(summaries: list[dict[str, Any]]) -> None:
    table = Table(
        "strategy",
        "placed",
        "rejected",
        "bind failures",
        "claim failures",
        "retries",
        "p50 ms",
        "p99 ms",
    )
    for s in summaries:
        table.add_row(
            s["strategy"],
            str(s["placed"]),
            str(s["rejected"]),
            str(s["bind_failures"]),
            str(s.get("claim_failures", 0)),
            str(s["retries"]),
            "-" if s["decision_ms_p50"] is None else f"{s['decision_ms_p50']:.3f}",
            "-" if s["decision_ms_p99"] is None else f"{s['decision_ms_p99']:.3f}",
        )
    console.print(table)
