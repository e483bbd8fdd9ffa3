"""The scheduler benchmark: decisions per second and latency on a generated cloud."""

from __future__ import annotations

import gc
import resource
import time
from typing import Any

from rich.progress import Progress

from pcinet.bench.cloudgen import generate_hosts, request_mix
from pcinet.scheduler import Snapshot, decide


def rss_mb() -> float:
    """Current resident set size (Linux /proc), in MB."""
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
        return pages * resource.getpagesize() / 2**20
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return 0.0
    k = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[k]


def run_scheduler_bench(
    hosts: int,
    *,
    vfs_per_pf: int = 64,
    decisions: int = 2000,
    seed: int = 1,
    progress: bool = False,
) -> dict[str, Any]:
    start_build = time.perf_counter()
    snapshot = Snapshot()
    if progress:
        with Progress(transient=True) as bar:
            task = bar.add_task("generating cloud", total=hosts)
            for i, host in enumerate(generate_hosts(hosts, vfs_per_pf)):
                snapshot.add_host(host)
                if i % 256 == 0:
                    bar.update(task, completed=i)
    else:
        for host in generate_hosts(hosts, vfs_per_pf):
            snapshot.add_host(host)
    build_s = time.perf_counter() - start_build
    gc.collect()
    mix = request_mix(seed)
    times: list[float] = []
    placed = 0
    examined = 0
    for i in range(decisions):
        req = mix[i % len(mix)]
        t0 = time.perf_counter()
        decision = decide(snapshot, req, seed=seed * 1_000_003 + i)
        times.append(time.perf_counter() - t0)
        examined += decision.examined
        if decision.placement is not None:
            placed += 1
            p = decision.placement
            snapshot.claim(
                p.host,
                p.packed_devices(),
                vcpus=req.vcpus,
                memory_mb=req.memory_mb,
                cells=[
                    (c, g.vcpus, g.memory_mb) for c, g in zip(p.cells, req.guest_cells, strict=True)
                ],
            )
    total = sum(times)
    times.sort()
    return {
        "hosts": hosts,
        "vfs": snapshot.vf_count(),
        "decisions": decisions,
        "placed": placed,
        "decisions_per_s": round(decisions / total, 1) if total else None,
        "p50_ms": round(percentile(times, 0.50) * 1000, 3),
        "p99_ms": round(percentile(times, 0.99) * 1000, 3),
        "max_ms": round(times[-1] * 1000, 3),
        "mean_hosts_examined": round(examined / decisions, 2),
        "build_s": round(build_s, 2),
        "rss_mb": round(rss_mb(), 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
