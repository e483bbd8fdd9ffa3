"""Feasibility checks for one host: compute, guest NUMA cells, exact PCI fit.

Each check answers with data: a fit, or a ``Rejection`` with a stable ``code`` and a
message in operators' words. Exceptions are for broken state only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import islice, permutations

from pcinet.core.flavor import GuestCell
from pcinet.core.request import NumaPolicy, PciRequest
from pcinet.scheduler.pcifit import (
    FRESH_PF_COST,
    NON_LOCAL_COST,
    FitFailure,
    FitProblem,
    FitResult,
    solve,
)
from pcinet.scheduler.snapshot import DeviceSig, HostState, Pool

MAX_CELL_MAPPINGS = 24

# Stable reason codes (metrics and grouping use them; messages may be reworded).
HOST_DISABLED = "host.disabled"
HOST_DOWN = "host.down"
NOT_ENOUGH_VCPUS = "compute.vcpus"
NOT_ENOUGH_MEMORY = "compute.memory"
NUMA_TOPOLOGY = "numa.topology"
PCI_MISSING = "pci.missing"
PCI_NUMA = "pci.numa"
PCI_TOGETHER = "pci.together"


@dataclass(frozen=True, slots=True)
class PlacementRequest:
    """What one server needs, in the scheduler's terms."""

    vcpus: int
    memory_mb: int
    pci: tuple[PciRequest, ...] = ()
    guest_cells: tuple[GuestCell, ...] = ()


@dataclass(frozen=True, slots=True)
class Rejection:
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class HostFit:
    """A feasible host: the host cell of each guest cell, the device addresses (packed
    ints) of each PCI request, how many of those devices are local to the guest, and how
    many whole (untouched) PFs the chosen VFs break."""

    host: HostState
    cells: tuple[int, ...]
    devices: tuple[tuple[int, ...], ...]
    local: int
    broken_pfs: int


@dataclass(slots=True)
class MatchCache:
    """Request-vs-signature matches for one decision (signatures are interned)."""

    requests: Sequence[PciRequest]
    hits: dict[tuple[int, int], bool] = field(default_factory=dict)

    def matches(self, r: int, sig: DeviceSig) -> bool:
        key = (r, id(sig))
        hit = self.hits.get(key)
        if hit is None:
            hit = self.requests[r].matches(sig.dev_type, sig.vendor_id, sig.product_id, sig.tags)
            self.hits[key] = hit
        return hit


def compute_rejections(state: HostState, req: PlacementRequest) -> list[Rejection]:
    out = []
    if state.vcpus < req.vcpus:
        out.append(
            Rejection(
                NOT_ENOUGH_VCPUS,
                f"not enough free vCPUs: {req.vcpus} needed, {max(state.vcpus, 0)} free",
            )
        )
    if state.memory_mb < req.memory_mb:
        out.append(
            Rejection(
                NOT_ENOUGH_MEMORY,
                f"not enough free memory: {req.memory_mb} MB needed, "
                f"{max(state.memory_mb, 0)} MB free",
            )
        )
    return out


def check_compute(state: HostState, req: PlacementRequest) -> Rejection | None:
    if state.vcpus < req.vcpus or state.memory_mb < req.memory_mb:
        return compute_rejections(state, req)[0]
    return None


def cell_mappings(state: HostState, req: PlacementRequest) -> list[tuple[int, ...]] | Rejection:
    """Host cell ids for the guest cells, each guest cell on its own host cell."""
    if not req.guest_cells:
        return [()]
    guest = req.guest_cells
    if not state.cells:
        return Rejection(
            NUMA_TOPOLOGY, "the host reports no NUMA cells; the flavor asks for a NUMA topology"
        )
    fits = [[c.vcpus >= g.vcpus and c.memory_mb >= g.memory_mb for c in state.cells] for g in guest]
    found = [
        tuple(state.cells[i].id for i in combo)
        for combo in permutations(range(len(state.cells)), len(guest))
        if all(fits[g][i] for g, i in enumerate(combo))
    ]
    if not found:
        need = ", ".join(f"{g.vcpus} vCPUs/{g.memory_mb} MB" for g in guest)
        return Rejection(
            NUMA_TOPOLOGY, f"guest NUMA cells ({need}) do not fit the host's free NUMA cells"
        )
    return list(islice(found, MAX_CELL_MAPPINGS))


def _allowed(
    state: HostState, pool: Pool, policy: NumaPolicy, cells: tuple[int, ...]
) -> int | None:
    """The locality cost of ``pool`` for a request, or None when the policy forbids it."""
    if not cells:
        return 0
    node = pool.sig.numa_node
    local = node is not None and node in cells
    if policy is NumaPolicy.REQUIRED:
        return 0 if local else None
    if policy is NumaPolicy.LEGACY:
        return 0 if local or node is None else None
    if policy is NumaPolicy.SOCKET:
        socket = state.socket_of(node)
        ok = socket is not None and socket in {state.socket_of(c) for c in cells}
        return 0 if ok else None
    return 0 if local else NON_LOCAL_COST


def build_problem(
    state: HostState,
    req: PlacementRequest,
    cells: tuple[int, ...],
    cache: MatchCache,
    *,
    numa: bool = True,
) -> FitProblem:
    pools = state.pools
    usable = tuple(p.usable() for p in pools)
    candidates = []
    for r, pci in enumerate(req.pci):
        cands = []
        for i, pool in enumerate(pools):
            if not usable[i] or not cache.matches(r, pool.sig):
                continue
            cost = _allowed(state, pool, pci.numa_policy, cells) if numa else 0
            if cost is None:
                continue
            parent = pool.parent
            if parent is not None:
                pf_i = state.pf_pool.get(parent)
                if pf_i is not None and not pools[pf_i].blocked:
                    cost += FRESH_PF_COST
            cands.append((i, cost))
        candidates.append(tuple(cands))
    return FitProblem(
        counts=tuple(p.count for p in req.pci),
        candidates=tuple(candidates),
        usable=usable,
        pool_parent=tuple(p.parent for p in pools),
        pool_pf=tuple(p.pf for p in pools),
    )


def pick_devices(state: HostState, result: FitResult) -> tuple[tuple[int, ...], ...]:
    """Turn pool flows into concrete addresses: the lowest free members of each pool."""
    used: dict[int, int] = {}
    out = []
    for flows in result.flows:
        chosen: list[int] = []
        for p, k in flows:
            start = used.get(p, 0)
            chosen.extend(state.pools[p].take(start + k)[start:])
            used[p] = start + k
        out.append(tuple(sorted(chosen)))
    return tuple(out)


def local_count(state: HostState, devices: Sequence[int], cells: tuple[int, ...]) -> int:
    if not cells:
        return 0
    n = 0
    for addr in devices:
        node = state.pools[state.slots[addr][0]].sig.numa_node
        if node is not None and node in cells:
            n += 1
    return n


def broken_pfs(state: HostState, devices: Sequence[int]) -> int:
    parents = set()
    for addr in devices:
        parent = state.pools[state.slots[addr][0]].parent
        if parent is not None:
            pf_i = state.pf_pool.get(parent)
            if pf_i is not None and not state.pools[pf_i].blocked:
                parents.add(parent)
    return len(parents)


def check_host(state: HostState, req: PlacementRequest, cache: MatchCache) -> HostFit | Rejection:
    """All checks for one host, cheapest first."""
    rejection = check_compute(state, req)
    if rejection is not None:
        return rejection
    mappings = cell_mappings(state, req)
    if isinstance(mappings, Rejection):
        return mappings
    if not req.pci:
        return HostFit(state, mappings[0], (), 0, 0)
    first_failure: FitFailure | None = None
    for cells in mappings:
        outcome = solve(build_problem(state, req, cells, cache))
        if isinstance(outcome, FitResult):
            devices = pick_devices(state, outcome)
            flat = [a for d in devices for a in d]
            return HostFit(
                state, cells, devices, local_count(state, flat, cells), broken_pfs(state, flat)
            )
        if first_failure is None:
            first_failure = outcome
    assert first_failure is not None
    return explain(state, req, cache, first_failure, mappings[0])


def explain(
    state: HostState,
    req: PlacementRequest,
    cache: MatchCache,
    failure: FitFailure,
    cells: tuple[int, ...],
) -> Rejection:
    if cells:
        without_numa = solve(build_problem(state, req, cells, cache, numa=False))
        if isinstance(without_numa, FitResult):
            r = failure.short if failure.short is not None else 0
            pci = req.pci[r]
            where = ", ".join(str(c) for c in cells)
            return Rejection(
                PCI_NUMA,
                f"no free {pci.describe()} on the guest's NUMA node(s) {where} "
                f"(numa policy {pci.numa_policy.value})",
            )
    if failure.short is not None:
        pci = req.pci[failure.short]
        if failure.available == 0:
            return Rejection(PCI_MISSING, f"no free {pci.describe()}")
        return Rejection(
            PCI_MISSING,
            f"only {failure.available} free {pci.describe()}, {pci.count} needed",
        )
    wanted = "; ".join(
        f"{p.count} x {p.describe()}" if p.count > 1 else p.describe() for p in req.pci
    )
    suffix = " (a PF and its VFs cannot be taken together)" if failure.pf_conflict else ""
    return Rejection(
        PCI_TOGETHER, f"free devices cannot serve all requests at once: {wanted}{suffix}"
    )


def explain_all(
    state: HostState, req: PlacementRequest, cache: MatchCache, first: Rejection
) -> Rejection:
    """Every reason a host fails, for ``pcinet plan``: compute, NUMA, and each PCI
    request that lacks devices on its own (or, when each fits alone, the joint failure)."""
    reasons = compute_rejections(state, req)
    mappings = cell_mappings(state, req)
    if isinstance(mappings, Rejection):
        reasons.append(mappings)
        mappings = [()]
    if req.pci:
        alone = []
        for pci in req.pci:
            single = PlacementRequest(0, 0, (pci,), req.guest_cells)
            sub = MatchCache(single.pci)
            failure = _first_failure(state, single, sub, mappings)
            if failure is not None:
                alone.append(explain(state, single, sub, failure, mappings[0]))
        if alone:
            reasons.extend(alone)
        else:
            failure = _first_failure(state, req, cache, mappings)
            if failure is not None:
                reasons.append(explain(state, req, cache, failure, mappings[0]))
    if not reasons:
        return first
    return Rejection(reasons[0].code, "; ".join(r.message for r in reasons))


def _first_failure(
    state: HostState, req: PlacementRequest, cache: MatchCache, mappings: list[tuple[int, ...]]
) -> FitFailure | None:
    first: FitFailure | None = None
    for cells in mappings:
        outcome = solve(build_problem(state, req, cells, cache))
        if isinstance(outcome, FitResult):
            return None
        first = first or outcome
    return first
