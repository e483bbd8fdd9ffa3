"""Snapshot claims and releases keep pools, PF/VF rules and the index consistent."""

from __future__ import annotations

import dataclasses

import pytest

from pcinet.core.errors import DeviceUnavailable
from pcinet.core.host import Host, HostCell
from pcinet.core.pci import DeviceStatus, DevType, PciDevice, address_to_int
from pcinet.core.request import DeviceMatcher, PciRequest, RequestKind
from pcinet.scheduler import PlacementRequest, Snapshot, decide
from pcinet.scheduler.memo import CheckMemo
from pcinet.scheduler.snapshot import CellState, HostState, Pool

PF = "0000:0a:00.0"
VF0, VF1 = "0000:0a:10.0", "0000:0a:10.1"
TAGS = {"physical_network": "phy1"}


def host(**kw: object) -> Host:
    devices = (
        PciDevice(PF, "8086", "1572", DevType.PF, numa_node=0, tags=TAGS),
        PciDevice(VF0, "8086", "154c", DevType.VF, parent_address=PF, tags=TAGS),
        PciDevice(VF1, "8086", "154c", DevType.VF, parent_address=PF, tags=TAGS),
    )
    return Host("h", 8, 8192, devices=devices, **kw)  # type: ignore[arg-type]


def request(dev_type: DevType) -> PlacementRequest:
    types = (
        frozenset({dev_type}) if dev_type is DevType.PF else frozenset({DevType.VF, DevType.PCI})
    )
    m = DeviceMatcher(types, physnets=frozenset({"phy1"}))
    return PlacementRequest(1, 512, (PciRequest(RequestKind.PORT, "0", 1, (m,)),))


def test_claiming_a_vf_blocks_its_pf_and_releasing_the_last_vf_frees_it() -> None:
    snap = Snapshot([host()])
    snap.claim("h", [address_to_int(VF0)])
    assert decide(snap, request(DevType.PF)).placement is None
    assert decide(snap, request(DevType.VF)).placement is not None
    snap.claim("h", [address_to_int(VF1)])
    assert decide(snap, request(DevType.VF)).placement is None
    snap.release("h", [address_to_int(VF0)])
    assert decide(snap, request(DevType.PF)).placement is None  # VF1 still held
    snap.release("h", [address_to_int(VF1)])
    snap.release("h", [address_to_int(VF1)])  # idempotent
    assert decide(snap, request(DevType.PF)).placement is not None


def test_claiming_the_pf_makes_its_vfs_unavailable_and_removes_the_host_from_the_index() -> None:
    snap = Snapshot([host()])
    snap.claim("h", [address_to_int(PF)])
    assert decide(snap, request(DevType.VF)).placement is None
    assert all(0 not in hosts for hosts in snap.index.values())


@pytest.mark.parametrize(
    "addresses",
    [[PF, VF0], [VF0, VF0], ["0000:0b:00.0"]],
    ids=["pf-and-its-vf", "twice", "unknown"],
)
def test_bad_claims_change_nothing(addresses: list[str]) -> None:
    snap = Snapshot([host()])
    with pytest.raises(DeviceUnavailable):
        snap.claim("h", [address_to_int(a) for a in addresses], vcpus=1)
    assert snap.hosts[0].vcpus == 8
    assert decide(snap, request(DevType.PF)).placement is not None


def test_reported_allocations_and_disabled_hosts() -> None:
    allocated = host().devices[1].with_status(DeviceStatus.ALLOCATED)
    h = host()
    snap = Snapshot([Host("h", 8, 8192, devices=(h.devices[0], allocated, h.devices[2]))])
    assert decide(snap, request(DevType.PF)).placement is None
    snap.set_disabled("h", True)
    decision = decide(snap, request(DevType.VF))
    assert decision.placement is None
    assert decision.rejected == {"h": "host is disabled"}


def test_same_snapshot_request_and_seed_give_the_same_decision() -> None:
    snap = Snapshot(Host(f"h{i}", 8, 8192, devices=host().devices) for i in range(40))
    first = [decide(snap, request(DevType.VF), seed=s).placement for s in range(10)]
    again = [decide(snap, request(DevType.VF), seed=s).placement for s in range(10)]
    assert first == again
    assert len({p.host for p in first if p}) > 1  # the seed does spread the choice


def test_a_remembered_check_is_forgotten_by_the_next_claim_or_release() -> None:
    """The caller's memo remembers each host's answer per request; a claim or release must
    make it ask again (same request object each time, so only the host's version can tell)."""
    snap = Snapshot([host()])
    memo = CheckMemo()
    vf_request = request(DevType.VF)
    first = decide(snap, vf_request, memo=memo).placement
    assert first is not None and first.devices == ((VF0,),)
    assert decide(snap, vf_request, memo=memo).placement == first  # remembered, still true
    snap.claim("h", [address_to_int(VF0)])
    second = decide(snap, vf_request, memo=memo).placement
    assert second is not None and second.devices == ((VF1,),)
    snap.claim("h", [address_to_int(VF1)])
    assert decide(snap, vf_request, memo=memo).placement is None
    snap.release("h", [address_to_int(VF0)])
    again = decide(snap, vf_request, memo=memo).placement
    assert again is not None and again.devices == ((VF0,),)
    # an equal request built anew gets the remembered answer, and the same one
    assert decide(snap, request(DevType.VF), memo=memo).placement == again


def test_a_re_reported_host_is_asked_again_although_its_version_starts_over() -> None:
    snap = Snapshot([host()])
    memo = CheckMemo()
    vf_request = request(DevType.VF)
    assert decide(snap, vf_request, memo=memo).placement is not None
    full = host().devices[0], *(d.with_status(DeviceStatus.ALLOCATED) for d in host().devices[1:])
    snap.add_host(Host("h", 8, 8192, devices=full))  # a new state at version 0 again
    assert snap.hosts[0].version == 0
    assert decide(snap, vf_request, memo=memo).placement is None


def test_decide_never_mutates_the_snapshot_with_or_without_a_memo() -> None:
    """Regression: ``decide`` wrote a per-host memo into the snapshot's host states."""
    snap = Snapshot(Host(f"h{i}", 8, 8192, devices=host().devices) for i in range(8))
    snap.set_disabled("h3", True)
    before = repr((snap.hosts, snap.index, snap.enabled, snap.disabled, snap.down))
    memo = CheckMemo()
    for seed in range(5):
        decide(snap, request(DevType.VF), seed=seed)
        decide(snap, request(DevType.VF), seed=seed, memo=memo)
        decide(snap, request(DevType.PF), seed=seed, exhaustive=True)
        decide(snap, PlacementRequest(99, 1), seed=seed, memo=memo)
    assert repr((snap.hosts, snap.index, snap.enabled, snap.disabled, snap.down)) == before
    assert len(memo) > 0


# HostState fields ``add_host`` builds and nothing changes afterwards: a copy shares them.
NEVER_CHANGED = {"slots", "pf_pool", "vf_pools", "held_vfs"}


def _mutables(value: object, out: dict[int, object]) -> dict[int, object]:
    """Every mutable object reachable from ``value`` (less the fields a copy may share)."""
    if isinstance(value, list | dict | set):
        out[id(value)] = value
        items = value.items() if isinstance(value, dict) else ((None, v) for v in value)
        for k, v in items:
            _mutables(k, out)
            _mutables(v, out)
    elif isinstance(value, tuple | frozenset):
        for v in value:
            _mutables(v, out)
    elif isinstance(value, HostState | Pool | CellState):
        out[id(value)] = value
        for f in dataclasses.fields(value):
            if f.name not in NEVER_CHANGED:
                _mutables(getattr(value, f.name), out)
    elif isinstance(value, Snapshot):
        for v in vars(value).values():
            _mutables(v, out)
    return out


def test_a_copy_shares_nothing_a_claim_changes_and_covers_every_attribute() -> None:
    cells = (HostCell(0, 4, 4096), HostCell(1, 4, 4096))
    snap = Snapshot(Host(f"h{i}", 8, 8192, cells=cells, devices=host().devices) for i in range(4))
    snap.set_disabled("h3", True)
    snap.set_down("h2", True)
    before = repr(vars(snap))
    twin = snap.copy()
    assert vars(twin).keys() == vars(snap).keys()  # an attribute copy() forgot is missing
    assert repr(vars(twin)) == before
    shared = _mutables(snap, {}).keys() & _mutables(twin, {}).keys()
    assert not shared, [type(_mutables(snap, {})[i]) for i in shared]
    twin.claim("h0", [address_to_int(VF0)], vcpus=2, memory_mb=1024, cells=[(1, 2, 1024)])
    twin.release("h0", [address_to_int(VF1)])
    twin.set_disabled("h1", True)
    twin.set_down("h2", False)
    twin.remove_host("h3")
    twin.add_host(Host("h4", 8, 8192, devices=host().devices))
    assert repr(vars(snap)) == before
    assert decide(snap, request(DevType.PF)).placement is not None
    assert decide(twin, request(DevType.PF)).placement is not None
    assert twin.hosts[0].vcpus == 6 and snap.hosts[0].vcpus == 8
