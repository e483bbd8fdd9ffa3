"""The ``pcinet`` resource commands against a real controller over HTTP: what they print
(Rich tables and ``--json``) and their exit codes (0 ok, 1 the controller said no or cannot
be reached, 2 bad input). One live controller for the module; each test names its own
resources so the tests do not depend on each other's order."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from pcinet.cli import output
from pcinet.cli.main import app
from pcinet.client import ApiError, Client
from pcinet.demo.cloud import host_report
from tests.live import ADMIN_TOKEN, LiveServer, live_settings

runner = CliRunner()


class Run:
    def __init__(self, code: int, stdout: str, stderr: str) -> None:
        self.code = code
        self.stdout = stdout
        self.stderr = stderr

    @property
    def json(self) -> Any:
        return json.loads(self.stdout)


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    settings = live_settings(tmp_path_factory.mktemp("cli-live"))
    with LiveServer(settings) as server, Client(server.url, ADMIN_TOKEN) as client:
        for name in ("cn1", "cn2"):
            client.put_host(name, host_report())
        yield server.url


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tables as on a wide terminal, so values are not folded, whatever COLUMNS the runner
    had when the consoles were made (pytest-xdist workers have 80)."""
    for console in (output.console, output.err_console):
        monkeypatch.setattr(console, "_width", 250)


def cli(url: str, *args: str, token: str | None = ADMIN_TOKEN) -> Run:
    env = {"PCINET_URL": url}
    if token is not None:
        env["PCINET_TOKEN"] = token
    result = runner.invoke(app, list(args), env=env)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Run(result.exit_code, result.stdout, result.stderr)


def make_network(url: str, name: str, physnet: str = "phy1") -> dict[str, Any]:
    run = cli(
        url,
        "network",
        "create",
        name,
        "--provider-network-type",
        "vlan",
        "--provider-physical-network",
        physnet,
        "--json",
    )
    assert run.code == 0, run.stdout + run.stderr
    network: dict[str, Any] = run.json
    return network


def make_port(url: str, network: str, name: str) -> dict[str, Any]:
    run = cli(
        url,
        "port",
        "create",
        "--network",
        network,
        "--name",
        name,
        "--vnic-type",
        "direct",
        "--json",
    )
    assert run.code == 0, run.stdout + run.stderr
    port: dict[str, Any] = run.json
    return port


# -- networks ---------------------------------------------------------------------------


def test_network_create_takes_a_vlan_from_the_range_and_shows_by_name(url: str) -> None:
    net = make_network(url, "blue", "phy2")
    assert net["name"] == "blue"
    assert net["provider:physical_network"] == "phy2"
    assert 200 <= net["provider:segmentation_id"] <= 299

    shown = cli(url, "network", "show", "blue", "--json")
    assert shown.code == 0
    assert shown.json["id"] == net["id"]

    table = cli(url, "network", "list")
    assert table.code == 0
    assert net["id"] in table.stdout
    assert f"vlan phy2 {net['provider:segmentation_id']}" in table.stdout


def test_network_create_with_segments(url: str) -> None:
    run = cli(
        url,
        "network",
        "create",
        "multi",
        "--segment",
        "vlan:phy1:",
        "--segment",
        "vlan:phy2:250",
        "--json",
    )
    assert run.code == 0, run.stdout + run.stderr
    segments = run.json["segments"]
    assert [s["provider:physical_network"] for s in segments] == ["phy1", "phy2"]
    assert 100 <= segments[0]["provider:segmentation_id"] <= 199
    assert segments[1]["provider:segmentation_id"] == 250


def test_bad_segmentation_id_is_exit_2_naming_the_field(url: str) -> None:
    args = ["network", "create", "bad", "--provider-network-type", "vlan"]
    args += ["--provider-physical-network", "phy1", "--provider-segmentation-id", "5000"]
    run = cli(url, *args)
    assert run.code == 2
    assert "error (invalid_network)" in run.stderr
    assert "5000" in run.stderr

    as_json = cli(url, *args, "--json")
    assert as_json.code == 2
    error = as_json.json["error"]
    assert error["code"] == "invalid_network"
    assert error["field"].endswith("provider:segmentation_id")


def test_arguments_the_cli_refuses_are_exit_2(url: str) -> None:
    run = cli(url, "network", "create", "x", "--segment", "vlan:phy1:abc", "--json")
    assert run.code == 2
    assert run.json["error"]["code"] == "invalid_input"
    assert "abc" in run.json["error"]["message"]

    usage = cli(url, "server", "create", "x", "--vcpus", "many", "--memory-mb", "1")
    assert usage.code == 2

    spec = cli(
        url, "server", "create", "x", "--vcpus", "1", "--memory-mb", "1", "--extra-spec", "k"
    )
    assert spec.code == 2
    assert "key=value" in spec.stderr


# -- ports and servers --------------------------------------------------------------------


def test_boot_prints_host_vf_physnet_and_vlan(url: str) -> None:
    net = make_network(url, "red", "phy1")
    vlan = net["provider:segmentation_id"]
    port = make_port(url, "red", "red-p0")  # the network by name
    assert port["network_id"] == net["id"]
    assert port["status"] == "DOWN"

    run = cli(
        url,
        "server",
        "create",
        "vm-red",
        "--vcpus",
        "2",
        "--memory-mb",
        "2048",
        "--port",
        port["id"],
    )
    assert run.code == 0, run.stdout + run.stderr
    server = cli(url, "server", "show", "vm-red", "--json").json
    bound = server["ports"][0]
    assert server["host"] in ("cn1", "cn2")
    assert bound["pci_slot"].startswith("0000:3b:02.")  # a phy1 VF
    assert bound["binding:profile"]["physical_network"] == "phy1"
    assert bound["binding:vif_details"]["vlan"] == str(vlan)
    for value in (server["host"], port["id"], bound["pci_slot"], "phy1", str(vlan)):
        assert value in run.stdout

    host = cli(url, "host", "show", server["host"])
    assert host.code == 0
    line = next(ln for ln in host.stdout.splitlines() if bound["pci_slot"] in ln)
    assert "allocated" in line
    assert server["id"] in line

    ports = cli(url, "port", "list", "--network", "red", "--json").json
    assert [p["id"] for p in ports] == [port["id"]]
    assert ports[0]["device_id"] == server["id"]


def test_host_show_names_the_devices_in_use_outside_pcinet(tmp_path: Path) -> None:
    with LiveServer(live_settings(tmp_path)) as server:
        _show_outside(server.url)


def _show_outside(url: str) -> None:
    report = host_report()
    pf = report["devices"][0]["address"]
    vf = next(d for d in report["devices"] if d.get("parent_address") == pf)
    vf["status"] = "allocated"
    report["devices"].append(
        {"address": "0000:d8:00.0", "vendor_id": "10de", "product_id": "20b5"}
        | {"dev_type": "type-PCI", "status": "allocated"}
    )
    with Client(url, ADMIN_TOKEN) as client:
        client.put_host("cn-outside", report)
    run = cli(url, "host", "show", "cn-outside")
    assert run.code == 0, run.stdout + run.stderr
    line = next(ln for ln in run.stdout.splitlines() if vf["address"] in ln)
    assert "allocated" in line and "in use outside pcinet" in line
    assert "selected by no device spec (blocking their PF or VFs): 0000:d8:00.0 (PCI)" in (
        " ".join(run.stdout.split())
    )


def test_port_show_gives_the_reason_of_an_error(url: str) -> None:
    port = make_port(url, make_network(url, "ochre")["id"], "ochre-p0")
    args = ["server", "create", "vm-ochre", "--vcpus", "1", "--memory-mb", "512"]
    run = cli(url, *args, "--port", port["id"])
    assert run.code == 0, run.stdout + run.stderr
    assert cli(url, "port", "show", "ochre-p0", "--json").json["status_reason"] is None
    reason = "0000:3b:02.1 (ens3bf0 vf 1): setting trust: Operation not supported"
    with Client(url, ADMIN_TOKEN) as client:
        client.set_port_status(port["id"], "ERROR", reason)
    shown = cli(url, "port", "show", "ochre-p0", "--json").json
    assert (shown["status"], shown["status_reason"]) == ("ERROR", reason)
    table = cli(url, "port", "show", "ochre-p0")
    assert table.code == 0
    line = next(ln for ln in table.stdout.splitlines() if "status_reason" in ln)
    assert "Operation not supported" in line


def test_no_valid_host_is_exit_1_with_reasons_per_host(url: str) -> None:
    port = make_port(url, make_network(url, "green")["id"], "green-p0")
    args = ["server", "create", "huge", "--vcpus", "1000", "--memory-mb", "1024"]
    args += ["--port", port["id"]]
    run = cli(url, *args)
    assert run.code == 1
    assert "error (no_valid_host)" in run.stderr
    assert "cn1" in run.stderr and "cn2" in run.stderr
    assert "vCPUs" in run.stderr

    as_json = cli(url, *args, "--json")
    assert as_json.code == 1
    error = as_json.json["error"]
    assert error["code"] == "no_valid_host"
    assert set(error["hosts"]) == {"cn1", "cn2"}


def test_in_use_is_exit_1(url: str) -> None:
    make_network(url, "amber")
    port = make_port(url, "amber", "amber-p0")
    boot = cli(
        url,
        "server",
        "create",
        "vm-amber",
        "--vcpus",
        "1",
        "--memory-mb",
        "512",
        "--port",
        "amber-p0",
    )
    assert boot.code == 0, boot.stdout + boot.stderr

    net_del = cli(url, "network", "delete", "amber", "--json")
    assert net_del.code == 1
    assert net_del.json["error"]["code"] == "network_in_use"
    port_del = cli(url, "port", "delete", port["id"])
    assert port_del.code == 1
    assert "port_in_use" in port_del.stderr

    # delete the server: the port is unbound and its VF free again; then the rest goes
    server = cli(url, "server", "show", "vm-amber", "--json").json
    vf = server["ports"][0]["pci_slot"]
    assert cli(url, "server", "delete", "vm-amber").code == 0
    assert cli(url, "port", "show", port["id"], "--json").json["status"] == "DOWN"
    devices = cli(url, "host", "show", server["host"], "--json").json["devices"]
    assert next(d for d in devices if d["address"] == vf)["status"] == "available"
    assert cli(url, "port", "delete", "amber-p0").code == 0
    assert cli(url, "network", "delete", "amber").code == 0
    assert cli(url, "network", "show", "amber").code == 1


def test_unknown_ids_are_exit_1(url: str) -> None:
    for args in (("server", "show", "no-such"), ("network", "delete", "no-such")):
        run = cli(url, *args)
        assert run.code == 1
        assert "error (not_found)" in run.stderr
    run = cli(url, "port", "show", "no-such", "--json")
    assert run.code == 1
    assert run.json["error"]["code"] == "not_found"


def test_connection_refused_is_exit_1_naming_the_url(url: str) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}"
    run = cli(dead, "network", "list")
    assert run.code == 1
    assert "connection_failed" in run.stderr
    assert dead in run.stderr.replace("\n", "")
    as_json = cli(dead, "host", "list", "--json")
    assert as_json.code == 1
    assert as_json.json["error"]["code"] == "connection_failed"


# -- tokens, roles, hosts, aliases --------------------------------------------------------


def test_tokens_and_roles(url: str) -> None:
    assert cli(url, "network", "list", token=None).code == 1
    assert "unauthorized" in cli(url, "network", "list", token="wrong").stderr

    created = cli(url, "token", "create", "--project-id", "p1", "--json")
    assert created.code == 0
    assert created.json["project_id"] == "p1"
    assert created.json["role"] == "member"
    member = created.json["token"]

    assert cli(url, "network", "list", "--json", token=member).json == []
    hosts = cli(url, "host", "list", "--json", token=member)
    assert hosts.code == 1
    assert hosts.json["error"]["code"] == "forbidden"


def test_host_list_and_disable(url: str) -> None:
    table = cli(url, "host", "list")
    assert table.code == 0
    assert "cn1" in table.stdout and "cn2" in table.stdout

    off = cli(url, "host", "disable", "cn2", "--json")
    assert off.code == 0
    assert off.json["disabled"] is True
    try:
        names = [h["name"] for h in cli(url, "host", "list", "--disabled", "--json").json]
        assert names == ["cn2"]
    finally:
        assert cli(url, "host", "enable", "cn2", "--json").json["disabled"] is False


def test_alias_set_from_a_yaml_file(url: str, tmp_path: Path) -> None:
    path = tmp_path / "aliases.yaml"
    path.write_text("- {name: gpu, device_type: type-PCI, vendor_id: '10de', product_id: '20b5'}\n")
    run = cli(url, "alias", "set", str(path), "--json")
    assert run.code == 0, run.stdout + run.stderr
    assert [a["name"] for a in run.json] == ["gpu"]
    table = cli(url, "alias", "list")
    assert "gpu" in table.stdout and "20b5" in table.stdout

    path.write_text("not: a list\n")
    assert cli(url, "alias", "set", str(path)).code == 2


def test_client_raises_api_error_with_the_servers_body(url: str) -> None:
    with Client(url, ADMIN_TOKEN) as client, pytest.raises(ApiError) as info:
        client.get_network("no-such")
    assert info.value.status == 404
    assert info.value.code == "not_found"
    assert info.value.body["code"] == "not_found"
