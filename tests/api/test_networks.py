"""Networks: tenant VLANs from ``network_vlan_ranges``, provider networks and their checks,
and deleting (only without ports)."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import Api, Start, error, expect


def _segment(api: Api, network_id: str) -> tuple[str, str, int]:
    view = expect(api.get(f"/v1/networks/{network_id}"), 200)
    return (
        view["provider:network_type"],
        view["provider:physical_network"],
        view["provider:segmentation_id"],
    )


def test_tenant_networks_take_the_first_free_vlan(api: Api) -> None:
    member = api.token_for("p1")
    first = member.network("t1")
    assert first["project_id"] == "p1" and first["shared"] is False
    assert first["status"] == "ACTIVE" and first["admin_state_up"] is True
    assert _segment(api, first["id"]) == ("vlan", "phy1", 100)
    api.vlan_network("prov", "phy1", 101)  # a provider network takes 101
    second = member.network("t2")
    assert _segment(api, second["id"]) == ("vlan", "phy1", 102)
    # a freed VLAN is the first free one again
    expect(member.delete(f"/v1/networks/{first['id']}"), 204)
    third = member.network("t3")
    assert _segment(api, third["id"]) == ("vlan", "phy1", 100)
    # a provider vlan network without an id takes the first free VLAN of its physnet
    prov2 = api.vlan_network("prov2", "phy2")
    assert prov2["provider:segmentation_id"] == 200
    # filters
    assert [n["name"] for n in expect(api.get("/v1/networks", params={"name": "t2"}), 200)] == [
        "t2"
    ]
    mine = expect(api.get("/v1/networks", params={"project_id": "p1"}), 200)
    assert {n["name"] for n in mine} == {"t2", "t3"}


def test_exhausted_ranges_are_503_no_network_available(start: Start) -> None:
    api = start(network_vlan_ranges="phy1:100:101")
    member = api.token_for("p1")
    vlans = [_segment(api, member.network(f"t{i}")["id"])[2] for i in range(2)]
    assert vlans == [100, 101]
    err = error(member.post("/v1/networks", {"name": "t2"}), 503, "no_network_available")
    assert "phy1:100:101" in err["message"]
    err = error(
        api.post(
            "/v1/networks",
            {
                "name": "prov",
                "provider:network_type": "vlan",
                "provider:physical_network": "phy1",
            },
        ),
        503,
        "no_network_available",
    )
    assert "phy1" in err["message"]
    # a provider network may still name a VLAN outside the range
    assert api.vlan_network("outside", "phy1", 1000)["provider:segmentation_id"] == 1000
    assert len(expect(api.get("/v1/networks"), 200)) == 3


def test_a_taken_segment_is_409_vlan_in_use(api: Api) -> None:
    tenant = api.token_for("p1").network("t")  # phy1 VLAN 100
    api.vlan_network("a", "phy1", 150)
    for vlan in (150, 100):
        body = {
            "name": "b",
            "provider:network_type": "vlan",
            "provider:physical_network": "phy1",
            "provider:segmentation_id": vlan,
        }
        err = error(api.post("/v1/networks", body), 409, "vlan_in_use")
        assert f"VLAN {vlan}" in err["message"]
    # the same VLAN on another physnet is another segment
    assert api.vlan_network("c", "phy2", 150)["provider:segmentation_id"] == 150
    # one flat network per physnet
    api.network("f1", **{"provider:network_type": "flat", "provider:physical_network": "phy2"})
    flat = {"name": "f2", "provider:network_type": "flat", "provider:physical_network": "phy2"}
    error(api.post("/v1/networks", flat), 409, "vlan_in_use")
    # an overlay segment has no physnet, and its id is taken once per type
    net = api.network(
        "overlay", **{"provider:network_type": "vxlan", "provider:segmentation_id": 5000}
    )
    assert net["provider:physical_network"] is None
    assert net["provider:segmentation_id"] == 5000
    vxlan = {"name": "v2", "provider:network_type": "vxlan", "provider:segmentation_id": 5000}
    error(api.post("/v1/networks", vxlan), 409, "vlan_in_use")
    names = {n["name"] for n in expect(api.get("/v1/networks"), 200)}
    assert names == {"t", "a", "c", "f1", "overlay"}
    assert tenant["id"]


INVALID: list[tuple[dict[str, Any], str]] = [
    (
        {"provider:network_type": "vlan", "provider:physical_network": "phy9"},
        "network.provider:physical_network",
    ),
    (
        {
            "provider:network_type": "vlan",
            "provider:physical_network": "phy1",
            "provider:segmentation_id": 5000,
        },
        "network.provider:segmentation_id",
    ),
    (
        {
            "provider:network_type": "vlan",
            "provider:physical_network": "phy1",
            "provider:segmentation_id": 0,
        },
        "network.provider:segmentation_id",
    ),
    (
        {"provider:network_type": "flat", "provider:physical_network": "phy9"},
        "network.provider:physical_network",
    ),
    ({"provider:network_type": "token-ring"}, "network.provider:network_type"),
    (
        {
            "segments": [
                {"provider:network_type": "vlan", "provider:physical_network": "phy1"},
                {"provider:network_type": "vlan", "provider:physical_network": "phy9"},
            ]
        },
        "network.segments[1].provider:physical_network",
    ),
    (
        {
            "provider:network_type": "vlan",
            "segments": [{"provider:network_type": "vlan", "provider:physical_network": "phy1"}],
        },
        "network.segments",
    ),
    ({"segments": []}, "network.segments"),
]


def test_invalid_provider_networks_are_400_naming_the_field(api: Api) -> None:
    for body, field in INVALID:
        err = error(api.post("/v1/networks", {"name": "bad", **body}), 400, "invalid_network")
        assert err["field"] == field, body
        assert field in err["message"]
    assert expect(api.get("/v1/networks"), 200) == []


def test_a_network_is_deleted_only_without_ports(api: Api) -> None:
    member = api.token_for("p1")
    net = member.network("n")
    port = member.port(net["id"], "normal")
    err = error(member.delete(f"/v1/networks/{net['id']}"), 409, "network_in_use")
    assert "1 port" in err["message"]
    expect(member.get(f"/v1/networks/{net['id']}"), 200)
    expect(member.delete(f"/v1/ports/{port['id']}"), 204)
    error(member.get(f"/v1/ports/{port['id']}"), 404, "not_found")
    expect(member.delete(f"/v1/networks/{net['id']}"), 204)
    error(member.get(f"/v1/networks/{net['id']}"), 404, "not_found")
    error(member.delete(f"/v1/networks/{net['id']}"), 404, "not_found")
    # its VLAN is free again
    assert _segment(api, member.network("again")["id"])[2] == 100


def test_ports_get_a_mac_and_refuse_a_taken_one(api: Api) -> None:
    member = api.token_for("p1")
    net = member.network("n")
    port = member.port(net["id"], "normal")
    assert port["mac_address"].startswith("fa:16:3e:")
    assert port["binding:vnic_type"] == "normal"
    assert port["status"] == "DOWN" and port["device_id"] == ""
    assert port["binding:host_id"] == "" and port["binding:vif_details"] == {}
    fixed = member.port(net["id"], "direct", mac_address="FA:16:3E:00:00:01")
    assert fixed["mac_address"] == "fa:16:3e:00:00:01"
    err = error(
        member.post(
            "/v1/ports",
            {"network_id": net["id"], "mac_address": "fa:16:3e:00:00:01"},
        ),
        409,
        "mac_address_in_use",
    )
    assert "fa:16:3e:00:00:01" in err["message"]
    # the same MAC on another network is fine
    other = member.network("m")
    member.port(other["id"], "direct", mac_address="fa:16:3e:00:00:01")
    listed = expect(member.get("/v1/ports", params={"network_id": net["id"]}), 200)
    assert {p["id"] for p in listed} == {port["id"], fixed["id"]}
    err = error(
        member.post("/v1/ports", {"network_id": net["id"], "binding:vnic_type": "warp"}),
        400,
        "invalid_port",
    )
    assert err["field"] == "port.binding:vnic_type"
    err = error(
        member.post("/v1/ports", {"network_id": net["id"], "min_tx_rate": 10, "max_tx_rate": 5}),
        400,
        "invalid_request",
    )
    assert err["field"] == "port.min_tx_rate"
    error(member.post("/v1/ports", {"network_id": "nope"}), 404, "not_found")
