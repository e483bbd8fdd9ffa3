"""A ``direct-physical`` port takes its PF's MAC, as in Nova (the guest uses the PF's
burnt-in MAC), and gets its own back on release; a VF port's ``binding:profile`` carries
``pf_mac_address`` and ``vf_num``, a PF port's ``device_mac_address`` (Nova's keys), gone
once unbound. A MAC clash on the network is 409 ``mac_address_in_use`` naming the port, the
network and the PF, with nothing written. Over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import Api, error, expect, host_report, pf_address

OWN = "fa:16:3e:00:00:0a"
OTHER = "fa:16:3e:00:00:0b"
PF_MACS = {"3b": "3c:fd:fe:3b:00:00", "5e": "3c:fd:fe:5e:00:00"}
PF_KEYS = ("device_mac_address", "pf_mac_address", "vf_num", "pci_slot")


def _report(macs: dict[str, str | None], *, vfs: int = 2) -> dict[str, Any]:
    """cn1: one phy1 adapter per bus of ``macs``, each PF reported with that MAC (None: the
    agent reported none)."""
    report = host_report([(bus, "phy1") for bus in macs], vfs=vfs)
    for device in report["devices"]:
        for bus, mac in macs.items():
            if device["address"] == pf_address(bus) and mac is not None:
                device["mac_address"] = mac
    return report


def _pf_port(api: Api, net: dict[str, Any], mac: str = OWN, **fields: Any) -> Any:
    return api.port(net["id"], "direct-physical", mac_address=mac, **fields)


def test_a_direct_physical_port_takes_its_pf_mac_and_gets_its_own_back(api: Api) -> None:
    api.report_host("cn1", _report({"3b": "3C-FD-FE-3B-00-00"}))
    net = api.vlan_network("net1", "phy1", 110)
    port = _pf_port(api, net)
    assert port["mac_address"] == OWN

    server = api.boot([port["id"]])
    (bound,) = server["ports"]
    assert bound["pci_slot"] == pf_address("3b")
    assert bound["mac_address"] == PF_MACS["3b"]
    assert bound["binding:profile"]["device_mac_address"] == PF_MACS["3b"]
    assert "pf_mac_address" not in bound["binding:profile"]
    shown = expect(api.get(f"/v1/ports/{port['id']}"), 200)
    assert (shown["mac_address"], shown["binding:profile"]) == (
        PF_MACS["3b"],
        bound["binding:profile"],
    )
    assert expect(api.get(f"/v1/servers/{server['id']}"), 200)["ports"][0] == shown
    # nothing for the agent to program: the PF keeps its own settings
    assert api.vf_state("cn1") == {}
    # the port's own MAC is kept: another port cannot take it meanwhile
    err = error(
        api.post("/v1/ports", {"network_id": net["id"], "mac_address": OWN}),
        409,
        "mac_address_in_use",
    )
    assert port["id"] in err["message"] and err["field"] == "mac_address"

    expect(api.delete(f"/v1/servers/{server['id']}"), 204)
    back = expect(api.get(f"/v1/ports/{port['id']}"), 200)
    assert back["mac_address"] == OWN
    assert back["binding:vif_type"] == "unbound"
    assert not set(PF_KEYS) & set(back["binding:profile"])
    # the PF's MAC is free again on the network, the port's own taken again
    expect(api.post("/v1/ports", {"network_id": net["id"], "mac_address": PF_MACS["3b"]}), 201)
    error(
        api.post("/v1/ports", {"network_id": net["id"], "mac_address": OWN}),
        409,
        "mac_address_in_use",
    )


def test_a_pf_whose_mac_is_unknown_leaves_the_port_its_own(api: Api) -> None:
    api.report_host("cn1", _report({"3b": None}))
    net = api.vlan_network("net1", "phy1", 110)
    port = _pf_port(api, net)
    (bound,) = api.boot([port["id"]])["ports"]
    assert bound["mac_address"] == OWN
    assert "device_mac_address" not in bound["binding:profile"]


def test_a_port_created_with_its_pf_mac_keeps_it(api: Api) -> None:
    api.report_host("cn1", _report({"3b": PF_MACS["3b"]}))
    net = api.vlan_network("net1", "phy1", 110)
    port = _pf_port(api, net, PF_MACS["3b"])
    server = api.boot([port["id"]])
    assert server["ports"][0]["mac_address"] == PF_MACS["3b"]
    expect(api.delete(f"/v1/servers/{server['id']}"), 204)
    assert expect(api.get(f"/v1/ports/{port['id']}"), 200)["mac_address"] == PF_MACS["3b"]


def test_a_vf_port_profile_carries_its_pf_mac_and_vf_num_until_unbound(api: Api) -> None:
    report = _report({"3b": PF_MACS["3b"]})
    for i, device in enumerate(d for d in report["devices"] if d["dev_type"] == "type-VF"):
        device["vf_index"] = i
    api.report_host("cn1", report)
    net = api.vlan_network("net1", "phy1", 110)
    port = api.port(net["id"], "direct", mac_address=OWN, **{"binding:profile": {"x": 1}})
    server = api.boot([port["id"]])
    (bound,) = server["ports"]
    profile = bound["binding:profile"]
    assert profile["pf_mac_address"] == PF_MACS["3b"]
    assert profile["vf_num"] == api.devices("cn1")[bound["pci_slot"]]["vf_index"]
    assert "device_mac_address" not in profile and profile["x"] == 1
    assert bound["mac_address"] == OWN  # a VF takes the port's MAC
    assert api.vf_state("cn1")[bound["pci_slot"]]["desired"]["mac"] == OWN

    expect(api.delete(f"/v1/servers/{server['id']}"), 204)
    back = expect(api.get(f"/v1/ports/{port['id']}"), 200)
    assert back["binding:profile"] == {"x": 1}
    assert back["mac_address"] == OWN


def _nothing_written(api: Api, port_ids: list[str], macs: list[str]) -> None:
    """No server, no device held, every port unbound with its own MAC."""
    assert expect(api.get("/v1/servers"), 200) == []
    assert {d["status"] for d in api.devices("cn1").values()} == {"available"}
    for port_id, mac in zip(port_ids, macs, strict=True):
        port = expect(api.get(f"/v1/ports/{port_id}"), 200)
        assert (port["mac_address"], port["device_id"], port["binding:vif_type"]) == (
            mac,
            "",
            "unbound",
        )


def test_a_mac_clash_is_409_naming_the_port_network_and_pf_with_nothing_written(
    api: Api,
) -> None:
    api.report_host("cn1", _report({"3b": PF_MACS["3b"], "5e": PF_MACS["5e"]}))
    net = api.vlan_network("net1", "phy1", 110)
    holder = api.port(net["id"], mac_address=PF_MACS["5e"], name="has-it")
    first, second = _pf_port(api, net), _pf_port(api, net, OTHER)
    # whichever PF each port gets, one of them is 5e, whose MAC port "has-it" has
    err = error(api.boot_response([first["id"], second["id"]]), 409, "mac_address_in_use")
    message = err["message"]
    assert err["field"] in ("server.ports[0]", "server.ports[1]")
    for part in (holder["id"], "has-it", "net1", net["id"], pf_address("5e"), "cn1", PF_MACS["5e"]):
        assert part in message, message
    _nothing_written(api, [first["id"], second["id"]], [OWN, OTHER])

    # once the holder is gone, the same boot succeeds
    expect(api.delete(f"/v1/ports/{holder['id']}"), 204)
    server = api.boot([first["id"], second["id"]])
    assert sorted(p["mac_address"] for p in server["ports"]) == sorted(PF_MACS.values())


def test_a_mac_lent_away_as_a_ports_own_is_a_clash_too(api: Api) -> None:
    """Port "lender" was created with PF 5e's MAC and is bound to PF 3b (it carries 3b's
    MAC): a port taking 5e's MAC would leave it nothing to get back."""
    api.report_host("cn1", _report({"3b": PF_MACS["3b"]}))
    net = api.vlan_network("net1", "phy1", 110)
    lender = _pf_port(api, net, PF_MACS["5e"], name="lender")
    assert api.boot([lender["id"]], name="vm1")["ports"][0]["mac_address"] == PF_MACS["3b"]
    api.report_host("cn1", _report({"3b": PF_MACS["3b"], "5e": PF_MACS["5e"]}), status=200)
    port = _pf_port(api, net)
    err = error(api.boot_response([port["id"]], name="vm2"), 409, "mac_address_in_use")
    for part in (lender["id"], "lender", "lent away", pf_address("5e")):
        assert part in err["message"], err
    assert expect(api.get(f"/v1/ports/{port['id']}"), 200)["mac_address"] == OWN
    assert api.devices("cn1")[pf_address("5e")]["status"] == "available"


def test_a_boot_failing_after_the_write_leaves_the_port_its_own_mac(api: Api) -> None:
    """A member at its server quota: the quota is counted after the placement's write, in
    the same transaction, so the PF's MAC was written and is rolled back."""
    api.report_host("cn1", _report({"3b": PF_MACS["3b"]}))
    net = api.vlan_network("net1", "phy1", 110, shared=True)
    member = api.token_for("p1")
    expect(api.put("/v1/quotas/p1", {"servers": 0}), 200)
    port = member.port(net["id"], "direct-physical", mac_address=OWN)
    error(member.boot_response([port["id"]]), 409, "over_quota")
    _nothing_written(api, [port["id"]], [OWN])

    expect(api.put("/v1/quotas/p1", {"servers": 1}), 200)
    server = member.boot([port["id"]])
    assert server["ports"][0]["mac_address"] == PF_MACS["3b"]
    expect(member.delete(f"/v1/servers/{server['id']}"), 204)
    assert expect(member.get(f"/v1/ports/{port['id']}"), 200)["mac_address"] == OWN


def test_a_server_in_error_deleted_gives_its_pf_port_its_own_mac(api: Api) -> None:
    """A PF port beside a VF port the agent failed to program: the server is ERROR, and its
    delete gives the PF port its own MAC back all the same."""
    api.report_host("cn1", _report({"3b": PF_MACS["3b"], "5e": PF_MACS["5e"]}))
    net = api.vlan_network("net1", "phy1", 110)
    pf_port, vf_port = _pf_port(api, net), api.port(net["id"], "direct", mac_address=OTHER)
    server = api.boot([pf_port["id"], vf_port["id"]])
    assert server["status"] == "BUILD"
    slot = server["ports"][1]["pci_slot"]
    row = api.vf_state("cn1")[slot]
    body = {"generation": row["generation"], "status": "error", "error": "trust refused"}
    expect(api.put(f"/v1/hosts/cn1/vf-state/{slot}", body), 200)
    failed = expect(api.get(f"/v1/servers/{server['id']}"), 200)
    assert failed["status"] == "ERROR"
    assert failed["ports"][0]["mac_address"] in PF_MACS.values()

    expect(api.delete(f"/v1/servers/{server['id']}"), 204)
    assert expect(api.get(f"/v1/ports/{pf_port['id']}"), 200)["mac_address"] == OWN
    assert expect(api.get(f"/v1/ports/{vf_port['id']}"), 200)["mac_address"] == OTHER
