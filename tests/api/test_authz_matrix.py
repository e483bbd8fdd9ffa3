"""Every endpoint x every role, over HTTP on both databases (issue 9): anonymous is 401;
a member never learns of another project's objects (404, worded as for an id that does
not exist); the service token of host 1 (bound to it) does what an agent needs for its
own host and nothing else, and sees only the ports bound to host 1 and their networks
(404 for the rest, as for a missing id); admin does everything. The table must name every
operation of ``/openapi.json``: a new endpoint fails this test until its row is written."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.api.conftest import FLAVOR, Api, expect, host_report

ROLES = ("anonymous", "member_a", "member_b", "service_cn1", "admin")
PA, PB = "proj-a", "proj-b"


@dataclass
class World:
    api: dict[str, Api]
    ids: dict[str, str]
    fresh: dict[str, Callable[[], str]] = field(default_factory=dict)


def _world(admin: Api) -> World:
    admin.report_host("cn1", host_report([("3b", "phy1")], vfs=4))
    admin.report_host("cn2", {"vcpus": 8, "memory_mb": 8192})
    a, b = admin.token_for(PA), admin.token_for(PB)
    service = expect(
        admin.post("/v1/tokens", {"project_id": "svc", "role": "service", "host": "cn1"}), 201
    )
    net = a.network("a-net")
    port = a.port(net["id"])
    server = a.boot([port["id"]], name="a-vm")
    spare = a.port(net["id"], "normal")
    b_net = b.network("b-net")
    shared = expect(admin.post("/v1/networks", {"name": "shared", "shared": True}), 201)
    token = expect(admin.post("/v1/tokens", {"project_id": "x"}), 201)
    ids = {
        "network": net["id"],
        "port": port["id"],
        "spare_port": spare["id"],
        "b_net": b_net["id"],
        "shared_net": shared["id"],
        "server": server["id"],
        "vf": server["ports"][0]["pci_slot"],
        "token": token["id"],
    }
    world = World(
        {
            "anonymous": admin.as_token(None),
            "member_a": a,
            "member_b": b,
            "service_cn1": admin.as_token(service["token"]),
            "admin": admin,
        },
        ids,
    )
    world.fresh = {
        "server": lambda: str(a.boot([], name="doomed")["id"]),
        "token": lambda: str(expect(admin.post("/v1/tokens", {"project_id": "y"}), 201)["id"]),
    }
    return world


@dataclass(frozen=True)
class Row:
    method: str
    path: str  # with {placeholders} of World.ids; a "!" prefix asks for a fresh one
    expected: tuple[int, int, int, int, int]  # in ROLES order
    body: Any = None
    template: str = ""  # the operation's path in /openapi.json, when not derivable

    def operation(self) -> str:
        template = self.template or self.path.split("?")[0]
        for key in (
            "network",
            "port",
            "spare_port",
            "b_net",
            "shared_net",
            "server",
            "vf",
            "token",
            "!server",
            "!token",
        ):
            template = template.replace("{" + key + "}", "{}")
        return f"{self.method} {template}"


ADMIN_ONLY = (401, 403, 403, 403)
REPORT = host_report([("3b", "phy1")], vfs=4)
ROWS = [
    Row("GET", "/healthz", (200, 200, 200, 200, 200)),
    Row("GET", "/metrics", (401, 403, 403, 200, 200)),
    Row("GET", "/v1/capacity?network={network}", (401, 200, 404, 403, 200)),
    # hosts: the agent's own host only
    Row("PUT", "/v1/hosts/cn1", (401, 403, 403, 200, 200), REPORT, "/v1/hosts/{}"),
    Row("PUT", "/v1/hosts/cn2", (401, 403, 403, 403, 200), {"vcpus": 8, "memory_mb": 8192}),
    Row("GET", "/v1/hosts", (401, 403, 403, 200, 200)),
    Row("GET", "/v1/hosts/cn1", (401, 403, 403, 200, 200), template="/v1/hosts/{}"),
    Row("GET", "/v1/hosts/cn2", (401, 403, 403, 403, 200)),
    Row(
        "POST",
        "/v1/hosts/cn1/heartbeat",
        (401, 403, 403, 204, 204),
        template="/v1/hosts/{}/heartbeat",
    ),
    Row("POST", "/v1/hosts/cn2/heartbeat", (401, 403, 403, 403, 204)),
    Row(
        "PUT",
        "/v1/hosts/cn1/disabled",
        (*ADMIN_ONLY, 200),
        {"disabled": False},
        "/v1/hosts/{}/disabled",
    ),
    Row(
        "GET", "/v1/hosts/cn1/vf-state", (401, 403, 403, 200, 200), template="/v1/hosts/{}/vf-state"
    ),
    Row("GET", "/v1/hosts/cn2/vf-state", (401, 403, 403, 403, 200)),
    Row(
        "PUT",
        "/v1/hosts/cn1/vf-state/{vf}",
        (401, 403, 403, 200, 200),
        {"generation": 1, "status": "applied"},
        "/v1/hosts/{}/vf-state/{}",
    ),
    Row(
        "PUT",
        "/v1/hosts/cn2/vf-state/{vf}",
        (401, 403, 403, 403, 404),
        {"generation": 1, "status": "applied"},
    ),
    # networks, ports, servers: the member's own project; 404 for another's
    Row("POST", "/v1/networks", (401, 201, 201, 403, 201), {"name": "n"}),
    Row("GET", "/v1/networks", (401, 200, 200, 200, 200)),
    Row("GET", "/v1/networks/{network}", (401, 200, 404, 200, 200)),  # a port on cn1
    Row("GET", "/v1/networks/{b_net}", (401, 404, 200, 404, 200)),  # no port on cn1
    Row("GET", "/v1/networks/{shared_net}", (401, 200, 200, 404, 200)),
    Row("DELETE", "/v1/networks/{network}", (401, 409, 404, 403, 409)),
    Row("POST", "/v1/ports", (401, 201, 404, 403, 201), {"network_id": "{network}"}),
    Row("GET", "/v1/ports", (401, 200, 200, 200, 200)),
    Row("GET", "/v1/ports/{port}", (401, 200, 404, 200, 200)),  # bound to cn1
    Row("GET", "/v1/ports/{spare_port}", (401, 200, 404, 404, 200)),  # bound nowhere
    Row("DELETE", "/v1/ports/{port}", (401, 409, 404, 403, 409)),
    Row("PUT", "/v1/ports/{port}/status", (401, 403, 403, 200, 200), {"status": "ACTIVE"}),
    Row(
        "POST",
        "/v1/servers",
        (401, 409, 404, 403, 409),
        {"name": "s", "flavor": FLAVOR, "ports": ["{port}"]},
    ),
    Row("GET", "/v1/servers", (401, 200, 200, 200, 200)),
    Row(
        "POST",
        "/v1/why-not",
        (401, 200, 404, 403, 200),
        {"flavor": FLAVOR, "ports": ["{spare_port}"]},
    ),
    Row("POST", "/v1/why-not", (401, 409, 404, 403, 409), {"flavor": FLAVOR, "ports": ["{port}"]}),
    Row("GET", "/v1/servers/{server}", (401, 200, 404, 404, 200)),
    Row("DELETE", "/v1/servers/{!server}", (401, 204, 404, 403, 204)),
    # admin only
    Row("GET", "/v1/pci/aliases", (*ADMIN_ONLY, 200)),
    Row("PUT", "/v1/pci/aliases", (*ADMIN_ONLY, 200), []),
    Row("GET", "/v1/tokens", (*ADMIN_ONLY, 200)),
    Row("POST", "/v1/tokens", (*ADMIN_ONLY, 201), {"project_id": "z"}),
    Row("DELETE", "/v1/tokens/{!token}", (*ADMIN_ONLY, 204)),
    Row("GET", "/v1/quota-defaults", (*ADMIN_ONLY, 200)),
    Row("PUT", "/v1/quota-defaults", (*ADMIN_ONLY, 200), {}),
    Row("GET", f"/v1/quotas/{PA}", (401, 200, 403, 403, 200), template="/v1/quotas/{}"),
    Row("PUT", f"/v1/quotas/{PA}", (*ADMIN_ONLY, 200), {}, "/v1/quotas/{}"),
]


def _fill(text: str, world: World, fresh: bool) -> str:
    for key, value in world.ids.items():
        text = text.replace("{" + key + "}", value)
    for key, make in world.fresh.items():
        if "{!" + key + "}" in text:
            text = text.replace("{!" + key + "}", make() if fresh else world.ids[key])
    return text


def _body(body: Any, world: World) -> Any:
    if isinstance(body, dict):
        return {k: _body(v, world) for k, v in body.items()}
    if isinstance(body, list):
        return [_body(v, world) for v in body]
    return _fill(body, world, False) if isinstance(body, str) else body


def test_every_endpoint_for_every_role(api: Api) -> None:
    world = _world(api)
    spec = expect(api.get("/openapi.json"), 200)
    served = {
        f"{m.upper()} {re.sub(r'{[^}]*}', '{}', p)}"
        for p, ops in spec["paths"].items()
        for m in ops
    }
    covered = {row.operation() for row in ROWS}
    assert served <= covered, f"operations without a row: {sorted(served - covered)}"
    wrong = []
    for row in ROWS:
        for role, status in zip(ROLES, row.expected, strict=True):
            path = _fill(row.path, world, fresh=status in (200, 204))
            response = world.api[role].http.request(
                row.method, path, json=_body(row.body, world) if row.body is not None else None
            )
            if response.status_code != status:
                got = f"{response.status_code}, not {status}: {response.text[:200]}"
                wrong.append(f"{row.method} {path} as {role}: {got}")
    assert not wrong, "\n".join(wrong)


def test_another_projects_objects_answer_exactly_as_missing_ones(api: Api) -> None:
    world = _world(api)
    b = world.api["member_b"]
    for kind, path in (
        ("network", "/v1/networks/{}"),
        ("port", "/v1/ports/{}"),
        ("server", "/v1/servers/{}"),
    ):
        real, missing = world.ids[kind], "0" * 32
        seen = expect(b.get(path.format(real)), 404)
        absent = expect(b.get(path.format(missing)), 404)
        assert seen["error"]["message"].replace(real, "ID") == absent["error"]["message"].replace(
            missing, "ID"
        )
        assert seen["error"]["code"] == absent["error"]["code"] == "not_found"
    listed = {
        "networks": expect(b.get("/v1/networks"), 200),
        "ports": expect(b.get("/v1/ports"), 200),
        "servers": expect(b.get("/v1/servers"), 200),
    }
    assert not any(item.get("project_id") == PA for items in listed.values() for item in items), (
        listed
    )
    capacity = expect(b.get("/v1/capacity", params={"network": world.ids["network"]}), 404)
    assert capacity["error"]["code"] == "not_found"
    why = [
        expect(b.post("/v1/why-not", {"flavor": FLAVOR, "ports": [port]}), 404)["error"]
        for port in (world.ids["spare_port"], "0" * 32)
    ]
    assert why[0]["message"].replace(world.ids["spare_port"], "ID") == why[1]["message"].replace(
        "0" * 32, "ID"
    )
