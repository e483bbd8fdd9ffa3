"""Refusals counted from the index agree with a host-by-host count, name a bounded sample
online, and are keyed by reason code."""

from __future__ import annotations

import contextlib
import random
from collections import Counter

import pytest

from pcinet.core.errors import DeviceUnavailable
from pcinet.core.host import Host
from pcinet.core.pci import DevType, PciDevice
from pcinet.core.request import DeviceMatcher, PciRequest, RequestKind
from pcinet.scheduler import PlacementRequest, Snapshot, decide
from pcinet.scheduler.decide import MAX_REASON_HOSTS, request_keys
from pcinet.scheduler.refusals import GROUP_SAMPLE

PHYSNETS = ("phy1", "phy2", "phy3")


def nic(physnet: str, bus: int, vfs: int) -> list[PciDevice]:
    pf = f"0000:{bus:02x}:00.0"
    tags = {"physical_network": physnet}
    out = [PciDevice(pf, "8086", "1572", DevType.PF, numa_node=0, tags=tags)]
    out += [
        PciDevice(f"0000:{bus:02x}:10.{f}", "8086", "154c", DevType.VF, pf, 0, tags=tags)
        for f in range(vfs)
    ]
    return out


def port(*physnets: str) -> PciRequest:
    m = DeviceMatcher(frozenset({DevType.VF, DevType.PCI}), physnets=frozenset(physnets))
    return PciRequest(RequestKind.PORT, "0", 1, (m,))


def random_cloud(rng: random.Random, n: int) -> Snapshot:
    snap = Snapshot()
    for i in range(n):
        nets = rng.sample(PHYSNETS, rng.randint(0, 2))
        devices = [d for k, p in enumerate(nets) for d in nic(p, 0x10 + k, rng.randint(0, 2))]
        snap.add_host(Host(f"h{i}", rng.choice((1, 8)), 8192, devices=tuple(devices)))
        if rng.random() < 0.1:
            snap.set_disabled(f"h{i}", True)
        elif rng.random() < 0.1:
            snap.set_down(f"h{i}", True)
    return snap


def by_hand(snap: Snapshot, req: PlacementRequest) -> dict[str, str | None]:
    """Each live host's first index reason (disabled, down, a PCI request, then vCPUs),
    looked at one by one; None: walked."""
    out: dict[str, str | None] = {}
    for h in snap:
        out[h.name] = None
        if h.disabled:
            out[h.name] = "host is disabled"
        elif h.down:
            out[h.name] = "host is down (no heartbeat within the timeout)"
        else:
            for pci in req.pci:
                if not any(h.hid in snap.index.get(k, ()) for k in request_keys(pci)):
                    out[h.name] = f"no free {pci.describe()}"
                    break
            else:
                if h.vcpus < req.vcpus:
                    out[h.name] = f"not enough free vCPUs: {req.vcpus} needed, {h.vcpus} free"
    return out


@pytest.mark.parametrize("seed", range(16))
def test_refusal_counts_from_the_index_equal_a_host_by_host_count(seed: int) -> None:
    rng = random.Random(seed)
    snap = random_cloud(rng, rng.randint(1, GROUP_SAMPLE))  # small: every host is named
    pcis = [port(*rng.sample(PHYSNETS, rng.randint(1, 2))) for _ in range(rng.randint(1, 3))]
    req = PlacementRequest(rng.choice((2, 16)), 512, tuple(pcis))
    decision = decide(snap, req, seed=seed)
    if decision.placement is not None:
        return
    expected = by_hand(snap, req)
    assert decision.rejected_total == len(snap) == len(decision.rejected)
    assert decision.examined == sum(1 for reason in expected.values() if reason is None)
    for name, reason in expected.items():
        if reason is not None:
            assert decision.rejected[name] == reason, name
    counts = Counter(decision.rejected.values())
    assert {msg: n for _, msg, n in decision.reasons} == dict(counts)


def test_online_refusal_counts_every_host_and_names_a_bounded_sample() -> None:
    """Regression: groups are counted without a pass over the hosts, and the API's sample
    of hosts is bounded (and says how many hosts there were in all)."""
    hosts = [Host(f"h{i:03d}", 8, 8192, devices=tuple(nic("phy1", 0x10, 1))) for i in range(300)]
    snap = Snapshot(hosts)
    for i in range(0, 20):
        snap.set_disabled(f"h{i:03d}", True)
    decision = decide(snap, PlacementRequest(1, 512, (port("phy2"),)))
    assert decision.placement is None and decision.examined == 0
    assert decision.reasons == (
        ("pci.missing", "no free VF on physnet phy2", 280),
        ("host.disabled", "host is disabled", 20),
    )
    assert len(decision.rejected) <= 2 * GROUP_SAMPLE
    error = decision.no_valid_host().to_dict()
    assert len(error["hosts"]) == MAX_REASON_HOSTS  # type: ignore[arg-type]
    assert error["hosts_total"] == 300
    assert error["reasons"][0] == {  # type: ignore[index]
        "code": "pci.missing",
        "message": "no free VF on physnet phy2",
        "count": 280,
    }
    assert error["groups"] == {"no free VF on physnet phy2": 280, "host is disabled": 20}


def test_exhaustive_refusal_names_every_host() -> None:
    hosts = [Host(f"h{i:03d}", 8, 8192, devices=tuple(nic("phy1", 0x10, 1))) for i in range(120)]
    snap = Snapshot(hosts)
    snap.set_down("h000", True)
    decision = decide(snap, PlacementRequest(1, 512, (port("phy2"),)), exhaustive=True)
    error = decision.no_valid_host(limit=None)
    assert len(error.hosts) == error.hosts_total == 120
    assert error.hosts["h000"].startswith("host is down")


def test_groups_are_keyed_by_reason_code_not_message_text() -> None:
    """Regression: two reasons with the same words but different codes stay apart."""
    snap = Snapshot([Host("a", 8, 8192), Host("b", 8, 8192)])
    snap.set_disabled("a", True)
    decision = decide(snap, PlacementRequest(1, 512))
    assert decision.placement is not None
    snap.set_down("b", True)
    refused = decide(snap, PlacementRequest(1, 512))
    assert {code for code, _, _ in refused.reasons} == {"host.disabled", "host.down"}
    assert refused.codes == {"host.disabled": 1, "host.down": 1}


def test_pair_counts_follow_claims_releases_and_host_changes() -> None:
    """The index's pair counts equal the set intersections they stand for, throughout."""
    rng = random.Random(7)
    snap = random_cloud(rng, 40)
    for step in range(200):
        h = snap.hosts[rng.randrange(len(snap.hosts))]
        free = [a for a, (i, bit) in h.slots.items() if h.pools[i].free_mask >> bit & 1]
        action = rng.random()
        if action < 0.4 and free and not h.disabled:
            with contextlib.suppress(DeviceUnavailable):  # blocked by the PF/VF rules
                snap.claim(h.name, [rng.choice(free)])
        elif action < 0.7:
            snap.release(h.name, list(h.slots))
        elif action < 0.8:
            snap.set_disabled(h.name, not h.disabled)
        elif action < 0.9:
            snap.set_down(h.name, not h.down)
        else:
            devices = tuple(nic(rng.choice(PHYSNETS), 0x20, 2))
            snap.add_host(Host(h.name, 8, 8192, devices=devices))  # re-reported
        if step % 20 == 0:
            keys = list(snap.index)
            for a in keys:
                for b in keys:
                    assert snap.pair_count(a, b) == len(snap.index[a] & snap.index[b])
    assert snap.pairs  # the cloud did have hosts under two keys
