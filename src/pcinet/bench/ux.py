"""The operator views' costs at scale: one ``/metrics`` scrape and one capacity answer on a
generated cloud (``bench.cloudgen``), after a mix of placements took some of its devices."""

from __future__ import annotations

import time
from typing import Any

from pcinet.bench.cloudgen import generate_hosts, networks, request_mix
from pcinet.bench.scheduler import percentile
from pcinet.core.port import Port, VnicType, server_requests
from pcinet.scheduler import PlacementRequest, SchedulerConfig, Snapshot, claim_placement, decide
from pcinet.scheduler.capacity import MAX_SERVERS, CapacityLimitExceeded, count
from pcinet.service.metrics import Metrics


def _filled(hosts: int, vfs_per_pf: int, placements: int, seed: int) -> Snapshot:
    snapshot = Snapshot(generate_hosts(hosts, vfs_per_pf))
    mix = request_mix(seed)
    for i in range(placements):
        request = mix[i % len(mix)]
        placement = decide(snapshot, request, seed=i).placement
        if placement is not None:
            claim_placement(snapshot, request, placement)
    return snapshot


def run_ux_bench(
    hosts: int, *, vfs_per_pf: int = 64, scrapes: int = 20, seed: int = 1
) -> dict[str, Any]:
    """Scrape times (the snapshot's gauges and the exposition; the database gauges are read
    at most once per ``Metrics.db_ttl_s``, so a fixed answer stands in for them), and the
    time of capacity answers: one that fits a few hundred servers, and the limit's worst
    case (``MAX_SERVERS`` decisions, then the error)."""
    snapshot = _filled(hosts, vfs_per_pf, placements=hosts, seed=seed)
    metrics = Metrics()
    metrics.watch(lambda f: f(snapshot), lambda: ({"phy1": 100}, {("cn00000", "ACTIVE"): 1}))
    times = []
    size = 0
    for _ in range(scrapes):
        started = time.perf_counter()
        size = len(metrics.exposition())
        times.append(time.perf_counter() - started)
    times.sort()

    net = networks()["phy1"]
    pci = server_requests((), [(Port("phy1", VnicType.DIRECT), net)])
    config = SchedulerConfig()
    big = PlacementRequest(vcpus=48, memory_mb=4096, pci=pci)  # one per host on phy1
    started = time.perf_counter()
    answer = count(snapshot, big, config=config, seed=seed)
    capacity_s = time.perf_counter() - started
    small = PlacementRequest(vcpus=1, memory_mb=512, pci=pci)
    started = time.perf_counter()
    try:
        count(snapshot, small, config=config, seed=seed)
        limit_reached = False
    except CapacityLimitExceeded:
        limit_reached = True
    limit_s = time.perf_counter() - started
    return {
        "hosts": hosts,
        "vfs": snapshot.vf_count(),
        "scrape_p50_ms": round(percentile(times, 0.5) * 1000, 2),
        "scrape_max_ms": round(times[-1] * 1000, 2),
        "scrape_bytes": size,
        "capacity_servers": answer.total,
        "capacity_ms": round(capacity_s * 1000, 1),
        "capacity_limit": MAX_SERVERS,
        "capacity_limit_reached": limit_reached,
        "capacity_limit_ms": round(limit_s * 1000, 1),
    }
