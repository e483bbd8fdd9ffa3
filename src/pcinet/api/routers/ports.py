"""``/v1/ports``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Response

from pcinet.api.deps import Ctl, Who
from pcinet.service import ports

router = APIRouter(prefix="/v1/ports", tags=["ports"])

EXAMPLE = {
    "network_id": "<network id>",
    "name": "p1",
    "binding:vnic_type": "direct",
    "binding:profile": {"trusted": True},
    "port_security_enabled": True,
    "max_tx_rate": 10000,
}


@router.post("", status_code=201)
def create(ctl: Ctl, who: Who, body: Annotated[Any, Body(examples=[EXAMPLE])]) -> dict[str, Any]:
    return ports.create(ctl, who, body)


@router.get("")
def list_ports(
    *,
    ctl: Ctl,
    who: Who,
    network_id: str | None = None,
    device_id: str | None = None,
    name: str | None = None,
    status: str | None = None,
) -> list[dict[str, Any]]:
    return ports.list_ports(
        ctl, who, network_id=network_id, device_id=device_id, name=name, status=status
    )


@router.get("/{port_id}")
def get(port_id: str, ctl: Ctl, who: Who) -> dict[str, Any]:
    return ports.get(ctl, who, port_id)


@router.delete("/{port_id}", status_code=204)
def delete(port_id: str, ctl: Ctl, who: Who) -> Response:
    ports.delete(ctl, who, port_id)
    return Response(status_code=204)


@router.put("/{port_id}/status")
def set_status(
    port_id: str,
    ctl: Ctl,
    who: Who,
    body: Annotated[Any, Body(examples=[{"status": "ACTIVE"}])],
) -> dict[str, Any]:
    return ports.set_status(ctl, who, port_id, body)
