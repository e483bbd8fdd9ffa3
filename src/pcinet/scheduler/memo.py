"""A memo of recent per-host answers, kept by the caller, never inside the snapshot.

Servers of a few shapes keep asking the same hosts the same questions: an online controller
walks about ``max_scored`` hosts per decision, most unchanged since they were last asked.
``check_host``'s answer depends on the host's state and the request only, so remembering it
until the host's next claim or release (its ``version``) is exact. The snapshot stays
immutable under ``decide``; the memo belongs to whoever keeps the snapshot (the
controller's ``SnapshotCache``, the scheduler benchmark).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pcinet.scheduler.budget import SEARCH_BUDGET
from pcinet.scheduler.filters import HostFit, MatchCache, PlacementRequest, Rejection, check_host
from pcinet.scheduler.snapshot import HostState

MEMO_SIZE = 4  # answers kept per host


@dataclass(slots=True)
class _Answers:
    state: HostState  # the very object asked: a re-added host is a new one
    version: int
    answers: list[tuple[PlacementRequest, HostFit | Rejection]] = field(default_factory=list)


class CheckMemo:
    """``check_host`` answers by host, valid while the host's state object and version are
    the ones asked. Not thread-safe: use it under the lock that guards its snapshot."""

    def __init__(self) -> None:
        self._hosts: dict[int, _Answers] = {}

    def __len__(self) -> int:
        return len(self._hosts)

    def check(
        self, state: HostState, request: PlacementRequest, cache: MatchCache
    ) -> HostFit | Rejection:
        entry = self._hosts.get(state.hid)
        if entry is None or entry.state is not state or entry.version != state.version:
            entry = self._hosts[state.hid] = _Answers(state, state.version)
        for asked, answer in entry.answers:
            if asked is request or asked == request:
                return answer
        outcome = check_host(state, request, cache)
        if isinstance(outcome, Rejection) and outcome.code == SEARCH_BUDGET:
            return outcome  # may come from this decision's spent pool: not the host's answer
        if len(entry.answers) >= MEMO_SIZE:
            del entry.answers[0]
        entry.answers.append((request, outcome))
        return outcome

    def clear(self) -> None:
        self._hosts.clear()
