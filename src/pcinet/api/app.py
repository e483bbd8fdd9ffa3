"""``create_app(settings)``: the FastAPI application of a pcinet controller.

On start (the ASGI lifespan) it opens the database, brings it to the newest schema, stores
the configured admin token and loads the scheduler's snapshot; on shutdown it closes the
database. ``create_app(settings, controller=ctl)`` serves an already started controller.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from pcinet import __version__
from pcinet.api import dbdown, errors
from pcinet.api.guard import Guard
from pcinet.api.routers import capacity, hosts, metrics, misc, networks, ports, servers
from pcinet.api.routers import quotas as quota_routes
from pcinet.api.routers import tokens as token_routes
from pcinet.api.routers import whynot as whynot_routes
from pcinet.config import Settings
from pcinet.service.controller import Controller, settle_heap
from pcinet.ui import routes as ui_routes


def create_app(
    settings: Settings, *, controller: Controller | None = None, settle: bool = False
) -> FastAPI:
    """``settle``: after start, ``settle_heap`` (for a dedicated server process)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        ctl = controller or Controller.start(settings)
        app.state.controller = ctl
        if settle:
            settle_heap()
        try:
            yield
        finally:
            if controller is None:
                ctl.close()

    app = FastAPI(
        title="pcinet",
        version=__version__,
        description=(
            "PCI pass-through networking: the port's network tells the scheduler which "
            'devices can serve it. Errors are {"error": {"code", "message", "field"}}; '
            "the limits on input are listed in docs/api.md."
        ),
        lifespan=lifespan,
    )
    errors.install(app)
    app.add_middleware(Guard)
    dbdown.install(app)
    for module in (hosts, networks, ports, servers, misc, capacity, metrics):
        app.include_router(module.router)
    app.include_router(token_routes.router)
    app.include_router(quota_routes.router)
    app.include_router(whynot_routes.router)
    app.include_router(ui_routes.router)
    return app
