"""``POST /v1/tokens``."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from pcinet.service.inputs.base import Body
from pcinet.service.inputs.text import NonEmptyName

MAX_TTL_S = 10 * 366 * 86400  # ten years: a longer expiry is a mistake, not a wish


class TokenCreate(Body):
    WHERE = "token"

    project_id: NonEmptyName
    role: Literal["member", "admin", "service"] = "member"
    host: NonEmptyName | None = Field(None, description="binds a service token to one host")
    expires_at: Annotated[str, Field(max_length=64)] | None = Field(
        None, description="ISO 8601 with a zone, e.g. 2027-01-31T12:00:00Z"
    )
    ttl_s: Annotated[float, Field(gt=0, le=MAX_TTL_S, allow_inf_nan=False)] | None = Field(
        None, description="seconds from now (instead of expires_at)"
    )
