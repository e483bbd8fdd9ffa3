"""``GET /metrics``: the controller's Prometheus metrics (``service.metrics``).

It needs a token of role admin or service, as the host views it summarises do: host names,
PF addresses and physnets are the operator's, not a project's. Point Prometheus at it with
``authorization: {credentials_file: ...}`` holding such a token.
"""

from __future__ import annotations

from fastapi import APIRouter, Response

from pcinet.api.deps import Ctl, Who
from pcinet.api.schemas import errors
from pcinet.service.metrics import CONTENT_TYPE

router = APIRouter(tags=["metrics"])


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {
            "description": "the Prometheus text format",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        },
        **errors(401, 403),
    },
)
def get_metrics(ctl: Ctl, who: Who) -> Response:
    who.require("admin", "service", action="reading metrics")
    ctl.cache.maybe_refresh()  # hosts gone down since, as the dashboard and capacity see them
    return Response(ctl.metrics.exposition(), media_type=CONTENT_TYPE)
