"""``placements.place``: claim, port attachments and VF states, all or nothing, on both
backends (one statement on PostgreSQL, run without a transaction; steps on SQLite)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from pcinet.core.network import NetworkType, Segment
from pcinet.core.pci import DeviceStatus
from pcinet.store import networks, ports
from pcinet.store.claims import NewServer
from pcinet.store.direct import DirectUnit
from pcinet.store.errors import ConcurrentUpdate, PortInUse
from pcinet.store.host_records import HostRecord
from pcinet.store.models import VfState, allocation_table
from pcinet.store.placements import (
    PlacementWrite,
    PortAttach,
    VfDesired,
    place,
    single_statement,
)
from pcinet.store.uow import UnitOfWork
from tests.store.helpers import PF, VFS, add_host, counts, pf, read_host, vf


def _port(sessions: sessionmaker[Session], mac: str) -> str:
    with UnitOfWork(sessions) as session:
        rows = networks.list_networks(session, name="net1")
        if rows:
            net = rows[0]
        else:
            net = networks.add_network(
                session,
                name="net1",
                project_id="p1",
                segments=[Segment(NetworkType.VLAN, "phy1", 100)],
            )
        return ports.add_port(
            session, project_id="p1", network_id=net.id, mac_address=mac, vnic_type="direct"
        ).id


def _place(
    engine: Engine,
    host: HostRecord,
    addresses: list[str],
    port_ids: list[str],
    *,
    seen: int | None = None,
) -> int:
    devices = [(host.device_ids[a], i) for i, a in enumerate(addresses)]
    alone = single_statement(engine.dialect.name, devices)
    with DirectUnit(engine, autocommit=alone) as conn:
        return place(
            conn,
            PlacementWrite(
                host_id=host.id,
                seen_generation=host.generation if seen is None else seen,
                server=NewServer(project_id="p1", name="vm", flavor={"vcpus": 1}, status="BUILD"),
                devices=devices,
                vcpus=1,
                memory_mb=512,
                cells=[(0, 1, 512)],
                ports=[
                    PortAttach(
                        p, {"binding_host_id": host.name, "pci_address": a, "status": "BUILD"}
                    )
                    for p, a in zip(port_ids, addresses, strict=True)
                ],
                vfs=[
                    VfDesired(a, p, {"vlan": 100, "mac": "fa:16:3e:00:00:01"})
                    for p, a in zip(port_ids, addresses, strict=True)
                ],
            ),
        )


def _written(sessions: sessionmaker[Session]) -> tuple[int, int, int, int]:
    """(servers, allocations, attached ports, VF states)."""
    n_servers, n_allocs = counts(sessions)
    with UnitOfWork(sessions, readonly=True) as session:
        attached = len([p for p in ports.list_ports(session) if p.device_id is not None])
        vfs = session.scalar(sa.select(sa.func.count()).select_from(VfState)) or 0
    return n_servers, n_allocs, attached, vfs


def test_place_writes_everything_and_bumps_the_generation(
    engine: Engine, sessions: sessionmaker[Session]
) -> None:
    host = add_host(sessions, "h1")
    port = _port(sessions, "fa:16:3e:00:00:01")
    generation = _place(engine, host, [VFS[0]], [port])
    assert generation == host.generation + 1
    assert _written(sessions) == (1, 1, 1, 1)
    after = read_host(sessions, "h1")
    assert (after.generation, after.vcpus_used, after.memory_used_mb) == (generation, 1, 512)
    assert after.cells_used[0] == (1, 512)
    with UnitOfWork(sessions, readonly=True) as session:
        [row] = ports.list_ports(session)
        assert (row.binding_host_id, row.pci_address, row.status) == ("h1", VFS[0], "BUILD")
        state = session.get(VfState, (host.id, VFS[0]))
        assert state is not None and (state.action, state.desired["vlan"]) == ("apply", 100)


def test_a_stale_generation_writes_nothing(engine: Engine, sessions: sessionmaker[Session]) -> None:
    host = add_host(sessions, "h1")
    port = _port(sessions, "fa:16:3e:00:00:01")
    with pytest.raises(ConcurrentUpdate, match="changed since generation"):
        _place(engine, host, [VFS[0]], [port], seen=host.generation - 1)
    assert _written(sessions) == (0, 0, 0, 0)
    assert read_host(sessions, "h1").generation == host.generation


def test_a_port_taken_meanwhile_undoes_the_whole_placement(
    engine: Engine, sessions: sessionmaker[Session]
) -> None:
    host = add_host(sessions, "h1")
    port = _port(sessions, "fa:16:3e:00:00:01")
    _place(engine, host, [VFS[0]], [port])
    fresh = read_host(sessions, "h1")  # right generation; the port is attached though
    with pytest.raises(PortInUse):
        _place(engine, fresh, [VFS[1]], [port])
    assert _written(sessions) == (1, 1, 1, 1)  # only the first placement
    assert read_host(sessions, "h1").generation == fresh.generation


def test_a_device_held_in_the_database_undoes_the_whole_placement(
    engine: Engine, sessions: sessionmaker[Session]
) -> None:
    host = add_host(sessions, "h1")
    first = _port(sessions, "fa:16:3e:00:00:01")
    second = _port(sessions, "fa:16:3e:00:00:02")
    _place(engine, host, [VFS[0]], [first])
    fresh = read_host(sessions, "h1")
    # Right generation, but the PF of a held VF: refused by the re-check in SQL.
    with pytest.raises(ConcurrentUpdate, match="not free in the database"):
        _place(engine, fresh, [PF], [second])
    assert _written(sessions) == (1, 1, 1, 1)
    with UnitOfWork(sessions, readonly=True) as session:
        held = session.scalars(sa.select(allocation_table.c.device_id)).all()
    assert held == [host.device_ids[VFS[0]]]


def test_a_device_the_host_reports_in_use_undoes_the_whole_placement(
    engine: Engine, sessions: sessionmaker[Session]
) -> None:
    devices = [pf(), vf(VFS[0]).with_status(DeviceStatus.ALLOCATED), vf(VFS[1])]
    host = add_host(sessions, "h1", devices)
    port = _port(sessions, "fa:16:3e:00:00:01")
    with pytest.raises(ConcurrentUpdate, match="not free in the database"):
        _place(engine, host, [VFS[0]], [port])
    assert _written(sessions) == (0, 0, 0, 0)
    _place(engine, host, [VFS[1]], [port])
    assert _written(sessions) == (1, 1, 1, 1)


def test_a_port_is_deleted_only_while_no_server_uses_it(
    engine: Engine, sessions: sessionmaker[Session]
) -> None:
    """The condition is in the DELETE itself: a caller that saw the port free a moment ago
    cannot delete it from under a placement that took it since."""
    host = add_host(sessions, "h1")
    port = _port(sessions, "fa:16:3e:00:00:01")
    _place(engine, host, [VFS[0]], [port])
    with pytest.raises(PortInUse, match="is used by server"), UnitOfWork(sessions) as session:
        ports.delete_port(session, port)
    assert _written(sessions) == (1, 1, 1, 1)
    with UnitOfWork(sessions) as session:
        assert not ports.delete_port(session, "no-such-port")
