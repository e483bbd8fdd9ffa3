"""Snapshot in, decision out.

1. **Pre-filter by index.** For every PCI request, the hosts with at least one usable
   device under one of its coarse keys (physnet and type, or vendor/product and type);
   the candidates are the intersection. Hosts left out are rejected *as groups*
   ("9,412 hosts: no free VF on physnet phy3") without being looked at one by one.
2. **Walk.** Candidates in a seeded pseudo-random order (a start and a stride co-prime to
   their number: cheap, and every candidate is visited once), each through the checks of
   ``filters``. Online, the walk stops after ``max_scored`` feasible hosts; in exhaustive
   mode (``pcinet plan``) every host gets a verdict.
3. **Score** the feasible hosts with the weighers and take the best.

``decide`` reads the snapshot and never changes it; the same snapshot, request, config and
seed give the same decision.
"""

from __future__ import annotations

import heapq
import random
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from math import gcd

from pcinet.core.errors import NoValidHost
from pcinet.core.pci import address_to_int, int_to_address
from pcinet.core.request import PciRequest
from pcinet.scheduler.filters import (
    HOST_DISABLED,
    HOST_DOWN,
    PCI_MISSING,
    HostFit,
    MatchCache,
    PlacementRequest,
    Rejection,
    check_host,
    explain_all,
)
from pcinet.scheduler.snapshot import HostState, IndexKey, Snapshot
from pcinet.scheduler.weighers import SchedulerConfig, score

MAX_REASON_HOSTS = 50
# Probe the host-id space (instead of materialising candidates) when candidates are at
# least 1/SAMPLE_SHARE of the hosts; give up probing after MAX_PROBES.
SAMPLE_SHARE = 16
MAX_PROBES = 4096
MIN_PROBES = 128


@dataclass(frozen=True, slots=True)
class Placement:
    """The chosen host, the host NUMA cell of each guest cell, and for each PCI request
    (in request order) the addresses of its devices."""

    host: str
    cells: tuple[int, ...]
    devices: tuple[tuple[str, ...], ...]
    score: float

    def packed_devices(self) -> list[int]:
        return [address_to_int(a) for d in self.devices for a in d]


@dataclass(frozen=True, slots=True)
class Decision:
    """``rejected`` names hosts one by one (every host in exhaustive mode; online, those the
    walk looked at, plus a sample of the hosts ruled out by the index);
    ``groups`` counts every rejected host by reason message."""

    placement: Placement | None
    rejected: Mapping[str, str]
    groups: Mapping[str, int]
    examined: int
    feasible: tuple[tuple[str, float], ...] = ()
    codes: Mapping[str, int] = field(default_factory=dict)

    def no_valid_host(self) -> NoValidHost:
        parts = [
            f"{n} host{'s' if n != 1 else ''}: {reason}"
            for reason, n in sorted(self.groups.items(), key=lambda kv: (-kv[1], kv[0]))
        ]
        message = "No valid host was found. " + ("; ".join(parts) if parts else "no hosts")
        sample = dict(list(self.rejected.items())[:MAX_REASON_HOSTS])
        return NoValidHost(message, hosts=sample, groups=self.groups)


def request_keys(pci: PciRequest) -> list[IndexKey]:
    """Coarse index keys, any of which a matching device must be under."""
    keys: list[IndexKey] = []
    for m in pci.alternatives:
        for t in sorted(m.dev_types):
            if m.physnets is not None:
                kind = "trusted-net" if m.trusted else "net"
                keys.extend((kind, t, p) for p in m.physnets)
            elif m.vendor_id is not None and m.product_id is not None:
                keys.append(("id", t, m.vendor_id, m.product_id))
            elif m.vendor_id is not None:
                keys.append(("vendor", t, m.vendor_id))
            else:
                keys.append(("type", t))
    return keys


def _request_sets(snapshot: Snapshot, pci: PciRequest) -> list[set[int]]:
    """The index sets a host must be in (any of them) to serve ``pci``."""
    return [hs for hs in (snapshot.index.get(k) for k in request_keys(pci)) if hs]


def _union(sets: list[set[int]]) -> set[int]:
    return sets[0] if len(sets) == 1 else set().union(*sets)


def _stride(n: int, rng: random.Random) -> tuple[int, int]:
    start = rng.randrange(n)
    stride = 1
    if n > 2:
        stride = rng.randrange(1, n)
        while gcd(stride, n) != 1:
            stride = stride + 1 if stride + 1 < n else 1
    return start, stride


def _walk(snapshot: Snapshot, per_request: list[list[set[int]]], seed: int) -> Iterator[int]:
    """Candidates in a seeded order that depends only on the seed and the candidate set.

    When candidates are a large share of the cloud, probe the host-id space in a stride
    permutation with membership tests: finding ``k`` candidates then costs about
    ``k * hosts / candidates`` probes, whatever the cloud's size. Otherwise (or after a
    bounded number of probes) materialise and sort the intersection.
    """
    rng = random.Random(seed)
    total = len(snapshot.hosts)
    enabled = snapshot.enabled
    upper = min((sum(len(x) for x in sets) for sets in per_request), default=len(enabled))
    seen: set[int] = set()
    if total and upper * SAMPLE_SHARE >= total:
        start, stride = _stride(total, rng)
        probes = min(total, MAX_PROBES)
        for i in range(probes):
            hid = (start + i * stride) % total
            if hid in enabled and all(any(hid in x for x in sets) for sets in per_request):
                seen.add(hid)
                yield hid
            elif i >= MIN_PROBES and len(seen) * SAMPLE_SHARE * 2 < i:
                # far sparser than the bound promised (requests that rarely share a
                # host): the exact intersection is cheaper than probing on
                probes = 0
                break
        if probes == total:
            return
    candidates = sorted(_intersection(snapshot, per_request) - seen)
    if candidates:
        start, stride = _stride(len(candidates), rng)
        for i in range(len(candidates)):
            yield candidates[(start + i * stride) % len(candidates)]


def _intersection(snapshot: Snapshot, per_request: list[list[set[int]]]) -> set[int]:
    if not per_request:
        return snapshot.enabled
    unions = [_union(sets) if sets else set() for sets in per_request]
    smallest = min(unions, key=len)
    return smallest.intersection(*[u for u in unions if u is not smallest])


def decide(
    snapshot: Snapshot,
    request: PlacementRequest,
    *,
    config: SchedulerConfig | None = None,
    seed: int = 0,
    exhaustive: bool = False,
) -> Decision:
    config = config or SchedulerConfig()
    per_request = [_request_sets(snapshot, pci) for pci in request.pci]
    if exhaustive:  # every enabled host gets a verdict, with all its reasons
        order: Iterator[int] = iter(sorted(snapshot.enabled))
    elif all(per_request):
        order = _walk(snapshot, per_request, seed)
    else:
        order = iter(())

    cache = MatchCache(request.pci)
    fits: list[HostFit] = []
    rejections: dict[int, Rejection] = {}
    limit = len(snapshot.hosts) if exhaustive else max(1, config.max_scored)
    examined = 0
    for hid in order:
        examined += 1
        outcome = _check(snapshot.hosts[hid], request, cache)
        if isinstance(outcome, Rejection):
            if exhaustive:
                outcome = explain_all(snapshot.hosts[hid], request, cache, outcome)
            rejections[hid] = outcome
            continue
        fits.append(outcome)
        if len(fits) >= limit:
            break

    placement = None
    ranked: list[tuple[str, float]] = []
    if fits:
        scores = score(fits, request, config, seed)
        ranking = sorted(range(len(fits)), key=lambda i: (-scores[i], fits[i].host.hid))
        best = fits[ranking[0]]
        placement = Placement(
            host=best.host.name,
            cells=best.cells,
            devices=tuple(tuple(int_to_address(a) for a in d) for d in best.devices),
            score=scores[ranking[0]],
        )
        ranked = [(fits[i].host.name, round(scores[i], 6)) for i in ranking]

    groups: Counter[str] = Counter(r.message for r in rejections.values())
    codes: Counter[str] = Counter(r.code for r in rejections.values())
    named = {snapshot.hosts[h].name: rejections[h].message for h in sorted(rejections)}
    if placement is None or exhaustive:
        walked = set(rejections) | {f.host.hid for f in fits}
        for reason, hids in _group_rejections(snapshot, request, per_request, walked):
            groups[reason.message] += len(hids)
            codes[reason.code] += len(hids)
            sample = sorted(hids) if exhaustive else heapq.nsmallest(MAX_REASON_HOSTS, hids)
            for hid in sample:
                named[snapshot.hosts[hid].name] = reason.message
    return Decision(
        placement=placement,
        rejected=named,
        groups=dict(groups),
        examined=examined,
        feasible=tuple(ranked),
        codes=dict(codes),
    )


MEMO_SIZE = 4


def _check(state: HostState, request: PlacementRequest, cache: MatchCache) -> HostFit | Rejection:
    """``check_host``, remembered per host until the host's next claim or release: servers
    of a few shapes keep asking the same hosts the same questions (an online controller
    walks about ``max_scored`` hosts per decision, most unchanged since they were asked).
    The outcome depends on the host's state and the request only, so the memo is exact."""
    if state.memo_version != state.version:
        state.memo.clear()
        state.memo_version = state.version
    for asked, answer in state.memo:
        if asked == request:
            outcome: HostFit | Rejection = answer
            return outcome
    outcome = check_host(state, request, cache)
    if len(state.memo) >= MEMO_SIZE:
        del state.memo[0]
    state.memo.append((request, outcome))
    return outcome


def _group_rejections(
    snapshot: Snapshot,
    request: PlacementRequest,
    per_request: list[list[set[int]]],
    walked: set[int],
) -> Iterator[tuple[Rejection, set[int]]]:
    """Hosts ruled out without being looked at, as groups: disabled hosts, and hosts that
    the index shows lack a device, attributed to the first request that rules them out."""
    live = {h.hid for h in snapshot}
    off = live - snapshot.enabled - walked
    disabled = {h for h in off if snapshot.hosts[h].disabled}
    if disabled:
        yield Rejection(HOST_DISABLED, "host is disabled"), disabled
    if off - disabled:
        yield Rejection(HOST_DOWN, "host is down (no heartbeat within the timeout)"), off - disabled
    remaining = snapshot.enabled - walked
    for pci, sets in zip(request.pci, per_request, strict=True):
        if not remaining:
            break
        out = remaining - _union(sets) if sets else remaining
        if out:
            yield Rejection(PCI_MISSING, f"no free {pci.describe()}"), out
            remaining = remaining - out
