"""``GET /v1/capacity``: how many more servers of one shape fit (``service.capacity``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import AfterValidator

from pcinet.api.deps import Ctl, Who
from pcinet.api.schemas import errors
from pcinet.service import capacity as service_capacity
from pcinet.service.errors import InvalidRequest
from pcinet.service.inputs.text import storable

router = APIRouter(tags=["capacity"])


def storable_list(values: list[str] | None) -> list[str] | None:
    return None if values is None else [storable(v) for v in values]


@router.get("/v1/capacity", responses=errors(400, 401, 403, 404))
def get_capacity(
    *,
    ctl: Ctl,
    who: Who,
    network: Annotated[
        str, Query(description="Network id or name.", max_length=255), AfterValidator(storable)
    ],
    vnic_type: str = "direct",
    ports: int = 1,
    vcpus: int = 1,
    memory_mb: int = 512,
    extra_spec: Annotated[
        list[str] | None,
        Query(description="Flavor extra spec KEY=VALUE, repeated.", max_length=128),
        AfterValidator(storable_list),
    ] = None,
    max_servers: int = service_capacity.DEFAULT_MAX_SERVERS,
) -> dict[str, Any]:
    specs: dict[str, str] = {}
    for item in extra_spec or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InvalidRequest(
                f"extra_spec: {item!r} is not of the form KEY=VALUE", field="extra_spec"
            )
        specs[key.strip()] = value
    return service_capacity.capacity(
        ctl,
        who,
        network=network,
        vnic_type=vnic_type,
        ports=ports,
        vcpus=vcpus,
        memory_mb=memory_mb,
        extra_specs=specs,
        max_servers=max_servers,
    )
