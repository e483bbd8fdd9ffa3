"""Bearer tokens: issuing, listing and revoking them (admin only), and authenticating.

Tokens are looked up by their sha256 digest. A found token is remembered for
``CACHE_TTL_S`` seconds, so that most requests cost no token query; its expiry is checked
on every request all the same. Revoking a token forgets it at once in the revoking process;
another replica (a ``pcinet serve`` on the same database) may accept it until its
remembered lookup is ``CACHE_TTL_S`` old.
"""

from __future__ import annotations

import math
import time
from datetime import datetime, timedelta
from typing import Any

from pcinet.service.context import Caller, Role
from pcinet.service.controller import Controller
from pcinet.service.errors import InvalidRequest, NotFound, Unauthorized
from pcinet.service.inputs.base import parse
from pcinet.service.inputs.tokens import MAX_TTL_S, TokenCreate
from pcinet.service.views import time_text
from pcinet.store import tokens as store_tokens
from pcinet.store.models import Token, utcnow

CACHE_TTL_S = 5.0


def _expiry(request: TokenCreate, now: datetime) -> datetime | None:
    """``expires_at`` (ISO 8601 with a zone) or ``ttl_s`` (seconds from now), or None."""
    if request.expires_at is not None and request.ttl_s is not None:
        raise InvalidRequest("token.ttl_s: give expires_at or ttl_s, not both", field="token.ttl_s")
    if request.ttl_s is not None:
        return now + timedelta(seconds=request.ttl_s)
    text = request.expires_at
    if text is None:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidRequest(
            "token.expires_at: expected an ISO 8601 time with a zone, e.g. 2027-01-31T12:00:00Z",
            field="token.expires_at",
        ) from None
    if when.tzinfo is None:
        raise InvalidRequest(
            "token.expires_at: the time needs a zone (Z or +HH:MM)", field="token.expires_at"
        )
    if when <= now or when - now > timedelta(seconds=MAX_TTL_S):
        raise InvalidRequest(
            "token.expires_at: must be in the future, at most ten years ahead",
            field="token.expires_at",
        )
    return when


def token_view(row: Token) -> dict[str, Any]:
    """What anyone may see of a token: never the token, nor its digest."""
    return {
        "id": row.id,
        "project_id": row.project_id,
        "role": row.role,
        "host": row.host,
        "expires_at": time_text(row.expires_at),
        "created_at": time_text(row.created_at),
        "configured": row.configured,
    }


def issue(ctl: Controller, caller: Caller, body: TokenCreate | Any) -> dict[str, Any]:
    """A new token: its view plus ``token``, the only time the secret is shown."""
    caller.require("admin", action="issuing tokens")
    request = parse(TokenCreate, body)
    project, role, host = request.project_id, request.role, request.host
    if host is not None and role != "service":
        raise InvalidRequest(
            f"token.host: only a service token is bound to a host, not a {role} token",
            field="token.host",
        )
    now = utcnow()
    expires_at = _expiry(request, now)
    with ctl.unit() as session:
        token, row = store_tokens.issue_token(
            session, project, role, host=host, expires_at=expires_at
        )
        view = token_view(row)
    return {"token": token, **view}


def list_tokens(ctl: Controller, caller: Caller) -> list[dict[str, Any]]:
    caller.require("admin", action="listing tokens")
    with ctl.unit(readonly=True) as session:
        return [token_view(r) for r in store_tokens.list_tokens(session)]


def revoke(ctl: Controller, caller: Caller, token_id: str) -> None:
    """Delete a token; this process stops accepting it at once, others within
    ``CACHE_TTL_S``."""
    caller.require("admin", action="revoking tokens")
    with ctl.unit() as session:
        row = store_tokens.delete_token(session, token_id)
        if row is None:
            raise NotFound(f"token {token_id} not found")
        digest = row.token_hash
    ctl.token_cache.pop(digest, None)


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
    if hit is None or now - hit[0] >= CACHE_TTL_S:
        with ctl.unit(readonly=True) as session:
            row = store_tokens.get_token(session, token)
            if row is None:
                ctl.token_cache.pop(key, None)
                raise Unauthorized("unknown token")
            role: Role = row.role  # type: ignore[assignment]
            caller = Caller(row.project_id, role, host=row.host, token_id=row.id)
            expires = math.inf if row.expires_at is None else row.expires_at.timestamp()
        hit = (now, caller, expires)
        ctl.token_cache[key] = hit  # a dict store is atomic under the GIL
    if time.time() >= hit[2]:
        raise Unauthorized("the token has expired")
    return hit[1]
