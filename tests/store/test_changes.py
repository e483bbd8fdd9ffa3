"""The change feed: a replica's snapshot refreshed incrementally equals one built afresh."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from pcinet.core.pci import address_to_int
from pcinet.scheduler.snapshot import Snapshot
from pcinet.store import claims, hosts
from pcinet.store.hosts import HostRecord
from pcinet.store.models import utcnow
from pcinet.store.uow import UnitOfWork
from tests.store.helpers import GPU, VFS, add_host, server


def _changed(sessions: sessionmaker[Session], since: int) -> tuple[list[HostRecord], int]:
    with UnitOfWork(sessions, readonly=True) as session:
        return claims.changed_hosts(session, since)


def _claim(sessions: sessionmaker[Session], name: str, address: str) -> int | None:
    with UnitOfWork(sessions, readonly=True) as session:
        host = hosts.get_host(session, name)
    assert host is not None
    uow = UnitOfWork(sessions)
    with uow as session:
        claims.claim(
            session,
            host_id=host.id,
            seen_generation=host.generation,
            server=server(),
            devices=[(host.device_ids[address], 0)],
            vcpus=1,
        )
    return uow.published_seq


def test_changed_hosts_returns_only_what_changed_since(sessions: sessionmaker[Session]) -> None:
    assert _changed(sessions, 0) == ([], 0)
    for name in ("h2", "h1", "h3"):
        add_host(sessions, name)
    records, seq = _changed(sessions, 0)
    assert [r.name for r in records] == ["h1", "h2", "h3"]
    assert seq == 3
    assert _changed(sessions, seq) == ([], seq)

    published = _claim(sessions, "h2", VFS[0])
    assert published == seq + 1
    records, seq2 = _changed(sessions, seq)
    assert ([r.name for r in records], seq2) == (["h2"], published)
    assert records[0].change_seq == published
    assert dict(records[0].allocations).keys() == {VFS[0]}

    with UnitOfWork(sessions) as session:  # heartbeats are not changes
        assert hosts.heartbeat(session, "h1")
        assert not hosts.heartbeat(session, "nope")
    assert _changed(sessions, seq2) == ([], seq2)

    with UnitOfWork(sessions) as session:
        assert hosts.set_disabled(session, "h3", True)
    records, seq3 = _changed(sessions, seq2)
    assert [(r.name, r.disabled, r.to_host().disabled) for r in records] == [("h3", True, True)]
    assert seq3 == seq2 + 1


def test_heartbeats_and_staleness(sessions: sessionmaker[Session]) -> None:
    before = utcnow()
    record = add_host(sessions, "h1")  # a report counts as a heartbeat
    assert record.heartbeat_at is not None and record.heartbeat_at >= before
    assert not record.is_stale(record.heartbeat_at + timedelta(seconds=119), 120)
    assert record.is_stale(record.heartbeat_at + timedelta(seconds=121), 120)
    assert record.to_host(stale=True).disabled
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
    assert [r.name for r in records] == ["h1", "h2", "h3"]
    for record in records:
        replica.add_host(record.to_host())
    fresh = Snapshot(r.to_host() for r in _changed(sessions, 0)[0])
    assert _state(replica) == _state(fresh)
    h1 = replica.get("h1")
    assert h1 is not None and h1.vcpus == 31
    pool_of_vf = next(p for p in h1.pools if address_to_int(VFS[1]) in p.members)
    assert pool_of_vf.usable() == len(VFS) - 1
