"""Search budgets: however hostile a request, one host's check and one decision have a
bounded cost, counted in deterministic *steps* (never in clock time, so a decision replays).

A step is about one edge scan of a flow search (0.1 to 0.5 µs of CPU on the 2-core test
machine); the NUMA cell search and the branch and bound over PFs charge their work in the
same unit. ``HOST_STEPS`` bounds one host's check. The online controller decides under one
lock, so a decision also has a pool, ``DECISION_STEPS``, shared by its hosts: each host's
first ``FREE_STEPS`` are not drawn from it (ordinary checks use a few hundred steps), and
once the pool is spent every further host needing a search is refused with the same code.
An online decision's search work is therefore at most
``candidates * FREE_STEPS + DECISION_STEPS + HOST_STEPS`` steps (docs/scheduler.md gives
the times). ``pcinet plan`` (exhaustive) has no pool: each host has its own budget.
"""

from __future__ import annotations

from dataclasses import dataclass

SEARCH_BUDGET = "search.budget_exceeded"

HOST_STEPS = 200_000
FREE_STEPS = 5_000
DECISION_STEPS = 2_000_000


class BudgetExceeded(Exception):
    """Raised inside a host's check when its budget is spent; ``check_host`` turns it into
    a refusal (it never leaves the scheduler)."""


@dataclass(slots=True)
class Budget:
    """Steps one host's check may still take. ``shared`` is True when the limit comes from
    the decision's pool rather than from ``HOST_STEPS``."""

    limit: int = HOST_STEPS
    spent: int = 0
    shared: bool = False

    def charge(self, steps: int) -> None:
        self.spent += steps
        if self.spent > self.limit:
            raise BudgetExceeded

    def left(self) -> int:
        return max(0, self.limit - self.spent)


class DecisionBudget:
    """The pool of one decision (kept in its ``MatchCache``); None: no pool, each host has
    its own budget only (``pcinet plan``, offline, whose job is a verdict for every host).
    Hosts are checked one after the other, so one ``Budget`` object serves them all."""

    __slots__ = ("_host", "pool")

    def __init__(self, pool: int | None = DECISION_STEPS) -> None:
        self.pool = pool
        self._host = Budget()

    def for_host(self) -> Budget:
        budget = self._host
        budget.spent = 0
        if self.pool is None or FREE_STEPS + self.pool >= HOST_STEPS:
            budget.limit, budget.shared = HOST_STEPS, False
        else:
            budget.limit, budget.shared = FREE_STEPS + self.pool, True
        return budget

    def settle(self, budget: Budget) -> None:
        if self.pool is not None:
            self.pool = max(0, self.pool - max(0, budget.spent - FREE_STEPS))

    def message(self, budget: Budget) -> str:
        if budget.shared:
            return (
                f"not checked: this decision spent its search budget ({DECISION_STEPS:,} steps "
                "over all hosts) on earlier hosts"
            )
        return (
            f"the fit search for this host exceeded its budget of {HOST_STEPS:,} steps "
            "(too many NUMA cell mappings or contested PFs to decide)"
        )
