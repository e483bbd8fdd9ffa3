"""PostgreSQL stopped and restarted under a running controller: 503 ``database_unavailable``
while it is away (never a 500, nor a 401 for a token the controller cannot look up), and
recovery without restarting the controller."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack

import httpx
import pytest

from pcinet.api.server import background
from pcinet.config import Settings
from pcinet.store.check import check
from pcinet.store.db import make_engine, upgrade
from tests.api.conftest import ADMIN_TOKEN, VLAN_RANGES, Api, error, expect, host_report
from tests.pg import PgServer, PostgresNotFound

pytestmark = pytest.mark.postgres


@pytest.fixture
def own_pg() -> Iterator[PgServer]:
    """A PostgreSQL server of this test alone: it is stopped and started again."""
    try:
        server = PgServer()
    except PostgresNotFound as exc:
        pytest.fail(str(exc), pytrace=False)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _until_ok(call: object, timeout_s: float = 20.0) -> httpx.Response:
    deadline = time.monotonic() + timeout_s
    while True:
        response = call()  # type: ignore[operator]
        assert isinstance(response, httpx.Response)
        if response.status_code < 500 or time.monotonic() > deadline:
            return response
        assert response.json()["error"]["code"] == "database_unavailable", response.text
        time.sleep(0.1)


def test_regression_the_database_going_away_is_503_and_recovers(own_pg: PgServer) -> None:
    own_pg.execute("CREATE DATABASE pcinet")
    url = own_pg.url("pcinet")
    upgrade(url)
    settings = Settings(database_url=url, admin_token=ADMIN_TOKEN, network_vlan_ranges=VLAN_RANGES)
    with ExitStack() as stack:
        api = Api(stack.enter_context(background(settings)), ADMIN_TOKEN, stack)
        api.report_host("cn1", host_report([("3b", "phy1")], vfs=4))
        net = api.vlan_network("net1", "phy1", 100)
        first = api.boot_on(net["id"], name="before")
        member = expect(api.post("/v1/tokens", {"project_id": "p1"}), 201)["token"]
        port = api.port(net["id"])

        paths = expect(api.get("/openapi.json"), 200)["paths"]
        own_pg.halt()
        for operation, response in (
            (("get", "/v1/networks"), api.get("/v1/networks")),
            (("get", "/v1/servers/{server_id}"), api.get(f"/v1/servers/{first['id']}")),
            (("post", "/v1/servers"), api.boot_response([port["id"]], name="while-down")),
            # a token never looked up here
            (("get", "/v1/networks"), api.as_token(member).get("/v1/networks")),
            (("get", "/healthz"), api.get("/healthz")),
        ):
            method, path = operation
            assert "503" in paths[path][method]["responses"], operation  # the contract says so
            err = error(response, 503, "database_unavailable")
            assert response.headers["Retry-After"] == "1"
            assert "try again" in err["message"]

        own_pg.resume()
        expect(_until_ok(lambda: api.get("/v1/networks")), 200)
        second = expect(_until_ok(lambda: api.boot_response([port["id"]], name="after")), 201)
        assert second["host"] == "cn1"
        assert expect(api.as_token(member).get("/v1/networks"), 200) == []
        servers = {s["name"] for s in expect(api.get("/v1/servers"), 200)}
        assert servers == {"before", "after"}  # nothing of the refused boot
    engine = make_engine(url)
    try:
        assert check(engine) == []
    finally:
        engine.dispose()
