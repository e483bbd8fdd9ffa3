"""The database going away: 503 ``database_unavailable`` instead of a 500, and nothing to
restart when it comes back.

SQLAlchemy raises ``OperationalError`` (or ``InterfaceError``) when the database cannot be
reached, drops a connection, or is too busy (SQLite's lock wait ran out; a PostgreSQL
deadlock or serialisation failure); the pool's ``TimeoutError`` when no connection could be
had. Each is an answer the client can retry. The transaction of the request rolled back.
A dropped connection is invalidated by SQLAlchemy together with every older connection of
the pool, so once the database is back the next requests connect afresh.
"""

from __future__ import annotations

import logging
import sqlite3

import psycopg
import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

log = logging.getLogger("pcinet.api")
RETRY_AFTER_S = 1
# The drivers' own classes too: a connection the pool fails to open for the placement's
# direct path (``Engine.raw_connection``) is raised unwrapped.
UNAVAILABLE = (
    sa.exc.OperationalError,
    sa.exc.InterfaceError,
    sa.exc.TimeoutError,
    psycopg.OperationalError,
    psycopg.InterfaceError,
    sqlite3.OperationalError,
)


def install(app: FastAPI) -> None:
    async def _unavailable(request: Request, exc: Exception) -> JSONResponse:
        orig = getattr(exc, "orig", None) or exc
        reason = (str(orig).strip().splitlines() or [type(orig).__name__])[0][:200]
        # One line, without the statement's parameters (they may carry users' data).
        log.warning("database unavailable on %s %s: %s", request.method, request.url.path, reason)
        body = {
            "code": "database_unavailable",
            "message": f"the database is unavailable or busy ({type(orig).__name__}); try again",
        }
        return JSONResponse(
            {"error": body}, status_code=503, headers={"Retry-After": str(RETRY_AFTER_S)}
        )

    for cls in UNAVAILABLE:
        app.add_exception_handler(cls, _unavailable)
