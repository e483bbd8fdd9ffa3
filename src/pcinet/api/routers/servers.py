"""``/v1/servers``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Response

from pcinet.api.deps import Ctl, Who
from pcinet.service import servers

router = APIRouter(prefix="/v1/servers", tags=["servers"])

EXAMPLE = {
    "name": "vm1",
    "flavor": {"vcpus": 4, "memory_mb": 8192, "extra_specs": {}},
    "ports": ["<port id>"],
}


@router.post("", status_code=201)
def create(ctl: Ctl, who: Who, body: Annotated[Any, Body(examples=[EXAMPLE])]) -> dict[str, Any]:
    return servers.create(ctl, who, body)


@router.get("")
def list_servers(
    ctl: Ctl,
    who: Who,
    name: str | None = None,
    status: str | None = None,
    host: str | None = None,
) -> list[dict[str, Any]]:
    return servers.list_servers(ctl, who, name=name, status=status, host=host)


@router.get("/{server_id}")
def get(server_id: str, ctl: Ctl, who: Who) -> dict[str, Any]:
    return servers.get(ctl, who, server_id)


@router.delete("/{server_id}", status_code=204)
def delete(server_id: str, ctl: Ctl, who: Who) -> Response:
    servers.delete(ctl, who, server_id)
    return Response(status_code=204)
