"""``POST /v1/why-not`` over real HTTP on both databases: existing ports become the PCI
request exactly as their boot would make it (network, vnic type, ``binding:profile``
trust), the answer is where that boot then really goes, nothing is claimed, and every bad
input has its status, code and field."""

from __future__ import annotations

import json
from typing import Any

from typer.testing import CliRunner

from pcinet.cli.main import app
from tests.api.conftest import FLAVOR, Api, error, expect, host_report

Json = dict[str, Any]


def why_not(api: Api, body: Json, status: int = 200) -> Any:
    return expect(api.post("/v1/why-not", body), status)


def trusted_cloud(api: Api) -> Json:
    """cn1's phy1 VFs untrusted, cn2's trusted; a phy1 network."""
    api.report_host("cn1", host_report([("3b", "phy1")], vfs=4))
    api.report_host("cn2", host_report([("3b", "phy1")], vfs=4, trusted=["phy1"]))
    return api.vlan_network("net1", "phy1")  # type: ignore[no-any-return]


def test_an_existing_ports_trust_steers_the_answer_and_the_boot_goes_there(api: Api) -> None:
    net = trusted_cloud(api)
    port = api.port(net["id"], **{"binding:profile": {"trusted": True}})
    body = {"name": "vm", "flavor": FLAVOR, "ports": [port["id"]]}  # a boot's body, as is
    answer = why_not(api, body)
    verdicts = {h["host"]: h for h in answer["hosts"]}
    assert answer["host"] == "cn2"
    assert verdicts["cn2"]["fits"] and verdicts["cn2"]["reason"] is None
    assert not verdicts["cn1"]["fits"] and verdicts["cn1"]["score"] is None
    assert "trust" in verdicts["cn1"]["reason"], verdicts["cn1"]
    # nothing was claimed: the port is free and the boot lands where the answer said
    assert api.devices("cn2")[answer["devices"][0][0]]["status"] == "available"
    assert expect(api.get(f"/v1/ports/{port['id']}"), 200)["device_id"] == ""
    server = api.boot([port["id"]])
    assert server["host"] == answer["host"]
    assert [server["ports"][0]["pci_slot"]] == answer["devices"][0]


def test_existing_ports_and_new_ones_make_one_request(api: Api) -> None:
    net = trusted_cloud(api)
    untrusted = api.port(net["id"])
    body = {
        "flavor": FLAVOR,
        "ports": [untrusted["id"]],
        "networks": [{"network": "net1", "vnic_type": "direct"}],
    }
    answer = why_not(api, body)
    assert answer["host"] in {"cn1", "cn2"}
    assert len(answer["devices"]) == 2 and all(len(g) == 1 for g in answer["devices"])
    assert all(h["fits"] for h in answer["hosts"])
    # a normal port needs no device: no PCI request, every host fits
    normal = api.port(net["id"], "normal")
    assert why_not(api, {"flavor": FLAVOR, "ports": [normal["id"]]})["devices"] == []
    # a direct-physical port asks for a whole PF
    whole = api.port(net["id"], "direct-physical")
    pf = why_not(api, {"flavor": FLAVOR, "ports": [whole["id"]]})["devices"]
    assert pf == [["0000:3b:00.0"]]


def test_no_host_fits_and_every_host_says_why(api: Api) -> None:
    api.report_host("cn1", host_report([("3b", "phy1")], vfs=2))
    api.report_host("cn2", host_report([("3b", "phy2")], vfs=2))
    expect(api.put("/v1/hosts/cn2/disabled", {"disabled": True}), 200)
    port = api.port(api.vlan_network("net2", "phy2")["id"])
    answer = why_not(api, {"flavor": FLAVOR, "ports": [port["id"]]})
    assert answer["host"] is None and answer["devices"] == []
    reasons = {h["host"]: h["reason"] for h in answer["hosts"]}
    assert not any(h["fits"] for h in answer["hosts"])
    assert "phy2" in reasons["cn1"] and "disabled" in reasons["cn2"], reasons


def test_a_network_no_device_serves_is_the_boots_own_409(api: Api) -> None:
    api.report_host("cn1", host_report([("3b", "phy1")], vfs=2))
    lost = api.port(api.vlan_network("net2", "phy2")["id"])
    boot = error(api.boot_response([lost["id"]]), 409, "network_not_servable")
    body = {"flavor": FLAVOR, "ports": [lost["id"]]}
    assert error(api.post("/v1/why-not", body), 409, "network_not_servable") == boot


def test_bad_ports_are_named(api: Api) -> None:
    net = trusted_cloud(api)
    port = api.port(net["id"])
    taken = api.port(net["id"])
    server = api.boot([taken["id"]], name="holder")
    flavor = FLAVOR
    free = [api.host(h)["devices_free"] for h in ("cn1", "cn2")]

    err = error(api.post("/v1/why-not", {"flavor": flavor, "ports": ["nope"]}), 404, "not_found")
    assert err["field"] == "server.ports[0]" and "nope" in err["message"]
    body = {"flavor": flavor, "ports": [port["id"], taken["id"]]}
    err = error(api.post("/v1/why-not", body), 409, "port_in_use")
    assert err["field"] == "server.ports[1]" and server["id"] in err["message"]
    body = {"flavor": flavor, "ports": [port["id"], port["id"]]}
    err = error(api.post("/v1/why-not", body), 400, "invalid_request")
    assert err["field"] == "server.ports" and "twice" in err["message"]
    # another project's port is not found, worded as for an id that does not exist
    other = api.token_for("proj-b")
    err = error(
        other.post("/v1/why-not", {"flavor": flavor, "ports": [port["id"]]}), 404, "not_found"
    )
    assert err["field"] == "server.ports[0]"
    # new ports: the network and the vnic type are named by position
    body = {"flavor": flavor, "networks": [{"network": "net1"}, {"network": "ghost"}]}
    err = error(api.post("/v1/why-not", body), 404, "not_found")
    assert err["field"] == "server.networks[1].network" and "ghost" in err["message"]
    body = {"flavor": flavor, "networks": [{"network": "net1", "vnic_type": "normal"}]}
    err = error(api.post("/v1/why-not", body), 400, "invalid_request")
    assert err["field"] == "server.networks[0].vnic_type"
    err = error(api.post("/v1/why-not", {"ports": [port["id"]]}), 400, "invalid_request")
    assert err["field"] == "server.flavor"
    body = {"flavor": {**flavor, "vcpus": 0}, "ports": [port["id"]]}
    err = error(api.post("/v1/why-not", body), 400, "invalid_flavor")
    assert err["field"] == "server.flavor.vcpus"
    body = {"flavor": flavor, "networks": [{"network": "net1"}] * 17}
    err = error(api.post("/v1/why-not", body), 400, "invalid_request")
    assert err["field"] == "server.networks"
    # none of this claimed anything
    assert expect(api.get(f"/v1/ports/{port['id']}"), 200)["device_id"] == ""
    assert [api.host(h)["devices_free"] for h in ("cn1", "cn2")] == free


def test_the_cli_asks_the_same(api: Api) -> None:
    net = trusted_cloud(api)
    port = api.port(net["id"], name="tp1", **{"binding:profile": {"trusted": True}})
    base = ["why-not", "--url", api.url, "--token", str(api.token), "--vcpus", "1"]
    ask = [*base, "--port", port["id"], "--network", "net1:direct", "--memory-mb", "512"]
    body = {"flavor": FLAVOR, "ports": [port["id"]], "networks": [{"network": "net1"}]}
    result = CliRunner().invoke(app, [*ask, "-f", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == why_not(api, body)
    by_name = [*base, "--port", "tp1", "--network", "net1:direct", "--memory-mb", "512"]
    named = CliRunner().invoke(app, [*by_name, "-f", "json"])  # a name, as server create takes
    assert named.exit_code == 0 and json.loads(named.output) == json.loads(result.output)
    table = CliRunner().invoke(app, ask)
    assert table.exit_code == 0 and "Would go to cn2" in table.output, table.output
    assert "trust" in table.output  # cn1's reason
    bad = CliRunner().invoke(app, [*base, "--network", ":direct"])
    assert bad.exit_code == 2 and "--network" in bad.output
    unknown = CliRunner().invoke(app, [*base, "--port", "nope", "-f", "json"])
    assert unknown.exit_code == 1
    assert json.loads(unknown.output)["error"]["field"] == "server.ports[0]"
