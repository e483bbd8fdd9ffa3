"""``PUT /v1/quotas/{project_id}`` and ``PUT /v1/quota-defaults``."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from pcinet.service.inputs.base import Body, Int
from pcinet.service.inputs.limits import MAX_INT

Limit = Annotated[
    Int, Field(ge=-1, le=MAX_INT, description="-1: unlimited; null removes the limit")
]


class QuotaSet(Body):
    """The limits to set; a resource not given keeps its limit."""

    WHERE = "quota"

    networks: Limit | None = None
    ports: Limit | None = None
    servers: Limit | None = None
    vfs: Limit | None = None

    def limits(self) -> dict[str, int | None]:
        """The resources given (None: remove the limit)."""
        return self.model_dump(exclude_unset=True)
