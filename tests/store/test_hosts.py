"""Inventory reports: device ids and allocations survive re-reports; held devices stay."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy.orm import Session, sessionmaker

from pcinet.core.errors import InvalidDevice
from pcinet.core.pci import PciDevice
from pcinet.store import claims, hosts
from pcinet.store.errors import DeviceInUse
from pcinet.store.uow import UnitOfWork
from tests.store.helpers import GPU, PF, VFS, add_host, default_devices, gpu, pf, read_host, vf
from tests.store.helpers import server as new_server


def _report(sessions: sessionmaker[Session], devices: list[PciDevice], vcpus: int = 32) -> None:
    with UnitOfWork(sessions) as session:
        hosts.upsert_host(
            session,
            "h1",
            vcpus=vcpus,
            memory_mb=65536,
            devices=devices,
            device_spec=[{"vendor_id": "8086"}],
        )


def test_first_report_creates_the_host(sessions: sessionmaker[Session]) -> None:
    record = add_host(sessions, "h1")
    assert (record.name, record.vcpus, record.generation, record.disabled) == ("h1", 32, 0, False)
    assert [d.address for d in record.devices] == sorted([PF, *VFS, GPU])
    assert record.device_ids.keys() == {PF, *VFS, GPU}
    assert [c.id for c in record.numa_cells] == [0, 1]
    assert record.created_at.tzinfo is not None
    with UnitOfWork(sessions, readonly=True) as session:
        assert [h.name for h in hosts.list_hosts(session)] == ["h1"]
        assert hosts.get_host(session, "nope") is None


def test_re_report_keeps_ids_and_allocations(sessions: sessionmaker[Session]) -> None:
    host = add_host(sessions, "h1")
    new = new_server()
    with UnitOfWork(sessions) as session:
        claims.claim(
            session,
            host_id=host.id,
            seen_generation=host.generation,
            server=new,
            devices=[(host.device_ids[VFS[0]], 0)],
            vcpus=4,
        )
    retagged = [pf(), vf(VFS[0]), vf(VFS[1], physnet="phy9"), gpu(), gpu("0000:03:00.0")]
    _report(sessions, retagged, vcpus=48)
    after = read_host(sessions, "h1")
    assert after.id == host.id
    assert after.generation == host.generation + 2
    assert (after.vcpus, after.vcpus_used) == (48, 4)
    assert after.device_ids[VFS[0]] == host.device_ids[VFS[0]]
    assert dict(after.allocations) == {VFS[0]: new.id}
    by_address = {d.address: d for d in after.devices}
    assert set(by_address) == {PF, VFS[0], VFS[1], GPU, "0000:03:00.0"}
    assert by_address[VFS[1]].tags["physical_network"] == "phy9"  # a free VF may change
    assert after.device_spec == [{"vendor_id": "8086"}]


def test_re_report_cannot_drop_an_allocated_device(sessions: sessionmaker[Session]) -> None:
    host = add_host(sessions, "h1")
    with UnitOfWork(sessions) as session:
        claims.claim(
            session,
            host_id=host.id,
            seen_generation=host.generation,
            server=new_server(),
            devices=[(host.device_ids[GPU], 0)],
        )
    with pytest.raises(DeviceInUse, match=GPU) as info:
        _report(sessions, [d for d in default_devices() if d.address != GPU])
    assert info.value.code == "device_in_use"
    assert read_host(sessions, "h1").device_ids.keys() == {PF, *VFS, GPU}


def _vf0(**fields: object) -> PciDevice:
    """VFS[0] as ``vf`` builds it, with ``fields`` replaced."""
    base = vf(VFS[0])
    data = {
        "address": base.address,
        "vendor_id": base.vendor_id,
        "product_id": base.product_id,
        "dev_type": base.dev_type.value,
        "parent_address": base.parent_address,
        "numa_node": base.numa_node,
        "tags": dict(base.tags),
    }
    return PciDevice.from_dict({**data, **fields})


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda: vf(VFS[0], physnet="phy2"), "tag physical_network 'phy1' -> 'phy2'"),
        (lambda: _vf0(tags={"physical_network": "phy1", "trusted": "true"}), "tag trusted"),
        (lambda: vf(VFS[0], parent="0000:3b:00.1"), "parent_address"),
        (lambda: gpu(VFS[0]), "dev_type"),
    ],
)
def test_regression_re_report_cannot_change_what_a_held_device_is(
    sessions: sessionmaker[Session], change: Callable[[], PciDevice], words: str
) -> None:
    """A VF held by a server was silently re-tagged phy2 while its port's binding said phy1
    (issue 9): tags, type and parent of a held device are fixed until it is released."""
    host = add_host(sessions, "h1")
    held = new_server()
    with UnitOfWork(sessions) as session:
        claims.claim(
            session,
            host_id=host.id,
            seen_generation=host.generation,
            server=held,
            devices=[(host.device_ids[VFS[0]], 0)],
        )
    before = read_host(sessions, "h1")
    devices = [change() if d.address == VFS[0] else d for d in default_devices()]
    with pytest.raises(DeviceInUse, match=VFS[0]) as info:
        _report(sessions, devices)
    assert held.id in str(info.value) and words in str(info.value)
    after = read_host(sessions, "h1")
    assert after.generation == before.generation
    assert {d.address: d for d in after.devices}[VFS[0]].tags["physical_network"] == "phy1"
    # the NUMA node may change under a held device, and a released one may be anything
    moved = [_vf0(numa_node=1) if d.address == VFS[0] else d for d in default_devices()]
    _report(sessions, moved)
    with UnitOfWork(sessions) as session:
        claims.release(session, held.id)
    _report(sessions, devices)


def test_set_disabled_bumps_the_generation(sessions: sessionmaker[Session]) -> None:
    host = add_host(sessions, "h1")
    with UnitOfWork(sessions) as session:
        assert hosts.set_disabled(session, "h1", True)
        assert not hosts.set_disabled(session, "nope", True)
    after = read_host(sessions, "h1")
    assert (after.disabled, after.generation) == (True, host.generation + 1)


def test_a_report_listing_an_address_twice_is_refused(sessions: sessionmaker[Session]) -> None:
    with pytest.raises(InvalidDevice, match="listed twice"):
        _report(sessions, [gpu(), gpu()])
    with UnitOfWork(sessions, readonly=True) as session:
        assert hosts.list_hosts(session) == []
