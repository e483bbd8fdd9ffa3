"""Hosts ruled out without being looked at, counted from the index.

A decision names the hosts its walk examined one by one. Every other live host is ruled out
by the snapshot's index: it is disabled, down, or lacks a free device under every key of
some PCI request. Those are counted as groups from set sizes and intersections of the
index sets (operations in C over the smaller set), never by a Python pass over the hosts,
so a refusal at 10,000 hosts costs about what a placement does.

Each host is attributed to the first reason that rules it out: disabled, down, then the
PCI requests in order (``P_0`` = the enabled hosts, ``P_i = P_{i-1} ∩ U_i`` where ``U_i`` is
the union of request ``i``'s index sets; request ``i`` rules out ``|P_{i-1}| - |P_i|``
hosts). The first two requests' overlap ``|P_2|`` is a lookup in the index's pair counts when
each is served under one key (the common case: "a VF on phy1 and one on phy3"), so such a
refusal does no set operation at all. Online, each group names a bounded sample of its
hosts; in exhaustive mode (``pcinet plan``) the walk examines every enabled host, so only
disabled and down hosts are left to group, and each group names all its hosts.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice

from pcinet.core.request import PciRequest
from pcinet.scheduler.computecut import ComputeCut, counted
from pcinet.scheduler.filters import (
    HOST_DISABLED,
    HOST_DOWN,
    PCI_MISSING,
    PlacementRequest,
    Rejection,
)
from pcinet.scheduler.snapshot import IndexKey, Snapshot

GROUP_SAMPLE = 50  # hosts named per group online
SAMPLE_SCAN = 4096  # hosts looked at, at most, to find them


@dataclass(frozen=True, slots=True)
class RefusalGroup:
    reason: Rejection
    count: int
    sample: tuple[int, ...]  # host ids, ascending: all of them in exhaustive mode


def union(sets: list[set[int]]) -> set[int]:
    if not sets:
        return set()
    return sets[0] if len(sets) == 1 else set().union(*sets)


def _members(pool: set[int], minus: set[int] | None, exhaustive: bool) -> tuple[int, ...]:
    if exhaustive:
        return tuple(sorted(pool - minus if minus is not None else pool))
    scan = islice(pool, SAMPLE_SCAN)
    found = (h for h in scan if minus is None or h not in minus)
    return tuple(sorted(islice(found, GROUP_SAMPLE)))


def index_refusals(
    snapshot: Snapshot,
    pci: tuple[PciRequest, ...],
    per_request: list[list[set[int]]],
    per_keys: list[list[IndexKey]],
    *,
    exhaustive: bool,
) -> Iterator[RefusalGroup]:
    """The groups of hosts the index rules out (see the module's doc); ``per_request`` and
    ``per_keys`` are each request's live index sets and their keys."""
    for reason, hosts in (
        (Rejection(HOST_DISABLED, "host is disabled"), snapshot.disabled),
        (Rejection(HOST_DOWN, "host is down (no heartbeat within the timeout)"), snapshot.down),
    ):
        if hosts:
            yield RefusalGroup(reason, len(hosts), _members(hosts, None, exhaustive))
    if exhaustive:  # the walk gave every enabled host its own verdict
        return
    served: list[set[int]] = []  # U_1 .. U_i
    previous: set[int] | None = snapshot.enabled  # P_{i-1}; None until needed as a set
    previous_count = len(snapshot.enabled)
    for i, (request, sets, keys) in enumerate(zip(pci, per_request, per_keys, strict=True)):
        if not previous_count:
            return
        serving = union(sets)  # index sets hold enabled hosts only
        if previous is None:
            previous = set.intersection(*served)
        current: set[int] | None
        if i == 0:
            current, count = serving, len(serving)
        elif i == 1 and len(per_keys[0]) == 1 and len(keys) == 1:
            current, count = None, snapshot.pair_count(per_keys[0][0], keys[0])
        else:
            current = previous & serving
            count = len(current)
        if previous_count > count:
            reason = Rejection(PCI_MISSING, f"no free {request.describe()}")
            sample = _members(previous, serving, exhaustive)
            yield RefusalGroup(reason, previous_count - count, sample)
        served.append(serving)
        previous, previous_count = current, count


def cut_refusals(
    snapshot: Snapshot,
    cut: ComputeCut,
    request: PlacementRequest,
    per_keys: list[list[IndexKey]],
    candidates: set[int] | None,
) -> Iterator[RefusalGroup]:
    """The groups of the candidates that ``cut`` rules out for compute or NUMA cell sizes,
    each with a bounded sample (online only). ``candidates`` are the hosts under some key
    of every request (None: there are no PCI requests, every enabled host is one). A
    request served under one key is counted from the index's ``compute_counts``; other
    requests, from the cut's sets intersected with ``candidates``."""
    if len(per_keys) == 1 and len(per_keys[0]) == 1:
        key = per_keys[0][0]
        within = snapshot.index[key]
        samples: dict[Rejection, list[int]] = {}
        for reason, hosts in cut.groups:
            samples.setdefault(reason, []).extend(_sample(hosts, within))
        for reason, n in counted(snapshot.compute_counts.get(key, {}), request).items():
            yield RefusalGroup(reason, n, tuple(sorted(samples.get(reason, []))[:GROUP_SAMPLE]))
        return
    for reason, members in cut.within(candidates, len(snapshot.enabled)):
        yield RefusalGroup(reason, len(members), _members(members, None, exhaustive=False))


def _sample(hosts: set[int], within: set[int]) -> list[int]:
    scan = islice(hosts, SAMPLE_SCAN)
    return list(islice((h for h in scan if h in within), GROUP_SAMPLE))
