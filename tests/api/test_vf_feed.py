"""The VF-state feed gives the agent what it needs (PF netdev, complete desired state, the
originals to restore to) and the agent's reports move the port and server statuses."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import Api, error, expect, host_report

ORIGINAL = {
    "vlan": 0,
    "qos": 0,
    "proto": "802.1Q",
    "mac": "02:00:00:00:00:07",
    "spoofchk": True,
    "trust": False,
    "link_state": "auto",
    "min_tx_rate": 0,
    "max_tx_rate": 0,
}


def booted(api: Api, **port: Any) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    api.report_host("cn1", host_report([("3b", "phy1")], vfs=2))
    net = api.vlan_network("net1", "phy1", 150)
    p = api.port(net["id"], **port)
    normal = api.port(net["id"], "normal")
    server = api.boot([p["id"], normal["id"]])
    port_view = server["ports"][0]
    row = api.vf_state("cn1")[port_view["pci_slot"]]
    return server, port_view, row


def report(api: Api, address: str, body: dict[str, Any], status: int = 200) -> Any:
    return expect(api.put(f"/v1/hosts/cn1/vf-state/{address}", body), status)


def test_the_feed_names_the_pf_and_gives_every_setting(api: Api) -> None:
    server, port, row = booted(api, **{"binding:profile": {}}, mac_address="fa:16:3e:00:00:aa")
    assert server["status"] == "BUILD"
    assert row["pf"] == "ens3bf0"
    assert "vf_index" in row
    assert row["action"] == "apply" and row["port_id"] == port["id"]
    assert row["desired"] == {
        "vlan": 150,
        "qos": 0,
        "proto": "802.1Q",
        "mac": "fa:16:3e:00:00:aa",
        "spoofchk": True,
        "trust": False,
        "link_state": "enable",
        "min_tx_rate": None,
        "max_tx_rate": None,
    }
    assert row["original"] is None


def test_applied_makes_the_port_and_server_active_and_keeps_the_original(api: Api) -> None:
    server, port, row = booted(api)
    address = row["pci_address"]
    body = {"generation": row["generation"], "status": "applied", "original": ORIGINAL}
    after = report(api, address, body)
    assert after["original"] == ORIGINAL and after["applied_generation"] == row["generation"]
    assert expect(api.get(f"/v1/ports/{port['id']}"), 200)["status"] == "ACTIVE"
    # the normal port (another agent's business) stays DOWN and does not hold the server
    view = expect(api.get(f"/v1/servers/{server['id']}"), 200)
    assert [p["status"] for p in view["ports"]] == ["ACTIVE", "DOWN"]
    assert view["status"] == "ACTIVE"
    # released: the feed says what to restore to, even to an agent that lost its state
    expect(api.delete(f"/v1/servers/{server['id']}"), 204)
    restore = api.vf_state("cn1")[address]
    assert restore["action"] == "restore"
    assert restore["desired"] == ORIGINAL and restore["original"] == ORIGINAL
    report(api, address, {"generation": restore["generation"], "status": "restored"}, 204)
    assert api.vf_state("cn1") == {}


def test_an_error_is_the_ports_and_servers_status_with_its_reason(api: Api) -> None:
    server, port, row = booted(api)
    address = row["pci_address"]
    reason = "0000:3b:02.0 (ens3bf0 vf 0): setting trust: Operation not supported"
    assert port["status_reason"] is None
    report(api, address, {"generation": row["generation"], "status": "error", "error": reason})
    shown = expect(api.get(f"/v1/ports/{port['id']}"), 200)
    assert (shown["status"], shown["status_reason"]) == ("ERROR", reason)
    listed = {p["id"]: p for p in expect(api.get("/v1/ports"), 200)}
    assert listed[port["id"]]["status_reason"] == reason
    assert [p["status_reason"] for p in listed.values() if p["id"] != port["id"]] == [None]
    view = expect(api.get(f"/v1/servers/{server['id']}"), 200)
    assert view["status"] == "ERROR"
    assert [p["status_reason"] for p in view["ports"]] == [reason, None]
    (in_list,) = expect(api.get("/v1/servers"), 200)
    assert in_list["ports"][0]["status_reason"] == reason
    assert api.vf_state("cn1")[address]["reported_error"] == reason
    # healed on a later pass: no reason left
    report(api, address, {"generation": row["generation"], "status": "applied"})
    assert expect(api.get(f"/v1/servers/{server['id']}"), 200)["status"] == "ACTIVE"
    healed = expect(api.get(f"/v1/ports/{port['id']}"), 200)
    assert (healed["status"], healed["status_reason"]) == ("ACTIVE", None)


def test_an_error_reported_on_the_port_status_is_its_reason(api: Api) -> None:
    _, port, _ = booted(api)
    reason = "VF gone"
    body = {"status": "ERROR", "error": reason}
    answer = expect(api.put(f"/v1/ports/{port['id']}/status", body), 200)
    assert (answer["status"], answer["status_reason"]) == ("ERROR", reason)
    assert expect(api.get(f"/v1/ports/{port['id']}"), 200)["status_reason"] == reason
    answer = expect(api.put(f"/v1/ports/{port['id']}/status", {"status": "ACTIVE"}), 200)
    assert answer["status_reason"] is None


def test_a_report_of_an_older_generation_moves_nothing(api: Api) -> None:
    server, port, row = booted(api)
    stale = report(
        api, row["pci_address"], {"generation": row["generation"] + 5, "status": "applied"}
    )
    assert stale["applied_generation"] is None
    assert expect(api.get(f"/v1/ports/{port['id']}"), 200)["status"] == "BUILD"
    assert expect(api.get(f"/v1/servers/{server['id']}"), 200)["status"] == "BUILD"


def test_an_administratively_down_port_is_down_and_does_not_hold_the_server(api: Api) -> None:
    server, port, row = booted(api, admin_state_up=False)
    assert row["desired"]["link_state"] == "disable"
    report(api, row["pci_address"], {"generation": row["generation"], "status": "applied"})
    assert expect(api.get(f"/v1/ports/{port['id']}"), 200)["status"] == "DOWN"
    assert expect(api.get(f"/v1/servers/{server['id']}"), 200)["status"] == "ACTIVE"


def test_a_malformed_original_is_refused_naming_the_field(api: Api) -> None:
    _, _, row = booted(api)
    body = {"generation": row["generation"], "status": "applied", "original": {"vlan": 5000}}
    err = error(api.put(f"/v1/hosts/cn1/vf-state/{row['pci_address']}", body), 400, "invalid_input")
    assert err["field"] == "body.original.vlan"
    assert api.vf_state("cn1")[row["pci_address"]]["original"] is None


def test_a_port_status_of_another_generation_moves_nothing(api: Api) -> None:
    server, port, row = booted(api)
    path = f"/v1/ports/{port['id']}/status"
    stale = {"status": "ACTIVE", "generation": row["generation"] + 5}
    assert expect(api.put(path, stale), 200)["status"] == "BUILD"
    assert api.vf_state("cn1")[row["pci_address"]]["applied_generation"] is None
    assert expect(api.get(f"/v1/servers/{server['id']}"), 200)["status"] == "BUILD"
    current = {"status": "ACTIVE", "generation": row["generation"]}
    assert expect(api.put(path, current), 200)["status"] == "ACTIVE"
    after = api.vf_state("cn1")[row["pci_address"]]
    assert after["applied_generation"] == row["generation"]
    assert expect(api.get(f"/v1/servers/{server['id']}"), 200)["status"] == "ACTIVE"
    error(api.put(path, {"status": "ACTIVE", "generation": 0}), 400, "invalid_request")
