"""Exact PCI fit: can one host give every request of a server distinct free devices?

The question is a transportation problem (requests need ``count`` devices; pools hold
``usable`` devices; a request may use a pool if the pool's devices match it) plus one
side constraint: a PF and any of its VFs are never taken together. We solve it exactly:

1. A PF pool is *contested* when some request could take the PF and some request could take
   one of its VFs. Only contested PFs need a decision; every other pool is independent.
2. For each set S of contested PFs reserved as whole PFs, by increasing size (a reserved PF
   that ends up unused is never needed, so the first feasible size is minimal, and at most
   as many PFs as PF-capable request slots can be used), drop the VF pools of S and the PF
   pools of the other contested PFs, and run a min-cost max-flow. The server fits iff some
   S gives a flow equal to the total count.

No order of requests matters (no greedy false negatives) and no PF is ever taken with one of
its VFs (no false positives). Costs only choose among feasible answers: devices off the
guest's NUMA cells cost more under the ``preferred`` policy, and a VF from an untouched PF
costs a little, so whole PFs stay whole for ``direct-physical`` ports.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

NON_LOCAL_COST = 1000
FRESH_PF_COST = 1


@dataclass(frozen=True, slots=True)
class FitProblem:
    """``candidates[r]`` lists (pool index, cost) that request ``r`` may draw from."""

    counts: tuple[int, ...]
    candidates: tuple[tuple[tuple[int, int], ...], ...]
    usable: tuple[int, ...]  # per pool
    pool_parent: tuple[int | None, ...]  # PF address of a VF pool
    pool_pf: tuple[int | None, ...]  # own address of a PF pool


@dataclass(frozen=True, slots=True)
class FitResult:
    """``flows[r]`` lists (pool index, how many devices) for request ``r``."""

    flows: tuple[tuple[tuple[int, int], ...], ...]
    cost: int


@dataclass(frozen=True, slots=True)
class FitFailure:
    """Why nothing fits: ``short`` is the first request that alone lacks devices
    (with ``available`` of them), or None when only the requests together do not fit."""

    short: int | None
    available: int
    pf_conflict: bool


def solve(problem: FitProblem) -> FitResult | FitFailure:
    counts = problem.counts
    for r, cands in enumerate(problem.candidates):
        have = sum(problem.usable[p] for p, _ in cands)
        if have < counts[r]:
            return FitFailure(r, have, False)
    pf_takers: dict[int, set[int]] = {}  # PF address -> requests that may take it
    vf_takers: dict[int, set[int]] = {}
    for r, cands in enumerate(problem.candidates):
        for p, _ in cands:
            pf = problem.pool_pf[p]
            if pf is not None:
                pf_takers.setdefault(pf, set()).add(r)
            parent = problem.pool_parent[p]
            if parent is not None:
                vf_takers.setdefault(parent, set()).add(r)
    contested = sorted(a for a in pf_takers if a in vf_takers)
    if not contested and len(counts) == 1:
        return _single(problem)
    if not contested:
        result = _flow(problem, frozenset())
        return result if result is not None else FitFailure(None, 0, False)

    pf_capable = sum(counts[r] for r in set().union(*(pf_takers[a] for a in contested)))
    excluded_base = frozenset(contested)
    for size in range(min(pf_capable, len(contested)) + 1):
        for reserved in combinations(contested, size):
            result = _flow(problem, excluded_base, frozenset(reserved))
            if result is not None:
                return result
    return FitFailure(None, 0, True)


def _single(problem: FitProblem) -> FitResult:
    need = problem.counts[0]
    flows: list[tuple[int, int]] = []
    cost = 0
    for p, c in sorted(problem.candidates[0], key=lambda pc: (pc[1], pc[0])):
        take = min(need, problem.usable[p])
        if take:
            flows.append((p, take))
            cost += take * c
            need -= take
        if not need:
            break
    return FitResult((tuple(flows),), cost)


def _flow(
    problem: FitProblem,
    contested: frozenset[int],
    reserved: frozenset[int] = frozenset(),
) -> FitResult | None:
    """Min-cost max-flow by successive shortest paths (Bellman-Ford: the graph is tiny)."""
    n_req = len(problem.counts)
    pools = sorted({p for cands in problem.candidates for p, _ in cands})
    allowed = []
    for p in pools:
        pf = problem.pool_pf[p]
        parent = problem.pool_parent[p]
        if pf is not None and pf in contested and pf not in reserved:
            continue
        if parent is not None and parent in reserved:
            continue
        allowed.append(p)
    pool_node = {p: n_req + 1 + i for i, p in enumerate(allowed)}
    source, sink = n_req + 1 + len(allowed), n_req + 2 + len(allowed)
    n = sink + 1
    # edge arrays: to, cap, cost; edge e's reverse is e ^ 1
    to: list[int] = []
    cap: list[int] = []
    cost: list[int] = []
    adj: list[list[int]] = [[] for _ in range(n)]

    def edge(u: int, v: int, c: int, w: int) -> int:
        adj[u].append(len(to))
        to.append(v)
        cap.append(c)
        cost.append(w)
        adj[v].append(len(to))
        to.append(u)
        cap.append(0)
        cost.append(-w)
        return len(to) - 2

    total = 0
    for r, need in enumerate(problem.counts):
        edge(source, r, need, 0)
        total += need
    req_edges: list[list[tuple[int, int]]] = [[] for _ in range(n_req)]
    for r, cands in enumerate(problem.candidates):
        for p, c in cands:
            node = pool_node.get(p)
            if node is not None:
                req_edges[r].append((p, edge(r, node, problem.counts[r], c)))
    for p in allowed:
        edge(pool_node[p], sink, problem.usable[p], 0)

    flow = 0
    total_cost = 0
    inf = float("inf")
    while flow < total:
        dist = [inf] * n
        prev_edge = [-1] * n
        dist[source] = 0
        changed = True
        while changed:
            changed = False
            for u in range(n):
                du = dist[u]
                if du == inf:
                    continue
                for e in adj[u]:
                    if cap[e] > 0 and du + cost[e] < dist[to[e]]:
                        dist[to[e]] = du + cost[e]
                        prev_edge[to[e]] = e
                        changed = True
        if dist[sink] == inf:
            return None
        push = total - flow
        v = sink
        while v != source:
            e = prev_edge[v]
            push = min(push, cap[e])
            v = to[e ^ 1]
        v = sink
        while v != source:
            e = prev_edge[v]
            cap[e] -= push
            cap[e ^ 1] += push
            v = to[e ^ 1]
        flow += push
        total_cost += push * int(dist[sink])
    flows = tuple(
        tuple((p, cap[e ^ 1]) for p, e in req_edges[r] if cap[e ^ 1] > 0) for r in range(n_req)
    )
    return FitResult(flows, total_cost)
