"""``/v1/ports``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Response

from pcinet.api.deps import Ctl, PathText, QueryText, Who
from pcinet.api.schemas import PortView, answers, errors
from pcinet.service import ports
from pcinet.service.inputs.ports import PortCreate, PortStatus

router = APIRouter(prefix="/v1/ports", tags=["ports"])

EXAMPLE = {
    "network_id": "<network id>",
    "name": "p1",
    "binding:vnic_type": "direct",
    "binding:profile": {"trusted": True},
    "port_security_enabled": True,
    "max_tx_rate": 10000,
}


@router.post("", **answers(201, PortView, 400, 401, 403, 404, 409, 413))
def create(
    ctl: Ctl, who: Who, body: Annotated[PortCreate, Body(examples=[EXAMPLE])]
) -> dict[str, Any]:
    return ports.create(ctl, who, body)


@router.get("", **answers(200, list[PortView], 400, 401))
def list_ports(
    *,
    ctl: Ctl,
    who: Who,
    network_id: QueryText = None,
    device_id: QueryText = None,
    name: QueryText = None,
    status: QueryText = None,
) -> list[dict[str, Any]]:
    return ports.list_ports(
        ctl, who, network_id=network_id, device_id=device_id, name=name, status=status
    )


@router.get("/{port_id}", **answers(200, PortView, 400, 401, 404))
def get(port_id: PathText, ctl: Ctl, who: Who) -> dict[str, Any]:
    return ports.get(ctl, who, port_id)


@router.delete("/{port_id}", status_code=204, responses=errors(400, 401, 403, 404, 409))
def delete(port_id: PathText, ctl: Ctl, who: Who) -> Response:
    ports.delete(ctl, who, port_id)
    return Response(status_code=204)


@router.put("/{port_id}/status", **answers(200, PortView, 400, 401, 403, 404, 413))
def set_status(
    port_id: PathText,
    ctl: Ctl,
    who: Who,
    body: Annotated[PortStatus, Body(examples=[{"status": "ACTIVE"}])],
) -> dict[str, Any]:
    return ports.set_status(ctl, who, port_id, body)
