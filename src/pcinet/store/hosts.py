"""Hosts: inventory reports, heartbeats, enable/disable, and reading hosts back.

``upsert_host`` keeps device ids (and so allocations) across re-reports and refuses to drop
an allocated device or to change what it is (its tags, type, parent, vendor or product).
Every change bumps the host's ``generation`` (so in-flight claims made on the old view fail
their compare-and-swap) and is published to the change feed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from pcinet.core.errors import InvalidDevice
from pcinet.core.host import HostCell
from pcinet.core.pci import PciDevice
from pcinet.store.changes import NEXT_CHANGE_SEQ, changed_values
from pcinet.store.errors import ConcurrentUpdate, DeviceInUse
from pcinet.store.host_records import HostRecord, load_hosts
from pcinet.store.models import allocation_table, device_table, host_table, new_id, utcnow

_DEVICE_COLUMNS = (
    "vendor_id",
    "product_id",
    "dev_type",
    "parent_address",
    "numa_node",
    "devname",
    "tags",
    "vf_index",
    "pcie_root",
    "mac_address",
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
        "vf_index": dev.vf_index,
        "pcie_root": dev.pcie_root,
        "mac_address": dev.mac_address,
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
    if len(wanted) != len(devices):
        raise InvalidDevice(f"host {name}: a device address is listed twice", field="devices")
    if host_id is None:
        host_id = new_id()
        _insert_host(
            session,
            sa.insert(host_table).values(
                id=host_id,
                name=name,
                disabled=False,
                generation=0,
                change_seq=NEXT_CHANGE_SEQ,
                vcpus_used=0,
                memory_used_mb=0,
                cells_used={},
                created_at=now,
                **values,
            ),
        )
        old: dict[str, dict[str, Any]] = {}
    else:
        old = _replace_check(session, name, host_id, wanted)
        conn.execute(
            sa.update(host_table)
            .where(host_table.c.id == host_id)
            .values(**changed_values(), **values)
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
    return host_id


def _insert_host(session: Session, insert: sa.Insert) -> None:
    try:
        session.connection().execute(insert)
    except sa.exc.IntegrityError as exc:  # the same new host reported twice at once
        raise ConcurrentUpdate("the host was created concurrently; report again") from exc


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
    altered = sorted(
        (address, server, _identity_change(old[address], wanted[address]))
        for address, server in held
        if _identity_change(old[address], wanted[address])
    )
    if altered:
        words = "; ".join(f"{a} (server {s}): {change}" for a, s, change in altered)
        raise DeviceInUse(
            f"host {name}: cannot change what an allocated device is: {words}; release the "
            "server first",
            field="devices",
        )
    return old


# What a device *is* to its holder: its tags (physnet, trusted, ...), type, parent and ids.
# The NUMA node and devname may change under a held device (a re-read, a rename).
_IDENTITY_COLUMNS = ("vendor_id", "product_id", "dev_type", "parent_address", "tags")


def _identity_change(old: Mapping[str, Any], new: Mapping[str, Any]) -> str:
    """What would change in a held device, in words ('' for nothing)."""
    words = [f"{k} {old[k]!r} -> {new[k]!r}" for k in _IDENTITY_COLUMNS[:-1] if old[k] != new[k]]
    old_tags, new_tags = old["tags"] or {}, new["tags"] or {}
    words += [
        f"tag {k} {old_tags.get(k)!r} -> {new_tags.get(k)!r}"
        for k in sorted(old_tags.keys() | new_tags.keys())
        if old_tags.get(k) != new_tags.get(k)
    ]
    return ", ".join(words)


def set_disabled(session: Session, name: str, disabled: bool) -> bool:
    """Enable or disable a host for scheduling; False if there is no such host."""
    result = session.connection().execute(
        sa.update(host_table)
        .where(host_table.c.name == name)
        .values(disabled=disabled, updated_at=utcnow(), **changed_values())
    )
    return result.rowcount == 1


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
