"""Which device a port gets: multi-segment networks bind on the physnet of the chosen VF,
a direct-physical port takes a whole PF (PF/VF exclusion both ways), a trusted port needs a
trusted VF, a flat network tags nothing; concurrent boots never share a device."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from tests.api.conftest import Api, error, expect, host_report, pf_address, vf_address


def test_a_multi_segment_port_binds_on_the_physnet_of_its_vf(api: Api) -> None:
    api.report_host("cn1", host_report([("3b", "phy1"), ("af", "phy2")], vfs=2))
    multi = api.network(
        "multi",
        segments=[
            {
                "provider:network_type": "vlan",
                "provider:physical_network": "phy1",
                "provider:segmentation_id": 150,
            },
            {"provider:network_type": "vlan", "provider:physical_network": "phy2"},
        ],
    )
    segments = multi["segments"]
    assert [s["provider:physical_network"] for s in segments] == ["phy1", "phy2"]
    assert segments[1]["provider:segmentation_id"] == 200  # first free VLAN of phy2
    vlan = {"phy1": "150", "phy2": "200"}
    bus = {"phy1": "3b", "phy2": "af"}
    devices = api.devices("cn1")

    seen: set[str] = set()
    for i in range(4):  # every VF of both adapters, each bound on its own segment
        port = api.boot_on(multi["id"], name=f"vm{i}")["ports"][0]
        physnet = devices[port["pci_slot"]]["tags"]["physical_network"]
        assert port["binding:profile"]["physical_network"] == physnet
        assert port["binding:vif_details"]["vlan"] == vlan[physnet]
        assert devices[port["pci_slot"]]["parent_address"] == pf_address(bus[physnet])
        seen.add(port["pci_slot"])
        row = api.vf_state("cn1")[port["pci_slot"]]
        assert row["desired"]["vlan"] == int(vlan[physnet])
    assert seen == {vf_address(b, i) for b in ("3b", "af") for i in range(2)}
    port = api.port(multi["id"])
    error(api.boot_response([port["id"]]), 409, "no_valid_host")


def test_a_multi_segment_port_places_on_phy2_when_phy1_is_full(api: Api) -> None:
    api.report_host("cn1", host_report([("3b", "phy1"), ("af", "phy2")], vfs=2))
    net1 = api.vlan_network("net1", "phy1", 120)
    multi = api.network(
        "multi",
        segments=[
            {
                "provider:network_type": "vlan",
                "provider:physical_network": "phy1",
                "provider:segmentation_id": 130,
            },
            {
                "provider:network_type": "vlan",
                "provider:physical_network": "phy2",
                "provider:segmentation_id": 230,
            },
        ],
    )
    for i in range(2):
        assert api.boot_on(net1["id"], name=f"phy1-{i}")["ports"][0]["pci_slot"].startswith(
            "0000:3b:"
        )
    plain = api.port(net1["id"])
    error(api.boot_response([plain["id"]]), 409, "no_valid_host")
    for i in range(2):
        port = api.boot_on(multi["id"], name=f"multi-{i}")["ports"][0]
        assert port["pci_slot"].startswith("0000:af:")
        assert port["binding:profile"]["physical_network"] == "phy2"
        assert port["binding:vif_details"]["vlan"] == "230"
    assert api.host("cn1")["devices_free"] == 0


def test_a_port_on_a_network_no_device_serves_is_network_not_servable(api: Api) -> None:
    api.report_host("cn1", host_report([("3b", "phy1")], vfs=2))
    net2 = api.vlan_network("net2", "phy2", 250)
    port = api.port(net2["id"])
    err = error(api.boot_response([port["id"]]), 409, "network_not_servable")
    assert "phy2" in err["message"]
    # a normal port on the same network needs no device
    server = api.boot_on(net2["id"], vnic_type="normal")
    assert server["status"] == "ACTIVE"
    assert server["pci_devices"] == []
    assert server["ports"][0]["binding:host_id"] == "cn1"
    assert server["ports"][0]["pci_slot"] is None


def _two_pf_host(api: Api) -> Any:
    """cn1 with two phy1 adapters of 4 VFs each."""
    return api.report_host("cn1", host_report([("3b", "phy1"), ("5e", "phy1")], vfs=4))


def test_a_direct_physical_port_takes_a_whole_pf(api: Api) -> None:
    _two_pf_host(api)
    net = api.vlan_network("net1", "phy1", 110)
    server = api.boot_on(net["id"], vnic_type="direct-physical", name="pf-vm")
    (port,) = server["ports"]
    taken = port["pci_slot"]
    assert taken in (pf_address("3b"), pf_address("5e"))
    other = "5e" if taken == pf_address("3b") else "3b"
    assert port["binding:vif_type"] == "hostdev_physical"
    assert port["binding:vif_details"]["vlan"] == "110"
    assert port["binding:profile"]["pci_vendor_info"] == "8086:1572"
    assert server["status"] == "ACTIVE"  # no VF to program
    assert api.vf_state("cn1") == {}
    assert [d["address"] for d in server["pci_devices"]] == [taken]

    devices = api.devices("cn1")
    assert devices[taken]["status"] == "allocated"
    assert devices[taken]["server_id"] == server["id"]
    for device in devices.values():
        if device["parent_address"] == taken:
            assert device["status"] == "unavailable", device
            assert device["server_id"] is None
    assert api.host("cn1")["devices_free"] == 5  # the other PF and its 4 VFs

    # VF ports now only get the other adapter's VFs, and a fifth one finds none
    for i in range(4):
        vf_port = api.boot_on(net["id"], name=f"vf-{i}")["ports"][0]
        assert vf_port["pci_slot"].startswith(f"0000:{other}:")
    port5 = api.port(net["id"])
    err = error(api.boot_response([port5["id"]]), 409, "no_valid_host")
    assert set(err["hosts"]) == {"cn1"}

    # a PF with an allocated VF cannot be taken whole either
    devices = api.devices("cn1")
    assert devices[pf_address(other)]["status"] == "unavailable"
    pf_port = api.port(net["id"], "direct-physical")
    err = error(api.boot_response([pf_port["id"]]), 409, "no_valid_host")
    assert "PF" in err["hosts"]["cn1"]

    # giving the PF back makes it and its VFs available again
    expect(api.delete(f"/v1/servers/{server['id']}"), 204)
    devices = api.devices("cn1")
    assert devices[taken]["status"] == "available"
    assert all(d["status"] == "available" for d in devices.values() if d["parent_address"] == taken)
    again = api.boot([port5["id"]], name="vf-5")["ports"][0]
    assert again["pci_slot"].startswith(taken.removesuffix("00.0"))


def test_a_vf_port_and_a_pf_port_share_a_host_on_different_adapters(api: Api) -> None:
    _two_pf_host(api)
    net = api.vlan_network("net1", "phy1", 111)
    vf_port = api.port(net["id"], "direct")
    pf_port = api.port(net["id"], "direct-physical")
    server = api.boot([vf_port["id"], pf_port["id"]])
    by_id = {p["id"]: p for p in server["ports"]}
    vf_slot = by_id[vf_port["id"]]["pci_slot"]
    pf_slot = by_id[pf_port["id"]]["pci_slot"]
    devices = api.devices("cn1")
    assert devices[pf_slot]["dev_type"] == "type-PF"
    assert devices[vf_slot]["dev_type"] == "type-VF"
    assert devices[vf_slot]["parent_address"] != pf_slot
    assert server["status"] == "BUILD"  # the VF port waits for its agent
    assert by_id[pf_port["id"]]["status"] == "ACTIVE"
    api.port_status(vf_port["id"], "ACTIVE")
    assert expect(api.get(f"/v1/servers/{server['id']}"), 200)["status"] == "ACTIVE"


def _boot_all(api: Api, ports: list[str]) -> list[httpx.Response]:
    with ThreadPoolExecutor(max_workers=len(ports)) as pool:
        return list(pool.map(lambda p: api.boot_response([p], name=p), ports))


def test_concurrent_boots_never_share_a_vf_nor_leak_one(api: Api) -> None:
    api.report_host("cn1", host_report([("3b", "phy1")], vfs=4))
    api.report_host("cn2", host_report([("3b", "phy1")], vfs=2))
    net = api.vlan_network("net1", "phy1", 100)
    ports = [api.port(net["id"])["id"] for _ in range(10)]
    responses = _boot_all(api, ports)
    created = [expect(r, 201) for r in responses if r.status_code == 201]
    for response in responses:
        if response.status_code != 201:
            # the documented outcomes of a full cloud and of a claim that kept losing races
            err = expect(response, 409)["error"]
            assert err["code"] in ("no_valid_host", "concurrent_update"), err
    slots = {(s["host"], s["ports"][0]["pci_slot"]): s["id"] for s in created}
    assert len(slots) == len(created) <= 6  # no VF given twice
    allocated = {
        (host, d["address"]): d["server_id"]
        for host in ("cn1", "cn2")
        for d in api.host(host)["devices"]
        if d["status"] == "allocated"
    }
    assert allocated == slots  # the hosts agree with the answers
    # a refused claim took nothing: the rest of the capacity is still there
    booted = {s["ports"][0]["id"] for s in created}
    for port in (p for p in ports if p not in booted):
        response = api.boot_response([port])
        if response.status_code != 201:
            error(response, 409, "no_valid_host")
    assert sum(api.host(h)["devices_free"] for h in ("cn1", "cn2")) == 0
    assert len(expect(api.get("/v1/servers"), 200)) == 6


def test_concurrent_boots_with_one_port_bind_it_once(api: Api) -> None:
    api.report_host("cn1", host_report([("3b", "phy1")], vfs=4))
    api.report_host("cn2", host_report([("3b", "phy1")], vfs=4))
    net = api.vlan_network("net1", "phy1", 100)
    port = api.port(net["id"])["id"]
    responses = _boot_all(api, [port] * 6)
    created = [expect(r, 201) for r in responses if r.status_code == 201]
    assert len(created) == 1  # one wins, whatever the interleaving
    for response in responses:
        if response.status_code != 201:
            err = expect(response, 409)["error"]
            assert err["code"] in ("port_in_use", "concurrent_update"), err
    # the losers' claims were rolled back: only the winner holds a device
    servers = expect(api.get("/v1/servers"), 200)
    assert [s["id"] for s in servers] == [s["id"] for s in created]
    allocated = [
        d["server_id"]
        for host in ("cn1", "cn2")
        for d in api.host(host)["devices"]
        if d["status"] == "allocated"
    ]
    assert allocated == [s["id"] for s in created]
    view = expect(api.get(f"/v1/ports/{port}"), 200)
    assert view["device_id"] == created[0]["id"]


def test_concurrent_boots_that_fit_all_succeed(api: Api) -> None:
    """Boots of one process contending for one host's generation must not turn into 409
    concurrent_update (the cache serialises them per host and chains the generation)."""
    for host in ("cn1", "cn2"):
        api.report_host(host, host_report([("3b", "phy1")], vfs=16))
    net = api.vlan_network("net1", "phy1", 100)
    ports = [api.port(net["id"])["id"] for _ in range(16)]
    codes = [r.status_code for r in _boot_all(api, ports)]
    assert codes == [201] * len(ports)


def test_a_trusted_port_needs_a_trusted_vf(api: Api) -> None:
    api.report_host("cn1", host_report([("3b", "phy1"), ("af", "phy2")], vfs=2, trusted=["phy2"]))
    devices = api.devices("cn1")
    assert devices[vf_address("af", 0)]["tags"]["trusted"] == "true"
    assert "trusted" not in devices[vf_address("3b", 0)]["tags"]
    net1 = api.vlan_network("net1", "phy1", 100)
    net2 = api.vlan_network("net2", "phy2", 200)
    port = api.port(
        net2["id"], "direct", **{"binding:profile": {"trusted": True}}, admin_state_up=False
    )
    assert port["binding:profile"] == {"trusted": True}
    server = api.boot([port["id"]])
    bound = server["ports"][0]
    assert bound["binding:profile"]["trusted"] is True
    assert bound["binding:profile"]["pci_slot"] == bound["pci_slot"]
    desired = api.vf_state("cn1")[bound["pci_slot"]]["desired"]
    assert desired["trust"] is True
    assert desired["link_state"] == "disable"
    untrusted = api.port(net1["id"], "direct", **{"binding:profile": {"trusted": True}})
    err = error(api.boot_response([untrusted["id"]]), 409, "no_valid_host")
    assert "trusted" in err["hosts"]["cn1"]


def test_a_direct_port_on_a_flat_network_gets_vlan_0(api: Api) -> None:
    api.report_host("cn1", host_report([("3b", "phy1")], vfs=1))
    flat = api.network(
        "flat", **{"provider:network_type": "flat", "provider:physical_network": "phy1"}
    )
    assert flat["provider:segmentation_id"] is None
    port = api.boot_on(flat["id"])["ports"][0]
    assert port["binding:vif_details"]["vlan"] == "0"
    assert api.vf_state("cn1")[port["pci_slot"]]["desired"]["vlan"] == 0
