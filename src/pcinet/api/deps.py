"""Dependencies shared by the routers: the controller and the authenticated caller."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from pcinet.service.context import Caller
from pcinet.service.controller import Controller
from pcinet.service.tokens import authenticate


def controller(request: Request) -> Controller:
    ctl: Controller = request.app.state.controller
    return ctl


def caller(request: Request, authorization: Annotated[str | None, Header()] = None) -> Caller:
    return authenticate(controller(request), authorization)


Ctl = Annotated[Controller, Depends(controller)]
Who = Annotated[Caller, Depends(caller)]
