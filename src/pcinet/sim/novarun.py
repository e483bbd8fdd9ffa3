"""``pcinet bench nova``: timing at each cloud size, then the answers comparison."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pcinet.sim.novaanswers import answers
from pcinet.sim.novabench import timing


def machine() -> dict[str, Any]:
    """Where the numbers come from: CPUs, and how busy the machine was (load average)."""
    return {"cpus": os.cpu_count(), "load_average_1m": round(os.getloadavg()[0], 2)}


def run_nova_bench(
    nova_python: Path,
    hosts: Sequence[int],
    *,
    nova_decisions: int,
    pcinet_decisions: int,
    answer_hosts: int,
    seed: int,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    out: dict[str, Any] = {"machine_before": machine(), "timing": []}
    for n in hosts:
        if progress is not None:
            progress(f"time at {n} hosts")
        out["timing"].append(
            timing(
                nova_python,
                n,
                nova_decisions=nova_decisions,
                pcinet_decisions=pcinet_decisions,
                seed=seed,
            )
        )
    if progress is not None:
        progress("answers on small random hosts")
    out["answers"] = answers(nova_python, hosts=answer_hosts, seed=seed)
    out["nova_version"] = out["answers"]["nova_version"]
    out["machine_after"] = machine()
    return out
