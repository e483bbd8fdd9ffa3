"""Hosts: re-reporting keeps allocations, a report may not drop a held device, disabled
hosts and hosts without a recent heartbeat are not scheduled."""

from __future__ import annotations

import time

from tests.api.conftest import Api, Start, adapter, error, expect, host_report, vf_address


def test_a_host_report_is_201_then_200_and_keeps_allocations(api: Api) -> None:
    report = host_report([("3b", "phy1")], vfs=2)
    view = api.report_host("cn1", report, status=201)
    assert view["name"] == "cn1" and view["generation"] >= 0
    assert view["alive"] is True and view["disabled"] is False
    assert view["device_spec"] == report["device_spec"]
    net = api.vlan_network("net1", "phy1", 100)
    server = api.boot_on(net["id"])
    slot = server["ports"][0]["pci_slot"]
    before = api.host("cn1")

    # the same report again, then one with a third VF: the allocation stays
    again = api.report_host("cn1", report, status=200)
    assert again["vcpus_used"] == 1 and again["memory_used_mb"] == 512
    bigger = host_report([("3b", "phy1")], vfs=3)
    grown = api.report_host("cn1", bigger, status=200)
    assert grown["generation"] > before["generation"]
    assert grown["device_count"] == 4
    devices = {d["address"]: d for d in grown["devices"]}
    assert devices[slot]["status"] == "allocated"
    assert devices[slot]["server_id"] == server["id"]
    assert devices[vf_address("3b", 2)]["status"] == "available"
    assert grown["vcpus_used"] == 1
    # the scheduler knows the new VF and still not the held one
    seen = {api.boot_on(net["id"], name=f"vm{i}")["ports"][0]["pci_slot"] for i in range(2)}
    assert seen == {vf_address("3b", i) for i in range(3)} - {slot}
    assert api.host("cn1")["devices_free"] == 0


def test_a_report_that_drops_an_allocated_vf_is_409_and_changes_nothing(api: Api) -> None:
    api.report_host("cn1", host_report([("3b", "phy1")], vfs=2))
    net = api.vlan_network("net1", "phy1", 100)
    server = api.boot_on(net["id"])
    slot = server["ports"][0]["pci_slot"]
    before = api.host("cn1")

    report = host_report([("3b", "phy1")], vfs=2)
    report["devices"] = [d for d in report["devices"] if d["address"] != slot]
    err = error(api.put("/v1/hosts/cn1", report), 409, "device_in_use")
    assert slot in err["message"]
    after = api.host("cn1")
    assert after["generation"] == before["generation"]
    assert after["devices"] == before["devices"]
    # dropping a free VF is fine
    free = next(a for a in (vf_address("3b", 0), vf_address("3b", 1)) if a != slot)
    report = host_report([("3b", "phy1")], vfs=2)
    report["devices"] = [d for d in report["devices"] if d["address"] != free]
    assert api.report_host("cn1", report, status=200)["device_count"] == 2
    port = api.port(net["id"])
    error(api.boot_response([port["id"]]), 409, "no_valid_host")


def test_invalid_host_reports_are_400_naming_the_field(api: Api) -> None:
    report = host_report([("3b", "phy1")], vfs=1)
    report["devices"][1]["dev_type"] = "type-XX"
    err = error(api.put("/v1/hosts/cn1", report), 400, "invalid_device")
    assert err["field"] == "host.devices[1].dev_type"
    report = host_report([("3b", "phy1")], vfs=1)
    report["devices"][0]["address"] = "not-an-address"
    err = error(api.put("/v1/hosts/cn1", report), 400, "invalid_pci_address")
    assert "host.devices[0].address" in err["field"]
    err = error(api.put("/v1/hosts/cn1", {**report, "cpus": 4}), 400, "invalid_request")
    assert err["field"] == "host.cpus"
    err = error(api.put("/v1/hosts/cn1", {**report, "name": "cn2"}), 400, "invalid_request")
    assert err["field"] == "host.name"
    error(api.get("/v1/hosts/cn1"), 404, "not_found")
    assert expect(api.get("/v1/hosts"), 200) == []


def test_a_disabled_host_is_not_scheduled(api: Api) -> None:
    api.report_host("cn1", host_report(vfs=2))
    api.report_host("cn2", host_report([("3b", "phy1")], vfs=2))
    net2 = api.vlan_network("net2", "phy2", 200)  # only cn1 has phy2
    net1 = api.vlan_network("net1", "phy1", 100)

    view = expect(api.put("/v1/hosts/cn1/disabled", {"disabled": True}), 200)
    assert view["disabled"] is True
    assert [h["name"] for h in expect(api.get("/v1/hosts", params={"disabled": True}), 200)] == [
        "cn1"
    ]
    assert [h["name"] for h in expect(api.get("/v1/hosts", params={"disabled": False}), 200)] == [
        "cn2"
    ]
    port = api.port(net2["id"])
    err = error(api.boot_response([port["id"]]), 409, "no_valid_host")
    assert "disabled" in err["hosts"]["cn1"]
    assert "phy2" in err["hosts"]["cn2"]
    for i in range(2):  # phy1 servers go to cn2 only
        assert api.boot_on(net1["id"], name=f"vm{i}")["host"] == "cn2"
    # re-reporting keeps it disabled
    assert api.report_host("cn1", host_report(vfs=2), status=200)["disabled"] is True
    error(api.boot_response([port["id"]]), 409, "no_valid_host")

    assert expect(api.put("/v1/hosts/cn1/disabled", {"disabled": False}), 200)["disabled"] is False
    assert api.boot([port["id"]])["host"] == "cn1"
    err = error(api.put("/v1/hosts/cn1/disabled", {}), 400, "invalid_request")
    assert err["field"] == "body.disabled"
    err = error(api.put("/v1/hosts/cn1/disabled", {"disabled": "yes"}), 400, "invalid_request")
    assert err["field"] == "body.disabled"
    error(api.put("/v1/hosts/cn9/disabled", {"disabled": True}), 404, "not_found")


def test_a_host_without_a_recent_heartbeat_is_not_scheduled(start: Start) -> None:
    # 3 s; each step that needs cn2 alive follows a fresh heartbeat of cn2's, so that a
    # loaded machine (a request taking a second) cannot age it past the timeout meanwhile.
    api = start(host_heartbeat_timeout_s=3.0)
    api.report_host("cn1", host_report(vfs=2))  # phy1 and phy2
    api.report_host("cn2", host_report([("3b", "phy1")], vfs=2))
    net1 = api.vlan_network("net1", "phy1", 100)
    net2 = api.vlan_network("net2", "phy2", 200)
    port = api.port(net2["id"])
    for name in ("cn1", "cn2"):
        expect(api.post(f"/v1/hosts/{name}/heartbeat"), 204)
    assert all(h["alive"] for h in expect(api.get("/v1/hosts"), 200))

    time.sleep(3.1)  # both heartbeats are too old now
    expect(api.post("/v1/hosts/cn2/heartbeat"), 204)
    alive = {h["name"]: h["alive"] for h in expect(api.get("/v1/hosts"), 200)}
    assert alive == {"cn1": False, "cn2": True}
    for i in range(2):
        expect(api.post("/v1/hosts/cn2/heartbeat"), 204)
        assert api.boot_on(net1["id"], name=f"vm{i}")["host"] == "cn2"
    expect(api.post("/v1/hosts/cn2/heartbeat"), 204)
    err = error(api.boot_response([port["id"]]), 409, "no_valid_host")
    assert set(err["hosts"]) == {"cn1", "cn2"}
    assert "phy2" in err["hosts"]["cn2"]  # cn1 could serve it, but is not alive
    assert "down" in err["hosts"]["cn1"] and "disabled" not in err["hosts"]["cn1"]

    expect(api.post("/v1/hosts/cn1/heartbeat"), 204)
    assert api.host("cn1")["alive"] is True
    assert api.boot([port["id"]])["host"] == "cn1"
    error(api.post("/v1/hosts/cn9/heartbeat"), 404, "not_found")


def test_a_report_without_device_spec_uses_the_devices_own_tags(api: Api) -> None:
    devices = adapter("3b", 1)
    for device in devices:
        device["tags"] = {"physical_network": "phy1"}
    untagged = adapter("af", 1)  # no tags: assignable, but on no physnet
    view = api.report_host(
        "cn1", {"vcpus": 8, "memory_mb": 8192, "devices": devices + untagged}, status=201
    )
    assert view["device_count"] == 4
    tags = {d["address"]: d["tags"] for d in view["devices"]}
    assert tags[vf_address("3b", 0)] == {"physical_network": "phy1"}
    assert tags[vf_address("af", 0)] == {}
    net = api.vlan_network("net1", "phy1", 100)
    assert api.boot_on(net["id"])["ports"][0]["pci_slot"] == vf_address("3b", 0)


def test_regression_another_device_spec_cannot_re_tag_a_held_vf(api: Api) -> None:
    """Issue 9: re-reporting with a device_spec that tags the adapter phy2 re-tagged a VF a
    server held, while its port's binding said phy1. Now 409 naming the server."""
    api.report_host("cn1", host_report([("3b", "phy1")], vfs=2))
    net = api.vlan_network("net1", "phy1", 100)
    server = api.boot_on(net["id"])
    slot = server["ports"][0]["pci_slot"]
    before = api.host("cn1")
    err = error(
        api.put("/v1/hosts/cn1", host_report([("3b", "phy2")], vfs=2)), 409, "device_in_use"
    )
    assert slot in err["message"] and server["id"] in err["message"]
    assert "physical_network 'phy1' -> 'phy2'" in err["message"]
    assert err["field"] == "devices"
    after = api.host("cn1")
    assert after["devices"] == before["devices"]
    assert api.devices("cn1")[slot]["tags"]["physical_network"] == "phy1"
    # once the server is gone, the adapter may be re-tagged
    expect(api.delete(f"/v1/servers/{server['id']}"), 204)
    api.report_host("cn1", host_report([("3b", "phy2")], vfs=2), status=200)
    assert api.devices("cn1")[slot]["tags"]["physical_network"] == "phy2"
