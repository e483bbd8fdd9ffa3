"""Refusals for compute and NUMA cell sizes come from the snapshot's compute index, and equal
what a walk of every candidate host with ``check_host`` gives."""

from __future__ import annotations

import contextlib
import dataclasses
import random
from collections import Counter
from collections.abc import Callable

from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis import strategies as st

from pcinet.core.errors import DeviceUnavailable
from pcinet.core.flavor import GuestCell
from pcinet.core.host import Host, HostCell
from pcinet.core.pci import DevType, PciDevice
from pcinet.core.request import DeviceMatcher, PciRequest, RequestKind
from pcinet.scheduler import Decision, PlacementRequest, Snapshot, decide
from pcinet.scheduler.budget import SEARCH_BUDGET, DecisionBudget
from pcinet.scheduler.computecut import MAX_SHAPES
from pcinet.scheduler.decide import request_keys
from pcinet.scheduler.filters import MatchCache, Rejection, check_host
from pcinet.scheduler.refusals import GROUP_SAMPLE
from tests.scheduler.test_big_hosts_property import big_hosts, big_requests

Reason = tuple[str, str]


def walked(snap: Snapshot, req: PlacementRequest) -> tuple[bool, dict[str, Reason]]:
    """Host by host, as the walk did before the compute index: disabled, down, the first PCI
    request the host has no usable device under a key of, else ``check_host``'s answer
    (with no decision budget). Whether some host fits, and each refused host's reason."""
    fits = False
    out: dict[str, Reason] = {}
    for h in snap:
        if h.disabled:
            out[h.name] = ("host.disabled", "host is disabled")
            continue
        if h.down:
            out[h.name] = ("host.down", "host is down (no heartbeat within the timeout)")
            continue
        keys = {k for p in h.pools if p.usable() for k in p.sig.index_keys()}
        missing = [p for p in req.pci if not keys & set(request_keys(p))]
        if missing:
            out[h.name] = ("pci.missing", f"no free {missing[0].describe()}")
            continue
        outcome = check_host(h, req, MatchCache(req.pci, budget=DecisionBudget(None)))
        if isinstance(outcome, Rejection):
            out[h.name] = (outcome.code, outcome.message)
        else:
            fits = True
    return fits, out


def assert_compute_index_consistent(snap: Snapshot) -> None:
    want: dict[str, dict[object, set[int]]] = {"vcpus": {}, "memory": {}, "cells": {}}
    for h in snap:
        if h.hid in snap.enabled:
            want["vcpus"].setdefault(h.vcpus, set()).add(h.hid)
            want["memory"].setdefault(h.memory_mb, set()).add(h.hid)
            shape = tuple(sorted((c.vcpus, c.memory_mb) for c in h.cells))
            want["cells"].setdefault(shape, set()).add(h.hid)
    assert snap.by_vcpus == want["vcpus"]
    assert snap.by_memory == want["memory"]
    assert snap.by_cells == want["cells"]
    assert snap.vcpu_levels == sorted(want["vcpus"])  # type: ignore[type-var]
    assert snap.memory_levels == sorted(want["memory"])  # type: ignore[type-var]
    counts = {
        key: dict(Counter(snap.hosts[h].compute_key for h in hosts))
        for key, hosts in snap.index.items()
        if hosts
    }
    assert snap.compute_counts == counts


@st.composite
def clouds(draw: st.DrawFn) -> tuple[Snapshot, PlacementRequest]:
    """2 to 5 hosts of up to 8 NUMA cells and 16 PFs (``big_hosts``), of varied free compute,
    some of it claimed (host-wide and per cell), some hosts disabled or down; a request of
    any NUMA policy, sized so that compute and cell sizes often refuse."""
    snap = Snapshot()
    hosts = draw(st.lists(big_hosts(), min_size=2, max_size=5))
    for i, base in enumerate(hosts):
        h = dataclasses.replace(
            base,
            name=f"h{i}",
            vcpus=draw(st.sampled_from([2, 8, 16, 16])),
            memory_mb=draw(st.sampled_from([2048, 8192, 32768])),
        )
        snap.add_host(h)
        if draw(st.booleans()) and h.cells:
            cell = draw(st.sampled_from(h.cells))
            snap.claim(h.name, [], vcpus=1, memory_mb=512, cells=[(cell.id, 1, 512)])
        state = draw(st.sampled_from(["up", "up", "up", "disabled", "down"]))
        if state == "disabled":
            snap.set_disabled(h.name, True)
        elif state == "down":
            snap.set_down(h.name, True)
    req = draw(big_requests(hosts[0]))
    guest = req.guest_cells
    if draw(st.booleans()) and guest:  # cells some hosts cannot hold
        size = (draw(st.sampled_from([1, 4, 8])), draw(st.sampled_from([512, 4096, 8192])))
        guest = tuple(GuestCell(g.id, *size) for g in guest)
    pci = req.pci if draw(st.integers(0, 4)) else ()
    req = PlacementRequest(
        vcpus=draw(st.sampled_from([1, 4, 12, 16])),
        memory_mb=draw(st.sampled_from([512, 4096, 16384])),
        pci=pci,
        guest_cells=guest,
    )
    return snap, req


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=clouds())
def test_indexed_refusal_equals_the_walked_one(case: tuple[Snapshot, PlacementRequest]) -> None:
    snap, req = case
    assert_compute_index_consistent(snap)
    decision = decide(snap, req, seed=3)
    if SEARCH_BUDGET in decision.codes:  # the decision's shared budget ran out: not compared
        return
    fits, expected = walked(snap, req)
    assert (decision.placement is not None) == fits, (decision.reasons, expected)
    if decision.placement is not None:
        return
    assert Counter({(c, m): n for c, m, n in decision.reasons}) == Counter(expected.values())
    assert decision.rejected == {name: expected[name][1] for name in decision.rejected}
    assert len(decision.rejected) == len(expected)  # small clouds: every host named


def _reaches(condition: Callable[[Decision], bool]) -> None:
    find(
        clouds(),
        lambda case: condition(decide(*case, seed=3)),
        settings=settings(
            max_examples=2000, database=None, derandomize=True, phases=[Phase.generate]
        ),
    )


def test_the_generator_reaches_refusals_for_compute_and_cell_sizes_beside_pci() -> None:
    """The clouds above do produce refusals that mix reasons from the compute index with
    reasons of walked hosts, and several compute reasons at once."""

    def codes(d: Decision) -> set[str]:
        return set(d.codes) if d.placement is None else set()

    cut = {"compute.vcpus", "compute.memory", "numa.topology"}
    _reaches(lambda d: bool(codes(d) & cut) and bool(codes(d) & {"pci.numa", "pci.together"}))
    _reaches(lambda d: {"compute.vcpus", "compute.memory", "pci.missing"} <= codes(d))


def host(name: str, vcpus: int, memory_mb: int, cells: tuple[HostCell, ...] = ()) -> Host:
    pf = "0000:10:00.0"
    tags = {"physical_network": "phy1"}
    devices = (
        PciDevice(pf, "8086", "1572", DevType.PF, numa_node=0, tags=tags),
        PciDevice("0000:10:10.0", "8086", "154c", DevType.VF, pf, 0, tags=tags),
    )
    return Host(name, vcpus, memory_mb, cells=cells, devices=devices)


def vf_port() -> tuple[PciRequest, ...]:
    m = DeviceMatcher(frozenset({DevType.VF, DevType.PCI}), physnets=frozenset({"phy1"}))
    return (PciRequest(RequestKind.PORT, "0", 1, (m,)),)


def test_a_request_no_host_is_big_enough_for_looks_at_no_host() -> None:
    """Regression: a compute-only refusal walked every candidate (12 ms at 10,000 hosts)."""
    snap = Snapshot(host(f"h{i:03d}", 8 + i % 3, 8192) for i in range(300))
    decision = decide(snap, PlacementRequest(16, 512, vf_port()))
    assert decision.placement is None and decision.examined == 0
    assert decision.reasons == (
        ("compute.vcpus", "not enough free vCPUs: 16 needed, 10 free", 100),
        ("compute.vcpus", "not enough free vCPUs: 16 needed, 8 free", 100),
        ("compute.vcpus", "not enough free vCPUs: 16 needed, 9 free", 100),
    )
    assert len(decision.rejected) == 3 * GROUP_SAMPLE
    memory = decide(snap, PlacementRequest(2, 9000))
    assert memory.examined == 0
    assert memory.reasons == (
        ("compute.memory", "not enough free memory: 9000 MB needed, 8192 MB free", 300),
    )


def test_numa_cell_sizes_refuse_from_the_index_and_hosts_that_fit_are_walked() -> None:
    cells = (HostCell(0, 4, 4096), HostCell(1, 4, 4096))
    big = (HostCell(0, 8, 4096), HostCell(1, 4, 4096))
    snap = Snapshot(
        [host(f"s{i}", 16, 16384, cells) for i in range(40)] + [host("none", 16, 16384)]
    )
    guest = (GuestCell(0, 6, 1024),)
    req = PlacementRequest(6, 1024, vf_port(), guest)
    refused = decide(snap, req)
    assert refused.placement is None and refused.examined == 0
    assert refused.reasons == (
        (
            "numa.topology",
            "guest NUMA cells (6 vCPUs/1024 MB) do not fit the host's free NUMA cells",
            40,
        ),
        ("numa.topology", "the host reports no NUMA cells; the flavor asks for a NUMA topology", 1),
    )
    snap.add_host(host("s7", 16, 16384, big))  # re-reported with a bigger cell
    placed = decide(snap, req)
    assert placed.placement is not None and placed.placement.host == "s7"
    assert placed.placement.cells == (0,)
    assert placed.examined == 1


def test_a_cloud_of_many_cell_shapes_leaves_cell_sizes_to_the_walk_with_the_same_reasons() -> None:
    n = MAX_SHAPES + 20
    snap = Snapshot(
        host(f"s{i:03d}", 16, 65536, (HostCell(0, 4, 1024 + i), HostCell(1, 4, 4096)))
        for i in range(n)
    )
    assert len(snap.by_cells) == n
    req = PlacementRequest(6, 1024, vf_port(), (GuestCell(0, 6, 1024),))
    decision = decide(snap, req)
    assert decision.placement is None and decision.examined == n  # walked, as before
    assert decision.reasons == (
        (
            "numa.topology",
            "guest NUMA cells (6 vCPUs/1024 MB) do not fit the host's free NUMA cells",
            n,
        ),
    )
    fits, expected = walked(snap, req)
    assert not fits and len(expected) == n


def test_exhaustive_mode_still_names_every_host_with_all_its_reasons() -> None:
    snap = Snapshot([host("a", 2, 1024), host("b", 8, 8192)])
    decision = decide(snap, PlacementRequest(4, 4096, vf_port()), exhaustive=True)
    assert decision.rejected == {
        "a": "not enough free vCPUs: 4 needed, 2 free; "
        "not enough free memory: 4096 MB needed, 1024 MB free",
    }
    assert decision.placement is not None and decision.placement.host == "b"
    snap.set_disabled("b", True)
    refused = decide(snap, PlacementRequest(4, 4096, vf_port()), exhaustive=True)
    assert set(refused.rejected) == {"a", "b"}


def test_the_compute_index_follows_claims_releases_and_host_changes() -> None:
    rng = random.Random(5)
    cells = (HostCell(0, 8, 8192, 0), HostCell(1, 8, 8192, 1))
    snap = Snapshot(host(f"h{i}", 16, 16384, cells) for i in range(12))
    spread = 0
    for step in range(300):
        h = snap.hosts[rng.randrange(len(snap.hosts))]
        cell = rng.randrange(2)
        action = rng.random()
        if action < 0.4:
            with contextlib.suppress(DeviceUnavailable):
                snap.claim(h.name, [], vcpus=2, memory_mb=1024, cells=[(cell, 2, 1024)])
        elif action < 0.7:
            snap.release(h.name, [], vcpus=2, memory_mb=1024, cells=[(cell, 2, 1024)])
        elif action < 0.8:
            snap.set_disabled(h.name, not h.disabled)
        elif action < 0.9:
            snap.set_down(h.name, not h.down)
        elif action < 0.95:
            snap.add_host(host(h.name, rng.choice((4, 16)), 16384, cells))
        else:
            snap.remove_host(h.name)
            snap.add_host(host(h.name, 16, 16384, cells[:1]))
        if step % 10 == 0:
            assert_compute_index_consistent(snap)
        spread = max(spread, len(snap.by_vcpus), len(snap.by_cells))
    assert spread > 3  # the walk did spread the hosts over several amounts
