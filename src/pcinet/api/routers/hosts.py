"""``/v1/hosts``: inventory reports, heartbeats, enable/disable, VF state for agents."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Response

from pcinet.api.deps import Ctl, Who
from pcinet.service import hosts

router = APIRouter(prefix="/v1/hosts", tags=["hosts"])

REPORT_EXAMPLE = {
    "vcpus": 64,
    "memory_mb": 262144,
    "numa_cells": [{"id": 0, "vcpus": 32, "memory_mb": 131072}],
    "device_spec": [{"devname": "ens1f0", "physical_network": "phy1"}],
    "devices": [
        {
            "address": "0000:3b:00.0",
            "vendor_id": "8086",
            "product_id": "1572",
            "dev_type": "type-PF",
            "numa_node": 0,
            "devname": "ens1f0",
        },
        {
            "address": "0000:3b:02.0",
            "vendor_id": "8086",
            "product_id": "154c",
            "dev_type": "type-VF",
            "parent_address": "0000:3b:00.0",
            "numa_node": 0,
        },
    ],
}


@router.put("/{name}")
def report(
    name: str,
    ctl: Ctl,
    who: Who,
    response: Response,
    body: Annotated[Any, Body(examples=[REPORT_EXAMPLE])],
) -> dict[str, Any]:
    """A host's inventory report (201 when the host is new)."""
    view, created = hosts.report(ctl, who, name, body)
    response.status_code = 201 if created else 200
    return view


@router.get("")
def list_hosts(ctl: Ctl, who: Who, disabled: bool | None = None) -> list[dict[str, Any]]:
    return hosts.list_hosts(ctl, who, disabled=disabled)


@router.get("/{name}")
def get_host(name: str, ctl: Ctl, who: Who) -> dict[str, Any]:
    return hosts.get_host(ctl, who, name)


@router.post("/{name}/heartbeat", status_code=204)
def heartbeat(name: str, ctl: Ctl, who: Who) -> Response:
    hosts.heartbeat(ctl, who, name)
    return Response(status_code=204)


@router.put("/{name}/disabled")
def set_disabled(
    name: str, ctl: Ctl, who: Who, body: Annotated[Any, Body(examples=[{"disabled": True}])]
) -> dict[str, Any]:
    return hosts.set_disabled(ctl, who, name, body)


@router.get("/{name}/vf-state")
def vf_state(name: str, ctl: Ctl, who: Who) -> dict[str, Any]:
    return hosts.vf_state(ctl, who, name)


@router.put("/{name}/vf-state/{pci_address}", response_model=None)
def report_vf(
    name: str,
    pci_address: str,
    ctl: Ctl,
    who: Who,
    body: Annotated[Any, Body(examples=[{"generation": 1, "status": "applied"}])],
) -> dict[str, Any] | Response:
    row = hosts.report_vf(ctl, who, name, pci_address, body)
    return Response(status_code=204) if row is None else row
