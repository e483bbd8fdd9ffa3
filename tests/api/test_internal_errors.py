"""An unexpected error: 500 with the error body, logged once without the SQL parameters,
and the client's keep-alive connection stays open (issue 9: the catch-all re-raised)."""

from __future__ import annotations

import http.client
import json
import logging
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from pcinet.api.app import create_app
from pcinet.api.server import background
from pcinet.config import Settings

SECRET = "secret-client-data-42"


def test_a_500_keeps_the_connection_and_is_logged_once_without_parameters(
    db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(database_url=db_url, admin_token="t")
    app = create_app(settings)

    @app.get("/v1/boom")
    def boom() -> None:
        raise sa.exc.StatementError(
            "boom", "INSERT INTO x VALUES (:p)", {"p": SECRET}, ValueError("driver")
        )

    caplog.set_level(logging.INFO)
    with background(settings, app=app) as url:
        parts = urlsplit(url)
        conn = http.client.HTTPConnection(parts.hostname or "", parts.port)
        try:
            conn.request("GET", "/v1/boom")
            response = conn.getresponse()
            body = json.loads(response.read())
            assert response.status == 500
            assert body == {
                "error": {"code": "internal_error", "message": "internal error: StatementError"}
            }
            assert response.getheader("connection") != "close"
            local = conn.sock.getsockname()
            conn.request("GET", "/healthz")
            second = conn.getresponse()
            assert second.status == 200 and json.loads(second.read())["status"] == "ok"
            assert conn.sock.getsockname() == local  # the same connection
        finally:
            conn.close()
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1, [r.getMessage() for r in errors]
    assert errors[0].name == "pcinet.api" and "/v1/boom" in errors[0].getMessage()
    assert SECRET not in caplog.text
