"""The seed scenario over HTTP: three hosts, each with a phy1 adapter and a phy2 adapter
(8 VFs each), provider VLAN networks on phy1 and phy2, servers booted with direct ports on
both. Every port lands on a VF of its physnet with its network's VLAN, the host's agent is
told what to program, and a full physnet is a clear no-valid-host while the other places."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import Api, error, expect, host_report, pf_address, vf_address

HOSTS = ("cn1", "cn2", "cn3")
VFS = 8
BUS = {"phy1": "3b", "phy2": "af"}


class Seed:
    def __init__(self, api: Api) -> None:
        self.api = api
        for host in HOSTS:
            view = api.report_host(host, _report())
            assert view["device_count"] == 2 * (VFS + 1)
            assert view["devices_free"] == 2 * (VFS + 1)
        self.net1 = api.vlan_network("net1", "phy1", 150)  # explicit, inside the range
        self.net2 = api.vlan_network("net2", "phy2")  # takes the first free VLAN of phy2
        self.vlan = {self.net1["id"]: 150, self.net2["id"]: 200}
        self.physnet = {self.net1["id"]: "phy1", self.net2["id"]: "phy2"}

    def boot(self, *networks: dict[str, Any], name: str = "vm") -> Any:
        ports = [self.api.port(n["id"], "direct") for n in networks]
        server = self.api.boot([p["id"] for p in ports], name=name)
        self.check(server)
        return server

    def check(self, server: dict[str, Any]) -> None:
        """Every port of the server is bound to a VF of its network's physnet, on the
        server's host, with the network's VLAN."""
        host = server["host"]
        assert host in HOSTS
        assert server["status"] == "BUILD"
        devices = self.api.devices(host)
        for port in server["ports"]:
            physnet = self.physnet[port["network_id"]]
            slot = port["pci_slot"]
            device = devices[slot]
            assert device["dev_type"] == "type-VF"
            assert device["parent_address"] == pf_address(BUS[physnet])
            assert device["tags"]["physical_network"] == physnet
            assert device["status"] == "allocated"
            assert device["server_id"] == server["id"]
            assert port["binding:host_id"] == host
            assert port["binding:vif_type"] == "hw_veb"
            assert port["binding:vif_details"]["vlan"] == str(self.vlan[port["network_id"]])
            assert port["binding:profile"]["pci_slot"] == slot
            assert port["binding:profile"]["physical_network"] == physnet
            assert port["binding:profile"]["pci_vendor_info"] == "8086:154c"
            assert port["device_id"] == server["id"]
            assert port["status"] == "BUILD"
        assert sorted(d["address"] for d in server["pci_devices"]) == sorted(
            p["pci_slot"] for p in server["ports"]
        )


def _report() -> dict[str, Any]:
    return host_report([(BUS["phy1"], "phy1"), (BUS["phy2"], "phy2")], vfs=VFS)


@pytest.fixture
def seed(api: Api) -> Seed:
    return Seed(api)


def test_ports_bind_to_vfs_of_their_physnet_and_agents_learn_the_vf_state(seed: Seed) -> None:
    api = seed.api
    mac = "fa:16:3e:12:34:56"
    p1 = api.port(seed.net1["id"], "direct", mac_address=mac, port_security_enabled=False)
    p2 = api.port(seed.net2["id"], "direct", max_tx_rate=1000)
    assert p1["status"] == "DOWN" and p1["binding:vif_type"] == "unbound"
    server = api.boot([p1["id"], p2["id"]], name="vm1")
    seed.check(server)
    assert server["name"] == "vm1"
    by_net = {p["network_id"]: p for p in server["ports"]}
    assert by_net[seed.net1["id"]]["mac_address"] == mac
    # GET returns the same bound view
    again = expect(api.get(f"/v1/servers/{server['id']}"), 200)
    assert again["host"] == server["host"]
    assert {p["pci_slot"] for p in again["ports"]} == {p["pci_slot"] for p in server["ports"]}
    got = expect(api.get(f"/v1/ports/{p1['id']}"), 200)
    assert got["pci_slot"] == by_net[seed.net1["id"]]["pci_slot"]
    assert got["binding:host_id"] == server["host"]

    state = api.vf_state(server["host"])
    assert set(state) == {p["pci_slot"] for p in server["ports"]}
    row1 = state[by_net[seed.net1["id"]]["pci_slot"]]
    assert row1["port_id"] == p1["id"]
    assert row1["action"] == "apply"
    assert row1["desired"]["vlan"] == 150
    assert row1["desired"]["mac"] == mac
    assert row1["desired"]["spoofchk"] is False
    assert row1["desired"]["trust"] is False
    assert row1["desired"]["link_state"] == "enable"
    row2 = state[by_net[seed.net2["id"]]["pci_slot"]]
    assert row2["port_id"] == p2["id"]
    assert row2["desired"]["vlan"] == 200
    assert row2["desired"]["mac"] == p2["mac_address"]
    assert row2["desired"]["spoofchk"] is True
    assert row2["desired"]["max_tx_rate"] == 1000
    # other hosts have nothing to program
    for host in HOSTS:
        if host != server["host"]:
            assert api.vf_state(host) == {}


def test_a_port_cannot_be_used_twice(seed: Seed) -> None:
    api = seed.api
    server = seed.boot(seed.net1)
    port_id = server["ports"][0]["id"]
    err = error(api.boot_response([port_id], name="vm2"), 409, "port_in_use")
    assert err["field"] == "server.ports[0]"
    error(api.delete(f"/v1/ports/{port_id}"), 409, "port_in_use")
    # the refused boot took nothing
    assert len(expect(api.get("/v1/servers"), 200)) == 1
    assert sum(api.host(h)["devices_free"] for h in HOSTS) == 3 * 2 * (VFS + 1) - 2


def test_a_full_physnet_is_no_valid_host_while_the_other_still_places(seed: Seed) -> None:
    api = seed.api
    used: dict[str, set[str]] = {"phy1": set(), "phy2": set()}
    for i in range(len(HOSTS) * VFS):
        nets = (seed.net1, seed.net2) if i % 2 == 0 else (seed.net2,)
        server = seed.boot(*nets, name=f"vm{i}")
        for port in server["ports"]:
            used[seed.physnet[port["network_id"]]].add(f"{server['host']}/{port['pci_slot']}")
    assert len(used["phy2"]) == len(HOSTS) * VFS  # no VF given twice
    assert len(used["phy1"]) == len(HOSTS) * VFS // 2

    port = api.port(seed.net2["id"], "direct")
    err = error(api.boot_response([port["id"]]), 409, "no_valid_host")
    assert set(err["hosts"]) == set(HOSTS)
    for reason in err["hosts"].values():
        assert "phy2" in reason
    assert sum(err["groups"].values()) == len(HOSTS)
    assert all("phy2" in reason for reason in err["groups"])
    assert "phy2" in err["message"]
    # the port stays unbound and usable
    assert expect(api.get(f"/v1/ports/{port['id']}"), 200)["device_id"] == ""

    # phy1 still has room on every host
    for i in range(3):
        seed.boot(seed.net1, name=f"more{i}")
    for host in HOSTS:
        devices = api.devices(host)
        phy2_vfs = [vf_address(BUS["phy2"], i) for i in range(VFS)]
        assert {devices[a]["status"] for a in phy2_vfs} == {"allocated"}
        # a PF with allocated VFs is unavailable
        assert devices[pf_address(BUS["phy2"])]["status"] == "unavailable"


def test_deleting_a_server_frees_its_vfs_and_asks_the_agent_to_restore(seed: Seed) -> None:
    api = seed.api
    server = seed.boot(seed.net1, seed.net2)
    host = server["host"]
    slots = {p["pci_slot"] for p in server["ports"]}
    before = api.host(host)
    assert before["vcpus_used"] == 1 and before["memory_used_mb"] == 512
    assert before["devices_free"] == 2 * (VFS + 1) - 4  # 2 VFs and their PFs
    state = api.vf_state(host)

    expect(api.delete(f"/v1/servers/{server['id']}"), 204)
    error(api.get(f"/v1/servers/{server['id']}"), 404, "not_found")
    after = api.host(host)
    assert after["vcpus_used"] == 0 and after["memory_used_mb"] == 0
    assert after["devices_free"] == 2 * (VFS + 1)
    for device in after["devices"]:
        assert device["status"] == "available" and device["server_id"] is None
    for port in server["ports"]:
        view = expect(api.get(f"/v1/ports/{port['id']}"), 200)
        assert view["status"] == "DOWN"
        assert view["device_id"] == ""
        assert view["binding:host_id"] == ""
        assert view["binding:vif_type"] == "unbound"
        assert view["binding:vif_details"] == {}
        assert view["pci_slot"] is None
        assert "pci_slot" not in view["binding:profile"]
    restore = api.vf_state(host)
    assert set(restore) == slots
    for address, row in restore.items():
        assert row["action"] == "restore"
        assert row["generation"] > state[address]["generation"]

    # the agent restores the VFs: an old generation changes nothing, the current removes
    address = sorted(slots)[0]
    row = restore[address]
    stale = expect(
        api.put(
            f"/v1/hosts/{host}/vf-state/{address}",
            {"generation": row["generation"] - 1, "status": "restored"},
        ),
        200,
    )
    assert stale["action"] == "restore"
    expect(
        api.put(
            f"/v1/hosts/{host}/vf-state/{address}",
            {"generation": row["generation"], "status": "restored"},
        ),
        204,
    )
    assert set(api.vf_state(host)) == slots - {address}
    # the ports are reusable
    again = api.boot([p["id"] for p in server["ports"]], name="again")
    seed.check(again)


def test_agent_reports_make_the_server_active(seed: Seed) -> None:
    api = seed.api
    server = seed.boot(seed.net1, seed.net2)
    first, second = server["ports"]
    port = api.port_status(first["id"], "ACTIVE")
    assert port["status"] == "ACTIVE"
    assert expect(api.get(f"/v1/servers/{server['id']}"), 200)["status"] == "BUILD"
    row = api.vf_state(server["host"])[first["pci_slot"]]
    assert row["reported_status"] == "applied"
    assert row["applied_generation"] == row["generation"]

    api.port_status(second["id"], "ACTIVE")
    view = expect(api.get(f"/v1/servers/{server['id']}"), 200)
    assert view["status"] == "ACTIVE"
    assert {p["status"] for p in view["ports"]} == {"ACTIVE"}
    active = expect(api.get("/v1/servers", params={"status": "ACTIVE"}), 200)
    assert [s["id"] for s in active] == [server["id"]]

    api.port_status(second["id"], "ERROR")
    assert expect(api.get(f"/v1/servers/{server['id']}"), 200)["status"] == "ERROR"
    error(api.put(f"/v1/ports/{first['id']}/status", {"status": "UP"}), 400, "invalid_request")
    error(api.put("/v1/ports/nope/status", {"status": "ACTIVE"}), 404, "not_found")


def test_servers_are_spread_and_filtered_by_host(seed: Seed) -> None:
    api = seed.api
    hosts = [seed.boot(seed.net1, name=f"vm{i}")["host"] for i in range(3)]
    assert sorted(hosts) == sorted(HOSTS)  # spread: one per host
    for host in HOSTS:
        found = expect(api.get("/v1/servers", params={"host": host}), 200)
        assert [s["host"] for s in found] == [host]
    named = expect(api.get("/v1/servers", params={"name": "vm1"}), 200)
    assert [s["name"] for s in named] == ["vm1"]


HOST_KEYS = {
    "name",
    "vcpus",
    "memory_mb",
    "vcpus_used",
    "memory_used_mb",
    "numa_cells",
    "disabled",
    "alive",
    "heartbeat_at",
    "generation",
    "device_count",
    "devices_free",
    "device_spec",
}
DEVICE_KEYS = {
    "address",
    "vendor_id",
    "product_id",
    "dev_type",
    "parent_address",
    "numa_node",
    "devname",
    "tags",
    "status",
    "server_id",
}
NETWORK_KEYS = {
    "id",
    "name",
    "project_id",
    "tenant_id",
    "shared",
    "admin_state_up",
    "status",
    "created_at",
}
PORT_KEYS = {
    "id",
    "name",
    "network_id",
    "project_id",
    "tenant_id",
    "mac_address",
    "binding:vnic_type",
    "binding:profile",
    "binding:host_id",
    "binding:vif_type",
    "binding:vif_details",
    "port_security_enabled",
    "admin_state_up",
    "status",
    "device_id",
    "numa_affinity_policy",
    "min_tx_rate",
    "max_tx_rate",
    "pci_slot",
    "created_at",
    "updated_at",
}
SERVER_KEYS = {
    "id",
    "name",
    "project_id",
    "host",
    "status",
    "flavor",
    "created_at",
    "numa_cells",
    "ports",
    "pci_devices",
}
VF_KEYS = {
    "pci_address",
    "port_id",
    "action",
    "desired",
    "generation",
    "applied_generation",
    "reported_status",
    "reported_error",
}
DESIRED_KEYS = {"vlan", "mac", "spoofchk", "trust", "link_state", "min_tx_rate", "max_tx_rate"}


def test_views_have_the_documented_fields(seed: Seed) -> None:
    api = seed.api
    assert seed.net1["provider:segmentation_id"] == 150
    assert seed.net1["provider:physical_network"] == "phy1"
    assert seed.net2["provider:network_type"] == "vlan"
    assert seed.net2["provider:physical_network"] == "phy2"
    assert seed.net2["provider:segmentation_id"] == 200
    assert seed.net2["status"] == "ACTIVE"
    listed = expect(api.get("/v1/hosts"), 200)
    assert [h["name"] for h in listed] == list(HOSTS)
    for host in listed:
        assert not HOST_KEYS - set(host) and "devices" not in host
    one = api.host("cn1")
    assert not (HOST_KEYS | {"devices"}) - set(one)
    assert not any(DEVICE_KEYS - set(d) for d in one["devices"])
    provider = {"provider:network_type", "provider:physical_network", "provider:segmentation_id"}
    assert not (NETWORK_KEYS | provider) - set(seed.net1)
    server = seed.boot(seed.net1, name="vm")
    assert not SERVER_KEYS - set(server)
    assert not any(PORT_KEYS - set(p) for p in server["ports"])
    assert not any(
        {"address", "dev_type", "request", "alias"} - set(d) for d in server["pci_devices"]
    )
    assert server["flavor"]["vcpus"] == 1 and server["flavor"]["memory_mb"] == 512
    port = server["ports"][0]
    assert not PORT_KEYS - set(expect(api.get(f"/v1/ports/{port['id']}"), 200))
    assert not any(SERVER_KEYS - set(s) for s in expect(api.get("/v1/servers"), 200))
    rows = expect(api.get(f"/v1/hosts/{server['host']}/vf-state"), 200)["vfs"]
    assert len(rows) == 1
    assert not VF_KEYS - set(rows[0])
    assert not DESIRED_KEYS - set(rows[0]["desired"])
    # port filters
    by_device = expect(api.get("/v1/ports", params={"device_id": server["id"]}), 200)
    assert [p["id"] for p in by_device] == [port["id"]]
    building = expect(api.get("/v1/ports", params={"status": "BUILD"}), 200)
    assert [p["id"] for p in building] == [port["id"]]
    assert expect(api.get("/v1/ports", params={"status": "ACTIVE"}), 200) == []
    # an agent's error report is kept on the row
    row = rows[0]
    failed = expect(
        api.put(
            f"/v1/hosts/{server['host']}/vf-state/{row['pci_address']}",
            {"generation": row["generation"], "status": "error", "error": "RTNETLINK: busy"},
        ),
        200,
    )
    assert failed["reported_status"] == "error"
    assert failed["reported_error"] == "RTNETLINK: busy"
    error(
        api.put(
            f"/v1/hosts/{server['host']}/vf-state/0000:00:00.0",
            {"generation": 1, "status": "applied"},
        ),
        404,
        "not_found",
    )
    error(api.get("/v1/hosts/cn9/vf-state"), 404, "not_found")
