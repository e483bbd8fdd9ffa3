"""The change feed: a replica's snapshot refreshed incrementally equals one built afresh."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from pcinet.core.pci import address_to_int
from pcinet.scheduler.snapshot import Snapshot
from pcinet.store import claims, hosts
from pcinet.store.host_records import HostRecord
from pcinet.store.models import utcnow
from pcinet.store.uow import UnitOfWork
from tests.store.helpers import GPU, VFS, add_host, server


def _changed(sessions: sessionmaker[Session], since: int) -> tuple[list[HostRecord], int]:
    with UnitOfWork(sessions, readonly=True) as session:
        return claims.changed_hosts(session, since)


def _claim(sessions: sessionmaker[Session], name: str, address: str) -> int:
    """Claim one device on a host; its new generation."""
    with UnitOfWork(sessions, readonly=True) as session:
        host = hosts.get_host(session, name)
    assert host is not None
    with UnitOfWork(sessions) as session:
        return claims.claim(
            session,
            host_id=host.id,
            seen_generation=host.generation,
            server=server(),
            devices=[(host.device_ids[address], 0)],
            vcpus=1,
        )


def _names(records: list[HostRecord]) -> list[str]:
    return [r.name for r in records]


def test_changed_hosts_returns_only_what_changed_since(sessions: sessionmaker[Session]) -> None:
    assert _changed(sessions, 0)[0] == []
    for name in ("h2", "h1", "h3"):
        add_host(sessions, name)
    records, horizon = _changed(sessions, 0)
    assert _names(records) == ["h1", "h2", "h3"]
    assert _changed(sessions, horizon)[0] == []

    generation = _claim(sessions, "h2", VFS[0])
    records, horizon2 = _changed(sessions, horizon)
    assert _names(records) == ["h2"]
    assert records[0].generation == generation
    assert records[0].change_seq > horizon
    assert dict(records[0].allocations).keys() == {VFS[0]}

    with UnitOfWork(sessions) as session:  # heartbeats are not changes
        assert hosts.heartbeat(session, "h1")
        assert not hosts.heartbeat(session, "nope")
    assert _changed(sessions, horizon2)[0] == []

    with UnitOfWork(sessions) as session:
        assert hosts.set_disabled(session, "h3", True)
    records, horizon3 = _changed(sessions, horizon2)
    assert [(r.name, r.disabled, r.to_host().disabled) for r in records] == [("h3", True, True)]
    assert _changed(sessions, horizon3)[0] == []


def test_known_generations_are_left_out(sessions: sessionmaker[Session]) -> None:
    """A replica that applied its own claim to its snapshot need not reload that host."""
    for name in ("h1", "h2"):
        add_host(sessions, name)
    horizon = _changed(sessions, 0)[1]
    generation = _claim(sessions, "h1", GPU)
    _claim(sessions, "h2", GPU)
    with UnitOfWork(sessions, readonly=True) as session:
        records, _ = claims.changed_hosts(session, horizon, known={"h1": generation})
        assert _names(records) == ["h2"]
        records, _ = claims.changed_hosts(session, horizon, known={"h1": generation - 1})
        assert _names(records) == ["h1", "h2"]
        everything = {"h1": generation, "h2": records[1].generation}
        assert claims.changed_hosts(session, horizon, known=everything)[0] == []


def test_heartbeats_and_staleness(sessions: sessionmaker[Session]) -> None:
    before = utcnow()
    record = add_host(sessions, "h1")  # a report counts as a heartbeat
    assert record.heartbeat_at is not None and record.heartbeat_at >= before
    assert not record.is_stale(record.heartbeat_at + timedelta(seconds=119), 120)
    assert record.is_stale(record.heartbeat_at + timedelta(seconds=121), 120)
    assert record.to_host(stale=True).down and not record.to_host(stale=True).disabled
    with UnitOfWork(sessions, readonly=True) as session:
        assert hosts.heartbeats(session) == {"h1": record.heartbeat_at}
        assert hosts.heartbeats(session, since=record.heartbeat_at) == {}


def _state(snapshot: Snapshot) -> dict[str, object]:
    return {
        h.name: (
            h.vcpus,
            h.memory_mb,
            [(c.id, c.vcpus, c.memory_mb) for c in h.cells],
            sorted((p.members, p.free_mask, p.blocked) for p in h.pools),
            h.disabled,
        )
        for h in snapshot
    }


def test_incremental_refresh_equals_a_fresh_snapshot(sessions: sessionmaker[Session]) -> None:
    for name in ("h1", "h2"):
        add_host(sessions, name)
    replica = Snapshot()
    records, seq = _changed(sessions, 0)
    for record in records:
        replica.add_host(record.to_host())

    _claim(sessions, "h1", VFS[1])
    _claim(sessions, "h2", GPU)
    add_host(sessions, "h3")
    with UnitOfWork(sessions) as session:
        holder = hosts.get_host(session, "h2")
        assert holder is not None
        released = claims.release(session, holder.allocations[GPU])
    assert released is not None

    records, seq = _changed(sessions, seq)
    assert _names(records) == ["h1", "h2", "h3"]
    for record in records:
        replica.add_host(record.to_host())
    fresh = Snapshot(r.to_host() for r in _changed(sessions, 0)[0])
    assert _state(replica) == _state(fresh)
    h1 = replica.get("h1")
    assert h1 is not None and h1.vcpus == 31
    pool_of_vf = next(p for p in h1.pools if address_to_int(VFS[1]) in p.members)
    assert pool_of_vf.usable() == len(VFS) - 1
