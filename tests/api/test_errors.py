"""Error bodies for malformed requests, and the OpenAPI document against docs/api.md."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from tests.api.conftest import Api, error, expect

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"
ROUTE = re.compile(r"\b(GET|POST|PUT|DELETE|PATCH) (/v1/[A-Za-z0-9_\-/{}]+)")


def _normalize(path: str) -> str:
    """``/v1/ports/{port_id}`` and ``/v1/ports/{id}`` are the same route."""
    return re.sub(r"\{[^}]*\}", "{}", path.rstrip("/"))


def _raw(api: Api, method: str, path: str, content: bytes, content_type: str) -> httpx.Response:
    return api.http.request(method, path, content=content, headers={"Content-Type": content_type})


def test_a_body_that_is_not_json_is_400_invalid_request(api: Api) -> None:
    for method, path in (
        ("POST", "/v1/networks"),
        ("POST", "/v1/ports"),
        ("POST", "/v1/servers"),
        ("PUT", "/v1/hosts/cn1"),
        ("PUT", "/v1/pci/aliases"),
        ("POST", "/v1/tokens"),
    ):
        err = error(
            _raw(api, method, path, b'{"name": "n",', "application/json"), 400, "invalid_request"
        )
        assert "JSON" in err["message"], (method, path)
        err = error(_raw(api, method, path, b"name=n", "text/plain"), 400, "invalid_request")
        assert "JSON" in err["message"], (method, path)
    # nothing was created on the way
    assert expect(api.get("/v1/networks"), 200) == []
    assert expect(api.get("/v1/hosts"), 200) == []


def test_a_wrong_shape_is_400_naming_the_property_and_a_wrong_route_404(api: Api) -> None:
    err = error(api.post("/v1/networks", ["n"]), 400, "invalid_request")
    assert err["field"] == "network"
    err = error(api.post("/v1/networks", {"name": "n", "colour": "red"}), 400, "invalid_request")
    assert err["field"] == "network.colour"
    assert "network.colour" in err["message"]
    err = error(api.post("/v1/networks", {"name": "n", "shared": "yes"}), 400, "invalid_request")
    assert err["field"] == "network.shared"
    err = error(api.post("/v1/ports", {"network_id": "x", "speed": 10}), 400, "invalid_request")
    assert err["field"] == "port.speed"
    err = error(api.post("/v1/ports", {"name": "p"}), 400, "invalid_request")
    assert err["field"] == "port.network_id"
    err = error(api.post("/v1/servers", {"name": "vm", "ports": []}), 400, "invalid_request")
    assert err["field"] == "server.flavor"
    body = {"name": "vm", "flavor": {"vcpus": 1, "memory_mb": 512}, "ports": "p1"}
    err = error(api.post("/v1/servers", body), 400, "invalid_request")
    assert err["field"] == "server.ports"
    body = {"name": "vm", "flavor": {"vcpus": 1, "memory_mb": 512}, "ports": ["p1", "p1"]}
    err = error(api.post("/v1/servers", body), 400, "invalid_request")
    assert err["field"] == "server.ports" and "twice" in err["message"]
    body = {"name": "vm", "flavor": {"vcpus": 0, "memory_mb": 512}}
    err = error(api.post("/v1/servers", body), 400, "invalid_flavor")
    assert "vcpus" in err["field"]
    err = error(api.post("/v1/servers", {**body, "image": "cirros"}), 400, "invalid_request")
    assert err["field"] == "server.image"
    err = error(api.post("/v1/tokens", {"project_id": "p", "scope": 1}), 400, "invalid_request")
    assert err["field"] == "token.scope"
    error(api.get("/v1/nothing-here"), 404, "not_found")
    error(api.http.request("PATCH", "/v1/networks"), 405, "method_not_allowed")
    error(api.get("/v1/networks/does-not-exist"), 404, "not_found")
    error(api.get("/v1/servers/does-not-exist"), 404, "not_found")
    error(api.delete("/v1/servers/does-not-exist"), 404, "not_found")
    err = error(api.get("/v1/hosts", params={"disabled": "maybe"}), 400, "invalid_request")
    assert "disabled" in err["field"]


def test_a_server_without_device_ports_is_active_at_once(api: Api) -> None:
    api.report_host("cn1", {"vcpus": 4, "memory_mb": 4096})
    server = api.boot([], name="plain")
    assert server["status"] == "ACTIVE"
    assert server["host"] == "cn1" and server["ports"] == [] and server["pci_devices"] == []
    big = {"vcpus": 8, "memory_mb": 512}
    err = error(api.boot_response([], flavor=big), 409, "no_valid_host")
    assert "vcpu" in err["hosts"]["cn1"].lower()


def test_openapi_lists_every_documented_route(api: Api) -> None:
    spec = expect(api.as_token(None).get("/openapi.json"), 200)
    served = {
        (method.upper(), _normalize(path))
        for path, operations in spec["paths"].items()
        for method in operations
    }
    documented = {(m, _normalize(p)) for m, p in ROUTE.findall(DOC.read_text(encoding="utf-8"))}
    assert len(documented) >= 20, documented  # the pattern still reads the document
    missing = documented - served
    assert not missing, f"documented in docs/api.md but not served: {sorted(missing)}"
    undocumented = {(m, p) for m, p in served if p.startswith("/v1/")} - documented
    assert not undocumented, f"served but not in docs/api.md: {sorted(undocumented)}"
    assert ("GET", "/healthz") in served


def test_openapi_documents_503_database_unavailable_on_every_operation(api: Api) -> None:
    spec = expect(api.as_token(None).get("/openapi.json"), 200)
    operations = [(m, p, op) for p, ops in spec["paths"].items() for m, op in ops.items()]
    assert len(operations) >= 30, len(operations)
    lacking = [f"{m.upper()} {p}" for m, p, op in operations if "503" not in op["responses"]]
    assert not lacking, f"no 503 documented: {lacking}"
    for _, _, op in operations:
        answer = op["responses"]["503"]
        assert "database_unavailable" in answer["description"]
        schema = answer["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/ErrorBody"}, schema


def test_an_integer_too_large_for_the_database_is_400_naming_the_property(api: Api) -> None:
    huge = 10**30
    err = error(api.put("/v1/hosts/cn1", {"vcpus": huge, "memory_mb": 1024}), 400, "invalid_input")
    assert err["field"] == "host.vcpus" and "above" in err["message"]
    net = api.vlan_network("net1", "phy1", 100)
    err = error(
        api.post("/v1/ports", {"network_id": net["id"], "max_tx_rate": huge}),
        400,
        "invalid_request",
    )
    assert err["field"] == "port.max_tx_rate"
    body = {"name": "vm", "flavor": {"vcpus": huge, "memory_mb": 1024}}
    err = error(api.post("/v1/servers", body), 400, "invalid_flavor")
    assert err["field"] == "server.flavor.vcpus"
    assert expect(api.get("/v1/hosts"), 200) == []  # nothing half-written
