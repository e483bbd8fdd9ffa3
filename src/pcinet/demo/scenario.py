"""The seed scenario, driven against a running controller through ``pcinet.client`` only.

``run_scenario`` waits for the real host agents (``pcinet.demo.agents``) to report their
hosts, creates the networks, boots the planned servers (creating their ports first), waits
for the agents to program the VFs (every server ACTIVE) and reads the VFs back from them,
deletes one server and waits for its VFs to be restored, and replays the same boots with a
physnet-blind scheduler on the hosts as the controller reported them
(``pcinet.demo.blind``). It returns a JSON-able ``DemoResult``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pcinet.client import ApiError, Client, Json
from pcinet.core.flavor import Flavor
from pcinet.core.host import Host, HostCell
from pcinet.core.network import Network
from pcinet.core.pci import DeviceStatus, PciDevice
from pcinet.core.port import Port
from pcinet.core.schema import NetworkFile, keys_of
from pcinet.demo.agents import DemoAgents
from pcinet.demo.blind import Boot, Delete, Event, Replay, placement_request, replay
from pcinet.demo.cloud import HOSTS, NETWORKS, ServerPlan, network_body
from pcinet.scheduler import SchedulerConfig

Step = Callable[[str], None]


@dataclass(slots=True)
class DemoResult:
    """What happened, in the order it happened (``to_dict`` for ``--json``).

    - ``hosts``: per host, its compute and how many VFs each physnet got from the specs;
    - ``networks``: id, name, physnet and the VLAN the controller allocated;
    - ``placements``: one row per port of every booted server: host, VF (``pci_slot``),
      the physnet of the binding and the VF's own ``physical_network`` tag in the host's
      inventory, the VLAN, MAC and port status;
    - ``rejected``: the boots the controller refused, with its per-host reasons;
    - ``vfs``: every VF the agents programmed, as their driver reads it back (host,
      address, PF, VLAN, MAC, trust, spoofchk, link state, port);
    - ``released``: the server deleted at the end, whether its VFs are free again and
      whether the agent restored them (``restored``, and ``restored_to``: their settings);
    - ``comparison``: ``boots``, ``pcinet_placed``, ``pcinet_misplaced`` (ports on a VF
      whose tag is not their network's physnet: must be 0), ``blind_placed``,
      ``blind_misplaced`` (boots), ``blind_misplaced_ports``;
    - ``blind_examples``: every port the blind scheduler misplaced.
    """

    hosts: list[Json] = field(default_factory=list)
    networks: list[Json] = field(default_factory=list)
    placements: list[Json] = field(default_factory=list)
    rejected: list[Json] = field(default_factory=list)
    vfs: list[Json] = field(default_factory=list)
    agent_applied: int = 0
    released: Json | None = None
    comparison: Json = field(default_factory=dict)
    blind_examples: list[Json] = field(default_factory=list)

    def to_dict(self) -> Json:
        return {
            "hosts": self.hosts,
            "networks": self.networks,
            "placements": self.placements,
            "rejected": self.rejected,
            "vfs": self.vfs,
            "agent_applied": self.agent_applied,
            "released": self.released,
            "comparison": self.comparison,
            "blind_examples": self.blind_examples,
        }


def host_from_view(view: Mapping[str, Any]) -> Host:
    """A scheduler host from the controller's host view: free compute (total minus used,
    per host and per NUMA cell) and the assignable devices with the tags the host's device
    specs gave them, allocated or not, and the unselected devices the host reports
    allocated (they block their PF or VFs)."""
    devices = [
        PciDevice.from_dict(
            {
                "address": d["address"],
                "vendor_id": d["vendor_id"],
                "product_id": d["product_id"],
                "dev_type": d["dev_type"],
                "parent_address": d.get("parent_address"),
                "numa_node": d.get("numa_node"),
                "devname": d.get("devname"),
                "status": "allocated" if d.get("status") == "allocated" else "available",
                "tags": d.get("tags") or {},
            },
            where=f"hosts[{view.get('name')}].devices",
        )
        for d in view.get("devices") or []
    ]
    cells = tuple(
        HostCell(
            int(c["id"]),
            int(c["vcpus"]) - int(c.get("vcpus_used") or 0),
            int(c["memory_mb"]) - int(c.get("memory_used_mb") or 0),
            c.get("socket"),
        )
        for c in view.get("numa_cells") or []
    )
    return Host(
        name=str(view["name"]),
        vcpus=int(view["vcpus"]) - int(view.get("vcpus_used") or 0),
        memory_mb=int(view["memory_mb"]) - int(view.get("memory_used_mb") or 0),
        cells=cells,
        devices=tuple(devices),
        disabled=bool(view.get("disabled")),
        unselected=tuple(
            PciDevice.from_dict(
                {**d, "status": "allocated"}, where=f"hosts[{view.get('name')}].unselected"
            )
            for d in view.get("unselected_allocated") or []
        ),
    )


def network_from_view(view: Mapping[str, Any]) -> Network:
    """The core network of an admin's network view (``provider:*`` or ``segments``)."""
    known = keys_of(NetworkFile)  # the view adds what a network object has not (created_at)
    return Network.from_dict({k: v for k, v in view.items() if k in known}, where="network")


def vlan_of(port: Mapping[str, Any]) -> int | None:
    """The VLAN the port's VF is programmed with (``binding:vif_details.vlan``)."""
    value = (port.get("binding:vif_details") or {}).get("vlan")
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def physnet_tag(host_view: Mapping[str, Any], address: str | None) -> str | None:
    """The ``physical_network`` tag of device ``address`` in a host's inventory."""
    for d in host_view.get("devices") or []:
        if d.get("address") == address:
            tag = (d.get("tags") or {}).get("physical_network")
            return None if tag is None else str(tag)
    return None


def vf_counts(host_view: Mapping[str, Any]) -> dict[str, int]:
    """Assignable VFs per physnet tag."""
    counts: dict[str, int] = {}
    for d in host_view.get("devices") or []:
        if d.get("dev_type") == "type-VF":
            physnet = str((d.get("tags") or {}).get("physical_network"))
            counts[physnet] = counts.get(physnet, 0) + 1
    return counts


def _no_step(_: str) -> None:
    return None


@dataclass(slots=True)
class _Booted:
    plan: ServerPlan
    port_ids: list[str]
    view: Json


class Scenario:
    """One run of the scenario on one controller (fresh database, admin token)."""

    def __init__(
        self,
        client: Client,
        agents: DemoAgents,
        *,
        strategy: str = "spread",
        host_order: Callable[[], list[str]] | None = None,
    ) -> None:
        self.client = client
        self.agents = agents
        self.host_order = host_order
        self.config = SchedulerConfig(strategy="pack" if strategy == "pack" else "spread")
        self.result = DemoResult()
        self.host_views: dict[str, Json] = {}
        self.networks: dict[str, Json] = {}
        self.core_networks: dict[str, Network] = {}
        self.events: list[Event] = []
        self.plans: dict[str, ServerPlan] = {}
        # The controller seeds its decisions 0, 1, 2, ... (one per decision); a refused boot
        # takes two (it refreshes its view and decides again before saying no).
        self.decisions = 0
        self.booted: dict[str, _Booted] = {}

    def register_hosts(self) -> None:
        """The agents report their hosts (discovered in their sysfs trees, selected and
        tagged by their nova.conf)."""
        self.agents.wait_registered(self.client)
        for name in HOSTS:
            view = self.client.get_host(name)
            self.host_views[name] = view
            self.result.hosts.append(
                {
                    "name": name,
                    "vcpus": view.get("vcpus"),
                    "memory_mb": view.get("memory_mb"),
                    "devices": len(view.get("devices") or []),
                    "vfs": vf_counts(view),
                }
            )

    def create_networks(self) -> None:
        for name in NETWORKS:
            view = self.client.create_network(network_body(name))
            self.networks[name] = view
            self.core_networks[name] = network_from_view(view)
            self.result.networks.append(
                {
                    "id": view["id"],
                    "name": name,
                    "physnet": view.get("provider:physical_network"),
                    "vlan": view.get("provider:segmentation_id"),
                }
            )

    def boot(self, plan: ServerPlan) -> None:
        """Create the plan's ports, then the server; a 409 (no valid host, ...) is recorded
        with its reasons and the ports are deleted again. The request is recorded for the
        blind replay either way."""
        self.plans[plan.name] = plan
        bodies = [
            plan.port_body(i, str(self.networks[net]["id"])) for i, net in enumerate(plan.networks)
        ]
        pairs = [
            (Port.from_dict({**body, "network_id": net}), self.core_networks[net])
            for body, net in zip(bodies, plan.networks, strict=True)
        ]
        flavor = Flavor.from_dict(plan.flavor())
        request = placement_request(flavor, pairs)
        self.events.append(Boot(plan.name, request, seed=self.decisions))
        port_ids = [str(self.client.create_port(body)["id"]) for body in bodies]
        try:
            view = self.client.create_server(plan.name, plan.flavor(), port_ids)
            self.decisions += 1
        except ApiError as exc:
            if exc.status != 409:
                raise
            self.decisions += 2 if exc.code == "no_valid_host" else 1
            self.result.rejected.append(
                {"server": plan.name, "code": exc.code, "message": exc.message, "hosts": exc.hosts}
            )
            for port_id in port_ids:
                self.client.delete_port(port_id)
            return
        self.booted[plan.name] = _Booted(plan, port_ids, view)

    def wait_for_agents(self) -> None:
        """The host agents program the VFs: wait for every server to be ACTIVE, then read
        the VFs back from the agents."""
        ids = {str(b.view["id"]) for b in self.booted.values()}

        def active() -> bool:
            servers = self.client.list_servers()
            return all(s["status"] == "ACTIVE" for s in servers if s["id"] in ids)

        self.agents.wait("program every VF (servers ACTIVE)", active)
        for booted in self.booted.values():
            booted.view = self.client.get_server(str(booted.view["id"]))
        for host in HOSTS:
            for vf in self.agents.vf_table(host):
                if vf["port_id"]:
                    self.result.vfs.append({"host": host, **vf})
        self.result.agent_applied = len(self.result.vfs)

    def record_placements(self) -> None:
        for booted in self.booted.values():
            server = booted.view
            host_view = self.host_views.get(str(server.get("host")), {})
            ports = {p.get("id"): p for p in server.get("ports") or []}
            for net, port_id in zip(booted.plan.networks, booted.port_ids, strict=True):
                port = ports.get(port_id, {})
                profile = port.get("binding:profile") or {}
                physnets = self.core_networks[net].physnets
                self.result.placements.append(
                    {
                        "server": booted.plan.name,
                        "server_id": server.get("id"),
                        "server_status": server.get("status"),
                        "host": server.get("host"),
                        "port": port.get("name"),
                        "port_id": port_id,
                        "network": net,
                        "network_physnets": sorted(p for p in physnets if p is not None),
                        "vf": port.get("pci_slot"),
                        "physnet": profile.get("physical_network"),
                        "vf_physnet_tag": physnet_tag(host_view, port.get("pci_slot")),
                        "vlan": vlan_of(port),
                        "mac": port.get("mac_address"),
                        "status": port.get("status"),
                    }
                )

    def release_first(self) -> None:
        """Delete the first booted server; wait for its agent to restore its VFs; check they
        are available again."""
        if not self.booted:
            return
        name, booted = next(iter(self.booted.items()))
        host = str(booted.view["host"])
        vfs = [str(p.get("pci_slot")) for p in booted.view.get("ports") or []]
        self.client.delete_server(str(booted.view["id"]))
        self.events.append(Delete(name))

        def restored() -> bool:
            table = {v["address"]: v for v in self.agents.vf_table(host)}
            return all(a in table and table[a]["port_id"] is None for a in vfs)

        self.agents.wait(f"restore the VFs of {name}", restored)
        table = {v["address"]: v for v in self.agents.vf_table(host)}
        after = self.client.get_host(host)
        status = {d.get("address"): d.get("status") for d in after.get("devices") or []}
        self.result.released = {
            "server": name,
            "host": host,
            "vfs": vfs,
            "available": all(status.get(a) == DeviceStatus.AVAILABLE.value for a in vfs),
            "restored": all(table[a]["vlan"] == 0 and not table[a]["trust"] for a in vfs),
            "restored_to": [table[a] for a in vfs],
        }

    def compare(self) -> None:
        """Replay the same boots on the hosts as first reported, with the controller's
        config and the seed of its decision for each boot: physnet-blind, and as pcinet
        schedules them. The aware replay lands every boot where the controller did
        (``aware_replay_matches``): the blind replay differs from the controller only in
        ignoring physnets."""
        order = self.host_order() if self.host_order is not None else list(HOSTS)
        cloud = [host_from_view(self.host_views[name]) for name in order]
        blind = replay(cloud, self.events, blind=True, config=self.config)
        aware = replay(cloud, self.events, blind=False, config=self.config)
        misplaced_servers = {
            p["server"]
            for p in self.result.placements
            if p["vf_physnet_tag"] not in p["network_physnets"]
        }
        self.result.comparison = {
            "boots": sum(1 for e in self.events if isinstance(e, Boot)),
            "pcinet_placed": len(self.booted),
            "pcinet_misplaced": len(misplaced_servers),
            "blind_placed": blind.placed,
            "blind_misplaced": blind.misplaced,
            "blind_misplaced_ports": blind.misplaced_ports,
            "aware_replay_matches": self._same_as_controller(aware),
        }
        self.result.blind_examples = self._examples(blind)

    def _same_as_controller(self, aware: Replay) -> bool:
        """Whether the aware replay put every boot on the controller's host and VFs (and
        refused the same ones)."""
        for boot in aware.boots:
            booted = self.booted.get(boot.server)
            if booted is None:
                if boot.host is not None:
                    return False
                continue
            ports = {p.get("id"): p.get("pci_slot") for p in booted.view.get("ports") or []}
            vfs = [ports.get(port_id) for port_id in booted.port_ids]
            if boot.host != booted.view.get("host") or [p.address for p in boot.ports] != vfs:
                return False
        return True

    def _examples(self, blind: Replay) -> list[Json]:
        out: list[Json] = []
        for boot in blind.boots:
            for port in boot.ports:
                if port.reachable:
                    continue
                plan = self.plans[boot.server]
                out.append(
                    {
                        "server": boot.server,
                        "host": boot.host,
                        "network": plan.networks[int(port.source)],
                        "needs": [p for p in port.wanted if p is not None],
                        "vf": port.address,
                        "vf_physnet": port.physnet,
                    }
                )
        return out


def run_scenario(
    client: Client,
    agents: DemoAgents,
    plans: list[ServerPlan],
    *,
    strategy: str = "spread",
    step: Step = _no_step,
    host_order: Callable[[], list[str]] | None = None,
) -> DemoResult:
    """Play the scenario with ``plans`` on the controller behind ``client``, whose hosts
    are run by ``agents``; ``step`` is called with the server's name before each boot (for
    a progress bar). ``host_order`` gives the hosts in the order the controller knows them
    (equal hosts rank in that order), for the replay."""
    scenario = Scenario(client, agents, strategy=strategy, host_order=host_order)
    scenario.register_hosts()
    scenario.create_networks()
    for plan in plans:
        step(plan.name)
        scenario.boot(plan)
    scenario.wait_for_agents()
    scenario.record_placements()
    scenario.release_first()
    scenario.compare()
    return scenario.result
