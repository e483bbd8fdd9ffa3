"""Hosts: inventory reports, heartbeats, enable/disable, and reading hosts back as records.

``upsert_host`` keeps device ids (and so allocations) across re-reports and refuses to drop
an allocated device. Every change bumps the host's ``generation`` (so in-flight claims made
on the old view fail their compare-and-swap) and is published to the change feed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from pcinet.core.host import Host, HostCell
from pcinet.core.pci import DeviceStatus, DevType, PciDevice
from pcinet.store.changes import touch
from pcinet.store.errors import DeviceInUse
from pcinet.store.models import allocation_table, device_table, host_table, new_id, utcnow

_DEVICE_COLUMNS = (
    "vendor_id",
    "product_id",
    "dev_type",
    "parent_address",
    "numa_node",
    "devname",
    "tags",
)


@dataclass(frozen=True, slots=True)
class HostRecord:
    """A host as stored: reported totals, claimed usage, and its devices.

    ``devices`` carry status ``allocated`` for the ones a server holds, ``available``
    otherwise (the PF/VF rules are derived by whoever consumes them, see ``core.pci``).
    ``cells_used`` maps a host cell id to its claimed (vcpus, memory_mb).
    """

    id: str
    name: str
    generation: int
    change_seq: int
    vcpus: int
    memory_mb: int
    vcpus_used: int
    memory_used_mb: int
    numa_cells: tuple[HostCell, ...]
    cells_used: Mapping[int, tuple[int, int]]
    device_spec: list[Any] | None
    disabled: bool
    heartbeat_at: datetime | None
    created_at: datetime
    updated_at: datetime
    devices: tuple[PciDevice, ...]
    device_ids: Mapping[str, str]
    allocations: Mapping[str, str]

    def free_cells(self) -> tuple[HostCell, ...]:
        out = []
        for cell in self.numa_cells:
            vcpus, memory = self.cells_used.get(cell.id, (0, 0))
            out.append(HostCell(cell.id, cell.vcpus - vcpus, cell.memory_mb - memory, cell.socket))
        return tuple(out)

    def is_stale(self, now: datetime, timeout_s: float) -> bool:
        """No heartbeat within ``timeout_s`` seconds before ``now`` (or never)."""
        return self.heartbeat_at is None or now - self.heartbeat_at > timedelta(seconds=timeout_s)

    def to_host(self, *, stale: bool = False) -> Host:
        """The scheduler's view: free compute, devices with status; disabled if ``stale``."""
        return Host(
            name=self.name,
            vcpus=self.vcpus - self.vcpus_used,
            memory_mb=self.memory_mb - self.memory_used_mb,
            cells=self.free_cells(),
            devices=self.devices,
            disabled=self.disabled or stale,
        )


def _cells_json(cells: Sequence[HostCell]) -> list[dict[str, Any]]:
    return [
        {"id": c.id, "vcpus": c.vcpus, "memory_mb": c.memory_mb, "socket": c.socket} for c in cells
    ]


def _device_row(dev: PciDevice) -> dict[str, Any]:
    return {
        "address": dev.address,
        "vendor_id": dev.vendor_id,
        "product_id": dev.product_id,
        "dev_type": dev.dev_type.value,
        "parent_address": dev.parent_address,
        "numa_node": dev.numa_node,
        "devname": dev.devname,
        "tags": dict(dev.tags),
    }


def upsert_host(
    session: Session,
    name: str,
    *,
    vcpus: int,
    memory_mb: int,
    numa_cells: Sequence[HostCell] = (),
    devices: Sequence[PciDevice] = (),
    device_spec: list[Any] | None = None,
) -> str:
    """Create or replace a host's inventory report; return the host id.

    ``devices`` are the host's assignable devices, already tagged by the device spec (the
    raw ``device_spec`` is kept for display). Devices keep their ids by address; removing an
    allocated device raises DeviceInUse naming it and the server. A report counts as a
    heartbeat. Claimed usage is kept even if the new totals are smaller.
    """
    conn = session.connection()
    now = utcnow()
    values = {
        "vcpus": vcpus,
        "memory_mb": memory_mb,
        "numa_cells": _cells_json(numa_cells),
        "device_spec": device_spec,
        "heartbeat_at": now,
        "updated_at": now,
    }
    host_id = conn.execute(
        sa.select(host_table.c.id).where(host_table.c.name == name).with_for_update()
    ).scalar_one_or_none()
    wanted = {d.address: _device_row(d) for d in devices}
    if host_id is None:
        host_id = new_id()
        conn.execute(
            sa.insert(host_table).values(
                id=host_id,
                name=name,
                disabled=False,
                generation=0,
                change_seq=0,
                vcpus_used=0,
                memory_used_mb=0,
                cells_used={},
                created_at=now,
                **values,
            )
        )
        old: dict[str, dict[str, Any]] = {}
    else:
        old = _replace_check(session, name, host_id, wanted)
        conn.execute(
            sa.update(host_table)
            .where(host_table.c.id == host_id)
            .values(generation=host_table.c.generation + 1, **values)
        )
    gone = [old[a]["id"] for a in old.keys() - wanted.keys()]
    if gone:
        conn.execute(sa.delete(device_table).where(device_table.c.id.in_(gone)))
    added = [
        {"id": new_id(), "host_id": host_id, **row}
        for address, row in wanted.items()
        if address not in old
    ]
    if added:
        conn.execute(sa.insert(device_table), added)
    changed = [
        {"b_id": old[address]["id"], **{k: row[k] for k in _DEVICE_COLUMNS}}
        for address, row in wanted.items()
        if address in old and any(old[address][k] != row[k] for k in _DEVICE_COLUMNS)
    ]
    if changed:
        stmt = sa.update(device_table).where(device_table.c.id == sa.bindparam("b_id"))
        conn.execute(stmt, changed)
    touch(session, host_id)
    return host_id


def _replace_check(
    session: Session, name: str, host_id: str, wanted: Mapping[str, Any]
) -> dict[str, dict[str, Any]]:
    """The host's current devices by address; DeviceInUse if a held one would be dropped."""
    conn = session.connection()
    rows = conn.execute(
        sa.select(
            device_table.c.id, device_table.c.address, *(device_table.c[k] for k in _DEVICE_COLUMNS)
        ).where(device_table.c.host_id == host_id)
    ).mappings()
    old = {r["address"]: dict(r) for r in rows}
    held = conn.execute(
        sa.select(device_table.c.address, allocation_table.c.server_id)
        .join(allocation_table, allocation_table.c.device_id == device_table.c.id)
        .where(allocation_table.c.host_id == host_id)
    ).all()
    dropped = sorted((address, server) for address, server in held if address not in wanted)
    if dropped:
        words = ", ".join(f"{address} (server {server})" for address, server in dropped)
        raise DeviceInUse(
            f"host {name}: cannot remove allocated device(s) {words}", field="devices"
        )
    return old


def set_disabled(session: Session, name: str, disabled: bool) -> bool:
    """Enable or disable a host for scheduling; False if there is no such host."""
    host_id = (
        session.connection()
        .execute(
            sa.update(host_table)
            .where(host_table.c.name == name)
            .values(disabled=disabled, generation=host_table.c.generation + 1, updated_at=utcnow())
            .returning(host_table.c.id)
        )
        .scalar_one_or_none()
    )
    if host_id is None:
        return False
    touch(session, host_id)
    return True


def heartbeat(session: Session, name: str) -> bool:
    """Record that the host is alive; not a change (no generation bump, not in the feed).
    False if there is no such host."""
    result = session.connection().execute(
        sa.update(host_table).where(host_table.c.name == name).values(heartbeat_at=utcnow())
    )
    return result.rowcount == 1


def heartbeats(session: Session, since: datetime | None = None) -> dict[str, datetime]:
    """Host name -> last heartbeat, for hosts that beat after ``since`` (all if None)."""
    query = sa.select(host_table.c.name, host_table.c.heartbeat_at).where(
        host_table.c.heartbeat_at.is_not(None)
    )
    if since is not None:
        query = query.where(host_table.c.heartbeat_at > since)
    return {row.name: row.heartbeat_at for row in session.connection().execute(query)}


def get_host(session: Session, name: str) -> HostRecord | None:
    found = load_hosts(session, host_table.c.name == name)
    return found[0] if found else None


def list_hosts(session: Session) -> list[HostRecord]:
    return load_hosts(session, sa.true())


def load_hosts(session: Session, where: sa.ColumnElement[bool]) -> list[HostRecord]:
    """The hosts matching ``where`` (a condition on ``models.host_table``), by name, in three
    queries whatever their number."""
    conn = session.connection()
    host_rows = conn.execute(sa.select(host_table).where(where).order_by(host_table.c.name)).all()
    if not host_rows:
        return []
    by_host: dict[str, list[PciDevice]] = {}
    ids: dict[str, dict[str, str]] = {}
    dev_rows = conn.execute(
        sa.select(device_table)
        .join(host_table, host_table.c.id == device_table.c.host_id)
        .where(where)
        .order_by(device_table.c.host_id, device_table.c.address)
    )
    held: dict[str, dict[str, str]] = {}
    for device_id, server_id, host_id in conn.execute(
        sa.select(
            allocation_table.c.device_id, allocation_table.c.server_id, allocation_table.c.host_id
        )
        .join(host_table, host_table.c.id == allocation_table.c.host_id)
        .where(where)
    ):
        held.setdefault(host_id, {})[device_id] = server_id
    allocated_by_address: dict[str, dict[str, str]] = {}
    for row in dev_rows:
        server = held.get(row.host_id, {}).get(row.id)
        status = DeviceStatus.AVAILABLE if server is None else DeviceStatus.ALLOCATED
        by_host.setdefault(row.host_id, []).append(
            PciDevice(
                row.address,
                row.vendor_id,
                row.product_id,
                DevType(row.dev_type),
                row.parent_address,
                row.numa_node,
                row.devname,
                status,
                MappingProxyType(row.tags),
            )
        )
        ids.setdefault(row.host_id, {})[row.address] = row.id
        if server is not None:
            allocated_by_address.setdefault(row.host_id, {})[row.address] = server
    return [
        HostRecord(
            id=h.id,
            name=h.name,
            generation=h.generation,
            change_seq=h.change_seq,
            vcpus=h.vcpus,
            memory_mb=h.memory_mb,
            vcpus_used=h.vcpus_used,
            memory_used_mb=h.memory_used_mb,
            numa_cells=tuple(
                HostCell(c["id"], c["vcpus"], c["memory_mb"], c.get("socket")) for c in h.numa_cells
            ),
            cells_used=MappingProxyType(
                {int(k): (v["vcpus"], v["memory_mb"]) for k, v in h.cells_used.items()}
            ),
            device_spec=h.device_spec,
            disabled=h.disabled,
            heartbeat_at=h.heartbeat_at,
            created_at=h.created_at,
            updated_at=h.updated_at,
            devices=tuple(by_host.get(h.id, ())),
            device_ids=MappingProxyType(ids.get(h.id, {})),
            allocations=MappingProxyType(allocated_by_address.get(h.id, {})),
        )
        for h in host_rows
    ]
