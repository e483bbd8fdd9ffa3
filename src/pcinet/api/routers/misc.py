"""``/v1/pci/aliases``, ``/v1/tokens`` and ``/healthz``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body

from pcinet.api.deps import Ctl, Who
from pcinet.service import aliases, tokens
from pcinet.store.db import current_revision

router = APIRouter(tags=["aliases", "tokens"])

ALIAS_EXAMPLE = [
    {"name": "gpu", "device_type": "type-PCI", "vendor_id": "10de", "product_id": "1eb8"}
]


@router.put("/v1/pci/aliases")
def put_aliases(
    ctl: Ctl, who: Who, body: Annotated[Any, Body(examples=[ALIAS_EXAMPLE])]
) -> list[dict[str, Any]]:
    return aliases.put(ctl, who, body)


@router.get("/v1/pci/aliases")
def get_aliases(ctl: Ctl, who: Who) -> list[dict[str, Any]]:
    return aliases.get(ctl, who)


@router.post("/v1/tokens", status_code=201)
def create_token(
    ctl: Ctl,
    who: Who,
    body: Annotated[Any, Body(examples=[{"project_id": "p1", "role": "member"}])],
) -> dict[str, Any]:
    return tokens.issue(ctl, who, body)


@router.get("/healthz")
def health(ctl: Ctl) -> dict[str, Any]:
    return {"status": "ok", "schema": current_revision(ctl.engine)}
