"""Hosts: inventory reports, heartbeats, enable/disable, and reading hosts back.

``upsert_host`` keeps device ids (and so allocations) across re-reports and refuses to drop
an allocated device or to change what it is (its tags, type, parent, vendor or product).
Every change bumps the host's ``generation`` (so in-flight claims made on the old view fail
their compare-and-swap) and is published to the change feed.

What the host reports in use outside pcinet takes part in the PF/VF rules, as in a cloud
file (``pcinet plan``), so the controller decides as the planner does on the same host:
- a selected device keeps its reported status (``devices.reported_status``): ``allocated``
  is never handed out, counts as used and blocks its PF or VFs. It is not an allocation
  (no server holds it), so a device a server holds may also be reported ``allocated`` (the
  agent sees it in use): the allocation stays, and after its release the device stays
  held until the host reports it ``available``;
- of the devices no spec selects only the ``allocated`` ones matter (an available one is
  never handed out and blocks nothing), so only they are kept, compactly, in
  ``hosts.unselected_allocated`` (what the rules and the host's view need: address, ids,
  type, parent).
A report that holds the PF of a VF a server holds, or a VF of a PF a server holds, is
refused (DeviceInUse naming both and the server), like dropping a held device: a PF and one
of its VFs are never both held, whoever holds them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from pcinet.core.errors import InvalidDevice
from pcinet.core.host import HostCell
from pcinet.core.pci import DeviceStatus, DevType, PciDevice
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
    "reported_status",
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
        "reported_status": dev.status.value,
    }


UNSELECTED_KEYS = ("address", "vendor_id", "product_id", "dev_type", "parent_address")


def _unselected_json(devices: Sequence[PciDevice]) -> list[dict[str, Any]]:
    """The allocated ones of ``devices`` (no spec selects them), by address."""
    held = sorted(
        (d for d in devices if d.status is DeviceStatus.ALLOCATED), key=lambda d: d.address
    )
    return [
        {
            "address": d.address,
            "vendor_id": d.vendor_id,
            "product_id": d.product_id,
            "dev_type": d.dev_type.value,
            "parent_address": d.parent_address,
        }
        for d in held
    ]


def upsert_host(
    session: Session,
    name: str,
    *,
    vcpus: int,
    memory_mb: int,
    numa_cells: Sequence[HostCell] = (),
    devices: Sequence[PciDevice] = (),
    device_spec: list[Any] | None = None,
    unselected: Sequence[PciDevice] = (),
) -> str:
    """Create or replace a host's inventory report; return the host id.

    ``devices`` are the host's assignable devices, already tagged by the device spec (the
    raw ``device_spec`` is kept for display), with the status the host reported;
    ``unselected`` its other devices (``Host.unselected``; only the allocated ones are
    kept). Devices keep their ids by address; removing an allocated device, or holding the
    PF or a VF of one, raises DeviceInUse naming it and the server. A report counts as a
    heartbeat. Claimed usage is kept even if the new totals are smaller.
    """
    conn = session.connection()
    now = utcnow()
    outside = _unselected_json(unselected)
    values = {
        "vcpus": vcpus,
        "memory_mb": memory_mb,
        "numa_cells": _cells_json(numa_cells),
        "device_spec": device_spec,
        "unselected_allocated": outside,
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
        old = _replace_check(session, name, host_id, wanted, outside)
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
    session: Session,
    name: str,
    host_id: str,
    wanted: Mapping[str, Any],
    outside: Sequence[Mapping[str, Any]],
) -> dict[str, dict[str, Any]]:
    """The host's current devices by address; DeviceInUse if a held one would be dropped,
    changed, or blocked by a device reported in use (``outside``: the unselected ones)."""
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
    clashes = _reported_clashes(held, wanted, outside)
    if clashes:
        raise DeviceInUse(
            f"host {name}: a PF and one of its VFs cannot both be held: {'; '.join(clashes)}; "
            "release the server first",
            field="devices",
        )
    return old


def _reported_clashes(
    held: Sequence[tuple[str, str]],
    wanted: Mapping[str, Mapping[str, Any]],
    outside: Sequence[Mapping[str, Any]],
) -> list[str]:
    """The PF/VF clashes between the devices servers hold and the ones the report says are
    in use (selected ones reported ``allocated``, and ``outside``), in words."""
    reported = [r for r in wanted.values() if r["reported_status"] == DeviceStatus.ALLOCATED]
    in_use = {r["address"]: r for r in [*reported, *outside]}
    words = []
    for address, server in sorted(held):
        row = wanted[address]
        parent = row["parent_address"]
        if parent is not None and parent in in_use:
            words.append(
                f"PF {parent} is reported allocated while server {server} holds its VF {address}"
            )
        if row["dev_type"] == DevType.PF:
            words += [
                f"VF {a} is reported allocated while server {server} holds its PF {address}"
                for a, r in sorted(in_use.items())
                if r["parent_address"] == address
            ]
    return words


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
