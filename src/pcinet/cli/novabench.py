"""``pcinet bench nova``: pcinet against Nova's own PCI code (``make bench-nova``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pcinet.cli.output import console, err_console, fail, print_json
from pcinet.core.errors import InvalidInput, PcinetError

DEFAULT_NOVA_PYTHON = Path(".venv-nova/bin/python")


def bench_nova_command(
    *,
    nova_python: Annotated[
        Path, typer.Option("--nova-python", help="The python of a virtualenv with nova.")
    ] = DEFAULT_NOVA_PYTHON,
    hosts: Annotated[
        list[int] | None,
        typer.Option("--hosts", min=1, max=20000, help="Cloud sizes to time (repeat)."),
    ] = None,
    nova_decisions: Annotated[
        int, typer.Option("--nova-decisions", min=1, max=10000, help="Nova decisions per size.")
    ] = 20,
    pcinet_decisions: Annotated[
        int, typer.Option("--pcinet-decisions", min=1, max=100000, help="pcinet's per size.")
    ] = 2000,
    answer_hosts: Annotated[
        int, typer.Option("--answer-hosts", min=1, max=100000, help="Small random hosts.")
    ] = 400,
    seed: Annotated[int, typer.Option("--seed")] = 1,
    report: Annotated[
        Path | None,
        typer.Option("--report", help="Write nova-time.png, nova-answers.png, bench-nova.json."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Time Nova's PCI filter (PciDeviceStats.support_requests on every host) and pcinet's
    decision on the same generated clouds, and compare their answers with a brute force
    on small random hosts (false negatives, false positives)."""
    from pcinet.sim.novarun import run_nova_bench

    try:
        if not nova_python.exists():
            raise InvalidInput(
                f"--nova-python: {nova_python} does not exist (make bench-nova creates "
                ".venv-nova with nova from PyPI)",
                field="nova-python",
            )
        result = run_nova_bench(
            nova_python,
            hosts or [1000, 10000],
            nova_decisions=nova_decisions,
            pcinet_decisions=pcinet_decisions,
            answer_hosts=answer_hosts,
            seed=seed,
            progress=None if as_json else lambda m: err_console.print(f"[dim]{m}...[/]"),
        )
        if report is not None:
            from pcinet.sim.report import write_nova_report

            write_nova_report(report, result)
    except PcinetError as exc:
        fail(exc, as_json=as_json)
    if as_json:
        print_json(result)
        return
    for row in result["timing"]:
        console.print(row)
    console.print({k: v for k, v in result["answers"].items() if k != "examples"})
