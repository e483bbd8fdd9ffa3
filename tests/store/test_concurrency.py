"""Racing claims from threads, each with its own connection: the database, not a lock in this
process, decides the winners (on PostgreSQL the claims really run in parallel)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy.orm import Session, sessionmaker

from pcinet.scheduler.snapshot import Snapshot
from pcinet.store import claims, hosts
from pcinet.store.errors import ConcurrentUpdate
from pcinet.store.host_records import HostRecord
from pcinet.store.uow import UnitOfWork
from tests.store.helpers import PF, VFS, add_host, counts, read_host, server

WORKERS = 8


def test_claims_on_one_seen_generation_have_exactly_one_winner(
    sessions: sessionmaker[Session],
) -> None:
    host = add_host(sessions, "h1")
    addresses = [PF, *VFS][:WORKERS]  # distinct devices: only the generation conflicts
    barrier = threading.Barrier(len(addresses))

    def attempt(address: str) -> bool:
        barrier.wait()
        try:
            with UnitOfWork(sessions) as session:
                claims.claim(
                    session,
                    host_id=host.id,
                    seen_generation=host.generation,
                    server=server(address),
                    devices=[(host.device_ids[address], 0)],
                    vcpus=1,
                )
        except ConcurrentUpdate:
            return False
        return True

    with ThreadPoolExecutor(len(addresses)) as pool:
        results = list(pool.map(attempt, addresses))
    assert results.count(True) == 1
    after = read_host(sessions, "h1")
    assert (after.generation, after.vcpus_used, len(after.allocations)) == (
        host.generation + 1,
        1,
        1,
    )
    assert counts(sessions) == (1, 1)


def _first_free_vf(record: HostRecord) -> str | None:
    if PF in record.allocations:
        return None
    return next((a for a in VFS if a not in record.allocations), None)


def test_more_requests_than_vfs_exactly_as_many_winners_as_vfs(
    sessions: sessionmaker[Session],
) -> None:
    add_host(sessions, "h1")
    barrier = threading.Barrier(WORKERS)

    def place(i: int) -> str | None:
        """Refresh, pick, claim; retry a lost race on fresh state, a bounded number of times."""
        barrier.wait()
        for _ in range(50):
            with UnitOfWork(sessions, readonly=True) as session:
                record = hosts.get_host(session, "h1")
            assert record is not None
            address = _first_free_vf(record)
            if address is None:
                return None  # no valid host
            try:
                with UnitOfWork(sessions) as session:
                    claims.claim(
                        session,
                        host_id=record.id,
                        seen_generation=record.generation,
                        server=server(f"vm{i}"),
                        devices=[(record.device_ids[address], 0)],
                        vcpus=2,
                    )
            except ConcurrentUpdate:
                continue
            return address
        raise AssertionError("no decision after 50 attempts")

    with ThreadPoolExecutor(WORKERS) as pool:
        won = [a for a in pool.map(place, range(WORKERS)) if a is not None]
    assert sorted(won) == VFS  # each VF won exactly once
    after = read_host(sessions, "h1")
    assert sorted(after.allocations) == VFS
    assert len(set(after.allocations.values())) == len(VFS)
    assert after.vcpus_used == 2 * len(VFS)
    assert after.generation == len(VFS)
    assert counts(sessions) == (len(VFS), len(VFS))


def test_incremental_refresh_under_concurrent_claims_misses_nothing(
    sessions: sessionmaker[Session],
) -> None:
    """Writers claim while a replica refreshes incrementally; at the end, one more refresh
    makes the replica equal to a snapshot loaded from scratch."""
    names = [f"h{i}" for i in range(6)]
    for name in names:
        add_host(sessions, name)
    replica, since = Snapshot(), 0
    done = threading.Event()

    def refresh() -> None:
        nonlocal since
        with UnitOfWork(sessions, readonly=True) as session:
            records, since = claims.changed_hosts(session, since)
        for record in records:
            replica.add_host(record.to_host())

    def write(worker: int) -> None:
        for i in range(12):
            name = names[(worker + i) % len(names)]
            for _ in range(50):
                with UnitOfWork(sessions, readonly=True) as session:
                    record = hosts.get_host(session, name)
                assert record is not None
                free = [a for a in VFS if a not in record.allocations]
                try:
                    with UnitOfWork(sessions) as session:
                        if free and PF not in record.allocations:
                            claims.claim(
                                session,
                                host_id=record.id,
                                seen_generation=record.generation,
                                server=server(f"w{worker}-{i}"),
                                devices=[(record.device_ids[free[0]], 0)],
                            )
                        else:
                            claims.release(session, next(iter(record.allocations.values())))
                    break
                except ConcurrentUpdate:
                    continue

    def read() -> None:
        while not done.is_set():
            refresh()

    reader = threading.Thread(target=read)
    reader.start()
    with ThreadPoolExecutor(3) as pool:
        list(pool.map(write, range(3)))
    done.set()
    reader.join()
    refresh()
    with UnitOfWork(sessions, readonly=True) as session:
        fresh = Snapshot(r.to_host() for r in claims.changed_hosts(session, 0)[0])
    assert _state(replica) == _state(fresh)


def _state(snapshot: Snapshot) -> dict[str, object]:
    return {h.name: sorted((p.members, p.free_mask, p.blocked) for p in h.pools) for h in snapshot}
