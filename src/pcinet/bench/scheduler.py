"""The scheduler benchmark: decisions per second and latency on a generated cloud."""

from __future__ import annotations

import gc
import os
import resource
import time
from typing import Any

from rich.progress import Progress

from pcinet.bench.cloudgen import generate_hosts, request_mix
from pcinet.core.pci import DevType
from pcinet.scheduler import Snapshot, claim_placement, decide
from pcinet.scheduler.filters import NOT_ENOUGH_MEMORY, NOT_ENOUGH_VCPUS, NUMA_TOPOLOGY
from pcinet.scheduler.memo import CheckMemo

COMPUTE_CODES = frozenset({NOT_ENOUGH_VCPUS, NOT_ENOUGH_MEMORY, NUMA_TOPOLOGY})
PF_ONLY = frozenset({DevType.PF})


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


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


def run_scheduler_bench(
    hosts: int,
    *,
    vfs_per_pf: int = 64,
    decisions: int = 2000,
    seed: int = 1,
    progress: bool = False,
) -> dict[str, Any]:
    baseline_mb = rss_mb()  # the interpreter and every module the command imported
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
    memo = CheckMemo()  # as the controller keeps one beside its snapshot
    placed_times: list[float] = []
    refused_times: list[float] = []
    compute_times: list[float] = []  # refusals for compute or NUMA cell sizes
    pf_placed = 0
    cpu: dict[bool, list[float]] = {True: [], False: []}
    examined = 0
    load_before = os.getloadavg()[0]
    for i in range(decisions):
        req = mix[i % len(mix)]
        c0, t0 = time.thread_time(), time.perf_counter()
        decision = decide(snapshot, req, seed=seed * 1_000_003 + i, memo=memo)
        elapsed = time.perf_counter() - t0
        cpu[decision.placement is not None].append(time.thread_time() - c0)
        examined += decision.examined
        if decision.placement is None:
            refused_times.append(elapsed)
            if COMPUTE_CODES & decision.codes.keys():
                compute_times.append(elapsed)
        else:
            placed_times.append(elapsed)
            p = decision.placement
            pf_placed += sum(m.dev_types == PF_ONLY for r in req.pci for m in r.alternatives[:1])
            claim_placement(snapshot, req, p)
    times = sorted(placed_times + refused_times)
    placed_times.sort()
    refused_times.sort()
    compute_times.sort()
    cpu_placed, cpu_refused = sorted(cpu[True]), sorted(cpu[False])
    total = sum(times)
    return {
        "hosts": hosts,
        "vfs": snapshot.vf_count(),
        "decisions": decisions,
        "placed": len(placed_times),
        "refused": len(refused_times),
        "decisions_per_s": round(decisions / total, 1) if total else None,
        "p50_ms": _ms(percentile(times, 0.50)),
        "p99_ms": _ms(percentile(times, 0.99)),
        "max_ms": _ms(times[-1]),
        "placed_p50_ms": _ms(percentile(placed_times, 0.50)),
        "placed_p99_ms": _ms(percentile(placed_times, 0.99)),
        "refused_p50_ms": _ms(percentile(refused_times, 0.50)),
        "refused_p99_ms": _ms(percentile(refused_times, 0.99)),
        "refused_max_ms": _ms(refused_times[-1] if refused_times else 0.0),
        # the refusals of servers too big for any host (``cloudgen.too_big``)
        "refused_compute": len(compute_times),
        "refused_compute_p50_ms": _ms(percentile(compute_times, 0.50)),
        "refused_compute_p99_ms": _ms(percentile(compute_times, 0.99)),
        "placed_pf_ports": pf_placed,
        # CPU time of the deciding thread: what a decision costs, without the waits for
        # a core on a shared machine (which the wall-clock figures above include)
        "placed_cpu_p50_ms": _ms(percentile(cpu_placed, 0.50)),
        "placed_cpu_p99_ms": _ms(percentile(cpu_placed, 0.99)),
        "refused_cpu_p50_ms": _ms(percentile(cpu_refused, 0.50)),
        "refused_cpu_p99_ms": _ms(percentile(cpu_refused, 0.99)),
        "load_average": round((load_before + os.getloadavg()[0]) / 2, 2),
        "mean_hosts_examined": round(examined / decisions, 2),
        "build_s": round(build_s, 2),
        "rss_mb": round(rss_mb(), 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "rss_before_build_mb": round(baseline_mb, 1),
    }
