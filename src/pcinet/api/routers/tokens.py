"""``GET /v1/tokens`` and ``DELETE /v1/tokens/{id}`` (admin; ``POST /v1/tokens`` is in
``misc``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from pcinet.api.deps import Ctl, PathText, Who
from pcinet.api.schemas import TokenView, answers, errors
from pcinet.service import tokens

router = APIRouter(prefix="/v1/tokens", tags=["tokens"])


@router.get("", **answers(200, list[TokenView], 401, 403))
def list_tokens(ctl: Ctl, who: Who) -> list[dict[str, Any]]:
    """Every token's id, project, role, host, expiry and creation time (never the secret)."""
    return tokens.list_tokens(ctl, who)


@router.delete("/{token_id}", status_code=204, responses=errors(400, 401, 403, 404))
def delete_token(token_id: PathText, ctl: Ctl, who: Who) -> Response:
    """Revoke a token: 401 from now on (on other replicas within seconds, see the docs)."""
    tokens.revoke(ctl, who, token_id)
    return Response(status_code=204)
