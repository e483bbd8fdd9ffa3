"""Drive one strategy through a workload: arrivals placed, departures released, in time
order, measuring as it goes (``metrics``)."""

from __future__ import annotations

import time
from collections.abc import Callable

from pcinet.sim.cloud import Cloud
from pcinet.sim.metrics import RunResult, Series
from pcinet.sim.server_requests import RequestBuilder
from pcinet.sim.strategies import Outcome, make_strategy
from pcinet.sim.workload import FLAVORS, Workload

STRANDED_SAMPLES = 100


def simulate(
    cloud: Cloud,
    workload: Workload,
    strategy: str,
    *,
    seed: int = 0,
    progress: Callable[[int], None] | None = None,
) -> RunResult:
    """Run ``strategy`` on a fresh state of ``cloud``; ``progress`` gets each arrival's
    number. Same cloud, workload, strategy and seed: same result (timings aside)."""
    start = time.perf_counter()
    runner = make_strategy(strategy, cloud.hosts, seed)
    builder = RequestBuilder()
    servers = {s.id: s for s in workload.servers}
    state = runner.state
    series = Series(used={p: [] for p in state.capacity})
    min_vcpus = min(f.vcpus for f in FLAVORS.values())
    min_memory = min(f.memory_mb for f in FLAVORS.values())
    every = max(1, len(servers) // STRANDED_SAMPLES)
    outcomes: list[Outcome] = []
    for at, kind, sid in workload.events():
        if kind == 0:
            runner.release(sid)
            continue
        server = servers[sid]
        outcomes.append(runner.place(server, builder.get(server)))
        series.times.append(at)
        for physnet, cap in state.capacity.items():
            series.used[physnet].append(state.used[physnet] / cap if cap else 0.0)
        if len(outcomes) % every == 0:
            stranded, free = state.stranded_vfs(min_vcpus, min_memory)
            series.stranded.append((at, stranded, free))
        if progress is not None:
            progress(len(outcomes))
    return RunResult(
        strategy, len(cloud.hosts), seed, outcomes, series, time.perf_counter() - start
    )
