"""Hosts read back as records: totals, usage, devices with status, allocations.

``load_hosts`` reads any set of hosts in three queries, whatever their number; it feeds
``hosts.get_host``/``list_hosts`` and the change feed (``claims.changed_hosts``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from pcinet.core.host import Host, HostCell
from pcinet.core.pci import DeviceStatus, DevType, PciDevice
from pcinet.store.models import allocation_table, device_table, host_table


@dataclass(frozen=True, slots=True)
class HostRecord:
    """A host as stored: reported totals, claimed usage, and its devices.

    ``devices`` carry status ``allocated`` for the ones a server holds or the host reports
    in use (``reported_allocated``, see ``store.hosts``), ``available`` otherwise (the PF/VF
    rules are derived by whoever consumes them, see ``core.pci``). ``unselected`` are the
    devices no spec selects that the host reports allocated (status ``allocated``, no tags).
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
    reported_allocated: frozenset[str] = frozenset()
    unselected: tuple[PciDevice, ...] = ()

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
        """The scheduler's view: free compute, devices with status, the unselected allocated
        devices (as ``cloudfile.parse_host`` gives them); down if ``stale``."""
        return Host(
            name=self.name,
            vcpus=self.vcpus - self.vcpus_used,
            memory_mb=self.memory_mb - self.memory_used_mb,
            cells=self.free_cells(),
            devices=self.devices,
            disabled=self.disabled,
            down=stale,
            unselected=self.unselected,
        )


def _unselected(rows: list[dict[str, Any]]) -> tuple[PciDevice, ...]:
    return tuple(
        PciDevice(
            r["address"],
            r["vendor_id"],
            r["product_id"],
            DevType(r["dev_type"]),
            r["parent_address"],
            status=DeviceStatus.ALLOCATED,
        )
        for r in rows
    )


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
    reported: dict[str, set[str]] = {}
    for row in dev_rows:
        server = held.get(row.host_id, {}).get(row.id)
        outside = row.reported_status == DeviceStatus.ALLOCATED
        if outside:
            reported.setdefault(row.host_id, set()).add(row.address)
        in_use = server is not None or outside
        status = DeviceStatus.ALLOCATED if in_use else DeviceStatus.AVAILABLE
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
                row.vf_index,
                row.pcie_root,
                row.mac_address,
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
                {
                    int(k): (v["vcpus"], v["memory_mb"])
                    for k, v in h.cells_used.items()
                    if v["vcpus"] or v["memory_mb"]
                }
            ),
            device_spec=h.device_spec,
            disabled=h.disabled,
            heartbeat_at=h.heartbeat_at,
            created_at=h.created_at,
            updated_at=h.updated_at,
            devices=tuple(by_host.get(h.id, ())),
            device_ids=MappingProxyType(ids.get(h.id, {})),
            allocations=MappingProxyType(allocated_by_address.get(h.id, {})),
            reported_allocated=frozenset(reported.get(h.id, ())),
            unselected=_unselected(h.unselected_allocated),
        )
        for h in host_rows
    ]
