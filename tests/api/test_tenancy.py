"""Tokens, roles and tenant isolation: a project never sees another project's networks,
ports or servers (404, exactly as for an id that does not exist); shared networks are
usable by every project; members may not set provider attributes or read hosts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.api.conftest import Api, error, expect, host_report


@dataclass
class Tenants:
    admin: Api
    a: Api
    b: Api
    net: dict[str, Any]
    port: dict[str, Any]
    server: dict[str, Any]


@pytest.fixture
def tenants(api: Api) -> Tenants:
    api.report_host("cn1", host_report(vfs=4))
    a = api.token_for("project-a")
    b = api.token_for("project-b")
    net = a.network("a-net")
    port = a.port(net["id"])
    server = a.boot([port["id"]], name="a-vm")
    return Tenants(api, a, b, net, port, server)


def _no_token_body(response: httpx.Response) -> None:
    err = error(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert "field" not in err


def test_the_owner_sees_its_resources(tenants: Tenants) -> None:
    a = tenants.a
    net = expect(a.get(f"/v1/networks/{tenants.net['id']}"), 200)
    assert net["project_id"] == "project-a" and net["tenant_id"] == "project-a"
    assert not any(k.startswith("provider:") for k in net)  # admins and agents only
    assert "segments" not in net
    assert expect(a.get(f"/v1/ports/{tenants.port['id']}"), 200)["project_id"] == "project-a"
    server = expect(a.get(f"/v1/servers/{tenants.server['id']}"), 200)
    assert server["project_id"] == "project-a"
    assert server["ports"][0]["binding:vif_details"]["vlan"] == "100"  # first tenant VLAN
    assert [n["id"] for n in expect(a.get("/v1/networks"), 200)] == [tenants.net["id"]]
    # admins see the segment
    admin_view = expect(tenants.admin.get(f"/v1/networks/{tenants.net['id']}"), 200)
    assert admin_view["provider:network_type"] == "vlan"
    assert admin_view["provider:physical_network"] == "phy1"
    assert admin_view["provider:segmentation_id"] == 100


def test_another_project_gets_404_for_get_and_delete(tenants: Tenants) -> None:
    b = tenants.b
    for kind, own in (
        ("networks", tenants.net["id"]),
        ("ports", tenants.port["id"]),
        ("servers", tenants.server["id"]),
    ):
        for method in ("GET", "DELETE"):
            err = error(b.http.request(method, f"/v1/{kind}/{own}"), 404, "not_found")
            ghost = error(b.http.request(method, f"/v1/{kind}/no-such-id"), 404, "not_found")
            assert set(err) == set(ghost)  # the same answer as for an id that does not exist
            assert own in err["message"]
        # nothing was deleted
        expect(tenants.a.get(f"/v1/{kind}/{own}"), 200)


def test_another_project_cannot_list_or_use_them(tenants: Tenants) -> None:
    b = tenants.b
    assert expect(b.get("/v1/networks"), 200) == []
    assert expect(b.get("/v1/networks", params={"project_id": "project-a"}), 200) == []
    assert expect(b.get("/v1/ports"), 200) == []
    assert expect(b.get("/v1/ports", params={"network_id": tenants.net["id"]}), 200) == []
    assert expect(b.get("/v1/servers"), 200) == []
    # a port on A's network
    err = error(b.post("/v1/ports", {"network_id": tenants.net["id"]}), 404, "not_found")
    assert tenants.net["id"] in err["message"]
    # booting with A's port (even an unused one)
    free = tenants.a.port(tenants.net["id"])
    err = error(b.boot_response([free["id"]]), 404, "not_found")
    assert err["field"] == "server.ports[0]"
    assert expect(tenants.a.get(f"/v1/ports/{free['id']}"), 200)["device_id"] == ""
    # the admin sees everything
    admin = tenants.admin
    assert {s["id"] for s in expect(admin.get("/v1/servers"), 200)} == {tenants.server["id"]}
    assert len(expect(admin.get("/v1/ports"), 200)) == 2


def test_a_shared_network_is_usable_by_every_project(tenants: Tenants) -> None:
    admin, a, b = tenants.admin, tenants.a, tenants.b
    shared = admin.vlan_network("shared", "phy2", 250, shared=True)
    assert shared["shared"] is True and shared["project_id"] == "admin"
    for member, project in ((a, "project-a"), (b, "project-b")):
        view = expect(member.get(f"/v1/networks/{shared['id']}"), 200)
        assert view["shared"] is True
        assert "provider:segmentation_id" not in view
        assert shared["id"] in {n["id"] for n in expect(member.get("/v1/networks"), 200)}
        port = member.port(shared["id"])
        assert port["project_id"] == project
        server = member.boot([port["id"]], name=f"{project}-vm")
        assert server["ports"][0]["binding:vif_details"]["vlan"] == "250"
        assert server["ports"][0]["binding:profile"]["physical_network"] == "phy2"
    # each sees only its own port on it
    b_ports = expect(b.get("/v1/ports", params={"network_id": shared["id"]}), 200)
    assert [p["project_id"] for p in b_ports] == ["project-b"]
    # a member may not delete it
    error(b.delete(f"/v1/networks/{shared['id']}"), 403, "forbidden")
    assert (
        expect(admin.get("/v1/networks", params={"shared": True}), 200)[0]["id"] == (shared["id"])
    )


ADMIN_ONLY: list[dict[str, Any]] = [
    {"provider:network_type": "vlan"},
    {"provider:physical_network": "phy1"},
    {"provider:segmentation_id": 120},
    {"segments": [{"provider:network_type": "vlan", "provider:physical_network": "phy1"}]},
    {"shared": True},
    {"project_id": "project-b"},
]


def test_a_member_may_not_do_what_is_admin_only(api: Api) -> None:
    member = api.token_for("project-a")
    for fields in ADMIN_ONLY:
        err = error(member.post("/v1/networks", {"name": "n", **fields}), 403, "forbidden")
        assert err["field"] == f"network.{next(iter(fields))}"
    assert expect(api.get("/v1/networks"), 200) == []
    # shared: false is what a member gets anyway
    assert member.network("n", shared=False)["shared"] is False
    # hosts, aliases, tokens and port status are not for members
    api.report_host("cn1", host_report(vfs=1))
    error(member.get("/v1/hosts"), 403, "forbidden")
    error(member.get("/v1/hosts/cn1"), 403, "forbidden")
    error(member.get("/v1/hosts/cn1/vf-state"), 403, "forbidden")
    error(member.put("/v1/hosts/cn2", host_report(vfs=1)), 403, "forbidden")
    error(member.put("/v1/hosts/cn1/disabled", {"disabled": True}), 403, "forbidden")
    error(member.post("/v1/hosts/cn1/heartbeat"), 403, "forbidden")
    error(member.get("/v1/pci/aliases"), 403, "forbidden")
    error(member.put("/v1/pci/aliases", []), 403, "forbidden")
    error(member.post("/v1/tokens", {"project_id": "project-a"}), 403, "forbidden")
    error(member.put("/v1/ports/x/status", {"status": "ACTIVE"}), 403, "forbidden")
    assert api.host("cn1")["disabled"] is False
    assert [h["name"] for h in expect(api.get("/v1/hosts"), 200)] == ["cn1"]


def test_tokens_are_issued_by_admins_and_unknown_ones_are_401(api: Api) -> None:
    nobody = api.as_token(None)
    _no_token_body(nobody.get("/v1/networks"))
    _no_token_body(nobody.post("/v1/networks", {"name": "n"}))
    _no_token_body(nobody.get("/v1/hosts"))
    _no_token_body(api.as_token("not-a-token").get("/v1/networks"))
    _no_token_body(api.get("/v1/networks", headers={"Authorization": f"Basic {api.token}"}))
    _no_token_body(api.get("/v1/networks", headers={"Authorization": "Bearer"}))
    # health needs no token
    health = expect(nobody.get("/healthz"), 200)
    assert health["status"] == "ok" and health["schema"]
    assert expect(api.get("/v1/networks"), 200) == []
    # issuing: member by default, a new token each time, errors name the property
    body = expect(api.post("/v1/tokens", {"project_id": "p1"}), 201)
    assert body["role"] == "member" and body["project_id"] == "p1"
    other = expect(api.post("/v1/tokens", {"project_id": "p1"}), 201)
    assert other["token"] != body["token"]
    err = error(
        api.post("/v1/tokens", {"project_id": "p1", "role": "root"}), 400, "invalid_request"
    )
    assert err["field"] == "token.role"
    err = error(api.post("/v1/tokens", {"role": "member"}), 400, "invalid_request")
    assert err["field"] == "token.project_id"
    # a second admin works like the configured one
    admin2 = api.token_for("ops", "admin")
    assert expect(admin2.get("/v1/hosts"), 200) == []
    net = admin2.network("ops-net", project_id="p1")
    assert net["project_id"] == "p1"
    p1 = api.as_token(body["token"])
    assert [n["id"] for n in expect(p1.get("/v1/networks"), 200)] == [net["id"]]


def test_the_service_role_is_for_host_agents(tenants: Tenants) -> None:
    admin = tenants.admin
    agent = admin.token_for("services", "service")
    host = tenants.server["host"]
    # report, heartbeat, read hosts and VF state
    expect(agent.put("/v1/hosts/cn2", host_report(vfs=1)), 201)
    expect(agent.post(f"/v1/hosts/{host}/heartbeat"), 204)
    assert {h["name"] for h in expect(agent.get("/v1/hosts"), 200)} == {"cn1", "cn2"}
    slot = tenants.server["ports"][0]["pci_slot"]
    state = agent.vf_state(host)
    assert set(state) == {slot}
    # report port status and VF state
    port = agent.port_status(tenants.port["id"], "ACTIVE")
    assert port["status"] == "ACTIVE"
    assert expect(admin.get(f"/v1/servers/{tenants.server['id']}"), 200)["status"] == "ACTIVE"
    row = expect(
        agent.put(
            f"/v1/hosts/{host}/vf-state/{slot}",
            {"generation": state[slot]["generation"], "status": "applied"},
        ),
        200,
    )
    assert row["reported_status"] == "applied"
    # but not issue tokens, disable hosts or set aliases
    error(agent.post("/v1/tokens", {"project_id": "x"}), 403, "forbidden")
    error(agent.put(f"/v1/hosts/{host}/disabled", {"disabled": True}), 403, "forbidden")
    error(agent.put("/v1/pci/aliases", []), 403, "forbidden")
    # nor act for a tenant: create networks, ports or servers, or delete ports and servers
    error(agent.post("/v1/networks", {"name": "x"}), 403, "forbidden")
    error(agent.post("/v1/ports", {"network_id": tenants.net["id"]}), 403, "forbidden")
    error(
        agent.post("/v1/servers", {"name": "x", "flavor": {"vcpus": 1, "memory_mb": 1}}),
        403,
        "forbidden",
    )
    error(agent.delete(f"/v1/ports/{tenants.port['id']}"), 403, "forbidden")
    error(agent.delete(f"/v1/servers/{tenants.server['id']}"), 403, "forbidden")
    error(agent.delete(f"/v1/networks/{tenants.net['id']}"), 403, "forbidden")
    expect(tenants.a.get(f"/v1/ports/{tenants.port['id']}"), 200)
    # and a member's token may not report for an agent
    error(
        tenants.a.put(f"/v1/hosts/{host}/vf-state/{slot}", {"generation": 1, "status": "applied"}),
        403,
        "forbidden",
    )
