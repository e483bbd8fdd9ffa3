"""``POST /v1/why-not``: where a server would go now, and every host's reason
(``service.capacity.why_not_server``); nothing is claimed."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body

from pcinet.api.deps import Ctl, Who
from pcinet.api.schemas import WhyNotView, answers
from pcinet.service import capacity as service_capacity
from pcinet.service.inputs.whynot import ServerWhyNot

router = APIRouter(tags=["capacity"])

EXAMPLE = {
    "flavor": {"vcpus": 4, "memory_mb": 8192, "extra_specs": {}},
    "ports": ["<port id>"],
    "networks": [{"network": "<network id or name>", "vnic_type": "direct"}],
}


@router.post("/v1/why-not", **answers(200, WhyNotView, 400, 401, 403, 404, 409, 413))
def why_not(
    ctl: Ctl, who: Who, body: Annotated[ServerWhyNot, Body(examples=[EXAMPLE])]
) -> dict[str, Any]:
    return service_capacity.why_not_server(ctl, who, body)
