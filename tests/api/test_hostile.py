"""Hostile input, each case a regression test of issue 9 over real HTTP, on SQLite and
PostgreSQL: the same input gets the same 4xx on both, names the field, and nothing is
stored on the way."""

from __future__ import annotations

import json
from typing import Any

import httpx

from tests.api.conftest import FLAVOR, Api, error, expect, host_report

SURROGATE = "\ud800"


def _send(api: Api, method: str, path: str, body: Any) -> httpx.Response:
    """``body`` as JSON with ``\\uXXXX`` escapes (a lone surrogate is valid JSON text)."""
    content = json.dumps(body).encode("ascii")
    return api.http.request(
        method, path, content=content, headers={"Content-Type": "application/json"}
    )


def _cloud(api: Api) -> tuple[dict[str, Any], Api]:
    """A host, a VLAN network shared by project p1, and p1's member client."""
    api.report_host("cn1", host_report())
    net = api.vlan_network("net1", "phy1", 100, shared=True)
    return net, api.token_for("p1")


def _lists_answer(api: Api) -> None:
    for path in ("/v1/servers", "/v1/ports", "/v1/networks", "/v1/hosts"):
        expect(api.get(path), 200)


def test_surrogate_in_extra_specs_is_400_and_poisons_nothing(api: Api) -> None:
    net, member = _cloud(api)
    port = member.port(net["id"])
    flavor = {**FLAVOR, "extra_specs": {"trait": SURROGATE}}
    body = {"name": "vm", "flavor": flavor, "ports": [port["id"]]}
    err = error(_send(member, "POST", "/v1/servers", body), 400, "invalid_request")
    assert err["field"] == "server.flavor.extra_specs.trait"
    body["flavor"] = {**FLAVOR, "extra_specs": {SURROGATE: "1"}}
    err = error(_send(member, "POST", "/v1/servers", body), 400, "invalid_request")
    assert err["field"] == "server.flavor.extra_specs"
    assert expect(member.get("/v1/servers"), 200) == []
    assert expect(member.get(f"/v1/ports/{port['id']}"), 200)["device_id"] == ""
    _lists_answer(api)


def test_surrogate_in_binding_profile_is_400_and_poisons_nothing(api: Api) -> None:
    net, member = _cloud(api)
    body = {"network_id": net["id"], "binding:profile": {"note": ["x", SURROGATE]}}
    err = error(_send(member, "POST", "/v1/ports", body), 400, "invalid_request")
    assert err["field"] == "port.binding:profile.note[1]"
    assert expect(member.get("/v1/ports"), 200) == []
    _lists_answer(api)


def test_surrogate_or_nul_in_names_is_400_naming_the_field(api: Api) -> None:
    net, member = _cloud(api)
    for bad in (SURROGATE, "a\x00b"):
        err = error(_send(api, "POST", "/v1/networks", {"name": bad}), 400, "invalid_request")
        assert err["field"] == "network.name"
        body = {"name": bad, "flavor": FLAVOR, "ports": []}
        err = error(_send(member, "POST", "/v1/servers", body), 400, "invalid_request")
        assert err["field"] == "server.name"
        body = {"network_id": bad}
        err = error(_send(member, "POST", "/v1/ports", body), 400, "invalid_request")
        assert err["field"] == "port.network_id"
        body = {"project_id": bad}
        err = error(_send(api, "POST", "/v1/tokens", body), 400, "invalid_request")
        assert err["field"] == "token.project_id"
    assert [n["id"] for n in expect(api.get("/v1/networks"), 200)] == [net["id"]]
    _lists_answer(api)


def test_nul_in_path_segments_and_query_is_400_naming_the_parameter(api: Api) -> None:
    _cloud(api)
    for path, field in (
        ("/v1/networks/a%00b", "network_id"),
        ("/v1/ports/a%00b", "port_id"),
        ("/v1/servers/a%00b", "server_id"),
        ("/v1/hosts/a%00b", "name"),
    ):
        err = error(api.get(path), 400, "invalid_request")
        assert err["field"] == field, path
    err = error(api.delete("/v1/servers/a%00b"), 400, "invalid_request")
    assert err["field"] == "server_id"
    err = error(api.put("/v1/hosts/a%00b", host_report()), 400, "invalid_request")
    assert err["field"] == "name"
    err = error(api.get("/v1/networks", params={"name": "a\x00b"}), 400, "invalid_request")
    assert err["field"] == "name"
    assert [h["name"] for h in expect(api.get("/v1/hosts"), 200)] == ["cn1"]


def test_strings_over_255_characters_are_400_on_both_backends(api: Api) -> None:
    net, member = _cloud(api)
    long = "n" * 256
    err = error(api.post("/v1/networks", {"name": long}), 400, "invalid_request")
    assert err["field"] == "network.name" and "255" in err["message"]
    err = error(member.post("/v1/ports", {"network_id": long}), 400, "invalid_request")
    assert err["field"] == "port.network_id"
    err = error(member.boot_response([long]), 400, "invalid_request")
    assert err["field"] == "server.ports[0]"
    err = error(api.put(f"/v1/hosts/{long}", host_report()), 400, "invalid_request")
    assert err["field"] == "name"
    err = error(api.get(f"/v1/networks/{long}"), 400, "invalid_request")
    assert err["field"] == "network_id"
    long_ok = "n" * 255
    expect(member.post("/v1/ports", {"network_id": net["id"], "name": long_ok}), 201)


def test_numa_node_beyond_the_database_integer_is_400_on_both_backends(api: Api) -> None:
    for huge in (2**40, 2**63, 2**64):
        report = host_report()
        report["devices"][0]["numa_node"] = huge
        err = error(api.put("/v1/hosts/cn9", report), 400, "invalid_request")
        assert err["field"] == "host.devices[0].numa_node", err
    assert expect(api.get("/v1/hosts"), 200) == []


def test_a_server_with_70000_port_ids_is_400_not_a_driver_error(api: Api) -> None:
    _, member = _cloud(api)
    ids = [f"p{i:05d}" for i in range(70_000)]
    err = error(member.boot_response(ids), 400, "invalid_request")
    assert err["field"] == "server.ports" and "at most" in err["message"]
    assert expect(member.get("/v1/servers"), 200) == []


def test_a_huge_name_gets_a_short_error_that_does_not_echo_it(api: Api) -> None:
    name = "x" * 500_000
    response = api.post("/v1/networks", {"name": name})
    err = error(response, 400, "invalid_request")
    assert err["field"] == "network.name"
    assert len(response.content) < 1024, len(response.content)
    assert "x" * 100 not in response.text


def test_a_body_over_the_size_limit_is_413_before_it_is_read(api: Api) -> None:
    response = api.post("/v1/networks", {"name": "n", "pad": "x" * (5 * 2**20)})
    err = error(response, 413, "request_too_large")
    assert len(response.content) < 1024
    assert "bytes" in err["message"]
    assert expect(api.get("/v1/networks"), 200) == []


def test_deeply_nested_json_is_400_not_a_recursion_error(api: Api) -> None:
    content = b"[" * 100_000 + b"]" * 100_000
    response = api.http.post(
        "/v1/networks", content=content, headers={"Content-Type": "application/json"}
    )
    error(response, 400, "invalid_request")


def test_oversized_extra_specs_and_binding_profile_are_400_naming_the_limit(api: Api) -> None:
    net, member = _cloud(api)
    port = member.port(net["id"])
    specs = {f"k{i}": "v" for i in range(1000)}
    body = {"name": "vm", "flavor": {**FLAVOR, "extra_specs": specs}, "ports": [port["id"]]}
    err = error(member.post("/v1/servers", body), 400, "invalid_request")
    assert err["field"] == "server.flavor.extra_specs" and "at most" in err["message"]
    profile = {"note": "y" * 10_000}
    body = {"network_id": net["id"], "binding:profile": profile}
    err = error(member.post("/v1/ports", body), 400, "invalid_request")
    assert err["field"].startswith("port.binding:profile")
    assert expect(member.get("/v1/servers"), 200) == []
    assert len(expect(member.get("/v1/ports"), 200)) == 1


def test_description_is_validated_and_stored(api: Api) -> None:
    net, member = _cloud(api)
    err = error(api.post("/v1/networks", {"name": "n", "description": 5}), 400, "invalid_request")
    assert err["field"] == "network.description"
    err = error(
        api.post("/v1/networks", {"name": "n", "description": "d" * 256}), 400, "invalid_request"
    )
    assert err["field"] == "network.description"
    created = api.network("n2", description="the lab")
    assert created["description"] == "the lab"
    assert expect(api.get(f"/v1/networks/{created['id']}"), 200)["description"] == "the lab"
    port = member.port(net["id"], description="uplink")
    assert expect(member.get(f"/v1/ports/{port['id']}"), 200)["description"] == "uplink"
    server = member.boot([port["id"]], name="vm")
    assert server["description"] == ""
    body = {"name": "vm2", "flavor": FLAVOR, "ports": [], "description": "batch"}
    created = expect(member.post("/v1/servers", body), 201)
    assert expect(member.get(f"/v1/servers/{created['id']}"), 200)["description"] == "batch"


def test_port_security_enabled_no_is_refused_like_shared_yes(api: Api) -> None:
    net, member = _cloud(api)
    for key in ("port_security_enabled", "admin_state_up"):
        body = {"network_id": net["id"], key: "no"}
        err = error(member.post("/v1/ports", body), 400, "invalid_request")
        assert err["field"] == f"port.{key}"
    assert expect(member.get("/v1/ports"), 200) == []


def test_conflicting_tenant_id_and_project_id_are_refused(api: Api) -> None:
    net, _ = _cloud(api)
    body = {"name": "n", "project_id": "p1", "tenant_id": "p2"}
    err = error(api.post("/v1/networks", body), 400, "invalid_request")
    assert err["field"] == "network.tenant_id"
    body = {"network_id": net["id"], "project_id": "p1", "tenant_id": "p2"}
    err = error(api.post("/v1/ports", body), 400, "invalid_request")
    assert err["field"] == "port.tenant_id"
    same = api.network("n3", project_id="p1", tenant_id="p1")
    assert same["project_id"] == "p1"


def test_a_vxlan_network_without_segmentation_id_gets_a_vni(api: Api) -> None:
    first = api.network("o1", **{"provider:network_type": "vxlan"})
    assert first["provider:segmentation_id"] == 1
    api.network("o2", **{"provider:network_type": "vxlan", "provider:segmentation_id": 2})
    third = api.network("o3", **{"provider:network_type": "vxlan"})
    assert third["provider:segmentation_id"] == 3
    geneve = api.network("g1", **{"provider:network_type": "geneve"})
    assert geneve["provider:segmentation_id"] == 1


def test_a_body_that_is_not_utf8_is_400_invalid_request(api: Api) -> None:
    response = api.http.post(
        "/v1/networks",
        content=b'{"name": "\xff\xfe"}',
        headers={"Content-Type": "application/json"},
    )
    err = error(response, 400, "invalid_request")
    assert "JSON" in err["message"]
    assert expect(api.get("/v1/networks"), 200) == []


def test_a_chunked_body_over_the_limit_is_413(api: Api) -> None:
    def chunks() -> Any:
        yield b'{"name": "n", "pad": "'
        for _ in range(80):
            yield b"x" * 65536
        yield b'"}'

    response = api.http.post(
        "/v1/networks", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert "content-length" not in {k.lower() for k in response.request.headers}
    error(response, 413, "request_too_large")
    assert expect(api.get("/v1/networks"), 200) == []
