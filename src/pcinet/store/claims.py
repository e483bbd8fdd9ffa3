"""Claims: taking a host's devices and compute for a server, atomically, by compare-and-swap.

The scheduler decides on a snapshot whose host was at generation ``seen``. ``claim`` then
1. updates the host ``WHERE generation = :seen`` (one row, or ConcurrentUpdate): bumps the
   generation, adds the vcpus, memory and NUMA cell usage in SQL, stamps the change feed.
   The row lock it takes is held to commit, so claims on one host serialise;
2. inserts the server row and
3. the allocations, with an ``INSERT ... SELECT`` that re-checks every device in SQL: on this
   host, not held, its PF not held, none of its VFs held, its PF not in the same claim.
   A device that fails (or a unique violation) is ConcurrentUpdate: the caller's view was
   stale; it refreshes the host and decides again, a bounded number of times.
What the host reports in use outside pcinet (``store.hosts``) changes only with a report,
which bumps the generation, so step 1 refuses a claim decided before it; step 3 re-checks
the device's own reported status too (its PF's or VFs', and the unselected devices, rest on
step 1).
On PostgreSQL, 2 and 3 are one statement, so a claim transaction is four round trips
(BEGIN, UPDATE, INSERT, COMMIT). Everything happens in the caller's unit of work; an
exception leaves nothing written. Core statements, compiled once per shape.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from pcinet.store.cellsql import CellUse, add_cells, cell_params
from pcinet.store.changes import changed_values, probe
from pcinet.store.errors import ConcurrentUpdate
from pcinet.store.host_records import HostRecord, load_hosts
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
from pcinet.store.uow import Conn, Executor, connection_of

HOST, ALLOC, DEV, SRV = host_table, allocation_table, device_table, server_table
REPORTED_AVAILABLE: sa.ColumnClause[str] = sa.literal_column("'available'")


@dataclass(frozen=True, slots=True)
class NewServer:
    """The server row a claim creates (its host, usage and cells come from the claim)."""

    project_id: str
    name: str
    flavor: Mapping[str, Any]
    status: str = "ACTIVE"
    description: str = ""
    id: str = field(default_factory=new_id)
    created_at: datetime = field(default_factory=utcnow)


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


@lru_cache(maxsize=64)
def update_host_usage(dialect: str, cells: int, *, cas: bool) -> sa.Update:
    """Add ``p_vcpus``/``p_memory`` and the cell deltas to a host's usage, bump its generation
    and stamp the change; with ``cas``, only ``WHERE generation = :p_seen``."""
    values: dict[str, Any] = {
        **changed_values(),
        "vcpus_used": HOST.c.vcpus_used + sa.bindparam("p_vcpus", type_=sa.Integer),
        "memory_used_mb": HOST.c.memory_used_mb + sa.bindparam("p_memory", type_=sa.Integer),
        "updated_at": sa.bindparam("p_now", type_=UtcDateTime()),
    }
    if cells:
        values["cells_used"] = add_cells(dialect, cells)
    stmt = sa.update(HOST).where(HOST.c.id == sa.bindparam("p_host", type_=ID)).values(values)
    if cas:
        return stmt.where(HOST.c.generation == sa.bindparam("p_seen", type_=sa.Integer))
    return stmt.returning(HOST.c.name, HOST.c.generation)


INSERT_SERVER = sa.insert(SRV).values(
    id=sa.bindparam("s_id", type_=ID),
    project_id=sa.bindparam("s_project"),
    name=sa.bindparam("s_name"),
    description=sa.bindparam("s_description"),
    host_id=sa.bindparam("p_host", type_=ID),
    status=sa.bindparam("s_status"),
    vcpus=sa.bindparam("p_vcpus", type_=sa.Integer),
    memory_mb=sa.bindparam("p_memory", type_=sa.Integer),
    flavor=sa.bindparam("s_flavor", type_=JSON),
    cells=sa.bindparam("s_cells", type_=JSON),
    created_at=sa.bindparam("p_now", type_=UtcDateTime()),
)


def allocation_rows(count: int) -> sa.Select[Any]:
    """``SELECT`` the allocation rows of ``count`` devices (params d0.., r0..), each re-checked
    in SQL: on this host, not held nor reported in use, its PF not held, none of its VFs
    held, its PF not in the same claim."""
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
    return sa.select(
        d.c.id,
        d.c.host_id,
        sa.bindparam("p_server", type_=ID),
        index,
        sa.bindparam("p_now", type_=UtcDateTime()),
    ).where(
        d.c.id.in_(ids),
        d.c.host_id == sa.bindparam("p_host"),
        d.c.reported_status == REPORTED_AVAILABLE,
        ~sa.exists(sa.select(1).where(a.c.device_id == d.c.id)),
        ~parent_held,
        ~child_held,
        ~parent_claimed,
    )


ALLOCATION_COLUMNS = ["device_id", "host_id", "server_id", "request_index", "created_at"]


@lru_cache(maxsize=128)
def _insert_allocations(count: int, with_server: bool) -> sa.Insert:
    """``INSERT INTO allocations SELECT ...`` for ``count`` devices (see ``allocation_rows``);
    ``with_server`` prefixes ``WITH (INSERT INTO servers ...)`` to save a round trip
    (PostgreSQL only: the foreign key is checked at the end of the whole statement)."""
    stmt = sa.insert(ALLOC).from_select(ALLOCATION_COLUMNS, allocation_rows(count))
    if with_server:
        stmt = stmt.add_cte(INSERT_SERVER.cte("new_server"))
    # The DBAPI's rowcount of an INSERT is only kept when asked for.
    return stmt.execution_options(preserve_rowcount=True)


def claim(
    session: Executor,
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
    conn = connection_of(session)
    now = server.created_at
    params: dict[str, Any] = {
        "p_host": host_id,
        "p_seen": seen_generation,
        "p_vcpus": vcpus,
        "p_memory": memory_mb,
        "p_now": now,
    }
    n_cells, deltas = cell_params(cells, +1)
    params.update(deltas)
    cas = update_host_usage(conn.dialect.name, n_cells, cas=True)
    if conn.execute(cas, params).rowcount != 1:
        raise stale_error(host_id, seen_generation, host_generation(conn, host_id))
    params.update(
        s_id=server.id,
        s_project=server.project_id,
        s_name=server.name,
        s_description=server.description,
        s_status=server.status,
        s_flavor=dict(server.flavor),
        s_cells=[{"host_cell": c, "vcpus": v, "memory_mb": m} for c, v, m in cells],
    )
    merge = bool(devices) and conn.dialect.name == "postgresql"
    if not merge:
        conn.execute(INSERT_SERVER, params)
    if devices:
        params["p_server"] = server.id
        for i, (device_id, request_index) in enumerate(devices):
            params[f"d{i}"] = device_id
            params[f"r{i}"] = request_index
        try:
            inserted = conn.execute(_insert_allocations(len(devices), merge), params).rowcount
        except sa.exc.IntegrityError as exc:
            raise ConcurrentUpdate(
                f"host {host_id}: the claim conflicts with rows written meanwhile "
                "(a device taken, or the server id exists)"
            ) from exc
        if inserted != len(devices):  # a duplicate id also lands here
            raise devices_taken(conn, host_id, server.id, [d for d, _ in devices])
    return seen_generation + 1


# Statements of the claim's error paths, built once (they may run direct: store.direct).
_HOST_GENERATION = sa.select(HOST.c.generation).where(HOST.c.id == sa.bindparam("host_id"))
_ALLOCATED_TO = sa.select(ALLOC.c.device_id).where(ALLOC.c.server_id == sa.bindparam("server_id"))


@lru_cache(maxsize=16)
def _device_addresses(count: int) -> sa.Select[Any]:
    ids = [sa.bindparam(f"id{i}", type_=ID) for i in range(count)]
    return sa.select(DEV.c.id, DEV.c.address).where(DEV.c.id.in_(ids))


def host_generation(conn: Conn, host_id: str) -> int | None:
    return conn.execute(_HOST_GENERATION, {"host_id": host_id}).scalar_one_or_none()


def stale_error(host_id: str, seen: int, now_at: int | None) -> ConcurrentUpdate:
    where = "no longer exists" if now_at is None else f"is at generation {now_at}"
    return ConcurrentUpdate(
        f"host {host_id} changed since generation {seen} (it {where}); refresh and retry"
    )


def devices_taken(conn: Conn, host_id: str, server_id: str, wanted: list[str]) -> ConcurrentUpdate:
    got = set(conn.execute(_ALLOCATED_TO, {"server_id": server_id}).scalars())
    missing = list(dict.fromkeys(d for d in wanted if d not in got)) or list(dict.fromkeys(wanted))
    rows = conn.execute(
        _device_addresses(len(missing)), {f"id{i}": d for i, d in enumerate(missing)}
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
    n_cells, deltas = cell_params(cells, -1)
    params = {"p_host": srv.host_id, "p_vcpus": -srv.vcpus, "p_memory": -srv.memory_mb}
    params.update(p_now=utcnow(), **deltas)
    stmt = update_host_usage(conn.dialect.name, n_cells, cas=False)
    name, generation = conn.execute(stmt, params).one()
    conn.execute(sa.update(SRV).where(SRV.c.id == server_id).values(host_id=None))
    return Released(
        server_id, srv.host_id, name, generation, addresses, srv.vcpus, srv.memory_mb, cells
    )


def changed_hosts(
    session: Session, since: int, known: Mapping[str, int] | None = None
) -> tuple[list[HostRecord], int]:
    """The hosts changed after horizon ``since`` (every host for 0), by name, with devices,
    allocations and usage; and the horizon to pass next time (see ``store.changes``).

    ``known`` (host name -> generation) leaves out hosts the caller already holds at their
    current generation, e.g. the ones its own claims just changed. Call it in
    ``UnitOfWork(readonly=True)`` to read one consistent snapshot, then feed
    ``Snapshot.add_host(record.to_host(stale=record.is_stale(now, timeout)))``. A host may
    come back although unchanged; feeding it again is harmless.
    """
    new_horizon, changed = probe(session, since)
    wanted = [i for i, name, gen in changed if known is None or known.get(name) != gen]
    if not wanted:
        return [], new_horizon
    if len(wanted) == len(changed):  # no id list: it may be every host of the cloud
        return load_hosts(session, HOST.c.change_seq > since), new_horizon
    return load_hosts(session, HOST.c.id.in_(wanted)), new_horizon
