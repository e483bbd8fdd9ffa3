"""End to end: a controller over real HTTP (SQLite and PostgreSQL), two hosts each run by
real ``pcinet agent run`` processes (fake VF driver, generated sysfs trees, the operator's
nova.conf, host-bound service tokens), and boots: the port goes ACTIVE with the VLAN, MAC
and trust of its binding; an agent killed (SIGKILL) in the middle of a pass and restarted
neither forgets an original nor programs a VF twice; deleting the servers restores the VFs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from pcinet.cli.main import app
from pcinet.client import ApiError, Client
from pcinet.config import Settings
from pcinet.core.nics import X710
from pcinet.inventory.treegen import HostLayout, NicLayout, NumaNodeLayout, write_sysfs_tree
from tests.live import ADMIN_TOKEN, VLAN_RANGES, LiveServer

HOSTS = ("cn1", "cn2")
NOVA_CONF = """[DEFAULT]
reserved_host_memory_mb = 0

[pci]
device_spec = {"devname": "ens1f0", "physical_network": "phy1", "trusted": "true"}
"""


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "pcinet.agent", *args]
    return subprocess.run(
        command,
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )


@dataclass
class Host:
    name: str
    base: Path
    token: str
    url: str

    def run(self, *, crash_after: int | None = None) -> subprocess.CompletedProcess[str]:
        env = {"PCINET_TOKEN": self.token}
        if crash_after is not None:
            env["PCINET_FAKE_CRASH_AFTER"] = str(crash_after)
        return cli(
            "run",
            "--once",
            "--json",
            "--host",
            self.name,
            "--url",
            self.url,
            "--sysfs-root",
            str(self.base / "sys"),
            "--state-dir",
            str(self.base / "state"),
            "--vf-driver",
            "fake",
            "--nova-conf",
            str(self.base / "nova.conf"),
            env=env,
        )

    def once(self) -> dict[str, Any]:
        done = self.run()
        assert done.returncode == 0, done.stderr
        summary: dict[str, Any] = json.loads(done.stdout)
        return summary

    def vfs(self) -> dict[str, dict[str, Any]]:
        done = cli("vfs", "--json", "--state-dir", str(self.base / "state"))
        assert done.returncode == 0, done.stderr
        return {v["address"]: v for v in json.loads(done.stdout)["vfs"]}

    def applies(self) -> Counter[int]:
        """How many times the fake driver programmed each VF (lines after its creation)."""
        lines = (self.base / "state" / "fake-vfs" / "ens1f0.jsonl").read_text().splitlines()
        count: Counter[int] = Counter(json.loads(line)["vf"] for line in lines)
        return Counter({vf: n - 1 for vf, n in count.items()})


@dataclass
class Cloud:
    admin: Client
    hosts: dict[str, Host]


@pytest.fixture
def cloud(db_url: str, tmp_path: Path) -> Iterator[Cloud]:
    settings = Settings(
        database_url=db_url, network_vlan_ranges=VLAN_RANGES, admin_token=ADMIN_TOKEN
    )
    layout = HostLayout(
        (NicLayout(X710, "0000:3b:00.0", numvfs=4, ports=1, ifname="ens1f"),),
        (),
        (NumaNodeLayout(cpus=8, memory_mb=16384),),
    )
    with LiveServer(settings) as server, Client(server.url, ADMIN_TOKEN) as admin:
        hosts = {}
        for name in HOSTS:
            base = tmp_path / name
            write_sysfs_tree(base / "sys", layout)
            (base / "nova.conf").write_text(NOVA_CONF)
            token = admin.create_token("agents", "service", host=name)["token"]
            hosts[name] = Host(name, base, token, server.url)
        yield Cloud(admin, hosts)


def boot(admin: Client, name: str, ports: int) -> dict[str, Any]:
    net = admin.list_networks(name="net1") or [
        admin.create_network(
            {
                "name": "net1",
                "provider:network_type": "vlan",
                "provider:physical_network": "phy1",
                "provider:segmentation_id": 120,
            }
        )
    ]
    ids = [
        admin.create_port(
            {
                "network_id": net[0]["id"],
                "binding:vnic_type": "direct",
                "binding:profile": {"trusted": True},
                "max_tx_rate": 2000,
            }
        )["id"]
        for _ in range(ports)
    ]
    return admin.create_server(name, {"vcpus": 1, "memory_mb": 1024}, ids)


def test_two_agents_a_boot_a_crash_mid_pass_and_a_delete(cloud: Cloud) -> None:
    admin, hosts = cloud.admin, cloud.hosts
    for host in hosts.values():
        first = host.once()
        assert first["inventory"] == "reported" and first["vfs"] == 4
    factory = {name: h.vfs() for name, h in hosts.items()}
    for name in HOSTS:
        view = admin.get_host(name)
        assert view["alive"] and view["device_count"] == 5
        assert {d["tags"].get("trusted") for d in view["devices"]} == {"true"}

    server = boot(admin, "vm1", 1)
    assert server["status"] == "BUILD"
    host = hosts[server["host"]]
    port = server["ports"][0]
    for h in hosts.values():
        h.once()
    assert admin.get_server(server["id"])["status"] == "ACTIVE"
    assert admin.get_port(port["id"])["status"] == "ACTIVE"
    vf = host.vfs()[port["pci_slot"]]
    assert (vf["vlan"], vf["mac"], vf["trust"], vf["max_tx_rate"], vf["port_id"]) == (
        120,
        port["mac_address"],
        True,
        2000,
        port["id"],
    )

    # Three more VFs on the same host; its agent dies (SIGKILL) after programming one.
    other = next(h for h in HOSTS if h != host.name)
    admin.set_host_disabled(other, True)
    more = boot(admin, "vm2", 3)
    assert more["host"] == host.name
    killed = host.run(crash_after=1)
    assert killed.returncode == -9, killed.stderr
    assert admin.get_server(more["id"])["status"] == "BUILD"
    host.once()  # the restarted agent
    assert admin.get_server(more["id"])["status"] == "ACTIVE"
    applies = host.applies()
    assert applies and max(applies.values()) == 1  # no VF programmed twice
    state = json.loads((host.base / "state" / "agent-state.json").read_text())
    for address, owned in state["owned"].items():
        original = factory[host.name][address]
        assert owned["original"]["mac"] == original["mac"]  # the factory MAC, not a port's
        assert owned["original"]["vlan"] == 0

    for s in (server, more):
        admin.delete_server(s["id"])
    host.once()
    assert admin.get_vf_state(host.name)["vfs"] == []
    after = host.vfs()
    for address, before in factory[host.name].items():
        assert after[address] == before  # every VF back to what it was, no owner
    host.once()
    assert json.loads((host.base / "state" / "agent-state.json").read_text())["owned"] == {}


def test_a_direct_physical_port_carries_its_pf_mac_and_gets_its_own_back(cloud: Cloud) -> None:
    """The PF's MAC as the agent discovers it goes to the port (the guest uses it); the
    agent programs nothing for a whole PF, the libvirt XML sets no MAC on it. The two hosts'
    generated trees are alike, so their PFs have one MAC (cloned hosts): a port on the
    same network taking the other PF is 409 naming the first port, until it is released."""
    admin, hosts = cloud.admin, cloud.hosts
    for host in hosts.values():
        host.once()
    factory = {name: h.vfs() for name, h in hosts.items()}
    discovered = cli("discover", "--sysfs-root", str(hosts["cn1"].base / "sys"), "--json")
    assert discovered.returncode == 0, discovered.stderr
    (pf,) = (d for d in json.loads(discovered.stdout)["devices"] if d["dev_type"] == "type-PF")
    net = admin.create_network(
        {"name": "net-pf", "provider:network_type": "vlan", "provider:physical_network": "phy1"}
    )
    own = ("fa:16:3e:00:00:0a", "fa:16:3e:00:00:0b")
    first, second = (
        admin.create_port(
            {"network_id": net["id"], "binding:vnic_type": "direct-physical", "mac_address": m}
        )
        for m in own
    )
    flavor = {"vcpus": 1, "memory_mb": 1024}
    server = admin.create_server("pf-vm", flavor, [first["id"]])
    host = hosts[server["host"]]
    (bound,) = server["ports"]
    assert bound["pci_slot"] == pf["address"]
    assert bound["mac_address"] == pf["mac"] == bound["binding:profile"]["device_mac_address"]
    pf_row = next(d for d in admin.get_host(host.name)["devices"] if d["dev_type"] == "type-PF")
    assert pf_row["mac_address"] == pf["mac"]
    for h in hosts.values():
        h.once()
    assert admin.get_server(server["id"])["status"] == "ACTIVE"
    assert admin.get_port(first["id"])["mac_address"] == pf["mac"]
    assert admin.get_vf_state(host.name)["vfs"] == []  # nothing to program on a whole PF
    assert host.vfs() == factory[host.name]
    shown = CliRunner().invoke(
        app,
        ["server", "show", server["id"], "--libvirt-xml"],
        env={"PCINET_URL": host.url, "PCINET_TOKEN": ADMIN_TOKEN},
    )
    assert shown.exit_code == 0, shown.output
    devices = ET.fromstring(shown.stdout).find("devices")
    assert devices is not None and [e.tag for e in devices] == ["hostdev"]
    assert devices.find(".//mac") is None  # the guest sees the PF's own MAC: the port's

    with pytest.raises(ApiError) as clash:
        admin.create_server("pf-vm2", flavor, [second["id"]])
    assert clash.value.code == "mac_address_in_use"
    for part in (first["id"], second["id"], "net-pf", pf["mac"]):
        assert part in clash.value.message, clash.value.message
    assert admin.get_port(second["id"])["mac_address"] == own[1]

    admin.delete_server(server["id"])
    for h in hosts.values():
        h.once()
    assert admin.get_port(first["id"])["mac_address"] == own[0]
    assert host.vfs() == factory[host.name]
    again = admin.create_server("pf-vm2", flavor, [second["id"]])
    assert again["ports"][0]["mac_address"] == pf["mac"]
    admin.delete_server(again["id"])
    assert admin.get_port(second["id"])["mac_address"] == own[1]
