"""``/v1/networks``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Response

from pcinet.api.deps import Ctl, Who
from pcinet.service import networks

router = APIRouter(prefix="/v1/networks", tags=["networks"])

EXAMPLES = [
    {"name": "tenant-net"},
    {
        "name": "net-phy1",
        "provider:network_type": "vlan",
        "provider:physical_network": "phy1",
        "provider:segmentation_id": 100,
    },
    {
        "name": "multi",
        "segments": [
            {"provider:network_type": "vlan", "provider:physical_network": "phy1"},
            {"provider:network_type": "vlan", "provider:physical_network": "phy2"},
        ],
    },
]


@router.post("", status_code=201)
def create(ctl: Ctl, who: Who, body: Annotated[Any, Body(examples=EXAMPLES)]) -> dict[str, Any]:
    return networks.create(ctl, who, body)


@router.get("")
def list_networks(
    ctl: Ctl,
    who: Who,
    name: str | None = None,
    shared: bool | None = None,
    project_id: str | None = None,
) -> list[dict[str, Any]]:
    return networks.list_networks(ctl, who, name=name, shared=shared, project_id=project_id)


@router.get("/{network_id}")
def get(network_id: str, ctl: Ctl, who: Who) -> dict[str, Any]:
    return networks.get(ctl, who, network_id)


@router.delete("/{network_id}", status_code=204)
def delete(network_id: str, ctl: Ctl, who: Who) -> Response:
    networks.delete(ctl, who, network_id)
    return Response(status_code=204)
