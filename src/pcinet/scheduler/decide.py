"""Snapshot in, decision out.

1. **Pre-filter by index.** For every PCI request, the hosts with at least one usable
   device under one of its coarse keys (physnet and type, or vendor/product and type);
   the candidates are the intersection. Hosts left out are rejected *as groups*
   ("9,412 hosts: no free VF on physnet phy3") without being looked at one by one, from
   the index sets' sizes (``refusals``).
2. **Walk.** Candidates in a seeded pseudo-random order (a start and a stride co-prime to
   their number: cheap, and every candidate is visited once), each through the checks of
   ``filters``. Online, the walk stops after ``max_scored`` feasible hosts; in exhaustive
   mode (``pcinet plan``) every host gets a verdict.
3. **Score** the feasible hosts with the weighers and take the best.

``decide`` reads the snapshot and never changes it (a ``CheckMemo``, when the caller keeps
one, remembers per-host answers outside it); the same snapshot, request, config and seed
give the same decision.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from itertools import chain, combinations
from math import gcd

from pcinet.core.errors import NoValidHost
from pcinet.core.pci import address_to_int, int_to_address
from pcinet.core.request import PciRequest
from pcinet.scheduler.budget import DECISION_STEPS, DecisionBudget
from pcinet.scheduler.computecut import ComputeCut, compute_cut
from pcinet.scheduler.filters import (
    HostFit,
    MatchCache,
    PlacementRequest,
    Rejection,
    check_host,
    explain_all,
)
from pcinet.scheduler.memo import CheckMemo
from pcinet.scheduler.refusals import cut_refusals, index_refusals, union
from pcinet.scheduler.snapshot import IndexKey, Snapshot
from pcinet.scheduler.weighers import SchedulerConfig, score

# Hosts a NoValidHost names online (the API's ``no_valid_host.hosts``); every rejected
# host is counted in its groups and ``hosts_total``.
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
    walk looked at, plus a bounded sample of the hosts ruled out by the index).
    ``reasons`` counts every rejected host by (reason code, message), largest group first;
    ``groups`` (by message) and ``codes`` (by code) are views of it."""

    placement: Placement | None
    rejected: Mapping[str, str]
    groups: Mapping[str, int]
    examined: int
    feasible: tuple[tuple[str, float], ...] = ()
    codes: Mapping[str, int] = field(default_factory=dict)
    reasons: tuple[tuple[str, str, int], ...] = ()

    @property
    def rejected_total(self) -> int:
        return sum(n for _, _, n in self.reasons)

    def no_valid_host(self, *, limit: int | None = MAX_REASON_HOSTS) -> NoValidHost:
        """The error for a refusal, naming at most ``limit`` hosts (None: every host in
        ``rejected``); ``hosts_total`` says how many hosts were rejected in all."""
        parts = [f"{n} host{'s' if n != 1 else ''}: {message}" for _, message, n in self.reasons]
        message = "No valid host was found. " + ("; ".join(parts) if parts else "no hosts")
        items = self.rejected.items()
        sample = dict(items if limit is None else list(items)[:limit])
        return NoValidHost(
            message,
            hosts=sample,
            groups=self.groups,
            reasons=self.reasons,
            hosts_total=self.rejected_total,
        )


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


def _live_keys(snapshot: Snapshot, pci: PciRequest) -> list[IndexKey]:
    """The index keys of ``pci`` that some enabled host is under: a host must be under one
    of them to serve ``pci``."""
    return [k for k in dict.fromkeys(request_keys(pci)) if snapshot.index.get(k)]


def _stride(n: int, rng: random.Random) -> tuple[int, int]:
    start = rng.randrange(n)
    stride = 1
    if n > 2:
        stride = rng.randrange(1, n)
        while gcd(stride, n) != 1:
            stride = stride + 1 if stride + 1 < n else 1
    return start, stride


def _walk(
    snapshot: Snapshot, per_request: list[list[set[int]]], cut: ComputeCut, seed: int
) -> Iterator[int]:
    """Candidates (less the hosts ``cut`` rules out) in a seeded order that depends only on
    the seed and the candidate set.

    When candidates are a large share of the cloud, probe the host-id space in a stride
    permutation with membership tests: finding ``k`` candidates then costs about
    ``k * hosts / candidates`` probes, whatever the cloud's size. Otherwise (or after a
    bounded number of probes) materialise and sort the intersection.
    """
    rng = random.Random(seed)
    total = len(snapshot.hosts)
    enabled = snapshot.enabled
    upper = min((sum(len(x) for x in sets) for sets in per_request), default=len(enabled))
    upper = min(upper, len(enabled) - cut.count)
    excluded = cut.hosts()
    seen: set[int] = set()
    if total and upper * SAMPLE_SHARE >= total:
        start, stride = _stride(total, rng)
        probes = min(total, MAX_PROBES)
        for i in range(probes):
            hid = (start + i * stride) % total
            if (
                hid in enabled
                and hid not in excluded
                and all(any(hid in x for x in sets) for sets in per_request)
            ):
                seen.add(hid)
                yield hid
            elif i >= MIN_PROBES and len(seen) * SAMPLE_SHARE * 2 < i:
                # far sparser than the bound promised (requests that rarely share a
                # host): the exact intersection is cheaper than probing on
                probes = 0
                break
        if probes == total:
            return
    candidates = sorted(_intersection(snapshot, per_request) - seen - excluded)
    if candidates:
        start, stride = _stride(len(candidates), rng)
        for i in range(len(candidates)):
            yield candidates[(start + i * stride) % len(candidates)]


def _disjoint(snapshot: Snapshot, per_keys: list[list[IndexKey]]) -> bool:
    """Whether two requests, each served under one index key, have no host in common (from
    the index's pair counts): then nothing can be a candidate, and probing is wasted."""
    singles = [keys[0] for keys in per_keys if len(keys) == 1]
    return any(snapshot.pair_count(a, b) == 0 for a, b in combinations(singles, 2))


def _intersection(snapshot: Snapshot, per_request: list[list[set[int]]]) -> set[int]:
    if not per_request:
        return snapshot.enabled
    """The hosts under some key of every request (the index's own set, not a copy, when
    there is one request under one key: read it, never change it)."""
    unions = [union(sets) for sets in per_request]
    if len(unions) == 1:
        return unions[0]
    smallest = min(unions, key=len)
    return smallest.intersection(*[u for u in unions if u is not smallest])


def claim_placement(
    snapshot: Snapshot, request: PlacementRequest, placement: Placement
) -> tuple[tuple[int, int, int], ...]:
    """Take on ``snapshot`` what ``placement`` gives ``request``: its devices, its vCPUs and
    memory, and each guest cell's share of its host cell (see ``Snapshot.claim``); return
    those shares, (host cell id, vcpus, memory)."""
    cells = tuple(
        (cell, guest.vcpus, guest.memory_mb)
        for cell, guest in zip(placement.cells, request.guest_cells, strict=True)
    )
    snapshot.claim(
        placement.host,
        placement.packed_devices(),
        vcpus=request.vcpus,
        memory_mb=request.memory_mb,
        cells=cells,
    )
    return cells


def decide(
    snapshot: Snapshot,
    request: PlacementRequest,
    *,
    config: SchedulerConfig | None = None,
    seed: int = 0,
    exhaustive: bool = False,
    memo: CheckMemo | None = None,
) -> Decision:
    """Place ``request`` on one host of ``snapshot``, or say why no host fits.

    ``memo``, kept by the caller across decisions on the same snapshot, remembers per-host
    answers until the host changes; the decision is the same with or without it.
    """
    config = config or SchedulerConfig()
    per_keys = [_live_keys(snapshot, pci) for pci in request.pci]
    per_request = [[snapshot.index[k] for k in keys] for keys in per_keys]
    # Online, hosts too small for the request are ruled out from the compute index, each
    # with the reason ``check_host`` would give, and only the others are walked.
    cut = ComputeCut() if exhaustive else compute_cut(snapshot, request)
    reachable = all(per_request) and not _disjoint(snapshot, per_keys)
    if exhaustive:  # every enabled host gets a verdict, with all its reasons
        order: Iterator[int] = iter(sorted(snapshot.enabled))
    elif reachable and cut.count < len(snapshot.enabled):
        order = _walk(snapshot, per_request, cut, seed)
    else:
        order = iter(())

    check = memo.check if memo is not None else check_host
    cache = MatchCache(request.pci, budget=DecisionBudget(None if exhaustive else DECISION_STEPS))
    fits: list[HostFit] = []
    rejections: dict[int, Rejection] = {}
    limit = len(snapshot.hosts) if exhaustive else max(1, config.max_scored)
    examined = 0
    for hid in order:
        examined += 1
        outcome = check(snapshot.hosts[hid], request, cache)
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

    counts: Counter[tuple[str, str]] = Counter((r.code, r.message) for r in rejections.values())
    named = {snapshot.hosts[h].name: rejections[h].message for h in sorted(rejections)}
    if placement is None or exhaustive:
        groups_out = index_refusals(
            snapshot, request.pci, per_request, per_keys, exhaustive=exhaustive
        )
        if reachable and cut.count:  # the candidates the cut ruled out
            # one request under one key is counted from the index's counts, no PCI from the
            # cut's own sets: neither needs the candidates as a set
            counted = len(per_keys) == 1 and len(per_keys[0]) == 1
            candidates = None
            if request.pci and not counted:
                candidates = _intersection(snapshot, per_request)
            groups_out = chain(
                groups_out, cut_refusals(snapshot, cut, request, per_keys, candidates)
            )
        for group in groups_out:
            counts[group.reason.code, group.reason.message] += group.count
            for hid in group.sample:
                named[snapshot.hosts[hid].name] = group.reason.message
    reasons = tuple(
        (code, message, n)
        for (code, message), n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    )
    groups: Counter[str] = Counter()
    codes: Counter[str] = Counter()
    for code, message, n in reasons:
        groups[message] += n
        codes[code] += n
    return Decision(
        placement=placement,
        rejected=named,
        groups=dict(groups),
        examined=examined,
        feasible=tuple(ranked),
        codes=dict(codes),
        reasons=reasons,
    )
