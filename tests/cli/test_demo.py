"""``pcinet demo`` end to end (a real controller over HTTP), and the physnet-blind replay
it compares against (``pcinet.demo.blind``), on its own."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from pcinet.cli.main import app
from pcinet.cloudfile import parse_host
from pcinet.core.flavor import Flavor
from pcinet.core.host import Host
from pcinet.core.network import Network
from pcinet.core.pci import DevType
from pcinet.core.port import Port, VnicType
from pcinet.demo.agents import layout
from pcinet.demo.blind import Boot, Delete, Event, placement_request, replay
from pcinet.demo.cloud import HOSTS, VFS_PER_PF, host_report, server_plans
from pcinet.inventory.sysfs import discover
from pcinet.inventory.treegen import write_sysfs_tree

runner = CliRunner()
RANGES = {"phy1": range(100, 200), "phy2": range(200, 300)}


@pytest.fixture(scope="module")
def demo() -> dict[str, Any]:
    started = time.monotonic()
    result = runner.invoke(app, ["demo", "--json"])
    assert result.exit_code == 0, result.stdout + result.stderr
    out: dict[str, Any] = json.loads(result.stdout)
    out["_wall_s"] = time.monotonic() - started
    return out


def test_every_port_is_on_a_vf_of_its_networks_physnet(demo: dict[str, Any]) -> None:
    placements = demo["placements"]
    assert len({p["server"] for p in placements}) == 12  # every default server booted
    for p in placements:
        want = p["network_physnets"]
        assert want == [{"net-phy1": "phy1", "net-phy2": "phy2"}[p["network"]]]
        assert p["physnet"] in want  # the binding's segment
        assert p["vf_physnet_tag"] in want  # the device's own tag in the host inventory
        adapter = {"phy1": "0000:3b:02.", "phy2": "0000:af:02."}[want[0]]
        assert p["vf"].startswith(adapter)
        assert p["host"] in HOSTS
        assert p["status"] == "ACTIVE"
    assert demo["comparison"]["pcinet_misplaced"] == 0


def test_vlans_come_from_the_range_one_per_network(demo: dict[str, Any]) -> None:
    vlans = {n["name"]: n["vlan"] for n in demo["networks"]}
    assert len(set(vlans.values())) == len(vlans) == 2
    for net in demo["networks"]:
        assert net["vlan"] in RANGES[net["physnet"]]
    for p in demo["placements"]:
        assert p["vlan"] == vlans[p["network"]]


def test_no_vf_is_used_twice_and_servers_spread(demo: dict[str, Any]) -> None:
    used = [(p["host"], p["vf"]) for p in demo["placements"]]
    assert len(used) == len(set(used))
    per_host = dict.fromkeys(HOSTS, 0)
    for server, host in {p["server"]: p["host"] for p in demo["placements"]}.items():
        assert server.startswith("vm-")
        per_host[host] += 1
    assert max(per_host.values()) - min(per_host.values()) <= 1


def test_the_unplaceable_server_is_refused_with_reasons_and_a_delete_releases(
    demo: dict[str, Any],
) -> None:
    (rejected,) = demo["rejected"]
    assert rejected["code"] == "no_valid_host"
    assert set(rejected["hosts"]) == set(HOSTS)
    assert all("trusted" in reason for reason in rejected["hosts"].values())
    released = demo["released"]
    assert released["available"] is True
    assert released["vfs"]


def test_a_physnet_blind_scheduler_misplaces_boots_on_the_same_requests(
    demo: dict[str, Any],
) -> None:
    comparison = demo["comparison"]
    assert comparison["boots"] == 13
    # the replay is faithful: with physnets it lands every boot where the controller did
    assert comparison["aware_replay_matches"] is True
    assert comparison["blind_misplaced"] > 0
    assert comparison["blind_misplaced_ports"] == len(demo["blind_examples"])
    for example in demo["blind_examples"]:
        assert example["vf_physnet"] not in example["needs"]


def test_real_agents_programmed_every_vf_and_restored_the_released_ones(
    demo: dict[str, Any],
) -> None:
    vfs = {(v["host"], v["address"]): v for v in demo["vfs"]}
    assert demo["agent_applied"] == len(vfs) == len(demo["placements"])
    for p in demo["placements"]:
        vf = vfs[(p["host"], p["vf"])]  # as the host's agent reads it back
        assert (vf["vlan"], vf["mac"], vf["port_id"]) == (p["vlan"], p["mac"], p["port_id"])
        assert vf["trust"] is False and vf["spoofchk"] is True and vf["link_state"] == "enable"
        assert p["server_status"] == "ACTIVE"
    released = demo["released"]
    assert released["restored"] is True
    for vf in released["restored_to"]:
        assert vf["port_id"] is None and vf["vlan"] == 0
        assert vf["mac"].startswith("02:")  # the VF's own MAC from sysfs, not the port's


def test_the_demo_is_fast(demo: dict[str, Any]) -> None:
    assert demo["elapsed_s"] < 30
    assert demo["_wall_s"] < 60


# -- the blind replay on its own ------------------------------------------------------------

NETWORKS = {
    name: Network.from_dict(
        {
            "name": name,
            "provider:network_type": "vlan",
            "provider:physical_network": physnet,
            "provider:segmentation_id": vlan,
        }
    )
    for name, physnet, vlan in (("net-phy1", "phy1", 100), ("net-phy2", "phy2", 200))
}


def host(name: str, *, allocated_phy1: int = 0, only: str | None = None) -> Host:
    """A demo host; the first ``allocated_phy1`` phy1 VFs are taken; ``only``: keep just
    that physnet's adapter."""
    report = host_report()
    for device in report["devices"]:
        if device["address"].startswith("0000:3b:02.") and int(device["address"][-1]) < (
            allocated_phy1
        ):
            device["status"] = "allocated"
    if only is not None:
        prefix = {"phy1": "0000:3b:", "phy2": "0000:af:"}[only]
        report["devices"] = [d for d in report["devices"] if d["address"].startswith(prefix)]
    return parse_host({"name": name, **report}, name, None)


def boot(name: str, *networks: str) -> Boot:
    ports = [(Port(network=n, vnic_type=VnicType.DIRECT), NETWORKS[n]) for n in networks]
    return Boot(name, placement_request(Flavor(2, 2048, {}), ports))


def test_blind_takes_the_other_physnets_vf_when_the_right_one_is_full() -> None:
    hosts = [host("cn1", allocated_phy1=VFS_PER_PF)]
    events: list[Event] = [boot("vm", "net-phy1")]

    aware = replay(hosts, events, blind=False)
    assert aware.boots[0].host is None
    assert "phy1" in str(aware.boots[0].reason)

    blind = replay(hosts, events, blind=True)
    (outcome,) = blind.boots
    assert outcome.host == "cn1"
    (port,) = outcome.ports
    assert port.address.startswith("0000:af:02.")
    assert port.physnet == "phy2"
    assert port.wanted == ("phy1",)
    assert outcome.misplaced
    assert (blind.placed, blind.misplaced, blind.misplaced_ports) == (1, 1, 1)


def test_blind_on_a_single_physnet_cloud_misplaces_nothing() -> None:
    hosts = [host("cn1", only="phy2"), host("cn2", only="phy2")]
    events: list[Event] = [boot(f"vm{i}", "net-phy2") for i in range(10)]
    blind = replay(hosts, events, blind=True)
    assert blind.placed == 10
    assert blind.misplaced == 0
    addresses = [(b.host, p.address) for b in blind.boots for p in b.ports]
    assert len(set(addresses)) == 10


def test_replay_claims_and_deletes_release() -> None:
    hosts = [host("cn1", only="phy1")]
    events: list[Event] = [boot(f"vm{i}", "net-phy1") for i in range(VFS_PER_PF)]
    full = replay(hosts, [*events, boot("one-more", "net-phy1")], blind=False)
    assert full.boots[-1].host is None  # eight VFs, eight boots: the ninth does not fit

    freed = replay(hosts, [*events, Delete("vm3"), boot("one-more", "net-phy1")], blind=False)
    last = freed.boots[-1]
    assert last.host == "cn1"
    assert [p.address for p in last.ports] == [freed.boots[3].ports[0].address]


def test_the_demo_requests_are_misplaced_blind_and_never_aware() -> None:
    hosts = [host(name) for name in HOSTS]
    events: list[Event] = []
    for plan in server_plans(12, seed=0):
        ports = [
            (
                Port(network=n, vnic_type=VnicType.DIRECT, profile={"trusted": plan.trusted}),
                NETWORKS[n],
            )
            for n in plan.networks
        ]
        events.append(Boot(plan.name, placement_request(Flavor(2, 4096, {}), ports)))
    aware = replay(hosts, events, blind=False)
    blind = replay(hosts, events, blind=True)
    assert aware.misplaced == 0
    assert aware.placed == blind.placed == 12  # the trusted one fits nowhere, either way
    assert blind.misplaced > 0


def test_the_demo_hosts_trees_have_macs_of_their_own(tmp_path: Path) -> None:
    """As real NICs: a direct-physical port takes its PF's MAC, which must be unique on
    its network, so the demo's hosts must not look cloned."""
    pf_macs = []
    for serial, host in enumerate(HOSTS):  # as DemoAgents.start writes them
        found = discover(write_sysfs_tree(tmp_path / host, layout(serial)))
        pf_macs += [d.mac for d in found.devices if d.dev_type is DevType.PF]
    assert None not in pf_macs and len(set(pf_macs)) == len(pf_macs) == 2 * len(HOSTS)
