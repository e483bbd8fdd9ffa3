"""A whole placement written at once: the claim, the ports attached to the server, and the
desired VF states, all or nothing, in the caller's unit of work.

- PostgreSQL: ONE statement, run on its own (autocommit: see ``single_statement``), so a
  placement costs one round trip. Data-modifying CTEs: the compare-and-swap UPDATE of the
  host (``h``), the server row and the allocations (only if ``h`` matched, devices
  re-checked in SQL as in ``claims.claim``), each port's UPDATE (only if still free) and
  each VF state's upsert. The final SELECT counts what was written and, if the host
  matched but a device or a port was not written, fails the statement on purpose (a cast
  of the text ``pcinet-abort:<what>`` to integer), which undoes every CTE; the failure is
  turned into ConcurrentUpdate or PortInUse. All CTEs see the statement's snapshot; that
  is safe because every change to a host's allocations bumps its generation, so a claim
  committed after the snapshot makes ``h`` match no row (READ COMMITTED re-checks the
  updated row), and the allocations' primary key backs it up.
- SQLite: ``claims.claim`` and one UPDATE/upsert per port and VF (statements are function
  calls there, not round trips).
A mismatch raises (ConcurrentUpdate for the host or its devices, PortInUse for a port
another server took) and the caller's unit of work rolls everything back.

A port a ``direct-physical`` binding lends its PF's MAC (``MacLend``: its attach sets
``mac_address`` and ``own_mac_address``) must not clash on its network: the unique
constraint catches a port that has the MAC, and a query after the write (so in a
transaction, not autocommit: ``single_statement(..., lends)``) one that lent it away as its
own (``store.ports``); either is LentMacTaken.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from pcinet.store.cellsql import CellUse, cell_params
from pcinet.store.claims import (
    ALLOC,
    ALLOCATION_COLUMNS,
    HOST,
    SRV,
    NewServer,
    allocation_rows,
    claim,
    host_generation,
    stale_error,
    update_host_usage,
)
from pcinet.store.errors import ConcurrentUpdate, LentMacTaken, PortInUse
from pcinet.store.models import Port
from pcinet.store.ports import attach_statement, bind_port, mac_holder
from pcinet.store.uow import Conn, Executor, connection_of
from pcinet.store.vf_states import VF_COLUMNS, VF_TABLE, apply_on_conflict, set_desired

ABORT_DEVICES = "pcinet-abort:devices"
ABORT_PORT = "pcinet-abort:port"
PORTS = cast(sa.Table, Port.__table__)
VF = VF_TABLE


@dataclass(frozen=True, slots=True)
class PortAttach:
    """Attach port ``port_id`` to the server, setting ``values`` (ports columns: the binding
    fields, ``status``)."""

    port_id: str
    values: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class MacLend:
    """Port ``port_id`` of network ``network_id`` takes MAC ``mac`` (its PF's; its attach
    sets ``mac_address`` and ``own_mac_address``)."""

    port_id: str
    network_id: str
    mac: str


@dataclass(frozen=True, slots=True)
class VfDesired:
    """The state the host's agent must program on VF ``pci_address`` for ``port_id``."""

    pci_address: str
    port_id: str
    desired: Mapping[str, Any]


def _cast_param(name: str, column: sa.Column[Any]) -> sa.ColumnElement[Any]:
    # A parameter in a SELECT list has no type PostgreSQL can infer: say it.
    return sa.cast(sa.bindparam(name, type_=column.type), column.type)


def _vf_values(i: int) -> list[sa.ColumnElement[Any]]:
    names = {
        "host_id": "p_host",
        "pci_address": f"va{i}",
        "port_id": f"vp{i}",
        "desired": f"vd{i}",
        "action": "v_action",
        "generation": "v_one",
        "updated_at": "p_now",
    }
    return [_cast_param(names[c], VF.c[c]) for c in VF_COLUMNS]


@lru_cache(maxsize=128)
def _pg_statement(
    n_cells: int, n_devices: int, port_columns: tuple[tuple[str, ...], ...], n_vfs: int
) -> sa.Select[Any]:
    h = update_host_usage("postgresql", n_cells, cas=True).returning(HOST.c.generation).cte("h")
    server_values = {
        "id": "s_id",
        "project_id": "s_project",
        "name": "s_name",
        "description": "s_description",
        "host_id": "p_host",
        "status": "s_status",
        "vcpus": "p_vcpus",
        "memory_mb": "p_memory",
        "flavor": "s_flavor",
        "cells": "s_cells",
        "created_at": "p_now",
    }
    s = (
        sa.insert(SRV)
        .from_select(
            list(server_values),
            sa.select(*(_cast_param(p, SRV.c[c]) for c, p in server_values.items())).select_from(h),
        )
        .returning(SRV.c.id)
        .cte("s")
    )
    a = (
        sa.insert(ALLOC)
        .from_select(
            ALLOCATION_COLUMNS,
            allocation_rows(n_devices).where(sa.exists(sa.select(1).select_from(s))),
        )
        .returning(ALLOC.c.device_id)
        .cte("a")
    )
    ports = [
        attach_statement(i, cols, s).returning(PORTS.c.id).cte(f"p{i}")
        for i, cols in enumerate(port_columns)
    ]
    vfs = [
        apply_on_conflict(
            postgresql.insert(VF).from_select(
                list(VF_COLUMNS), sa.select(*_vf_values(i)).select_from(s)
            )
        )
        .returning(VF.c.host_id)
        .cte(f"v{i}")
        for i in range(n_vfs)
    ]
    generation = sa.select(h.c.generation).scalar_subquery()
    allocated = sa.select(sa.func.count()).select_from(a).scalar_subquery()
    attached = [sa.select(sa.func.count()).select_from(p).scalar_subquery() for p in ports]
    # Host matched but something was not written: fail the statement, undoing it all.
    abort = sa.case(
        (generation.is_(None), sa.literal("0")),
        (allocated != n_devices, sa.literal(ABORT_DEVICES)),
        *((n != 1, sa.literal(ABORT_PORT)) for n in attached),
        else_=sa.literal("0"),
    )
    stmt = sa.select(generation.label("generation"), sa.cast(abort, sa.Integer).label("guard"))
    for v in vfs:
        stmt = stmt.add_cte(v)
    return stmt


@dataclass(frozen=True, slots=True)
class PlacementWrite:
    """Everything one placement writes: the claim (as ``claims.claim`` takes it), the ports
    to attach and the VF states to record."""

    host_id: str
    seen_generation: int
    server: NewServer
    devices: Sequence[tuple[str, int]]
    vcpus: int
    memory_mb: int
    cells: Sequence[CellUse]
    ports: Sequence[PortAttach] = ()
    vfs: Sequence[VfDesired] = ()
    lends: Sequence[MacLend] = ()


def place(db: Executor, write: PlacementWrite) -> int:
    """Claim, attach, record (see the module docstring); return the host's new generation."""
    conn = connection_of(db)
    try:
        generation = _place(conn, write)
    except sa.exc.IntegrityError as exc:
        if write.lends and "mac_address" in str(exc.orig):
            lent = ", ".join(f"{x.mac} (port {x.port_id})" for x in write.lends)
            raise LentMacTaken(
                f"another port of the network has MAC {lent}",
                port_id=write.lends[0].port_id if len(write.lends) == 1 else None,
                holder=None,
            ) from exc
        raise
    for lend in write.lends:
        holder = mac_holder(conn, lend.network_id, lend.mac, other_than=lend.port_id)
        if holder is not None:
            raise LentMacTaken(
                f"port {holder} of network {lend.network_id} has MAC {lend.mac}",
                port_id=lend.port_id,
                holder=holder,
            )
    return generation


def _place(conn: Conn, write: PlacementWrite) -> int:
    if not single_statement(conn.dialect.name, write.devices):
        return _place_stepwise(conn, write)
    w, server = write, write.server
    n_cells, params = cell_params(w.cells, +1)
    params.update(
        p_host=w.host_id,
        p_seen=w.seen_generation,
        p_vcpus=w.vcpus,
        p_memory=w.memory_mb,
        p_now=server.created_at,
        p_server=server.id,
        s_id=server.id,
        s_project=server.project_id,
        s_name=server.name,
        s_description=server.description,
        s_status=server.status,
        s_flavor=dict(server.flavor),
        s_cells=[{"host_cell": c, "vcpus": v, "memory_mb": m} for c, v, m in w.cells],
        v_action="apply",
        v_one=1,
    )
    for i, (device_id, request_index) in enumerate(w.devices):
        params[f"d{i}"], params[f"r{i}"] = device_id, request_index
    port_columns = tuple(tuple(p.values) for p in w.ports)
    for i, port in enumerate(w.ports):
        params[f"pp{i}"] = port.port_id
        params.update({f"pv{i}_{c}": v for c, v in port.values.items()})
    for i, vf in enumerate(w.vfs):
        params[f"va{i}"], params[f"vp{i}"], params[f"vd{i}"] = (
            vf.pci_address,
            vf.port_id,
            dict(vf.desired),
        )
    stmt = _pg_statement(n_cells, len(w.devices), port_columns, len(w.vfs))
    try:
        row = conn.execute(stmt, params).one()
    except sa.exc.IntegrityError as exc:
        if w.lends and "mac_address" in str(exc.orig):
            raise
        raise ConcurrentUpdate(
            f"host {w.host_id}: the claim conflicts with rows written meanwhile"
        ) from exc
    except sa.exc.DataError as exc:
        if ABORT_PORT in str(exc.orig):
            words = ", ".join(p.port_id for p in w.ports)
            raise PortInUse(
                f"a port of {words} was taken by another server meanwhile", field="ports"
            ) from None
        if ABORT_DEVICES in str(exc.orig):
            raise ConcurrentUpdate(
                f"host {w.host_id}: a device of the claim is not free in the database (held, "
                "PF/VF conflict, or not on this host); refresh and retry"
            ) from None
        raise
    if row.generation is None:
        raise stale_error(w.host_id, w.seen_generation, host_generation(conn, w.host_id))
    return int(row.generation)


def single_statement(dialect: str, devices: Sequence[object], lends: Sequence[object] = ()) -> bool:
    """Whether ``place`` writes with one statement (then run it without a transaction:
    the statement is atomic on its own); else it needs the caller's transaction (also
    for ``lends``: a query follows the write)."""
    return dialect == "postgresql" and bool(devices) and not lends


def _place_stepwise(conn: Conn, w: PlacementWrite) -> int:
    generation = claim(
        conn,
        host_id=w.host_id,
        seen_generation=w.seen_generation,
        server=w.server,
        devices=w.devices,
        vcpus=w.vcpus,
        memory_mb=w.memory_mb,
        cells=w.cells,
    )
    for port in w.ports:
        values = dict(port.values)
        status = values.pop("status", None)
        bind_port(
            conn,
            port.port_id,
            server_id=w.server.id,
            binding=values,
            status=status,
            now=w.server.created_at,
        )
    for vf in w.vfs:
        set_desired(
            conn,
            host_id=w.host_id,
            pci_address=vf.pci_address,
            port_id=vf.port_id,
            desired=vf.desired,
            now=w.server.created_at,
        )
    return generation
