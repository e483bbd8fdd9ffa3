"""Racing claims from threads, each with its own connection: the database, not a lock in this
process, decides the winners (on PostgreSQL the claims really run in parallel)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy.orm import Session, sessionmaker

from pcinet.store import claims, hosts
from pcinet.store.errors import ConcurrentUpdate
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


def _first_free_vf(record: hosts.HostRecord) -> str | None:
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
