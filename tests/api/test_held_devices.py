"""Devices a host reports ``allocated`` (in use outside pcinet) and devices no spec selects,
through the REST API: the PF/VF rules hold over the host's whole inventory, as in
``pcinet plan`` (issue 10, "PF/VF rules from the whole inventory")."""

from __future__ import annotations

from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from pcinet.demo.scenario import host_from_view
from pcinet.store.check import check_url
from tests.api.conftest import Api, adapter, error, expect, pf_address, vf_address


def _report(spec_address: str, *, pf: str = "available", vfs: tuple[str, ...] = ()) -> Any:
    """One adapter on bus 3b with 2 VFs, the spec selecting ``spec_address`` (for phy1);
    ``pf`` is the PF's reported status, ``vfs`` the VFs reported allocated."""
    devices = adapter("3b", 2)
    devices[0]["status"] = pf
    for device in devices[1:]:
        if device["address"] in vfs:
            device["status"] = "allocated"
    return {
        "vcpus": 8,
        "memory_mb": 8192,
        "device_spec": [{"address": spec_address, "physical_network": "phy1"}],
        "devices": devices,
    }


VFS_ONLY = "0000:3b:02.*"  # the VFs of bus 3b, not their PF
PF_ONLY = "0000:3b:00.*"  # a wildcard spec does not select the PF's VFs


def _boot(api: Api, net: dict[str, Any], vnic_type: str) -> Any:
    return api.boot_response([api.port(net["id"], vnic_type)["id"]])


def _check_ok(db_url: str) -> None:
    """``pcinet admin check`` finds nothing: what a host reports held is not an allocation."""
    assert check_url(db_url) == {"ok": True, "violations": []}


def _vf_gauges(api: Api) -> dict[str, float]:
    """``pcinet_vfs`` of cn1's PF on bus 3b, by state."""
    return {
        s.labels["state"]: s.value
        for s in _samples(api)
        if s.name == "pcinet_vfs" and s.labels["pf"] == pf_address("3b")
    }


def _samples(api: Api) -> list[Any]:
    text = expect_text(api.get("/metrics"))
    return [s for family in text_string_to_metric_families(text) for s in family.samples]


def expect_text(response: httpx.Response) -> str:
    assert response.status_code == 200, response.text
    return response.text


def test_regression_a_vf_is_not_handed_out_while_its_unselected_pf_is_allocated(
    api: Api, db_url: str
) -> None:
    """The store kept only the selected VFs and dropped the unselected PF's status: a VF was
    handed out while its PF was in use."""
    view = api.report_host("cn1", _report(VFS_ONLY, pf="allocated"))
    assert view["device_count"] == 2 and view["devices_free"] == 0
    assert view["unselected_allocated"] == [
        {
            "address": pf_address("3b"),
            "vendor_id": "8086",
            "product_id": "1572",
            "dev_type": "type-PF",
            "parent_address": None,
        }
    ]
    assert {d["status"] for d in view["devices"]} == {"unavailable"}
    # the demo's scheduler host, built from this view, carries it too
    assert [d.address for d in host_from_view(view).unselected] == [pf_address("3b")]
    net = api.vlan_network("net1", "phy1", 100)
    error(_boot(api, net, "direct"), 409, "no_valid_host")
    # the PF is free again: its VFs are handed out
    api.report_host("cn1", _report(VFS_ONLY), status=200)
    assert api.host("cn1")["unselected_allocated"] == []
    assert expect(_boot(api, net, "direct"), 201)["ports"][0]["pci_slot"] == vf_address("3b", 0)
    _check_ok(db_url)


def test_regression_a_pf_is_not_handed_out_while_one_of_its_unselected_vfs_is_allocated(
    api: Api, db_url: str
) -> None:
    held = vf_address("3b", 1)
    view = api.report_host("cn1", _report(PF_ONLY, vfs=(held,)))
    assert [d["address"] for d in view["devices"]] == [pf_address("3b")]
    assert view["devices"][0]["status"] == "unavailable" and view["devices_free"] == 0
    assert [d["address"] for d in view["unselected_allocated"]] == [held]
    assert view["unselected_allocated"][0]["parent_address"] == pf_address("3b")
    net = api.vlan_network("net1", "phy1", 100)
    error(_boot(api, net, "direct-physical"), 409, "no_valid_host")
    api.report_host("cn1", _report(PF_ONLY), status=200)
    server = expect(_boot(api, net, "direct-physical"), 201)
    assert server["ports"][0]["pci_slot"] == pf_address("3b")
    _check_ok(db_url)


def test_regression_a_selected_device_reported_allocated_is_never_handed_out(
    api: Api, db_url: str
) -> None:
    """The store dropped every device's reported status: a VF in use outside pcinet was
    stored as free and handed out."""
    outside = vf_address("3b", 0)
    view = api.report_host("cn1", _report(VFS_ONLY, vfs=(outside,)))
    devices = {d["address"]: d for d in view["devices"]}
    assert devices[outside]["status"] == "allocated"
    assert devices[outside]["reported_status"] == "allocated"
    assert devices[outside]["server_id"] is None
    assert devices[vf_address("3b", 1)]["reported_status"] == "available"
    assert view["devices_free"] == 1
    net = api.vlan_network("net1", "phy1", 100)
    server = expect(_boot(api, net, "direct"), 201)
    assert server["ports"][0]["pci_slot"] == vf_address("3b", 1)
    error(_boot(api, net, "direct"), 409, "no_valid_host")
    # usage counts it as allocated, capacity as not free
    vfs = _vf_gauges(api)
    assert vfs == {"free": 0.0, "allocated": 2.0, "unavailable": 0.0, "unschedulable": 0.0}
    answer = expect(api.get("/v1/capacity", params={"network": net["id"]}), 200)
    assert answer["total"] == 0
    _check_ok(db_url)


def test_regression_a_selected_pf_reported_allocated_blocks_its_vfs(api: Api, db_url: str) -> None:
    view = api.report_host("cn1", _report(pf_address("3b"), pf="allocated"))
    statuses = {d["address"]: d["status"] for d in view["devices"]}
    assert statuses == {
        pf_address("3b"): "allocated",
        vf_address("3b", 0): "unavailable",
        vf_address("3b", 1): "unavailable",
    }
    net = api.vlan_network("net1", "phy1", 100)
    error(_boot(api, net, "direct"), 409, "no_valid_host")
    error(_boot(api, net, "direct-physical"), 409, "no_valid_host")


def test_a_re_report_of_a_device_pcinet_allocated_as_allocated_keeps_the_allocation(
    api: Api, db_url: str
) -> None:
    """The agent may see the VF a server uses as in use: the allocation stays, and once the
    server is gone the VF is still not handed out until the host reports it available."""
    api.report_host("cn1", _report(VFS_ONLY))
    net = api.vlan_network("net1", "phy1", 100)
    server = expect(_boot(api, net, "direct"), 201)
    slot = server["ports"][0]["pci_slot"]
    view = api.report_host("cn1", _report(VFS_ONLY, vfs=(slot,)), status=200)
    devices = {d["address"]: d for d in view["devices"]}
    assert devices[slot]["status"] == "allocated"
    assert devices[slot]["server_id"] == server["id"]
    assert devices[slot]["reported_status"] == "allocated"
    assert expect(api.get(f"/v1/servers/{server['id']}"), 200)["status"] in {"BUILD", "ACTIVE"}
    _check_ok(db_url)
    expect(api.delete(f"/v1/servers/{server['id']}"), 204)
    devices = api.devices("cn1")
    assert devices[slot]["status"] == "allocated" and devices[slot]["server_id"] is None
    other = expect(_boot(api, net, "direct"), 201)
    assert other["ports"][0]["pci_slot"] != slot
    error(_boot(api, net, "direct"), 409, "no_valid_host")
    # the controller's snapshot never offered it either (the claim's re-check would refuse)
    conflicts = [s.value for s in _samples(api) if s.name == "pcinet_claim_conflicts_total"]
    assert conflicts == [0.0]
    _check_ok(db_url)


def test_a_report_that_holds_the_pf_of_a_vf_a_server_holds_is_409_and_changes_nothing(
    api: Api, db_url: str
) -> None:
    """A PF and one of its VFs are never both held, whoever holds them: a report that says
    the PF (selected or not) is in use while a server holds one of its VFs is refused."""
    api.report_host("cn1", _report(VFS_ONLY))
    net = api.vlan_network("net1", "phy1", 100)
    server = expect(_boot(api, net, "direct"), 201)
    slot = server["ports"][0]["pci_slot"]
    before = api.host("cn1")
    for spec in (VFS_ONLY, pf_address("3b")):
        err = error(api.put("/v1/hosts/cn1", _report(spec, pf="allocated")), 409, "device_in_use")
        assert pf_address("3b") in err["message"] and slot in err["message"]
        assert server["id"] in err["message"] and err["field"] == "devices"
    assert api.host("cn1")["generation"] == before["generation"]
    _check_ok(db_url)


def test_a_report_that_holds_a_vf_of_a_pf_a_server_holds_is_409(api: Api, db_url: str) -> None:
    api.report_host("cn1", _report(PF_ONLY))
    net = api.vlan_network("net1", "phy1", 100)
    server = expect(_boot(api, net, "direct-physical"), 201)
    held = vf_address("3b", 0)
    err = error(api.put("/v1/hosts/cn1", _report(PF_ONLY, vfs=(held,))), 409, "device_in_use")
    assert held in err["message"] and server["id"] in err["message"]
