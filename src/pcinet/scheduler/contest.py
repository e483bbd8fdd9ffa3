"""Which contested PFs to give whole: a small integer program, by branch and bound over
its linear relaxation (solved by HiGHS).

Variables: ``x[g, p]`` (continuous), the devices request ``g`` takes from pool ``p``, and
``y[P]`` for each contested PF ``P``: 1 when ``P`` is taken whole.

    minimise   sum cost[g, p] * x[g, p]
    subject to sum_p x[g, p] = count[g]                      every request is served
               sum_g x[g, p] <= usable[p]                    every pool
               sum_g x[g, pf(P)] <= y[P]                     the PF only if whole
               sum_g x[g, q] <= usable[q] * (1 - y[P])       each VF pool q of P otherwise

For a fixed ``y`` the rest is a transportation problem, whose optimum is integral, so only
the ``y`` are branched on; ``pcifit.flow`` then turns the choice into devices. The linear
relaxation is strong where enumerating the choices was blind: 16 PFs of 1 VF each give at
most one device per PF, so 8 PFs plus 9 VFs is refused at the root, with no branching.

HiGHS's own MIP solver answers the same question, but pays about 10 ms of set-up per call
even on a 40-variable model; one warm-started dual simplex per node costs a few tenths of a
millisecond. The search is deterministic (no time limit, no randomness) and every node and
simplex iteration is charged to the ``Budget``.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from pcinet.scheduler.budget import Budget, BudgetExceeded
from pcinet.scheduler.pcifit import FitProblem

STEPS_PER_NONZERO = 20
STEPS_PER_ITERATION = 100
STEPS_PER_NODE = 2_000
EPS = 1e-6


Virtual = tuple[Any, ...]  # ("pool", p) | ("pf", class) | ("vf", class, kind)


def _classes(problem: FitProblem, contested: list[int]) -> list[tuple[list[int], list[int]]]:
    """Contested PFs in classes of identical families: (PF addresses, and for the first
    family its PF pool followed by its VF pools, one per kind). Two families are identical
    when their PF pools and their VF pools, kind by kind, have the same usable count and the
    same cost for every request (or are not candidates of it)."""
    cost_of: dict[int, list[int | None]] = {}
    for g, cands in enumerate(problem.candidates):
        for p, c in cands:
            cost_of.setdefault(p, [None] * len(problem.counts))[g] = c
    pf_pool = {problem.pool_pf[p]: p for p in cost_of if problem.pool_pf[p] is not None}
    vf_pools: dict[int, list[int]] = {}
    for p in cost_of:
        parent = problem.pool_parent[p]
        if parent is not None:
            vf_pools.setdefault(parent, []).append(p)
    classes: dict[Hashable, tuple[list[int], list[int]]] = {}
    for pf in contested:

        def form(p: int) -> tuple[Any, ...]:
            return (tuple(-1 if c is None else c for c in cost_of[p]), problem.usable[p])

        kinds = sorted(vf_pools.get(pf, []), key=form)
        key = (form(pf_pool[pf]), tuple(form(q) for q in kinds))
        members = classes.setdefault(key, ([], [pf_pool[pf], *kinds]))[0]
        members.append(pf)
    return list(classes.values())


def choose_whole_pfs(
    problem: FitProblem, contested: list[int], budget: Budget, *, optimal: bool
) -> frozenset[int] | None:
    """The contested PFs to take whole in a feasible assignment (of least cost when
    ``optimal``), or None when no choice fits. Raises BudgetExceeded when the search cannot
    decide within the budget.

    Identical PF families are decided together, as how many of them are whole (an integer
    ``z``), so that the search never branches between equivalent choices."""
    import highspy
    import numpy as np

    classes = _classes(problem, contested)
    virtual: dict[int, Virtual] = {}  # pool -> its virtual pool (capacity, z link)
    capacity: dict[Virtual, int] = {}
    for c, (members, pools) in enumerate(classes):
        virtual[pools[0]] = ("pf", c)
        capacity[("pf", c)] = len(members)
        for k, q in enumerate(pools[1:]):
            virtual[q] = ("vf", c, k)
            capacity[("vf", c, k)] = problem.usable[q] * len(members)
    in_class = {p for _, pools in classes for p in pools}
    columns: list[tuple[int, Virtual, int]] = []  # (request, virtual pool, cost)
    for g, cands in enumerate(problem.candidates):
        for p, cost in cands:
            family = problem.pool_pf[p] if problem.pool_pf[p] is not None else None
            if family is None:
                family = problem.pool_parent[p]
            if p in in_class:
                columns.append((g, virtual[p], cost))
            elif family is None or family not in contested:
                columns.append((g, ("pool", p), cost))
                capacity[("pool", p)] = problem.usable[p]
            # else: a pool of a contested family identical to a class's first family,
            # which stands for the whole class
    z_col = len(columns)
    by_virtual: dict[Virtual, list[int]] = {}
    for j, (_, v, _) in enumerate(columns):
        by_virtual.setdefault(v, []).append(j)

    inf = highspy.kHighsInf
    starts: list[int] = []
    index: list[int] = []
    value: list[float] = []
    lower: list[float] = []
    upper: list[float] = []

    def row(entries: list[tuple[int, float]], lo: float, hi: float) -> None:
        starts.append(len(index))
        for j, v in entries:
            index.append(j)
            value.append(v)
        lower.append(lo)
        upper.append(hi)

    for g, count in enumerate(problem.counts):
        row([(j, 1.0) for j, col in enumerate(columns) if col[0] == g], count, count)
    for v, cols in by_virtual.items():
        entries = [(j, 1.0) for j in cols]
        cap = float(capacity[v])
        if v[0] == "pf":
            row([*entries, (z_col + v[1], -1.0)], -inf, 0.0)
        elif v[0] == "vf":
            per_family = float(problem.usable[classes[v[1]][1][1 + v[2]]])
            row([*entries, (z_col + v[1], per_family)], -inf, cap)
        else:
            row(entries, -inf, cap)
    budget.charge(STEPS_PER_NONZERO * (len(index) + len(columns) + len(classes)))

    n = len(columns) + len(classes)
    sizes = [float(len(members)) for members, _ in classes]
    lp: Any = highspy.HighsLp()
    lp.num_col_ = n
    lp.num_row_ = len(lower)
    lp.col_cost_ = np.array([float(c) for _, _, c in columns] + [0.0] * len(classes))
    lp.col_lower_ = np.zeros(n)
    lp.col_upper_ = np.array(
        [float(min(problem.counts[g], capacity[v])) for g, v, _ in columns] + sizes
    )
    lp.row_lower_ = np.array(lower)
    lp.row_upper_ = np.array(upper)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.start_ = np.array([*starts, len(index)], dtype=np.int32)
    lp.a_matrix_.index_ = np.array(index, dtype=np.int32)
    lp.a_matrix_.value_ = np.array(value)
    highs: Any = highspy.Highs()  # type: ignore[no-untyped-call]
    highs.setOptionValue("output_flag", False)
    highs.setOptionValue("threads", 1)
    highs.setOptionValue("presolve", "off")
    highs.passModel(lp)
    z_cols = np.arange(z_col, z_col + len(classes), dtype=np.int32)
    best: tuple[float, list[int]] | None = None
    # Depth first over bounds on z (lower, upper per class); the upper branch goes first.
    stack: list[tuple[list[float], list[float]]] = [([0.0] * len(classes), list(sizes))]
    while stack:
        lo, hi = stack.pop()
        budget.charge(STEPS_PER_NODE)
        iterations = max(1, budget.left() // STEPS_PER_ITERATION)
        highs.setOptionValue("simplex_iteration_limit", iterations)
        highs.changeColsBounds(len(classes), z_cols, np.array(lo), np.array(hi))
        before = int(highs.getInfo().simplex_iteration_count)
        highs.run()
        info = highs.getInfo()
        budget.charge(STEPS_PER_ITERATION * max(0, int(info.simplex_iteration_count) - before))
        status = highs.getModelStatus()
        if status == highspy.HighsModelStatus.kInfeasible:
            continue
        if status != highspy.HighsModelStatus.kOptimal:
            raise BudgetExceeded
        bound = float(info.objective_function_value)
        if best is not None and bound > best[0] - 0.5:  # costs are integers
            continue
        z = list(highs.getSolution().col_value)[z_col:]
        fractional = [(abs(v - round(v)), c) for c, v in enumerate(z) if abs(v - round(v)) > EPS]
        if not fractional:
            best = (bound, [round(v) for v in z])
            if not optimal:
                break
            continue
        _, c = max(fractional)
        down = (list(lo), list(hi))
        down[1][c] = float(int(z[c]))
        up = (list(lo), list(hi))
        up[0][c] = float(int(z[c]) + 1)
        stack.extend((down, up))
    if best is None:
        return None
    return frozenset(
        pf for (members, _), k in zip(classes, best[1], strict=True) for pf in members[:k]
    )
