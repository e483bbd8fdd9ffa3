"""How many more servers of one shape fit: the real scheduler, run again and again on a
private copy of the snapshot, each decision's devices and compute claimed on the copy.

Pure, like ``decide``: the snapshot given is never changed (``Snapshot.copy``). With the
seeds the controller's next boots will use, the answer is exactly what booting that server
repeatedly would achieve on this state.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from pcinet.core.errors import InvalidInput
from pcinet.scheduler.decide import claim_placement, decide
from pcinet.scheduler.filters import PlacementRequest
from pcinet.scheduler.memo import CheckMemo
from pcinet.scheduler.snapshot import Snapshot
from pcinet.scheduler.weighers import SchedulerConfig

# The most servers one answer counts (its cost grows with them: one decision each).
MAX_SERVERS = 2000
DISABLED = "host is disabled"
DOWN = "host is down (no heartbeat within the timeout)"


class CapacityLimitExceeded(InvalidInput):
    """More than the requested limit of servers fit: the count stops there."""

    code = "capacity_limit_exceeded"


@dataclass(frozen=True, slots=True)
class HostCapacity:
    host: str
    fits: int
    limited_by: str | None

    def to_dict(self) -> dict[str, object]:
        return {"host": self.host, "fits": self.fits, "limited_by": self.limited_by}


@dataclass(frozen=True, slots=True)
class Capacity:
    total: int
    hosts: tuple[HostCapacity, ...]

    def to_dict(self) -> dict[str, object]:
        return {"total": self.total, "hosts": [h.to_dict() for h in self.hosts]}


def count(
    snapshot: Snapshot,
    request: PlacementRequest,
    *,
    config: SchedulerConfig,
    seed: int,
    limit: int = MAX_SERVERS,
) -> Capacity:
    """Boot ``request`` on a private copy of ``snapshot`` until no host fits, decision ``i``
    with seed ``seed + i``; per host, how many landed there and what stops the next one
    (every enabled host's reason from an exhaustive decision on the final state).

    Raises CapacityLimitExceeded when more than ``limit`` fit."""
    sim = snapshot.copy()
    memo = CheckMemo()
    fits: Counter[str] = Counter()
    placed = 0
    while True:
        decision = decide(sim, request, config=config, seed=seed + placed, memo=memo)
        placement = decision.placement
        if placement is None:
            break
        if placed == limit:
            raise CapacityLimitExceeded(
                f"more than {limit} servers fit; ask with a larger max_servers "
                f"(at most {MAX_SERVERS})",
                field="max_servers",
            )
        claim_placement(sim, request, placement)
        fits[placement.host] += 1
        placed += 1
    final = decide(sim, request, config=config, seed=seed + placed, exhaustive=True)
    hosts = []
    for state in sorted(sim, key=lambda h: h.name):
        if state.disabled:
            reason: str | None = DISABLED
        elif state.down:
            reason = DOWN
        else:
            reason = final.rejected.get(state.name)
        hosts.append(HostCapacity(state.name, fits[state.name], reason))
    return Capacity(placed, tuple(hosts))
