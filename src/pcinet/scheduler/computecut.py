"""Hosts too small for a request, found from the snapshot's compute index.

``check_host`` looks at compute first: a host with fewer free vCPUs than the request is
refused for vCPUs; else one with less free memory, for memory; else, when the guest has
NUMA cells, one whose cells cannot hold them (``numa_size_rejection``), for its NUMA
topology. Each of those answers depends only on the host's free vCPUs, free memory and
cell shape, under which the snapshot files every enabled host (``Snapshot.by_vcpus``,
``by_memory``, ``by_cells``). So the hosts ``check_host`` would refuse before looking at
a device are unions of a few of those sets, each with the very reason ``check_host``
gives, and a decision walks only the other candidates: a request no host is big enough
for is answered without looking at a host, and its refusal is counted in groups.

The cost: a binary search in the sorted free amounts, one step per amount below the
request's and, for a guest with NUMA cells, one per distinct cell shape in the cloud (an
answer cached per shape and guest; beyond ``MAX_SHAPES`` shapes the walk checks the cell
sizes host by host instead); plus set unions in C over the hosts cut.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from pcinet.scheduler.filters import (
    PlacementRequest,
    Rejection,
    memory_rejection,
    numa_size_rejection,
    vcpus_rejection,
)
from pcinet.scheduler.snapshot import ComputeKey, Snapshot

# Cell shapes checked, at most, for a guest with NUMA cells: each costs a cached lookup,
# and a cloud of more distinct shapes (hosts with many different free cells) leaves the
# guest's cell sizes to the walk's host checks, which give the same reasons.
MAX_SHAPES = 256


@dataclass(slots=True)
class ComputeCut:
    """Enabled hosts ``check_host`` refuses on compute or NUMA cell sizes: disjoint groups
    by reason (the index's own sets where possible: read, never change them)."""

    groups: list[tuple[Rejection, set[int]]] = field(default_factory=list)
    count: int = 0  # hosts in all groups
    _union: set[int] | None = None

    def add(self, reason: Rejection, hosts: set[int]) -> None:
        if hosts:
            self.groups.append((reason, hosts))
            self.count += len(hosts)
            self._union = None

    def hosts(self) -> set[int]:
        """Every host of every group (a union built once, on demand)."""
        if self._union is None:
            sets = [hosts for _, hosts in self.groups]
            self._union = set().union(*sets) if len(sets) != 1 else sets[0]
        return self._union

    def within(
        self, candidates: set[int] | None, enabled: int
    ) -> Iterator[tuple[Rejection, set[int]]]:
        """The groups' members among ``candidates`` (None: all of them), non-empty ones;
        ``enabled`` is how many hosts are enabled (a group of them all holds every
        candidate: no set operation)."""
        for reason, hosts in self.groups:
            if candidates is None:
                members = hosts
            elif len(hosts) == enabled:
                members = candidates
            else:
                members = hosts & candidates
            if members:
                yield reason, members


def classify(compute: ComputeKey, request: PlacementRequest) -> Rejection | None:
    """``check_host``'s answer, devices aside, for a host of this compute key: a reason, or
    None when the server's compute and guest cells fit."""
    vcpus, memory_mb, shape = compute
    if vcpus < request.vcpus:
        return vcpus_rejection(request.vcpus, vcpus)
    if memory_mb < request.memory_mb:
        return memory_rejection(request.memory_mb, memory_mb)
    if request.guest_cells:
        return numa_size_rejection(shape, request.guest_cells)
    return None


def counted(counts: Mapping[ComputeKey, int], request: PlacementRequest) -> dict[Rejection, int]:
    """How many hosts of these compute keys ``request`` is too big for, by reason."""
    out: dict[Rejection, int] = {}
    for compute, n in counts.items():
        reason = classify(compute, request)
        if reason is not None:
            out[reason] = out.get(reason, 0) + n
    return out


def compute_cut(snapshot: Snapshot, request: PlacementRequest) -> ComputeCut:
    """The enabled hosts too small for ``request``, each under ``check_host``'s reason."""
    cut = ComputeCut()
    enabled = len(snapshot.enabled)
    levels = snapshot.vcpu_levels
    for free in levels[: bisect_left(levels, request.vcpus)]:
        cut.add(vcpus_rejection(request.vcpus, free), snapshot.by_vcpus[free])
    if cut.count < enabled:
        levels = snapshot.memory_levels
        short = levels[: bisect_left(levels, request.memory_mb)]
        before = cut.hosts() if cut.count else None
        for free in short:
            hosts = snapshot.by_memory[free]
            cut.add(memory_rejection(request.memory_mb, free), _minus(hosts, before))
    if cut.count < enabled and request.guest_cells and len(snapshot.by_cells) <= MAX_SHAPES:
        guest = request.guest_cells
        before = cut.hosts() if cut.count else None
        for shape, hosts in snapshot.by_cells.items():
            reason = numa_size_rejection(shape, guest)
            if reason is not None:
                cut.add(reason, _minus(hosts, before))
    return cut


def _minus(hosts: set[int], cut: set[int] | None) -> set[int]:
    return hosts if cut is None else hosts - cut
