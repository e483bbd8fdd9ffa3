"""``/v1/hosts``: inventory reports, heartbeats, enable/disable, VF state for agents."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Response

from pcinet.api.deps import Ctl, PathText, Who
from pcinet.api.schemas import HostView, VfStateRow, VfStateView, answers, errors
from pcinet.service import hosts
from pcinet.service.inputs.hosts import Disabled, HostReport, VfReport

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


@router.put(
    "/{name}",
    response_model=None,
    responses={
        200: {"model": HostView},
        201: {"model": HostView, "description": "the host is new"},
        **errors(400, 401, 403, 409, 413),
    },
)
def report(
    name: PathText,
    ctl: Ctl,
    who: Who,
    response: Response,
    body: Annotated[HostReport, Body(examples=[REPORT_EXAMPLE])],
) -> dict[str, Any]:
    """A host's inventory report (201 when the host is new)."""
    view, created = hosts.report(ctl, who, name, body)
    response.status_code = 201 if created else 200
    return view


@router.get("", **answers(200, list[HostView], 400, 401, 403))
def list_hosts(ctl: Ctl, who: Who, disabled: bool | None = None) -> list[dict[str, Any]]:
    return hosts.list_hosts(ctl, who, disabled=disabled)


@router.get("/{name}", **answers(200, HostView, 400, 401, 403, 404))
def get_host(name: PathText, ctl: Ctl, who: Who) -> dict[str, Any]:
    return hosts.get_host(ctl, who, name)


@router.post("/{name}/heartbeat", status_code=204, responses=errors(400, 401, 403, 404))
def heartbeat(name: PathText, ctl: Ctl, who: Who) -> Response:
    hosts.heartbeat(ctl, who, name)
    return Response(status_code=204)


@router.put("/{name}/disabled", **answers(200, HostView, 400, 401, 403, 404, 413))
def set_disabled(
    name: PathText,
    ctl: Ctl,
    who: Who,
    body: Annotated[Disabled, Body(examples=[{"disabled": True}])],
) -> dict[str, Any]:
    return hosts.set_disabled(ctl, who, name, body)


@router.get("/{name}/vf-state", **answers(200, VfStateView, 400, 401, 403, 404))
def vf_state(name: PathText, ctl: Ctl, who: Who) -> dict[str, Any]:
    return hosts.vf_state(ctl, who, name)


@router.put(
    "/{name}/vf-state/{pci_address}",
    response_model=None,
    responses={
        200: {"model": VfStateRow},
        204: {"description": "a restore was confirmed: the row is gone"},
        **errors(400, 401, 403, 404, 413),
    },
)
def report_vf(
    name: PathText,
    pci_address: PathText,
    ctl: Ctl,
    who: Who,
    body: Annotated[VfReport, Body(examples=[{"generation": 1, "status": "applied"}])],
) -> dict[str, Any] | Response:
    row = hosts.report_vf(ctl, who, name, pci_address, body)
    return Response(status_code=204) if row is None else row
