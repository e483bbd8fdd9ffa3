"""Claims by compare-and-swap, release, and what the database refuses by itself."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from pcinet.core.pci import DeviceStatus
from pcinet.store import claims
from pcinet.store.errors import ConcurrentUpdate
from pcinet.store.host_records import HostRecord
from pcinet.store.models import Allocation, Server, utcnow
from pcinet.store.uow import UnitOfWork
from tests.store.helpers import (
    GPU,
    PF,
    VFS,
    add_host,
    counts,
    default_devices,
    read_host,
    server,
)


def _claim(
    sessions: sessionmaker[Session],
    host: HostRecord,
    addresses: list[str],
    *,
    seen: int | None = None,
    name: str = "vm",
    cells: tuple[tuple[int, int, int], ...] = (),
) -> str:
    new = server(name)
    with UnitOfWork(sessions) as session:
        claims.claim(
            session,
            host_id=host.id,
            seen_generation=host.generation if seen is None else seen,
            server=new,
            devices=[(host.device_ids[a], i) for i, a in enumerate(addresses)],
            vcpus=2,
            memory_mb=2048,
            cells=cells,
        )
    return new.id


def test_claim_writes_allocations_usage_and_bumps_the_generation(
    sessions: sessionmaker[Session],
) -> None:
    host = add_host(sessions, "h1")
    server_id = _claim(sessions, host, [VFS[0], GPU], cells=((0, 2, 2048),))
    after = read_host(sessions, "h1")
    assert after.generation == host.generation + 1
    assert (after.vcpus_used, after.memory_used_mb) == (2, 2048)
    assert dict(after.cells_used) == {0: (2, 2048)}
    assert dict(after.allocations) == {VFS[0]: server_id, GPU: server_id}
    status = {d.address: d.status for d in after.devices}
    assert status[VFS[0]] is DeviceStatus.ALLOCATED
    assert status[VFS[1]] is DeviceStatus.AVAILABLE
    free = after.to_host()
    assert (free.vcpus, free.memory_mb) == (30, 65536 - 2048)
    assert [(c.id, c.vcpus) for c in free.cells] == [(0, 14), (1, 16)]
    with UnitOfWork(sessions, readonly=True) as session:
        row = session.get(Server, server_id)
        assert row is not None
        assert (row.host_id, row.cells) == (
            host.id,
            [{"host_cell": 0, "vcpus": 2, "memory_mb": 2048}],
        )


def test_second_claim_on_the_same_generation_loses_and_writes_nothing(
    sessions: sessionmaker[Session],
) -> None:
    host = add_host(sessions, "h1")
    _claim(sessions, host, [VFS[0]], name="first")
    with pytest.raises(ConcurrentUpdate) as info:
        _claim(sessions, host, [VFS[1]], name="second", cells=((0, 2, 2048),))
    assert info.value.code == "concurrent_update"
    after = read_host(sessions, "h1")
    assert after.generation == host.generation + 1
    assert (after.vcpus_used, dict(after.cells_used)) == (2, {})
    assert dict(after.allocations).keys() == {VFS[0]}
    assert counts(sessions) == (1, 1)


@pytest.mark.parametrize(
    ("held", "wanted"),
    [
        ([VFS[0]], [VFS[0]]),  # the device itself
        ([VFS[0]], [PF]),  # a VF of the PF
        ([PF], [VFS[1]]),  # the PF of the VF
        ([], [PF, VFS[1]]),  # a PF and its VF in one claim
        ([], [VFS[2], VFS[2]]),  # the same device twice
    ],
)
def test_claim_rechecks_devices_in_the_database(
    sessions: sessionmaker[Session], held: list[str], wanted: list[str]
) -> None:
    host = add_host(sessions, "h1")
    if held:
        _claim(sessions, host, held, name="holder")
    fresh = read_host(sessions, "h1")  # right generation, but a stale idea of the devices
    before = counts(sessions)
    with pytest.raises(ConcurrentUpdate, match="not free in the database"):
        _claim(sessions, fresh, wanted)
    assert counts(sessions) == before
    assert read_host(sessions, "h1").generation == fresh.generation


def test_claim_refuses_a_device_of_another_host(sessions: sessionmaker[Session]) -> None:
    h1, h2 = add_host(sessions, "h1"), add_host(sessions, "h2")
    with pytest.raises(ConcurrentUpdate), UnitOfWork(sessions) as session:
        claims.claim(
            session,
            host_id=h1.id,
            seen_generation=h1.generation,
            server=server(),
            devices=[(h2.device_ids[GPU], 0)],
        )
    assert counts(sessions) == (0, 0)


def test_the_database_holds_a_device_for_one_consumer_only(
    sessions: sessionmaker[Session],
) -> None:
    host = add_host(sessions, "h1")
    first = _claim(sessions, host, [GPU])
    with pytest.raises(sa.exc.IntegrityError), UnitOfWork(sessions) as session:
        session.add(
            Server(
                id="other",
                project_id="p",
                name="x",
                status="ACTIVE",
                vcpus=1,
                memory_mb=1,
                flavor={},
                host_id=host.id,
            )
        )
        session.add(
            Allocation(
                device_id=host.device_ids[GPU],
                host_id=host.id,
                server_id="other",
                request_index=0,
                created_at=utcnow(),
            )
        )
    assert dict(read_host(sessions, "h1").allocations) == {GPU: first}


def test_release_gives_everything_back_and_is_idempotent(
    sessions: sessionmaker[Session],
) -> None:
    host = add_host(sessions, "h1")
    server_id = _claim(sessions, host, [VFS[0], VFS[1]], cells=((1, 2, 2048),))
    with UnitOfWork(sessions) as session:
        released = claims.release(session, server_id)
    assert released is not None
    assert released.addresses == (VFS[0], VFS[1])
    assert (released.host_name, released.vcpus, released.cells) == ("h1", 2, ((1, 2, 2048),))
    after = read_host(sessions, "h1")
    assert released.generation == after.generation == host.generation + 2
    assert (after.vcpus_used, after.memory_used_mb, dict(after.cells_used)) == (0, 0, {})
    assert not after.allocations
    for _ in range(2):
        with UnitOfWork(sessions) as session:
            assert claims.release(session, server_id) is None
            assert claims.release(session, "no-such-server") is None
    assert read_host(sessions, "h1").generation == after.generation
    assert counts(sessions) == (1, 0)  # the server row stays, holding nothing
    _claim(sessions, after, [PF])  # the PF is free again


def test_a_server_holding_devices_cannot_be_deleted(sessions: sessionmaker[Session]) -> None:
    host = add_host(sessions, "h1")
    server_id = _claim(sessions, host, [GPU])
    with pytest.raises(sa.exc.IntegrityError), UnitOfWork(sessions) as session:
        session.execute(sa.delete(Server).where(Server.id == server_id))
    assert counts(sessions) == (1, 1)


def test_unit_of_work_rolls_back_everything_on_error(sessions: sessionmaker[Session]) -> None:
    host = add_host(sessions, "h1")
    with UnitOfWork(sessions, readonly=True) as session:
        horizon = claims.changed_hosts(session, 0)[1]
    with pytest.raises(RuntimeError, match="boom"), UnitOfWork(sessions) as session:
        claims.claim(
            session,
            host_id=host.id,
            seen_generation=host.generation,
            server=server(),
            devices=[(host.device_ids[GPU], 0)],
            vcpus=4,
        )
        raise RuntimeError("boom")
    assert counts(sessions) == (0, 0)
    after = read_host(sessions, "h1")
    assert (after.generation, after.vcpus_used, after.change_seq) == (
        host.generation,
        0,
        host.change_seq,
    )
    with UnitOfWork(sessions, readonly=True) as session:
        assert claims.changed_hosts(session, horizon)[0] == []


def test_cell_usage_adds_up_across_claims_and_releases(sessions: sessionmaker[Session]) -> None:
    host = add_host(sessions, "h1")
    first = _claim(sessions, host, [VFS[0]], cells=((0, 2, 1024), (0, 2, 1024)))
    host = read_host(sessions, "h1")
    second = _claim(sessions, host, [VFS[1]], name="b", cells=((0, 1, 512), (1, 3, 256)))
    assert dict(read_host(sessions, "h1").cells_used) == {0: (5, 2560), 1: (3, 256)}
    with UnitOfWork(sessions) as session:
        released = claims.release(session, first)
    assert released is not None and released.cells == ((0, 2, 1024), (0, 2, 1024))
    assert dict(read_host(sessions, "h1").cells_used) == {0: (1, 512), 1: (3, 256)}
    with UnitOfWork(sessions) as session:
        claims.release(session, second)
    after = read_host(sessions, "h1")
    assert dict(after.cells_used) == {}
    assert [(c.id, c.vcpus, c.memory_mb) for c in after.free_cells()] == [
        (0, 16, 32768),
        (1, 16, 32768),
    ]


def test_claim_on_a_host_that_does_not_exist(sessions: sessionmaker[Session]) -> None:
    with pytest.raises(ConcurrentUpdate, match="no longer exists"), UnitOfWork(sessions) as s:
        claims.claim(s, host_id="gone", seen_generation=0, server=server())
    assert counts(sessions) == (0, 0)


def test_claim_refuses_a_device_the_host_reports_in_use(
    sessions: sessionmaker[Session],
) -> None:
    """Even at the right generation: the device's reported status is re-checked in SQL."""
    held = [
        d.with_status(DeviceStatus.ALLOCATED) if d.address == VFS[0] else d
        for d in default_devices()
    ]
    host = add_host(sessions, "h1", held)
    assert host.reported_allocated == {VFS[0]}
    with pytest.raises(ConcurrentUpdate, match=f"{VFS[0]} not free in the database"):
        _claim(sessions, host, [VFS[0]])
    assert counts(sessions) == (0, 0)
    _claim(sessions, host, [VFS[1]])
