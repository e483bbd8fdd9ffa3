"""Stored rows to the API's JSON (Neutron/Nova field names), in one place."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from pcinet.core.pci import Inventory
from pcinet.service.context import Caller
from pcinet.store.host_records import HostRecord
from pcinet.store.models import Network, Port, Segment, Server, VfState

UNBOUND = "unbound"


def time_text(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def host_view(record: HostRecord, *, alive: bool, devices: bool) -> dict[str, Any]:
    # The unselected allocated devices block their PF or VFs here too (``store.hosts``).
    inventory = Inventory([*record.devices, *record.unselected], record.allocations.keys())
    statuses = {d.address: inventory.status(d.address).value for d in record.devices}
    out: dict[str, Any] = {
        "name": record.name,
        "vcpus": record.vcpus,
        "memory_mb": record.memory_mb,
        "vcpus_used": record.vcpus_used,
        "memory_used_mb": record.memory_used_mb,
        "numa_cells": [
            {
                "id": c.id,
                "vcpus": c.vcpus,
                "memory_mb": c.memory_mb,
                "socket": c.socket,
                "vcpus_used": record.cells_used.get(c.id, (0, 0))[0],
                "memory_used_mb": record.cells_used.get(c.id, (0, 0))[1],
            }
            for c in record.numa_cells
        ],
        "disabled": record.disabled,
        "alive": alive,
        "heartbeat_at": time_text(record.heartbeat_at),
        "generation": record.generation,
        "device_count": len(record.devices),
        "devices_free": sum(1 for s in statuses.values() if s == "available"),
        "device_spec": record.device_spec,
        "created_at": time_text(record.created_at),
        "updated_at": time_text(record.updated_at),
    }
    if devices:
        out["devices"] = [
            {
                "address": d.address,
                "vendor_id": d.vendor_id,
                "product_id": d.product_id,
                "dev_type": d.dev_type.value,
                "parent_address": d.parent_address,
                "numa_node": d.numa_node,
                "devname": d.devname,
                "vf_index": d.vf_index,
                "pcie_root": d.pcie_root,
                "mac_address": d.mac_address,
                "tags": dict(d.tags),
                "status": statuses[d.address],
                "server_id": record.allocations.get(d.address),
                "reported_status": "allocated"
                if d.address in record.reported_allocated
                else "available",
            }
            for d in record.devices
        ]
        out["unselected_allocated"] = [
            {
                "address": d.address,
                "vendor_id": d.vendor_id,
                "product_id": d.product_id,
                "dev_type": d.dev_type.value,
                "parent_address": d.parent_address,
            }
            for d in record.unselected
        ]
    return out


def segment_dict(segment: Segment) -> dict[str, Any]:
    return {
        "provider:network_type": segment.network_type,
        "provider:physical_network": segment.physical_network,
        "provider:segmentation_id": segment.segmentation_id,
    }


def network_view(network: Network, segments: Sequence[Segment], caller: Caller) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": network.id,
        "name": network.name,
        "description": network.description,
        "project_id": network.project_id,
        "tenant_id": network.project_id,
        "shared": network.shared,
        "admin_state_up": network.admin_state_up,
        "status": network.status,
        "created_at": time_text(network.created_at),
    }
    if caller.sees_provider:
        if len(segments) == 1:
            out.update(segment_dict(segments[0]))
        else:
            out["segments"] = [segment_dict(s) for s in segments]
    return out


def port_view(port: Port | sa.Row[Any] | Any, reason: str | None = None) -> dict[str, Any]:
    """A port from anything with the ports table's columns as attributes (the ORM object,
    a Core row, a namespace). ``status_reason`` is ``reason`` while the port is ``ERROR``
    (``vf_states.error_reasons``), else null."""
    bound = port.binding_vif_type is not None
    return {
        "id": port.id,
        "name": port.name,
        "description": port.description,
        "network_id": port.network_id,
        "project_id": port.project_id,
        "tenant_id": port.project_id,
        "mac_address": port.mac_address,
        "binding:vnic_type": port.vnic_type,
        "binding:profile": dict(port.binding_profile or {}) if bound else dict(port.profile),
        "binding:host_id": port.binding_host_id or "",
        "binding:vif_type": port.binding_vif_type or UNBOUND,
        "binding:vif_details": dict(port.binding_vif_details or {}),
        "port_security_enabled": port.port_security_enabled,
        "admin_state_up": port.admin_state_up,
        "status": port.status,
        "status_reason": reason if port.status == "ERROR" else None,
        "device_id": port.device_id or "",
        "numa_affinity_policy": port.numa_affinity_policy,
        "min_tx_rate": port.min_tx_rate,
        "max_tx_rate": port.max_tx_rate,
        "pci_slot": port.pci_address,
        "created_at": time_text(port.created_at),
        "updated_at": time_text(port.updated_at),
    }


def server_view(
    server: Server,
    *,
    host: str | None,
    ports: Sequence[Port],
    pci_devices: Sequence[Mapping[str, Any]] = (),
    reasons: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """``reasons``: the ``status_reason`` of its ports in ``ERROR``, by port id."""
    reasons = reasons or {}
    return {
        "id": server.id,
        "name": server.name,
        "description": server.description,
        "project_id": server.project_id,
        "tenant_id": server.project_id,
        "host": host,
        "status": server.status,
        "flavor": server.flavor,
        "numa_cells": server.cells,
        "created_at": time_text(server.created_at),
        "ports": [port_view(p, reasons.get(p.id)) for p in ports],
        "pci_devices": list(pci_devices),
    }


# What an apply leaves as it is when the binding does not say (802.1p priority, 802.1Q).
VF_DEFAULTS = {"qos": 0, "proto": "802.1Q"}


def vf_state_view(
    row: VfState, *, pf: str | None = None, vf_index: int | None = None
) -> dict[str, Any]:
    """One VF of the feed. ``desired`` is complete: for ``apply`` every setting, for
    ``restore`` the VF's ``original`` settings (``{}`` when the agent never reported them).
    ``pf`` is the PF's netdev and ``vf_index`` the VF's index under it, when known."""
    original = dict(row.original) if row.original is not None else None
    desired = dict(original or {}) if row.action == "restore" else {**VF_DEFAULTS, **row.desired}
    return {
        "pci_address": row.pci_address,
        "pf": pf,
        "vf_index": vf_index,
        "port_id": row.port_id,
        "action": row.action,
        "desired": desired,
        "original": original,
        "generation": row.generation,
        "applied_generation": row.applied_generation,
        "reported_status": row.reported_status,
        "reported_error": row.reported_error,
        "updated_at": time_text(row.updated_at),
    }
