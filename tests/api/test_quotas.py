"""Quotas per project (issue 9): admin-set defaults and per-project overrides of networks,
ports, servers and VFs; over quota is 409 ``over_quota`` naming the resource, with nothing
written; and two replicas racing for the last unit cannot both get it."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from typing import Any

import pytest

from pcinet.api.server import background
from pcinet.config import Settings
from tests.api.conftest import ADMIN_TOKEN, VLAN_RANGES, Api, error, expect, host_report

UNLIMITED = {"networks": -1, "ports": -1, "servers": -1, "vfs": -1}


def test_defaults_and_overrides(api: Api) -> None:
    member = api.token_for("p1")
    assert expect(api.get("/v1/quota-defaults"), 200) == {"quotas": UNLIMITED}
    assert expect(api.put("/v1/quota-defaults", {"networks": 2}), 200)["quotas"]["networks"] == 2
    for i in range(2):
        member.network(f"n{i}")
    err = error(member.post("/v1/networks", {"name": "n2"}), 409, "over_quota")
    assert err["field"] == "networks" and "p1" in err["message"]
    assert len(expect(member.get("/v1/networks"), 200)) == 2  # nothing written
    view = expect(api.put("/v1/quotas/p1", {"networks": 3}), 200)
    assert view["quotas"] == {**UNLIMITED, "networks": 3}
    assert view["overrides"] == {"networks": 3}
    assert view["usage"] == {"networks": 2, "ports": 0, "servers": 0, "vfs": 0}
    member.network("n2")
    error(member.post("/v1/networks", {"name": "n3"}), 409, "over_quota")
    # -1 overrides a default with unlimited; null falls back to the default
    expect(api.put("/v1/quotas/p1", {"networks": -1}), 200)
    member.network("n3")
    back = expect(api.put("/v1/quotas/p1", {"networks": None}), 200)
    assert back["overrides"] == {} and back["quotas"]["networks"] == 2
    error(member.post("/v1/networks", {"name": "n4"}), 409, "over_quota")
    # other projects get the default; an admin creating for p1 counts against p1
    api.token_for("p2").network("m0")
    error(api.post("/v1/networks", {"name": "x", "project_id": "p1"}), 409, "over_quota")
    # members read their own quotas only, and set none
    assert expect(member.get("/v1/quotas/p1"), 200)["usage"]["networks"] == 4
    error(member.get("/v1/quotas/p2"), 403, "forbidden")
    error(member.put("/v1/quotas/p1", {"networks": 9}), 403, "forbidden")
    error(member.get("/v1/quota-defaults"), 403, "forbidden")
    error(member.put("/v1/quota-defaults", {"networks": 9}), 403, "forbidden")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"servers": -2}, "quota.servers"),
        ({"servers": "5"}, "quota.servers"),
        ({"servers": True}, "quota.servers"),
        ({"servers": 2**31}, "quota.servers"),
        ({"gpus": 1}, "quota.gpus"),
    ],
)
def test_bad_limits_name_the_field(api: Api, body: dict[str, Any], field: str) -> None:
    err = error(api.put("/v1/quotas/p1", body), 400, "invalid_request")
    assert err["field"] == field
    assert expect(api.get("/v1/quotas/p1"), 200)["overrides"] == {}


def test_ports_servers_and_vfs_are_limited_with_nothing_half_written(api: Api) -> None:
    api.report_host("cn1", host_report([("3b", "phy1")], vfs=8))
    net = api.vlan_network("net1", "phy1", 100, shared=True)
    member = api.token_for("p1")
    expect(api.put("/v1/quotas/p1", {"ports": 4, "servers": 1, "vfs": 2}), 200)
    ports = [member.port(net["id"])["id"] for _ in range(4)]
    err = error(member.post("/v1/ports", {"network_id": net["id"]}), 409, "over_quota")
    assert err["field"] == "ports"
    # two VFs in one server: over the VF quota of 2? no, at it
    first = member.boot(ports[:2], name="a")
    err = error(member.boot_response(ports[2:3], name="b"), 409, "over_quota")
    assert err["field"] == "servers"
    expect(api.put("/v1/quotas/p1", {"servers": 5}), 200)
    err = error(member.boot_response(ports[2:3], name="b"), 409, "over_quota")
    assert err["field"] == "vfs"
    # the refused boots left nothing: the port is free, the host holds one server's usage
    port = expect(member.get(f"/v1/ports/{ports[2]}"), 200)
    assert port["device_id"] in (None, "") and port["binding:host_id"] in (None, "")
    host = api.host("cn1")
    assert host["vcpus_used"] == 1 and host["devices_free"] == 6
    assert [s["id"] for s in expect(member.get("/v1/servers"), 200)] == [first["id"]]
    # freeing a VF makes room again
    expect(member.delete(f"/v1/servers/{first['id']}"), 204)
    assert member.boot(ports[2:4], name="c")["host"] == "cn1"


def _settings(db_url: str) -> Settings:
    return Settings(database_url=db_url, admin_token=ADMIN_TOKEN, network_vlan_ranges=VLAN_RANGES)


def test_two_replicas_cannot_both_take_the_last_unit(db_url: str) -> None:
    with ExitStack() as stack:
        replicas = [
            Api(stack.enter_context(background(_settings(db_url))), ADMIN_TOKEN, stack)
            for _ in range(2)
        ]
        admin = replicas[0]
        admin.report_host("cn1", host_report([("3b", "phy1")], vfs=16))
        net = admin.vlan_network("net1", "phy1", 100, shared=True)
        expect(admin.put("/v1/quotas/p1", {"networks": 3, "servers": 4}), 200)
        token = expect(admin.post("/v1/tokens", {"project_id": "p1"}), 201)["token"]
        members = [r.as_token(token) for r in replicas]
        ports = [members[0].port(net["id"])["id"] for _ in range(12)]

        def network(i: int) -> int:
            return members[i % 2].post("/v1/networks", {"name": f"n{i}"}).status_code

        def boot(i: int) -> int:
            return members[i % 2].boot_response([ports[i]], name=f"vm{i}").status_code

        with ThreadPoolExecutor(12) as pool:
            nets = Counter(pool.map(network, range(12)))
            boots = Counter(pool.map(boot, range(12)))
        assert nets == {201: 3, 409: 9}
        assert boots == {201: 4, 409: 8}
        usage = expect(admin.get("/v1/quotas/p1"), 200)["usage"]
        assert (usage["networks"], usage["servers"], usage["vfs"]) == (3, 4, 4)
