"""Tokens can be taken back: rotation of the configured admin token, listing and revoking,
expiry, and service tokens bound to one host (issue 9)."""

from __future__ import annotations

import time
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta

import pytest

from pcinet.api.server import background
from pcinet.config import Settings
from pcinet.service import tokens as service_tokens
from tests.api.conftest import VLAN_RANGES, Api, Start, error, expect, host_report

VIEW_KEYS = {"id", "project_id", "role", "host", "expires_at", "created_at", "configured"}


def _settings(db_url: str, admin_token: str) -> Settings:
    return Settings(database_url=db_url, admin_token=admin_token, network_vlan_ranges=VLAN_RANGES)


def test_regression_a_new_configured_admin_token_revokes_the_old_one(db_url: str) -> None:
    with ExitStack() as stack:
        url = stack.enter_context(background(_settings(db_url, "first-admin")))
        first = Api(url, "first-admin", stack)
        minted = first.token_for("ops", "admin")
    with ExitStack() as stack:
        url = stack.enter_context(background(_settings(db_url, "second-admin")))
        second = Api(url, "second-admin", stack)
        old = second.as_token("first-admin")
        error(old.get("/v1/hosts"), 401, "unauthorized")
        error(old.post("/v1/tokens", {"project_id": "x", "role": "admin"}), 401, "unauthorized")
        assert expect(second.get("/v1/hosts"), 200) == []
        # an admin token issued through the API stays until it is revoked
        assert expect(second.as_token(minted.token).get("/v1/hosts"), 200) == []
        listed = expect(second.get("/v1/tokens"), 200)
        assert [t["configured"] for t in listed].count(True) == 1


def test_tokens_are_listed_without_secrets_and_revoked_at_once(api: Api) -> None:
    created = expect(api.post("/v1/tokens", {"project_id": "p1"}), 201)
    assert set(created) == VIEW_KEYS | {"token"}
    assert created["host"] is None and created["expires_at"] is None
    member = api.as_token(created["token"])
    assert expect(member.get("/v1/networks"), 200) == []
    listed = expect(api.get("/v1/tokens"), 200)
    assert all(set(t) == VIEW_KEYS for t in listed)
    assert created["token"] not in str(listed)
    mine = [t for t in listed if t["id"] == created["id"]]
    assert mine == [{k: created[k] for k in VIEW_KEYS}]
    assert any(t["configured"] and t["role"] == "admin" for t in listed)
    # only admins list and revoke
    error(member.get("/v1/tokens"), 403, "forbidden")
    error(member.delete(f"/v1/tokens/{created['id']}"), 403, "forbidden")
    expect(api.delete(f"/v1/tokens/{created['id']}"), 204)
    error(member.get("/v1/networks"), 401, "unauthorized")  # at once, despite the cache
    error(api.delete(f"/v1/tokens/{created['id']}"), 404, "not_found")
    assert created["id"] not in {t["id"] for t in expect(api.get("/v1/tokens"), 200)}


def test_an_expired_token_is_401(api: Api) -> None:
    created = expect(api.post("/v1/tokens", {"project_id": "p1", "ttl_s": 0.5}), 201)
    assert created["expires_at"] is not None
    member = api.as_token(created["token"])
    assert expect(member.get("/v1/networks"), 200) == []  # now cached
    time.sleep(0.6)
    err = error(member.get("/v1/networks"), 401, "unauthorized")
    assert "expired" in err["message"]
    when = (datetime.now(UTC) + timedelta(days=30)).replace(microsecond=0)
    later = expect(
        api.post("/v1/tokens", {"project_id": "p1", "expires_at": when.isoformat()}), 201
    )
    assert later["expires_at"] == when.isoformat().replace("+00:00", "Z")
    assert expect(api.as_token(later["token"]).get("/v1/networks"), 200) == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"ttl_s": 0}, "token.ttl_s"),
        ({"ttl_s": -5}, "token.ttl_s"),
        ({"ttl_s": "1h"}, "token.ttl_s"),
        ({"ttl_s": 10**12}, "token.ttl_s"),
        ({"ttl_s": 60, "expires_at": "2099-01-01T00:00:00Z"}, "token.ttl_s"),
        ({"expires_at": "2099-01-01T00:00:00"}, "token.expires_at"),
        ({"expires_at": "2000-01-01T00:00:00Z"}, "token.expires_at"),
        ({"expires_at": "tomorrow"}, "token.expires_at"),
        ({"host": "cn1"}, "token.host"),
        ({"role": "service", "host": ""}, "token.host"),
        ({"role": "service", "host": 7}, "token.host"),
    ],
)
def test_bad_token_requests_name_the_field(api: Api, body: dict[str, object], field: str) -> None:
    err = error(api.post("/v1/tokens", {"project_id": "p1", **body}), 400, "invalid_request")
    assert err["field"] == field
    assert len(expect(api.get("/v1/tokens"), 200)) == 1  # nothing written


def test_regression_a_host_bound_service_token_acts_for_its_host_only(api: Api) -> None:
    created = expect(
        api.post("/v1/tokens", {"project_id": "agents", "role": "service", "host": "cn1"}), 201
    )
    assert created["host"] == "cn1" and created["role"] == "service"
    agent = api.as_token(created["token"])
    # it may register and report its own host ...
    expect(agent.put("/v1/hosts/cn1", host_report(vfs=2)), 201)
    expect(agent.put("/v1/hosts/cn1", host_report(vfs=2)), 200)
    expect(agent.post("/v1/hosts/cn1/heartbeat"), 204)
    assert agent.vf_state("cn1") == {}
    # ... but not register, rewrite or read another
    error(agent.put("/v1/hosts/cn2", host_report(vfs=2)), 403, "forbidden")
    api.report_host("cn2", host_report(vfs=2))
    error(agent.put("/v1/hosts/cn2", host_report(vfs=1)), 403, "forbidden")
    assert len(api.devices("cn2")) == 6  # untouched
    error(agent.post("/v1/hosts/cn2/heartbeat"), 403, "forbidden")
    error(agent.get("/v1/hosts/cn2"), 403, "forbidden")
    error(agent.get("/v1/hosts/cn2/vf-state"), 403, "forbidden")
    error(
        agent.put("/v1/hosts/cn2/vf-state/0000:3b:02.0", {"generation": 1, "status": "applied"}),
        403,
        "forbidden",
    )
    assert [h["name"] for h in expect(agent.get("/v1/hosts"), 200)] == ["cn1"]
    assert expect(agent.get("/v1/hosts/cn1"), 200)["name"] == "cn1"
    # port status: only for ports bound to its host
    api.report_host("cn1", host_report(vfs=2), status=200)
    expect(api.put("/v1/hosts/cn2/disabled", {"disabled": True}), 200)
    net = api.vlan_network("n1", "phy1")
    on_cn1 = api.boot_on(net["id"], name="a")
    assert on_cn1["host"] == "cn1"
    expect(api.put("/v1/hosts/cn2/disabled", {"disabled": False}), 200)
    expect(api.put("/v1/hosts/cn1/disabled", {"disabled": True}), 200)
    on_cn2 = api.boot_on(net["id"], name="b")
    assert on_cn2["host"] == "cn2"
    port1, port2 = on_cn1["ports"][0]["id"], on_cn2["ports"][0]["id"]
    assert agent.port_status(port1, "ACTIVE")["status"] == "ACTIVE"
    error(agent.put(f"/v1/ports/{port2}/status", {"status": "ACTIVE"}), 403, "forbidden")
    assert expect(api.get(f"/v1/ports/{port2}"), 200)["status"] != "ACTIVE"
    error(agent.put("/v1/ports/nope/status", {"status": "ACTIVE"}), 404, "not_found")


def test_a_revoked_token_dies_on_other_replicas_within_the_cache_bound(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service_tokens, "CACHE_TTL_S", 0.3)
    with ExitStack() as stack:
        a = Api(stack.enter_context(background(_settings(db_url, "adm"))), "adm", stack)
        b = Api(stack.enter_context(background(_settings(db_url, "adm"))), "adm", stack)
        created = expect(a.post("/v1/tokens", {"project_id": "p1"}), 201)
        on_a, on_b = a.as_token(created["token"]), b.as_token(created["token"])
        assert expect(on_b.get("/v1/networks"), 200) == []  # B remembers it now
        expect(a.delete(f"/v1/tokens/{created['id']}"), 204)
        error(on_a.get("/v1/networks"), 401, "unauthorized")
        time.sleep(0.35)
        error(on_b.get("/v1/networks"), 401, "unauthorized")


def test_the_start_fixture_still_serves(start: Start) -> None:
    assert expect(start().get("/v1/tokens"), 200)[0]["role"] == "admin"
