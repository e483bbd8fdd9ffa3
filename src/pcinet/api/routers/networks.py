"""``/v1/networks``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Response

from pcinet.api.deps import Ctl, PathText, QueryText, Who
from pcinet.api.schemas import NetworkView, answers, errors
from pcinet.service import networks
from pcinet.service.inputs.networks import NetworkCreate

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


@router.post("", **answers(201, NetworkView, 400, 401, 403, 409, 413, 503))
def create(
    ctl: Ctl, who: Who, body: Annotated[NetworkCreate, Body(examples=EXAMPLES)]
) -> dict[str, Any]:
    return networks.create(ctl, who, body)


@router.get("", **answers(200, list[NetworkView], 400, 401))
def list_networks(
    ctl: Ctl,
    who: Who,
    name: QueryText = None,
    shared: bool | None = None,
    project_id: QueryText = None,
) -> list[dict[str, Any]]:
    return networks.list_networks(ctl, who, name=name, shared=shared, project_id=project_id)


@router.get("/{network_id}", **answers(200, NetworkView, 400, 401, 404))
def get(network_id: PathText, ctl: Ctl, who: Who) -> dict[str, Any]:
    return networks.get(ctl, who, network_id)


@router.delete("/{network_id}", status_code=204, responses=errors(400, 401, 403, 404, 409))
def delete(network_id: PathText, ctl: Ctl, who: Who) -> Response:
    networks.delete(ctl, who, network_id)
    return Response(status_code=204)
