"""What a host-bound service token reads (issue 9: it "can act only for that host"): the
ports bound to its host and the networks with such a port, nothing of any server; the rest
answers 404 exactly as a missing id, and lists leave it out. An unbound service token still
sees every port and network, members and admins as before. On both databases."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import Api, expect, host_report

MISSING = "0" * 32


def _service(admin: Api, host: str | None, project: str = "agents") -> Api:
    body: dict[str, Any] = {"project_id": project, "role": "service"}
    if host is not None:
        body["host"] = host
    return admin.as_token(expect(admin.post("/v1/tokens", body), 201)["token"])


def _ids(api: Api, path: str) -> set[str]:
    return {item["id"] for item in expect(api.get(path), 200)}


def test_a_host_bound_service_token_reads_only_what_is_bound_to_its_host(api: Api) -> None:
    api.report_host("cn1", host_report([("3b", "phy1")], vfs=2))
    api.report_host("cn2", host_report([("5e", "phy2")], vfs=2))
    a, b = api.token_for("proj-a"), api.token_for("proj-b")
    # phy1 is cabled on cn1 only, phy2 on cn2 only: each server has one possible host
    on_cn1 = api.vlan_network("on-cn1", "phy1", project_id="proj-a")
    on_cn2 = api.vlan_network("on-cn2", "phy2", project_id="proj-b")
    idle = a.network("idle")
    shared = expect(api.post("/v1/networks", {"name": "shared", "shared": True}), 201)
    vm1 = a.boot_on(on_cn1["id"], name="vm1")
    vm2 = b.boot_on(on_cn2["id"], name="vm2")
    hosts = {vm1["host"], vm2["host"]}
    assert hosts == {"cn1", "cn2"}, hosts
    by_host = {vm1["host"]: (vm1, on_cn1), vm2["host"]: (vm2, on_cn2)}
    spare = a.port(idle["id"], "normal")
    every_port = _ids(api, "/v1/ports")
    every_network = _ids(api, "/v1/networks")
    assert len(every_port) == 3 and len(every_network) == 4

    for host in ("cn1", "cn2"):
        vm, net = by_host[host]
        # minted in proj-a: a host-bound token still owns none of proj-a's objects
        for agent in (_service(api, host), _service(api, host, project="proj-a")):
            mine = {p["id"] for p in vm["ports"]}
            assert _ids(agent, "/v1/ports") == mine
            assert _ids(agent, "/v1/networks") == {net["id"]}
            assert expect(agent.get("/v1/servers"), 200) == []
            assert _ids(agent, f"/v1/ports?network_id={net['id']}") == mine
            for port_id in mine:
                assert expect(agent.get(f"/v1/ports/{port_id}"), 200)["id"] == port_id
            assert expect(agent.get(f"/v1/networks/{net['id']}"), 200)["id"] == net["id"]
            other_vm, other_net = by_host["cn2" if host == "cn1" else "cn1"]
            hidden = [
                ("ports", spare["id"]),
                ("ports", other_vm["ports"][0]["id"]),
                ("networks", other_net["id"]),
                ("networks", idle["id"]),
                ("networks", shared["id"]),
                ("servers", vm["id"]),
                ("servers", other_vm["id"]),
            ]
            for kind, real in hidden:
                seen = expect(agent.get(f"/v1/{kind}/{real}"), 404)["error"]
                absent = expect(agent.get(f"/v1/{kind}/{MISSING}"), 404)["error"]
                assert seen["code"] == absent["code"] == "not_found"
                assert seen["message"].replace(real, "ID") == absent["message"].replace(
                    MISSING, "ID"
                )

    # an unbound service token and the admin see everything, as before
    for everyone in (_service(api, None), api):
        assert _ids(everyone, "/v1/ports") == every_port
        assert _ids(everyone, "/v1/networks") == every_network
        assert expect(everyone.get(f"/v1/ports/{spare['id']}"), 200)["id"] == spare["id"]
    # members as before: their project's and the shared networks, their project's ports
    assert _ids(a, "/v1/networks") == {on_cn1["id"], idle["id"], shared["id"]}
    assert _ids(a, "/v1/ports") == {vm1["ports"][0]["id"], spare["id"]}
    assert _ids(b, "/v1/ports") == {vm2["ports"][0]["id"]}


def test_the_agent_still_reports_port_status_for_its_host(api: Api) -> None:
    api.report_host("cn1", host_report([("3b", "phy1")], vfs=2))
    a = api.token_for("proj-a")
    vm = a.boot_on(a.network("n")["id"])
    agent = _service(api, "cn1")
    port_id = vm["ports"][0]["id"]
    assert (
        expect(agent.put(f"/v1/ports/{port_id}/status", {"status": "ACTIVE"}), 200)["status"]
        == "ACTIVE"
    )
    assert expect(agent.get(f"/v1/ports/{port_id}"), 200)["status"] == "ACTIVE"
