"""The agent's loop against a real controller over HTTP (SQLite and PostgreSQL), with the
fake driver and a scanner standing in for sysfs: inventory, heartbeat, apply, restore,
a device dropped while held, VFs that appear later, the controller going away."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pcinet.agent.driver import VfRef
from pcinet.agent.fake import FakeDriver
from pcinet.agent.loop import Agent, HostScan
from pcinet.agent.state import AgentState
from pcinet.client import ApiError, Client
from pcinet.config import Settings
from pcinet.core.vf import VfConfig
from tests.api.conftest import host_report, vf_address
from tests.live import ADMIN_TOKEN, VLAN_RANGES, LiveServer

PF = "ens3bf0"


@dataclass
class Host:
    """A scanner whose host has ``vfs`` VFs on one phy1 adapter (trusted)."""

    vfs: int = 2

    def __call__(self) -> HostScan:
        report = host_report([("3b", "phy1")], vfs=self.vfs, trusted=["phy1"])
        refs = {vf_address("3b", i): VfRef(vf_address("3b", i), PF, i) for i in range(self.vfs)}
        macs = {a: f"02:00:00:00:3b:{r.vf_index:02x}" for a, r in refs.items()}
        return HostScan(report, refs, macs)


@dataclass
class World:
    admin: Client
    agent: Agent
    driver: FakeDriver
    scan: Host
    server: LiveServer

    def vf(self, address: str) -> VfConfig:
        ref = self.agent.state.vfs[address]
        return self.driver.read_pf(ref.pf)[ref.vf_index]

    def boot(self, name: str = "vm1", **port: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        net = self.admin.list_networks(name="net1")
        if not net:
            net = [
                self.admin.create_network(
                    {
                        "name": "net1",
                        "provider:network_type": "vlan",
                        "provider:physical_network": "phy1",
                        "provider:segmentation_id": 150,
                    }
                )
            ]
        body = {"network_id": net[0]["id"], "binding:vnic_type": "direct", **port}
        p = self.admin.create_port(body)
        server = self.admin.create_server(name, {"vcpus": 1, "memory_mb": 512}, [p["id"]])
        return server, server["ports"][0]


@pytest.fixture
def world(db_url: str, tmp_path: Path) -> Iterator[World]:
    settings = Settings(
        database_url=db_url, network_vlan_ranges=VLAN_RANGES, admin_token=ADMIN_TOKEN
    )
    with LiveServer(settings) as server, Client(server.url, ADMIN_TOKEN) as admin:
        token = admin.create_token("agents", "service", host="cn1")["token"]
        with Client(server.url, token) as client:
            driver = FakeDriver(tmp_path / "state")
            scan = Host()
            state = AgentState.load(tmp_path / "state")
            agent = Agent(client, "cn1", driver, state, scan, interval=0.05, seed=1)
            yield World(admin, agent, driver, scan, server)


def test_a_boot_goes_active_with_the_bindings_vlan_mac_and_trust_and_is_restored(
    world: World,
) -> None:
    first = world.agent.run_pass()
    assert first["inventory"] == "reported" and first["vfs"] == 2
    assert world.admin.get_host("cn1")["alive"] is True
    assert world.agent.run_pass()["inventory"] == "unchanged"  # a heartbeat

    server, port = world.boot(**{"binding:profile": {"trusted": True}})
    assert server["status"] == "BUILD"
    address = port["pci_slot"]
    factory = world.vf(address)
    applied = world.agent.run_pass()
    assert applied["changed"] == [address] and applied["reports"] == 1
    vf = world.vf(address)
    assert (vf.vlan, vf.mac, vf.trust, vf.link_state) == (150, port["mac_address"], True, "enable")
    assert world.admin.get_port(port["id"])["status"] == "ACTIVE"
    assert world.admin.get_server(server["id"])["status"] == "ACTIVE"
    row = world.admin.get_vf_state("cn1")["vfs"][0]
    assert row["original"] == factory.to_dict() and row["pf"] == PF

    quiet = world.agent.run_pass()
    assert quiet["changed"] == [] and quiet["reports"] == 0

    world.admin.delete_server(server["id"])
    restored = world.agent.run_pass()
    assert restored["changed"] == [address]
    assert world.vf(address) == factory
    assert world.admin.get_vf_state("cn1")["vfs"] == []
    world.agent.run_pass()
    assert world.agent.state.owned == {}


def test_a_device_dropped_while_held_is_a_conflict_and_an_error_on_its_port(
    world: World,
) -> None:
    world.agent.run_pass()
    server, port = world.boot()
    world.agent.run_pass()
    world.scan.vfs = 0  # the VFs vanish (sriov_numvfs set to 0 under a running guest)
    lost = world.agent.run_pass()
    assert lost["inventory"] == "conflict"
    assert f"cannot remove allocated device(s) {port['pci_slot']}" in lost["conflict"]
    assert "not on this host" in lost["errors"][port["pci_slot"]]
    failed = world.admin.get_port(port["id"])
    assert failed["status"] == "ERROR"
    assert failed["status_reason"] == lost["errors"][port["pci_slot"]]
    assert world.admin.get_host("cn1")["device_count"] == 3  # nothing dropped
    world.scan.vfs = 2
    back = world.agent.run_pass()
    assert back["inventory"] == "unchanged" and back["conflict"] is None
    healed = world.admin.get_port(port["id"])
    assert (healed["status"], healed["status_reason"]) == ("ACTIVE", None)
    assert world.admin.get_server(server["id"])["status"] == "ACTIVE"


def test_vfs_that_appear_later_are_reported_without_a_restart(world: World) -> None:
    world.scan.vfs = 1
    world.agent.run_pass()
    assert world.admin.get_host("cn1")["device_count"] == 2
    world.scan.vfs = 4
    assert world.agent.run_pass()["inventory"] == "reported"
    assert world.admin.get_host("cn1")["device_count"] == 5
    assert set(world.agent.state.vfs) == {vf_address("3b", i) for i in range(4)}


def test_the_agent_survives_the_controller_going_away(world: World, tmp_path: Path) -> None:
    world.agent.run_pass()
    url = world.server.url
    dead = Client("http://127.0.0.1:9", "x", timeout=0.5)  # nothing listens there
    agent = replace_client(world.agent, dead)
    with pytest.raises(ApiError) as info:
        agent.run_pass()
    assert info.value.status == 0
    stop = threading.Event()
    thread = threading.Thread(target=agent.run, args=(stop,))
    thread.start()
    threading.Timer(0.3, stop.set).start()
    thread.join(timeout=5)
    assert not thread.is_alive()  # stopped cleanly on the event (SIGTERM in the CLI)
    assert agent.failures >= 1
    delays = [agent.next_delay() for _ in range(50)]
    ceiling = min(agent.max_backoff, 2.0 ** (agent.failures - 1))
    assert all(ceiling / 2 <= d <= ceiling for d in delays)
    assert len(set(delays)) > 1  # jittered
    dead.close()
    assert url  # the real controller is still there for the next agent
    agent.client = world.agent.client
    agent.run_pass()
    agent.failures = 0
    assert 0.9 * agent.interval <= agent.next_delay() <= 1.1 * agent.interval


def replace_client(agent: Agent, client: Client) -> Agent:
    fresh = Agent(client, agent.host, agent.driver, agent.state, agent.scan, interval=0.05, seed=2)
    return fresh


def test_a_token_for_another_host_is_refused(world: World) -> None:
    other = world.admin.create_token("agents", "service", host="cn2")["token"]
    with Client(world.server.url, other) as client:
        agent = Agent(client, "cn1", world.driver, world.agent.state, world.scan)
        with pytest.raises(ApiError) as info:
            agent.run_pass()
    assert info.value.status == 403
