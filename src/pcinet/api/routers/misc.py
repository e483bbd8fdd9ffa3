"""``/v1/pci/aliases``, ``/v1/tokens`` and ``/healthz``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body

from pcinet.api.deps import Ctl, Who
from pcinet.api.schemas import Health, Token, answers
from pcinet.service import aliases, tokens
from pcinet.service.inputs.aliases import Aliases
from pcinet.service.inputs.tokens import TokenCreate
from pcinet.store.db import current_revision

router = APIRouter(tags=["aliases", "tokens"])

ALIAS_EXAMPLE = [
    {"name": "gpu", "device_type": "type-PCI", "vendor_id": "10de", "product_id": "1eb8"}
]


@router.put("/v1/pci/aliases", **answers(200, list[dict[str, Any]], 400, 401, 403, 413))
def put_aliases(
    ctl: Ctl, who: Who, body: Annotated[Aliases, Body(examples=[ALIAS_EXAMPLE])]
) -> list[dict[str, Any]]:
    return aliases.put(ctl, who, body)


@router.get("/v1/pci/aliases", **answers(200, list[dict[str, Any]], 401, 403))
def get_aliases(ctl: Ctl, who: Who) -> list[dict[str, Any]]:
    return aliases.get(ctl, who)


@router.post("/v1/tokens", **answers(201, Token, 400, 401, 403, 413))
def create_token(
    ctl: Ctl,
    who: Who,
    body: Annotated[TokenCreate, Body(examples=[{"project_id": "p1", "role": "member"}])],
) -> dict[str, Any]:
    return tokens.issue(ctl, who, body)


@router.get("/healthz", **answers(200, Health))
def health(ctl: Ctl) -> dict[str, Any]:
    return {"status": "ok", "schema": current_revision(ctl.engine)}
