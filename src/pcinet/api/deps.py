"""Dependencies shared by the routers: the controller, the authenticated caller (a bearer
security scheme in ``/openapi.json``) and the types of path and query parameters."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import AfterValidator

from pcinet.service.context import Caller
from pcinet.service.controller import Controller
from pcinet.service.inputs.limits import MAX_NAME
from pcinet.service.inputs.text import storable
from pcinet.service.tokens import authenticate

# auto_error=False: the service answers a missing or malformed header (401 unauthorized,
# with our error body); the scheme is here for the OpenAPI document.
bearer = HTTPBearer(auto_error=False, description="a token from POST /v1/tokens")


def controller(request: Request) -> Controller:
    ctl: Controller = request.app.state.controller
    return ctl


def caller(
    request: Request,
    _: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Caller:
    return authenticate(controller(request), request.headers.get("authorization"))


Ctl = Annotated[Controller, Depends(controller)]
Who = Annotated[Caller, Depends(caller)]

# A path segment or query value is stored or compared with stored text: the same limits.
PathText = Annotated[str, Path(max_length=MAX_NAME), AfterValidator(storable)]


def _storable_or_none(value: str | None) -> str | None:
    return None if value is None else storable(value)


QueryText = Annotated[str | None, Query(max_length=MAX_NAME), AfterValidator(_storable_or_none)]
