"""``/v1/quotas/{project_id}`` and ``/v1/quota-defaults`` (admin; a member reads its own)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body

from pcinet.api.deps import Ctl, PathText, Who
from pcinet.api.schemas import QuotaDefaults, QuotaView, answers
from pcinet.service import quotas
from pcinet.service.inputs.quotas import QuotaSet

router = APIRouter(tags=["quotas"])

QUOTA_EXAMPLE = {"networks": 10, "ports": 50, "servers": 20, "vfs": 40}


@router.get("/v1/quota-defaults", **answers(200, QuotaDefaults, 401, 403))
def get_defaults(ctl: Ctl, who: Who) -> dict[str, Any]:
    """The default limits of every project without its own (-1: unlimited)."""
    return quotas.get_defaults(ctl, who)


@router.put("/v1/quota-defaults", **answers(200, QuotaDefaults, 400, 401, 403, 413))
def put_defaults(
    ctl: Ctl, who: Who, body: Annotated[QuotaSet, Body(examples=[QUOTA_EXAMPLE])]
) -> dict[str, Any]:
    """Set default limits: an integer >= 0, -1 for unlimited, null to remove."""
    return quotas.put_defaults(ctl, who, body)


@router.get("/v1/quotas/{project_id}", **answers(200, QuotaView, 400, 401, 403))
def get_quota(project_id: PathText, ctl: Ctl, who: Who) -> dict[str, Any]:
    """A project's effective limits, its own overrides and its usage."""
    return quotas.get(ctl, who, project_id)


@router.put("/v1/quotas/{project_id}", **answers(200, QuotaView, 400, 401, 403, 413))
def put_quota(
    project_id: PathText,
    ctl: Ctl,
    who: Who,
    body: Annotated[QuotaSet, Body(examples=[QUOTA_EXAMPLE])],
) -> dict[str, Any]:
    """Override a project's limits: an integer >= 0, -1 for unlimited, null for the default."""
    return quotas.put(ctl, who, project_id, body)
