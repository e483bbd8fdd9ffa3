"""One host and one server as a ``FitProblem``: which pools each request may use, at which
cost, for a given set of host NUMA cells.

Matching requests against pools does not depend on the cells, so it is done once per host
check (``base_candidates``); each set of cells then only filters and prices the candidates
(``problem_for``). Costs choose among feasible answers, in this order:

1. under the ``preferred`` policy, a device off the guest's cells costs ``non_local``, more
   than all other costs of the server together: the fit uses the fewest non-local devices;
2. a VF from an untouched PF costs ``FRESH_PF_COST``, so whole PFs stay whole for
   ``direct-physical`` ports.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

from pcinet.core.request import NumaPolicy, PciRequest
from pcinet.scheduler.pcifit import FitProblem, FitResult
from pcinet.scheduler.snapshot import DeviceSig, HostState

FRESH_PF_COST = 1


# (pool index, NUMA node, socket, cost: FRESH_PF_COST for a VF of an untouched PF, else 0)
Candidate = tuple[int, int | None, int | None, int]


@dataclass(slots=True)
class Base:
    """The usable pools each request matches, whatever the cells; ``plain`` is the
    problem without a guest NUMA topology."""

    requests: tuple[PciRequest, ...]
    candidates: tuple[tuple[Candidate, ...], ...]
    plain: FitProblem

    @property
    def non_local(self) -> int:
        return 1 + FRESH_PF_COST * sum(self.plain.counts)

    def nodes(self, r: int) -> list[int]:
        return sorted({c[1] for c in self.candidates[r] if c[1] is not None})

    def only(self, r: int) -> Base:
        """The same host with request ``r`` alone."""
        plain = self.plain
        return Base(
            (self.requests[r],),
            (self.candidates[r],),
            FitProblem(
                (plain.counts[r],),
                (plain.candidates[r],),
                plain.usable,
                plain.pool_parent,
                plain.pool_pf,
            ),
        )


def base_candidates(
    state: HostState,
    requests: Sequence[PciRequest],
    matches: Callable[[int, DeviceSig], bool],
    *,
    located: bool = True,
) -> Base:
    """``matches(r, sig)``: request ``r`` matches devices of signature ``sig``. Without
    ``located`` (no guest NUMA topology) only ``plain`` is built: ``candidates`` is empty."""
    pools = state.pools
    usable = [p.usable() for p in pools]
    sockets = {c.id: c.socket for c in state.cells} if located and state.cells else {}
    out = []
    flat = []
    for r in range(len(requests)):
        cands = []
        pairs = []
        for i, pool in enumerate(pools):
            if not usable[i] or not matches(r, pool.sig):
                continue
            fresh = 0
            if pool.parent is not None:
                pf_i = state.pf_pool.get(pool.parent)
                if pf_i is not None and not pools[pf_i].blocked:
                    fresh = FRESH_PF_COST
            if located:
                node = pool.sig.numa_node
                cands.append((i, node, sockets.get(node) if node is not None else None, fresh))
            pairs.append((i, fresh))
        out.append(tuple(cands))
        flat.append(tuple(pairs))
    plain = FitProblem(
        counts=tuple(p.count for p in requests),
        candidates=tuple(flat),
        usable=usable,
        pool_parent=[p.parent for p in pools],
        pool_pf=[p.pf for p in pools],
    )
    return Base(tuple(requests), tuple(out), plain)


def problem_for(
    state: HostState, base: Base, cells: Sequence[int], *, numa: bool = True
) -> FitProblem:
    """The problem for a guest on host ``cells`` (empty: no guest NUMA topology); with
    ``numa`` False the policies are ignored (to tell NUMA refusals from others)."""
    plain = base.plain
    if not cells or not numa:
        return plain
    exact = any(p.numa_policy is NumaPolicy.PREFERRED for p in base.requests)
    return FitProblem(
        plain.counts,
        _priced(state, base, cells),
        plain.usable,
        plain.pool_parent,
        plain.pool_pf,
        exact_cost=exact,
    )


def _priced(
    state: HostState, base: Base, cells: Sequence[int]
) -> tuple[tuple[tuple[int, int], ...], ...]:
    cell_set = frozenset(cells)
    host_sockets = {c.id: c.socket for c in state.cells}
    sockets = {host_sockets.get(c) for c in cells} - {None}
    out = []
    non_local = base.non_local
    for pci, cands in zip(base.requests, base.candidates, strict=True):
        policy = pci.numa_policy
        priced = []
        for pool, node, socket, fresh in cands:
            local = node is not None and node in cell_set
            if policy is NumaPolicy.REQUIRED and not local:
                continue
            if policy is NumaPolicy.LEGACY and not (local or node is None):
                continue
            if policy is NumaPolicy.SOCKET and socket not in sockets:
                continue
            far = policy is NumaPolicy.PREFERRED and not local
            priced.append((pool, fresh + non_local if far else fresh))
        out.append(tuple(priced))
    return tuple(out)


def keyed_cells(
    state: HostState, base: Base, *, symmetry: bool = True
) -> tuple[dict[int, Hashable], frozenset[int]]:
    """For the NUMA search: the device profile of every host cell holding a device a
    non-``socket`` request may take, and the sockets of devices ``socket`` requests may take.

    Two cells with equal profiles hold interchangeable pools: pools that the same requests
    may take, with as many usable devices and the same costs, in PF families of the same
    shape. A family spread over several cells makes its cells unique (no symmetry is assumed
    there). Devices of different physnets are interchangeable when every request that takes
    one may take the other. Without ``symmetry`` (small searches, where finding it costs
    more than it saves) every keyed cell is unique.
    """
    cell_ids = {c.id for c in state.cells}
    socket_keys: set[int] = set()
    takers: dict[int, list[int]] = {}  # pool -> requests that may take it
    fresh: dict[int, int] = {}
    nodes: set[int] = set()
    for pci, cands in zip(base.requests, base.candidates, strict=True):
        if pci.numa_policy is NumaPolicy.SOCKET:
            socket_keys.update(socket for _, _, socket, _ in cands if socket is not None)
        else:
            nodes.update(node for _, node, _, _ in cands if node in cell_ids)
    if not symmetry:  # every keyed cell its own class
        return {n: n for n in nodes}, frozenset(socket_keys)
    relevant: set[int] = set()
    for r, (pci, cands) in enumerate(zip(base.requests, base.candidates, strict=True)):
        for i, node, _, cost in cands:
            takers.setdefault(i, []).append(r)
            fresh[i] = cost
            if pci.numa_policy is not NumaPolicy.SOCKET and node in cell_ids:
                relevant.add(i)
    pools = state.pools
    families: dict[Hashable, list[int]] = {}
    for i in sorted(takers):
        pool = pools[i]
        family: Hashable = pool.pf if pool.pf is not None else pool.parent
        families.setdefault(("dev", i) if family is None else family, []).append(i)
    per_node: dict[int, list[tuple[Any, ...]]] = {}
    unique: set[int] = set()
    for members in families.values():
        if not relevant.intersection(members):
            continue
        spread = {pools[i].sig.numa_node for i in members}
        form = tuple(
            sorted(
                (tuple(takers[i]), base.plain.usable[i], pools[i].pf is not None, fresh[i])
                for i in members
            )
        )
        for node in spread:
            if node is not None:
                per_node.setdefault(node, []).append(form)
        if len(spread) > 1:
            unique.update(n for n in spread if n is not None)
    profiles: dict[int, Hashable] = {}
    for node, forms in per_node.items():
        profiles[node] = ("unique", node) if node in unique else tuple(sorted(forms))
    return profiles, frozenset(socket_keys)


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


def local_count(state: HostState, devices: Sequence[int], cells: Sequence[int]) -> int:
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
