"""Which contested PFs to give whole: a small integer program, solved by HiGHS.

Variables: ``x[g, p]`` (continuous), the devices request ``g`` takes from pool ``p``, and
``y[P]`` (binary) for each contested PF ``P``: 1 when ``P`` is taken whole.

    minimise   sum cost[g, p] * x[g, p]
    subject to sum_p x[g, p] = count[g]                      every request is served
               sum_g x[g, p] <= usable[p]                    every pool
               sum_g x[g, pf(P)] <= y[P]                     the PF only if whole
               sum_g x[g, q] <= usable[q] * (1 - y[P])       each VF pool q of P otherwise

For a fixed ``y`` the rest is a transportation problem, whose optimum is integral, so only
the ``y`` need to be integers; ``pcifit.flow`` then turns the choice into devices. Its linear
relaxation is strong where the enumeration was blind: 16 PFs of 1 VF each give at most one
device per PF, so 8 PFs plus 9 VFs is refused at the root, with no branching.

HiGHS runs single-threaded with a fixed seed and no time limit, so the answer depends on the
input only; its branch-and-bound nodes and simplex iterations are bounded by the ``Budget``.
"""

from __future__ import annotations

from typing import Any

from pcinet.scheduler.budget import Budget, BudgetExceeded
from pcinet.scheduler.pcifit import FitProblem

STEPS_PER_NONZERO = 20
STEPS_PER_ITERATION = 100
STEPS_PER_NODE = 2_000


def choose_whole_pfs(
    problem: FitProblem, contested: list[int], budget: Budget
) -> frozenset[int] | None:
    """The contested PFs to take whole in an optimal assignment, or None when no choice
    fits. Raises BudgetExceeded when HiGHS cannot decide within the budget."""
    import highspy
    import numpy as np

    columns: list[tuple[int, int, int]] = []  # (request, pool, cost)
    for g, cands in enumerate(problem.candidates):
        columns.extend((g, p, c) for p, c in cands)
    y_col = {pf: len(columns) + i for i, pf in enumerate(contested)}
    by_pool: dict[int, list[int]] = {}
    for j, (_, p, _) in enumerate(columns):
        by_pool.setdefault(p, []).append(j)

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
    for p, cols in by_pool.items():
        usable = problem.usable[p]
        pf, parent = problem.pool_pf[p], problem.pool_parent[p]
        if pf in y_col:
            row([*((j, 1.0) for j in cols), (y_col[pf], -1.0)], -inf, 0.0)
        elif parent in y_col:
            row([*((j, 1.0) for j in cols), (y_col[parent], float(usable))], -inf, usable)
        else:
            row([(j, 1.0) for j in cols], -inf, usable)
    budget.charge(STEPS_PER_NONZERO * (len(index) + len(columns) + len(contested)))

    n = len(columns) + len(contested)
    lp: Any = highspy.HighsLp()
    lp.num_col_ = n
    lp.num_row_ = len(lower)
    lp.col_cost_ = np.array([float(c) for _, _, c in columns] + [0.0] * len(contested))
    lp.col_lower_ = np.zeros(n)
    lp.col_upper_ = np.array(
        [float(min(problem.counts[g], problem.usable[p])) for g, p, _ in columns]
        + [1.0] * len(contested)
    )
    lp.row_lower_ = np.array(lower)
    lp.row_upper_ = np.array(upper)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.start_ = np.array([*starts, len(index)], dtype=np.int32)
    lp.a_matrix_.index_ = np.array(index, dtype=np.int32)
    lp.a_matrix_.value_ = np.array(value)
    lp.integrality_ = [highspy.HighsVarType.kContinuous] * len(columns) + [
        highspy.HighsVarType.kInteger
    ] * len(contested)

    highs: Any = highspy.Highs()  # type: ignore[no-untyped-call]
    highs.setOptionValue("output_flag", False)
    highs.setOptionValue("threads", 1)
    highs.setOptionValue("random_seed", 0)
    left = budget.left()
    highs.setOptionValue("mip_max_nodes", max(1, left // STEPS_PER_NODE))
    highs.setOptionValue("simplex_iteration_limit", max(1, left // STEPS_PER_ITERATION))
    highs.passModel(lp)
    highs.run()
    info = highs.getInfo()
    budget.spent += STEPS_PER_NODE * int(info.mip_node_count) + STEPS_PER_ITERATION * int(
        info.simplex_iteration_count
    )
    status = highs.getModelStatus()
    if status == highspy.HighsModelStatus.kInfeasible:
        return None
    has_solution = int(info.primal_solution_status) == 2  # kSolutionStatusFeasible
    if status != highspy.HighsModelStatus.kOptimal and not has_solution:
        raise BudgetExceeded
    solution = list(highs.getSolution().col_value)
    return frozenset(pf for pf, j in y_col.items() if solution[j] > 0.5)
