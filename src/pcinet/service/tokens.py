"""Bearer tokens: issuing (admin only) and authenticating.

Tokens are looked up by their sha256 digest; a found token is remembered for
``CACHE_TTL_S`` seconds so a request costs no token query (tokens are never revoked).
"""

from __future__ import annotations

import time
from typing import Any

from pcinet.service.context import Caller, Role
from pcinet.service.controller import Controller
from pcinet.service.errors import InvalidRequest, Unauthorized
from pcinet.service.validate import body_object
from pcinet.store import tokens as store_tokens

CACHE_TTL_S = 60.0


def issue(ctl: Controller, caller: Caller, body: Any) -> dict[str, Any]:
    caller.require("admin", action="issuing tokens")
    data = body_object(body, "token", ("project_id", "role"))
    project = data.get("project_id")
    if not isinstance(project, str) or not project.strip() or len(project) > 255:
        raise InvalidRequest(
            f"token.project_id: expected a non-empty string, got {project!r}",
            field="token.project_id",
        )
    role = data.get("role", "member")
    if role not in store_tokens.ROLES:
        raise InvalidRequest(
            f"token.role: {role!r} is not one of {', '.join(store_tokens.ROLES)}",
            field="token.role",
        )
    with ctl.unit() as session:
        token = store_tokens.issue_token(session, project, role)
    return {"token": token, "project_id": project, "role": role}


def authenticate(ctl: Controller, authorization: str | None) -> Caller:
    """The caller of an ``Authorization: Bearer <token>`` header, or Unauthorized."""
    if not authorization:
        raise Unauthorized("missing Authorization: Bearer <token> header")
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("the Authorization header must be 'Bearer <token>'")
    key = store_tokens.hash_token(token)
    now = time.monotonic()
    hit = ctl.token_cache.get(key)
    if hit is not None and now - hit[0] < CACHE_TTL_S:
        return hit[1]
    with ctl.unit(readonly=True) as session:
        row = store_tokens.get_token(session, token)
        found = None if row is None else (row.project_id, row.role)
    if found is None:
        raise Unauthorized("unknown token")
    role: Role = found[1]  # type: ignore[assignment]
    caller = Caller(found[0], role)
    ctl.token_cache[key] = (now, caller)  # a dict store is atomic under the GIL
    return caller
