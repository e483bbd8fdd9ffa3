"""Claims: taking a host's devices and compute for a server, atomically, by compare-and-swap.

The scheduler decides on a snapshot whose host was at generation ``seen``. ``claim`` then
1. bumps the host's generation ``WHERE generation = :seen`` (one row or ConcurrentUpdate),
   which also locks the host row until commit, so claims on one host serialise;
2. inserts the server row;
3. inserts the allocations with one ``INSERT ... SELECT`` that re-checks every device in SQL:
   on this host, not held, its PF not held, none of its VFs held, its PF not in the same
   claim. A device that fails (or a unique violation) is ConcurrentUpdate: the caller's view
   was stale; it refreshes the host and decides again, a bounded number of times.
Everything happens in the caller's unit of work; an exception leaves nothing written.
The hot path uses Core statements compiled once per shape.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from pcinet.store.changes import current_seq, touch
from pcinet.store.errors import ConcurrentUpdate
from pcinet.store.hosts import HostRecord, load_hosts
from pcinet.store.models import (
    ID,
    JSON,
    UtcDateTime,
    allocation_table,
    device_table,
    host_table,
    new_id,
    server_table,
    utcnow,
)

HOST, ALLOC, DEV, SRV = host_table, allocation_table, device_table, server_table
CellUse = tuple[int, int, int]  # (host cell id, vcpus, memory_mb), as Snapshot.claim takes


@dataclass(frozen=True, slots=True)
class NewServer:
    """The server row a claim creates (its host, usage and cells come from the claim)."""

    project_id: str
    name: str
    flavor: Mapping[str, Any]
    status: str = "ACTIVE"
    id: str = field(default_factory=new_id)


@dataclass(frozen=True, slots=True)
class Released:
    """What ``release`` gave back, in the terms ``Snapshot.release`` takes."""

    server_id: str
    host_id: str
    host_name: str
    generation: int
    addresses: tuple[str, ...]
    vcpus: int
    memory_mb: int
    cells: tuple[CellUse, ...]


def _cas(with_cells: bool) -> sa.Update:
    values: dict[str, Any] = {
        "generation": HOST.c.generation + 1,
        "vcpus_used": HOST.c.vcpus_used + sa.bindparam("p_vcpus", type_=sa.Integer),
        "memory_used_mb": HOST.c.memory_used_mb + sa.bindparam("p_memory", type_=sa.Integer),
        "updated_at": sa.bindparam("p_now", type_=UtcDateTime()),
    }
    if with_cells:
        values["cells_used"] = sa.bindparam("p_cells", type_=JSON)
    return (
        sa.update(HOST)
        .where(HOST.c.id == sa.bindparam("p_host"), HOST.c.generation == sa.bindparam("p_seen"))
        .values(values)
    )


_CAS = _cas(with_cells=False)
_CAS_CELLS = _cas(with_cells=True)
_READ_HOST = sa.select(HOST.c.name, HOST.c.generation, HOST.c.cells_used).where(
    HOST.c.id == sa.bindparam("p_host")
)


@lru_cache(maxsize=64)
def _insert_allocations(count: int) -> sa.Insert:
    """``INSERT INTO allocations SELECT ...`` for ``count`` devices (params d0.., r0..)."""
    d, p, c, q = DEV.alias("d"), DEV.alias("p"), DEV.alias("c"), DEV.alias("q")
    a, pa, ca = ALLOC.alias("a"), ALLOC.alias("pa"), ALLOC.alias("ca")
    ids = [sa.bindparam(f"d{i}", type_=ID) for i in range(count)]
    index = sa.case(
        *((d.c.id == ids[i], sa.bindparam(f"r{i}", type_=sa.Integer)) for i in range(count))
    )
    parent_held = sa.exists(
        sa.select(1)
        .select_from(p.join(pa, pa.c.device_id == p.c.id))
        .where(p.c.host_id == d.c.host_id, p.c.address == d.c.parent_address)
    )
    child_held = sa.exists(
        sa.select(1)
        .select_from(c.join(ca, ca.c.device_id == c.c.id))
        .where(c.c.host_id == d.c.host_id, c.c.parent_address == d.c.address)
    )
    parent_claimed = sa.exists(
        sa.select(1).where(
            q.c.id.in_(ids), q.c.host_id == d.c.host_id, q.c.address == d.c.parent_address
        )
    )
    rows = sa.select(
        d.c.id,
        d.c.host_id,
        sa.bindparam("p_server", type_=ID),
        index,
        sa.bindparam("p_now", type_=UtcDateTime()),
    ).where(
        d.c.id.in_(ids),
        d.c.host_id == sa.bindparam("p_host"),
        ~sa.exists(sa.select(1).where(a.c.device_id == d.c.id)),
        ~parent_held,
        ~child_held,
        ~parent_claimed,
    )
    columns = ["device_id", "host_id", "server_id", "request_index", "created_at"]
    # The DBAPI's rowcount of an INSERT is only kept when asked for.
    return sa.insert(ALLOC).from_select(columns, rows).execution_options(preserve_rowcount=True)


def _add_cells(used: Mapping[str, Any], cells: Sequence[CellUse], sign: int) -> dict[str, Any]:
    out = {k: dict(v) for k, v in used.items()}
    for cell_id, vcpus, memory in cells:
        entry = out.setdefault(str(cell_id), {"vcpus": 0, "memory_mb": 0})
        entry["vcpus"] += sign * vcpus
        entry["memory_mb"] += sign * memory
        if entry == {"vcpus": 0, "memory_mb": 0}:
            del out[str(cell_id)]
    return out


def claim(
    session: Session,
    *,
    host_id: str,
    seen_generation: int,
    server: NewServer,
    devices: Sequence[tuple[str, int]] = (),
    vcpus: int = 0,
    memory_mb: int = 0,
    cells: Sequence[CellUse] = (),
) -> int:
    """Claim ``devices`` (device id, index of the PCI request it serves) and compute on a host
    for a new server; return the host's new generation. ConcurrentUpdate (nothing usable
    written; the unit of work rolls back) if the host is no longer at ``seen_generation`` or
    a device is not free in the database. See the module docstring for what is re-checked."""
    conn = session.connection()
    now = utcnow()
    params: dict[str, Any] = {
        "p_host": host_id,
        "p_seen": seen_generation,
        "p_vcpus": vcpus,
        "p_memory": memory_mb,
        "p_now": now,
    }
    if cells:
        host = conn.execute(_READ_HOST, params).one_or_none()
        if host is None or host.generation != seen_generation:
            raise _stale(host_id, seen_generation, None if host is None else host.generation)
        params["p_cells"] = _add_cells(host.cells_used, cells, +1)
        updated = conn.execute(_CAS_CELLS, params).rowcount
    else:
        updated = conn.execute(_CAS, params).rowcount
    if updated != 1:
        raise _stale(host_id, seen_generation, None)
    touch(session, host_id)
    conn.execute(
        sa.insert(SRV),
        {
            "id": server.id,
            "project_id": server.project_id,
            "name": server.name,
            "host_id": host_id,
            "status": server.status,
            "vcpus": vcpus,
            "memory_mb": memory_mb,
            "flavor": dict(server.flavor),
            "cells": [{"host_cell": c, "vcpus": v, "memory_mb": m} for c, v, m in cells],
            "created_at": now,
        },
    )
    if devices:
        params["p_server"] = server.id
        for i, (device_id, request_index) in enumerate(devices):
            params[f"d{i}"] = device_id
            params[f"r{i}"] = request_index
        try:
            inserted = conn.execute(_insert_allocations(len(devices)), params).rowcount
        except sa.exc.IntegrityError as exc:
            raise ConcurrentUpdate(f"host {host_id}: a device of the claim is taken") from exc
        if inserted != len(devices):  # a duplicate id also lands here
            raise _devices_taken(session, host_id, server.id, [d for d, _ in devices])
    return seen_generation + 1


def _stale(host_id: str, seen: int, now_at: int | None) -> ConcurrentUpdate:
    where = "no longer exists" if now_at is None else f"is at generation {now_at}"
    return ConcurrentUpdate(
        f"host {host_id} changed since generation {seen} (it {where}); refresh and retry"
    )


def _devices_taken(
    session: Session, host_id: str, server_id: str, wanted: list[str]
) -> ConcurrentUpdate:
    got = set(
        session.connection()
        .execute(sa.select(ALLOC.c.device_id).where(ALLOC.c.server_id == server_id))
        .scalars()
    )
    missing = [d for d in dict.fromkeys(wanted) if d not in got] or wanted
    rows = session.connection().execute(
        sa.select(DEV.c.id, DEV.c.address).where(DEV.c.id.in_(missing))
    )
    names = {r.id: r.address for r in rows}
    words = ", ".join(names.get(d, f"unknown device {d}") for d in missing)
    return ConcurrentUpdate(
        f"host {host_id}: {words} not free in the database (held, PF/VF conflict, "
        "or not on this host); refresh and retry"
    )


def release(session: Session, server_id: str) -> Released | None:
    """Give back everything a server holds: its allocations, vcpus, memory and cells.

    Idempotent: a server that holds nothing (already released, never placed, or unknown)
    gives None and changes nothing. Not a compare-and-swap: it always succeeds, bumping the
    host's generation. The server row stays, with ``host_id`` NULL.
    """
    conn = session.connection()
    srv = conn.execute(
        sa.select(SRV.c.host_id, SRV.c.vcpus, SRV.c.memory_mb, SRV.c.cells)
        .where(SRV.c.id == server_id)
        .with_for_update()
    ).one_or_none()
    if srv is None or srv.host_id is None:
        return None
    host = conn.execute(
        sa.select(HOST.c.cells_used).where(HOST.c.id == srv.host_id).with_for_update()
    ).one()
    cells = tuple((c["host_cell"], c["vcpus"], c["memory_mb"]) for c in srv.cells)
    addresses = tuple(
        conn.execute(
            sa.select(DEV.c.address)
            .join(ALLOC, ALLOC.c.device_id == DEV.c.id)
            .where(ALLOC.c.server_id == server_id)
            .order_by(DEV.c.address)
        ).scalars()
    )
    conn.execute(sa.delete(ALLOC).where(ALLOC.c.server_id == server_id))
    name, generation = conn.execute(
        sa.update(HOST)
        .where(HOST.c.id == srv.host_id)
        .values(
            generation=HOST.c.generation + 1,
            vcpus_used=HOST.c.vcpus_used - srv.vcpus,
            memory_used_mb=HOST.c.memory_used_mb - srv.memory_mb,
            cells_used=_add_cells(host.cells_used, cells, -1),
            updated_at=utcnow(),
        )
        .returning(HOST.c.name, HOST.c.generation)
    ).one()
    conn.execute(sa.update(SRV).where(SRV.c.id == server_id).values(host_id=None))
    touch(session, srv.host_id)
    return Released(
        server_id, srv.host_id, name, generation, addresses, srv.vcpus, srv.memory_mb, cells
    )


def changed_hosts(session: Session, since_seq: int) -> tuple[list[HostRecord], int]:
    """The hosts changed after ``since_seq`` (every host for 0), by name, with devices,
    allocations and usage; and the sequence number to pass next time (see ``store.changes``).

    Call it in ``UnitOfWork(readonly=True)`` to read one consistent snapshot, then feed
    ``Snapshot.add_host(record.to_host(stale=record.is_stale(now, timeout)))``. When nothing
    changed it costs one single-row query.
    """
    seq = current_seq(session)
    if seq <= since_seq:
        return [], seq
    return load_hosts(session, HOST.c.change_seq > since_seq), seq
