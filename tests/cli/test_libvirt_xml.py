"""``pcinet server show ID --libvirt-xml``: one element per PCI port, checked with libvirt's
own schema (``virt-xml-validate``, Debian ``libvirt-clients``; ``make test`` installs it)."""

from __future__ import annotations

import json
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from pcinet.cli.main import app
from pcinet.client import Client
from pcinet.demo.cloud import host_report
from pcinet.libvirt import domain_xml
from tests.live import ADMIN_TOKEN, LiveServer, live_settings

runner = CliRunner()


def report_with_vf_netdevs() -> dict[str, Any]:
    report = host_report()
    for device in report["devices"]:
        if device["dev_type"] == "type-VF":
            bus, rest = device["address"].split(":")[1:]
            device["devname"] = f"vf{bus}{rest.replace('.', 'f')}"
    return report


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    settings = live_settings(tmp_path_factory.mktemp("libvirt"))
    with LiveServer(settings) as server, Client(server.url, ADMIN_TOKEN) as client:
        client.put_host("cn1", report_with_vf_netdevs())
        client.put_host("cn2", host_report())  # VFs without netdevs
        yield server.url


def cli(url: str, *args: str) -> Any:
    return runner.invoke(app, list(args), env={"PCINET_URL": url, "PCINET_TOKEN": ADMIN_TOKEN})


def boot(url: str, name: str, host: str, vnics: list[tuple[str, str]]) -> dict[str, Any]:
    """Boot ``name`` with one port per (physnet, vnic type), on ``host`` (the other host
    disabled meanwhile)."""
    other = "cn2" if host == "cn1" else "cn1"
    with Client(url, ADMIN_TOKEN) as client:
        client.set_host_disabled(other, True)
        try:
            port_ids = []
            for i, (physnet, vnic) in enumerate(vnics):
                net = client.create_network(
                    {
                        "name": f"{name}-n{i}",
                        "provider:network_type": "vlan",
                        "provider:physical_network": physnet,
                    }
                )
                port = client.create_port(
                    {"network_id": net["id"], "name": f"{name}-p{i}", "binding:vnic_type": vnic}
                )
                port_ids.append(port["id"])
            return client.create_server(name, {"vcpus": 2, "memory_mb": 1024}, port_ids)
        finally:
            client.set_host_disabled(other, False)


def validate(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["virt-xml-validate", str(path), "domain"], capture_output=True, text=True, check=False
    )


def test_every_vnic_type_renders_and_validates(url: str, tmp_path: Path) -> None:
    vnics = [("phy1", "direct"), ("phy1", "macvtap"), ("phy2", "direct-physical")]
    server = boot(url, "lv-all", "cn1", vnics)
    result = cli(url, "server", "show", "lv-all", "--libvirt-xml")
    assert result.exit_code == 0, result.output
    path = tmp_path / "domain.xml"
    path.write_text(result.stdout)
    checked = validate(path)
    assert checked.returncode == 0, checked.stdout + checked.stderr

    ports = {p["binding:vnic_type"]: p for p in server["ports"]}
    devices = ET.fromstring(result.stdout).find("devices")
    assert devices is not None
    assert len(list(devices)) == 3

    vf = ports["direct"]
    hostdev_if = devices.find("interface[@type='hostdev']")
    assert hostdev_if is not None and hostdev_if.get("managed") == "yes"
    bus, slot_fn = vf["pci_slot"].split(":")[1:]
    address = hostdev_if.find("source/address")
    assert address is not None
    assert (address.get("bus"), address.get("slot"), address.get("function")) == (
        f"0x{bus}",
        f"0x{slot_fn.split('.')[0]}",
        f"0x{slot_fn.split('.')[1]}",
    )
    assert hostdev_if.find("mac").get("address") == vf["mac_address"]  # type: ignore[union-attr]
    tag = hostdev_if.find("vlan/tag")
    assert tag is not None and tag.get("id") == vf["binding:vif_details"]["vlan"]

    macvtap = ports["macvtap"]
    direct_if = devices.find("interface[@type='direct']")
    assert direct_if is not None
    source = direct_if.find("source")
    assert source is not None and source.get("mode") == "passthrough"
    expected = report_with_vf_netdevs()["devices"]
    netdev = next(d["devname"] for d in expected if d["address"] == macvtap["pci_slot"])
    assert source.get("dev") == netdev
    assert direct_if.find("mac").get("address") == macvtap["mac_address"]  # type: ignore[union-attr]

    pf = ports["direct-physical"]
    hostdev = devices.find("hostdev")
    assert hostdev is not None and hostdev.get("type") == "pci"
    pf_address = hostdev.find("source/address")
    assert pf_address is not None
    assert pf_address.get("bus") == f"0x{pf['pci_slot'].split(':')[1]}"


def test_macvtap_on_a_vf_without_netdev_is_a_clear_error(url: str) -> None:
    boot(url, "lv-nodev", "cn2", [("phy1", "macvtap")])
    result = cli(url, "server", "show", "lv-nodev", "--libvirt-xml")
    assert result.exit_code == 1
    assert "netdev_unknown" in result.output and "devname" in result.output


def test_the_validator_rejects_a_broken_document(tmp_path: Path) -> None:
    """The schema check is real: a hostdev interface without its source fails it."""
    port = {
        "pci_slot": "0000:3b:02.1",
        "binding:vnic_type": "direct",
        "mac_address": "fa:16:3e:00:00:01",
        "binding:vif_details": {"vlan": "100"},
    }
    server = {"id": "x", "name": "x", "flavor": {"vcpus": 1, "memory_mb": 64}, "ports": [port]}
    good = tmp_path / "good.xml"
    good.write_text(domain_xml(server, {}))
    assert validate(good).returncode == 0
    bad = tmp_path / "bad.xml"
    bad.write_text(good.read_text().replace("<vlan>", "<vlan><bogus/>"))
    assert validate(bad).returncode != 0


def test_a_server_without_pci_ports_has_no_devices(url: str) -> None:
    with Client(url, ADMIN_TOKEN) as client:
        client.create_server("lv-none", {"vcpus": 1, "memory_mb": 256}, [])
    result = cli(url, "server", "show", "lv-none", "--libvirt-xml")
    assert result.exit_code == 0
    root = ET.fromstring(result.stdout)
    assert root.findtext("name") == "lv-none"
    assert list(root.find("devices")) == []  # type: ignore[arg-type]
    assert json.loads(cli(url, "server", "show", "lv-none", "--json").stdout)["ports"] == []
