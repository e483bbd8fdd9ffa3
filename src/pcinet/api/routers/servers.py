"""``/v1/servers``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Response

from pcinet.api.deps import Ctl, PathText, QueryText, Who
from pcinet.api.schemas import ServerView, answers, errors
from pcinet.service import servers
from pcinet.service.inputs.servers import ServerCreate

router = APIRouter(prefix="/v1/servers", tags=["servers"])

EXAMPLE = {
    "name": "vm1",
    "flavor": {"vcpus": 4, "memory_mb": 8192, "extra_specs": {}},
    "ports": ["<port id>"],
}


@router.post("", **answers(201, ServerView, 400, 401, 403, 404, 409, 413, 500))
def create(
    ctl: Ctl, who: Who, body: Annotated[ServerCreate, Body(examples=[EXAMPLE])]
) -> dict[str, Any]:
    return servers.create(ctl, who, body)


@router.get("", **answers(200, list[ServerView], 400, 401))
def list_servers(
    ctl: Ctl,
    who: Who,
    name: QueryText = None,
    status: QueryText = None,
    host: QueryText = None,
) -> list[dict[str, Any]]:
    return servers.list_servers(ctl, who, name=name, status=status, host=host)


@router.get("/{server_id}", **answers(200, ServerView, 400, 401, 404))
def get(server_id: PathText, ctl: Ctl, who: Who) -> dict[str, Any]:
    return servers.get(ctl, who, server_id)


@router.delete("/{server_id}", status_code=204, responses=errors(400, 401, 403, 404))
def delete(server_id: PathText, ctl: Ctl, who: Who) -> Response:
    servers.delete(ctl, who, server_id)
    return Response(status_code=204)
