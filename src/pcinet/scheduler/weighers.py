"""Rankers: each weigher scores feasible hosts in [0, 1]; the decision sums them with
multipliers. Scores are normalised over the hosts being compared, as Nova's are."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from pcinet.scheduler.filters import HostFit, PlacementRequest

Weigher = Callable[[Sequence[HostFit], PlacementRequest, "SchedulerConfig"], list[float]]


@dataclass(frozen=True, slots=True)
class SchedulerConfig:
    """``strategy``: spread servers over hosts (most free memory and vCPUs first) or pack
    them. ``max_scored``: the online walk stops after this many feasible hosts (like Nomad's
    limit iterator); ``pcinet plan`` scores every host."""

    strategy: Literal["spread", "pack"] = "spread"
    max_scored: int = 8
    compute_multiplier: float = 1.0
    pci_multiplier: float = 1.0
    numa_multiplier: float = 2.0
    whole_pf_multiplier: float = 0.5


def _normalise(values: Sequence[float]) -> list[float]:
    lo, hi = min(values), max(values)
    if hi == lo:
        return [0.0 for _ in values]
    return [(v - lo) / (hi - lo) for v in values]


def compute_weigher(
    fits: Sequence[HostFit], req: PlacementRequest, config: SchedulerConfig
) -> list[float]:
    """Free memory and vCPUs left after placing: more is better to spread, less to pack."""
    mem = _normalise([f.host.memory_mb - req.memory_mb for f in fits])
    cpu = _normalise([f.host.vcpus - req.vcpus for f in fits])
    scores = [(m + c) / 2 for m, c in zip(mem, cpu, strict=True)]
    return scores if config.strategy == "spread" else [1.0 - s for s in scores]


def pci_weigher(
    fits: Sequence[HostFit], req: PlacementRequest, config: SchedulerConfig
) -> list[float]:
    """Keep PCI-rich hosts for PCI workloads: a server without PCI requests prefers hosts
    with fewer usable devices."""
    if req.pci:
        return [0.0 for _ in fits]
    return [1.0 - s for s in _normalise([f.host.usable_devices() for f in fits])]


def numa_weigher(
    fits: Sequence[HostFit], req: PlacementRequest, config: SchedulerConfig
) -> list[float]:
    """NUMA-local devices first (matters under the ``preferred`` policy)."""
    total = sum(p.count for p in req.pci)
    if not req.guest_cells or not total:
        return [0.0 for _ in fits]
    return [f.local / total for f in fits]


def whole_pf_weigher(
    fits: Sequence[HostFit], req: PlacementRequest, config: SchedulerConfig
) -> list[float]:
    """Prefer hosts where the chosen VFs break no whole PF, so PFs stay whole for
    ``direct-physical`` ports."""
    return [1.0 - s for s in _normalise([f.broken_pfs for f in fits])]


WEIGHERS: tuple[tuple[str, Weigher], ...] = (
    ("compute_multiplier", compute_weigher),
    ("pci_multiplier", pci_weigher),
    ("numa_multiplier", numa_weigher),
    ("whole_pf_multiplier", whole_pf_weigher),
)


def tie_breaker(seed: int, hid: int) -> float:
    """A tiny, seeded, per-host jitter so that equal hosts are chosen reproducibly."""
    x = ((seed * 0x9E3779B1) ^ (hid * 0x85EBCA77)) & 0xFFFFFFFF
    x ^= x >> 15
    x = (x * 0x2C1B3C6D) & 0xFFFFFFFF
    return (x ^ (x >> 12)) / 2**32 * 1e-6


def score(
    fits: Sequence[HostFit], req: PlacementRequest, config: SchedulerConfig, seed: int
) -> list[float]:
    totals = [tie_breaker(seed, f.host.hid) for f in fits]
    for attr, weigher in WEIGHERS:
        multiplier = float(getattr(config, attr))
        if multiplier:
            for i, s in enumerate(weigher(fits, req, config)):
                totals[i] += multiplier * s
    return totals
