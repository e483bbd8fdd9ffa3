"""Feasibility checks for one host: compute, guest NUMA cells, exact PCI fit.

Each check answers with data: a fit, or a ``Rejection`` with a stable ``code`` and a
message in operators' words. Exceptions are for broken state only. Every check runs under a
step budget (``scheduler.budget``): a search that would exceed it is a refusal with code
``search.budget_exceeded``, never a hang.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from pcinet.core.flavor import GuestCell
from pcinet.core.request import NumaPolicy, PciRequest
from pcinet.scheduler.budget import SEARCH_BUDGET, Budget, BudgetExceeded, DecisionBudget
from pcinet.scheduler.numafit import cell_choices, guest_fits
from pcinet.scheduler.pcifit import FitFailure, FitResult, solve
from pcinet.scheduler.problem import (
    Base,
    base_candidates,
    broken_pfs,
    keyed_cells,
    local_count,
    pick_devices,
    problem_for,
)
from pcinet.scheduler.snapshot import CellShape, DeviceSig, HostState

# Stable reason codes (metrics and grouping use them; messages may be reworded).
HOST_DISABLED = "host.disabled"
HOST_DOWN = "host.down"
NOT_ENOUGH_VCPUS = "compute.vcpus"
NOT_ENOUGH_MEMORY = "compute.memory"
NUMA_TOPOLOGY = "numa.topology"
PCI_MISSING = "pci.missing"
PCI_NUMA = "pci.numa"
PCI_TOGETHER = "pci.together"
SEARCH_BUDGET_EXCEEDED = SEARCH_BUDGET


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
    """Request-vs-signature matches for one decision (signatures are interned), and the
    decision's search budget."""

    requests: Sequence[PciRequest]
    hits: dict[tuple[int, int], bool] = field(default_factory=dict)
    budget: DecisionBudget = field(default_factory=DecisionBudget)

    def matches(self, r: int, sig: DeviceSig) -> bool:
        key = (r, id(sig))
        hit = self.hits.get(key)
        if hit is None:
            hit = self.requests[r].matches(sig.dev_type, sig.vendor_id, sig.product_id, sig.tags)
            self.hits[key] = hit
        return hit


def vcpus_rejection(needed: int, free: int) -> Rejection:
    return Rejection(
        NOT_ENOUGH_VCPUS, f"not enough free vCPUs: {needed} needed, {max(free, 0)} free"
    )


def memory_rejection(needed: int, free: int) -> Rejection:
    return Rejection(
        NOT_ENOUGH_MEMORY,
        f"not enough free memory: {needed} MB needed, {max(free, 0)} MB free",
    )


def compute_rejections(state: HostState, req: PlacementRequest) -> list[Rejection]:
    out = []
    if state.vcpus < req.vcpus:
        out.append(vcpus_rejection(req.vcpus, state.vcpus))
    if state.memory_mb < req.memory_mb:
        out.append(memory_rejection(req.memory_mb, state.memory_mb))
    return out


def cell_count_rejection(cells: int, guest: Sequence[GuestCell]) -> Rejection | None:
    """The host has no NUMA cells, or fewer than the guest."""
    if not cells:
        return Rejection(
            NUMA_TOPOLOGY, "the host reports no NUMA cells; the flavor asks for a NUMA topology"
        )
    if len(guest) > cells:
        return Rejection(
            NUMA_TOPOLOGY, f"the guest asks for {len(guest)} NUMA cells, the host has {cells}"
        )
    return None


def cell_size_rejection(guest: Sequence[GuestCell]) -> Rejection:
    need = ", ".join(f"{g.vcpus} vCPUs/{g.memory_mb} MB" for g in guest)
    return Rejection(
        NUMA_TOPOLOGY, f"guest NUMA cells ({need}) do not fit the host's free NUMA cells"
    )


@lru_cache(maxsize=4096)
def numa_size_rejection(shape: CellShape, guest: tuple[GuestCell, ...]) -> Rejection | None:
    """What ``check_host`` answers, devices aside, for a guest on a host of this cell shape
    whose free vCPUs and memory suffice: a NUMA topology reason, or None when the guest's
    cells fit. Cached: a cloud has few shapes, and the answer depends on nothing else."""
    rejection = cell_count_rejection(len(shape), guest)
    if rejection is None and not guest_fits(shape, guest):
        rejection = cell_size_rejection(guest)
    return rejection


def check_compute(state: HostState, req: PlacementRequest) -> Rejection | None:
    if state.vcpus < req.vcpus or state.memory_mb < req.memory_mb:
        return compute_rejections(state, req)[0]
    return None


def check_host(state: HostState, req: PlacementRequest, cache: MatchCache) -> HostFit | Rejection:
    """All checks for one host, cheapest first, within the host's search budget."""
    rejection = check_compute(state, req)
    if rejection is not None:
        return rejection
    if not req.pci and not req.guest_cells:
        return HostFit(state, (), (), 0, 0)
    budget = cache.budget.for_host()
    try:
        return _fit(state, req, cache, budget)
    except BudgetExceeded:
        return Rejection(SEARCH_BUDGET_EXCEEDED, cache.budget.message(budget))
    finally:
        cache.budget.settle(budget)


def _fit(
    state: HostState, req: PlacementRequest, cache: MatchCache, budget: Budget
) -> HostFit | Rejection:
    base = base_candidates(state, req.pci, cache.matches, located=bool(req.guest_cells))
    if not req.guest_cells:
        outcome = solve(problem_for(state, base, ()), budget)
        if isinstance(outcome, FitResult):
            return _host_fit(state, (), outcome)
        return explain(req, outcome)
    guest = req.guest_cells
    rejection = cell_count_rejection(len(state.cells), guest)
    if rejection is not None:
        return rejection
    symmetry = len(guest) > 1 and len(state.cells) > 2
    profiles, socket_keys = keyed_cells(state, base, symmetry=symmetry)
    # Under ``preferred`` a later mapping may use more local devices: keep looking until
    # one uses none off the guest's cells (costs below ``non_local``).
    soft = any(p.numa_policy is NumaPolicy.PREFERRED for p in req.pci)
    best: tuple[tuple[int, ...], FitResult] | None = None
    tried: list[tuple[int, ...]] = []
    for choice in cell_choices(state.cells, guest, profiles, socket_keys, budget):
        if not req.pci:
            return HostFit(state, choice.cells, (), 0, 0)
        tried.append(choice.cells)
        outcome = solve(problem_for(state, base, choice.cells), budget)
        if isinstance(outcome, FitResult):
            if best is None or outcome.cost < best[1].cost:
                best = (choice.cells, outcome)
            if not soft or outcome.cost < base.non_local:
                break
    if best is not None:
        return _host_fit(state, *best)
    if not tried:
        return cell_size_rejection(guest)
    return explain_numa(state, req, base, tried, budget)


def _host_fit(state: HostState, cells: tuple[int, ...], result: FitResult) -> HostFit:
    devices = pick_devices(state, result)
    flat = [a for d in devices for a in d]
    return HostFit(state, cells, devices, local_count(state, flat, cells), broken_pfs(state, flat))


def explain(req: PlacementRequest, failure: FitFailure) -> Rejection:
    """Why the PCI requests do not fit, NUMA aside."""
    if failure.short is not None:
        pci = req.pci[failure.short]
        if failure.available == 0:
            return Rejection(PCI_MISSING, f"no free {pci.describe()}")
        return Rejection(
            PCI_MISSING,
            f"only {failure.available} free {pci.describe()}, {pci.count} needed",
        )
    suffix = " (a PF and its VFs cannot be taken together)" if failure.pf_conflict else ""
    return Rejection(
        PCI_TOGETHER, f"free devices cannot serve all requests at once: {_wanted(req)}{suffix}"
    )


def _wanted(req: PlacementRequest) -> str:
    return "; ".join(
        f"{p.count} x {p.describe()}" if p.count > 1 else p.describe() for p in req.pci
    )


def explain_numa(
    state: HostState,
    req: PlacementRequest,
    base: Base,
    tried: Sequence[tuple[int, ...]],
    budget: Budget,
) -> Rejection:
    """The real reason no mapping fits: the devices do not fit at all, or one request has no
    device on any set of cells the guest fits on (naming where its devices are), or the
    requests fit on such cells only one at a time."""
    free = solve(problem_for(state, base, tried[0], numa=False), budget)
    if isinstance(free, FitFailure):
        return explain(req, free)
    k = len(req.guest_cells)
    where = f"any {k} host NUMA cell{'s' if k > 1 else ''} the guest's cells fit on"
    policies = ", ".join(sorted({p.numa_policy.value for p in req.pci}))
    for r, pci in enumerate(req.pci):
        # one request alone is the whole request, which fitted on none of ``tried``
        if len(req.pci) == 1 or not any(
            isinstance(solve(problem_for(state, base.only(r), cells), budget), FitResult)
            for cells in tried
        ):
            nodes = base.nodes(r)
            on = f"; free ones are on cell(s) {', '.join(map(str, nodes))}" if nodes else ""
            return Rejection(
                PCI_NUMA,
                f"no free {pci.describe()} on {where} (numa policy {pci.numa_policy.value}){on}",
            )
    return Rejection(
        PCI_NUMA,
        f"no {k} host NUMA cell{'s' if k > 1 else ''} the guest's cells fit on hold all of "
        f"these at once: {_wanted(req)} (numa policy {policies})",
    )


def explain_all(
    state: HostState, req: PlacementRequest, cache: MatchCache, first: Rejection
) -> Rejection:
    """Every reason a host fails, for ``pcinet plan``: compute, NUMA, and each PCI
    request that lacks devices on its own (or, when each fits alone, the joint failure)."""
    reasons = compute_rejections(state, req)
    rest = PlacementRequest(0, 0, req.pci, req.guest_cells)
    outcome = check_host(state, rest, cache)
    if isinstance(outcome, Rejection) and outcome.code == NUMA_TOPOLOGY:
        reasons.append(outcome)
        rest = PlacementRequest(0, 0, req.pci)
        outcome = check_host(state, rest, cache)
    if isinstance(outcome, Rejection):
        alone: list[Rejection] = []
        if len(rest.pci) > 1 and outcome.code != SEARCH_BUDGET_EXCEEDED:
            for pci in rest.pci:
                sub = MatchCache((pci,), budget=cache.budget)
                single = check_host(state, PlacementRequest(0, 0, (pci,), rest.guest_cells), sub)
                if isinstance(single, Rejection):
                    alone.append(single)
        reasons.extend(alone or [outcome])
    if not reasons:
        return first
    return Rejection(reasons[0].code, "; ".join(r.message for r in reasons))
