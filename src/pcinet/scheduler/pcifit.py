"""Exact PCI fit: can one host give every request of a server distinct free devices?

The question is a transportation problem (requests need ``count`` devices; pools hold
``usable`` devices; a request may use a pool if the pool's devices match it) plus one side
constraint: a PF and any of its VFs are never taken together. We solve it exactly:

1. Requests with the same candidate pools and costs are merged (eight identical
   ``direct-physical`` ports are one request for eight PFs), and split back at the end.
2. A PF is *contested* when some request could take the PF and some request could take one
   of its VFs. Without contested PFs the side constraint cannot bind: one min-cost flow.
3. With contested PFs, first the *relaxation*: the same flow with every pool allowed. If it
   has no flow, nothing fits; if its optimum takes no PF together with one of its VFs, it is
   the optimum of the real problem too (the common case).
4. Otherwise the choice "this PF whole, or its VFs" is a small integer program (one 0/1
   variable per contested PF, the flows continuous), solved by branch and bound over its
   linear relaxation (``scheduler.contest``, HiGHS for the relaxations); given that choice
   the rest is again a flow, which gives the integral assignment. Enumerating the choices
   instead took 23 s for 16 contested PFs (see docs/scheduler.md).

No order of requests matters (no greedy false negatives) and no PF is ever taken with one of
its VFs (no false positives). Costs only choose among feasible answers (``filters``). Every
flow charges its work to a ``Budget``, so no input makes the search unbounded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pcinet.scheduler.budget import Budget


@dataclass(frozen=True, slots=True)
class FitProblem:
    """``candidates[r]`` lists (pool index, cost) that request ``r`` may draw from."""

    counts: tuple[int, ...]
    candidates: tuple[tuple[tuple[int, int], ...], ...]
    usable: Sequence[int]  # per pool
    pool_parent: Sequence[int | None]  # PF address of a VF pool
    pool_pf: Sequence[int | None]  # own address of a PF pool
    # True when the costs must be minimised exactly (NUMA locality under ``preferred``);
    # otherwise they only break ties and the first feasible PF choice is kept.
    exact_cost: bool = False


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


def solve(problem: FitProblem, budget: Budget | None = None) -> FitResult | FitFailure:
    if budget is None:
        budget = Budget()
    counts = problem.counts
    for r, cands in enumerate(problem.candidates):
        have = sum(problem.usable[p] for p, _ in cands)
        if have < counts[r]:
            return FitFailure(r, have, False)
    if len(counts) == 1:
        return _solve_merged(problem, budget)
    groups: dict[tuple[tuple[int, int], ...], list[int]] = {}
    for r, cands in enumerate(problem.candidates):
        groups.setdefault(cands, []).append(r)
    if len(groups) == len(counts):
        return _solve_merged(problem, budget)
    merged = FitProblem(
        counts=tuple(sum(counts[r] for r in members) for members in groups.values()),
        candidates=tuple(groups),
        usable=problem.usable,
        pool_parent=problem.pool_parent,
        pool_pf=problem.pool_pf,
        exact_cost=problem.exact_cost,
    )
    for count, cands in zip(merged.counts, merged.candidates, strict=True):
        if sum(problem.usable[p] for p, _ in cands) < count:
            return FitFailure(None, 0, False)
    result = _solve_merged(merged, budget)
    if isinstance(result, FitFailure):
        return result
    return _split(problem, list(groups.values()), result)


def contested_pfs(problem: FitProblem) -> list[int]:
    """PF addresses that one request could take whole while one could take a VF of it."""
    pf_takers: set[int] = set()
    vf_takers: set[int] = set()
    for cands in problem.candidates:
        for p, _ in cands:
            pf = problem.pool_pf[p]
            if pf is not None:
                pf_takers.add(pf)
            parent = problem.pool_parent[p]
            if parent is not None:
                vf_takers.add(parent)
    return sorted(pf_takers & vf_takers)


def _solve_merged(problem: FitProblem, budget: Budget) -> FitResult | FitFailure:
    contested = contested_pfs(problem)
    if not contested and len(problem.counts) == 1:
        return _single(problem)
    relaxed = flow(problem, budget)
    if relaxed is None:
        return FitFailure(None, 0, False)
    if not contested or not _conflicts(problem, relaxed):
        return relaxed
    from pcinet.scheduler.contest import choose_whole_pfs

    reserved = choose_whole_pfs(problem, contested, budget, optimal=problem.exact_cost)
    if reserved is None:
        return FitFailure(None, 0, True)
    result = flow(problem, budget, frozenset(contested), reserved)
    if result is None:  # the program and the flow disagree: a bug, not an input
        raise AssertionError("the flow found no assignment for the integer program's choice")
    return result


def _conflicts(problem: FitProblem, result: FitResult) -> bool:
    whole = {problem.pool_pf[p] for flows in result.flows for p, _ in flows}
    return any(problem.pool_parent[p] in whole for flows in result.flows for p, _ in flows)


def _split(problem: FitProblem, groups: list[list[int]], merged: FitResult) -> FitResult:
    flows: list[tuple[tuple[int, int], ...]] = [() for _ in problem.counts]
    for members, group_flows in zip(groups, merged.flows, strict=True):
        supply = [[p, k] for p, k in group_flows]
        for r in members:
            need = problem.counts[r]
            mine: list[tuple[int, int]] = []
            for item in supply:
                take = min(need, item[1])
                if take:
                    mine.append((item[0], take))
                    item[1] -= take
                    need -= take
                if not need:
                    break
            flows[r] = tuple(mine)
    return FitResult(tuple(flows), merged.cost)


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


def flow(
    problem: FitProblem,
    budget: Budget,
    contested: frozenset[int] = frozenset(),
    reserved: frozenset[int] = frozenset(),
) -> FitResult | None:
    """Min-cost max-flow by successive shortest paths (Bellman-Ford: the graph is tiny).
    The PF pools of ``contested`` PFs not in ``reserved`` are left out, and so are the VF
    pools of ``reserved`` PFs."""
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

    flow_in = 0
    total_cost = 0
    inf = float("inf")
    edges = len(to)
    while flow_in < total:
        dist = [inf] * n
        prev_edge = [-1] * n
        dist[source] = 0
        changed = True
        passes = 0
        while changed:
            passes += 1
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
        budget.charge(edges * passes)
        if dist[sink] == inf:
            return None
        push = total - flow_in
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
        flow_in += push
        total_cost += push * int(dist[sink])
    flows = tuple(
        tuple((p, cap[e ^ 1]) for p, e in req_edges[r] if cap[e ^ 1] > 0) for r in range(n_req)
    )
    return FitResult(flows, total_cost)
