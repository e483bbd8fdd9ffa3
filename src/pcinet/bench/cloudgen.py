"""Generated clouds and workloads for benchmarks and the simulator (seeded, reproducible).

Every host has two SR-IOV PFs (one per NUMA node) cabled to two of four physnets; each
PF's VFs are made assignable by a Nova device spec naming the PF address (which matches its
VFs), with the second PF's VFs trusted on half the hosts (on every physnet).
"""

from __future__ import annotations

import random
from collections.abc import Iterator

from pcinet.core.devspec import DeviceSpec, apply_device_specs, parse_device_specs
from pcinet.core.flavor import Flavor, flavor_requirements
from pcinet.core.host import Host, HostCell
from pcinet.core.network import Network
from pcinet.core.pci import DevType, PciDevice
from pcinet.core.port import Port, VnicType, server_requests
from pcinet.scheduler import PlacementRequest

PHYSNETS = ("phy1", "phy2", "phy3", "phy4")
PF_ADDRESSES = ("0000:3b:00.0", "0000:af:00.0")


def host_specs(i: int) -> tuple[DeviceSpec, ...]:
    a, b = PHYSNETS[i % 4], PHYSNETS[(i + 1) % 4]
    second: dict[str, object] = {"address": PF_ADDRESSES[1], "physical_network": b}
    if (i // 4) % 2:  # every other group of four hosts: trusted VFs on each physnet
        second["trusted"] = "true"
    return parse_device_specs([{"address": PF_ADDRESSES[0], "physical_network": a}, second])


def host_devices(vfs_per_pf: int) -> list[PciDevice]:
    devices = []
    for node, pf in enumerate(PF_ADDRESSES):
        devices.append(PciDevice(pf, "8086", "1593", DevType.PF, numa_node=node))
        bus = int(pf[5:7], 16)
        for v in range(vfs_per_pf):
            # VFs from bus+1, slot/function packed as the kernel numbers them.
            address = f"0000:{bus + 1 + v // 256:02x}:{(v // 8) % 32:02x}.{v % 8}"
            devices.append(
                PciDevice(address, "8086", "1889", DevType.VF, parent_address=pf, numa_node=node)
            )
    return devices


def generate_hosts(n: int, vfs_per_pf: int = 64) -> Iterator[Host]:
    """Host by host, so a large cloud never holds all device objects at once."""
    template = host_devices(vfs_per_pf)
    cells = (HostCell(0, 32, 131072, socket=0), HostCell(1, 32, 131072, socket=1))
    for i in range(n):
        devices = tuple(d for d, _ in apply_device_specs(host_specs(i), template))
        yield Host(f"cn{i:05d}", vcpus=64, memory_mb=262144, cells=cells, devices=devices)


def networks() -> dict[str, Network]:
    nets = {
        p: Network.from_dict(
            {
                "name": p,
                "provider:network_type": "vlan",
                "provider:physical_network": p,
                "provider:segmentation_id": 100 + k,
            }
        )
        for k, p in enumerate(PHYSNETS)
    }
    nets["multi"] = Network.from_dict(
        {
            "name": "multi",
            "segments": [
                {
                    "provider:network_type": "vlan",
                    "provider:physical_network": "phy1",
                    "provider:segmentation_id": 300,
                },
                {
                    "provider:network_type": "vlan",
                    "provider:physical_network": "phy3",
                    "provider:segmentation_id": 301,
                },
            ],
        }
    )
    return nets


def request_mix(seed: int, count: int = 64) -> list[PlacementRequest]:
    """A mix: single and dual direct ports, multi-segment, trusted, direct-physical (a
    whole PF), NUMA-pinned guests, servers with no PCI at all, and the ``too_big`` servers
    after them."""
    rng = random.Random(seed)
    nets = networks()
    out = []
    for _ in range(count):
        kind = rng.random()
        extra: dict[str, str] = {}
        ports: list[Port] = []
        if kind < 0.35:
            ports = [Port(rng.choice(PHYSNETS), VnicType.DIRECT)]
        elif kind < 0.55:
            a, b = rng.sample(PHYSNETS, 2)
            ports = [Port(a, VnicType.DIRECT), Port(b, VnicType.DIRECT)]
        elif kind < 0.65:
            ports = [Port("multi", VnicType.DIRECT)]
        elif kind < 0.75:
            ports = [Port(rng.choice(PHYSNETS), VnicType.DIRECT, {"trusted": True})]
        elif kind < 0.80:
            ports = [Port(rng.choice(PHYSNETS), VnicType.DIRECT_PHYSICAL)]
        elif kind < 0.90:
            extra = {"hw:numa_nodes": "1", "hw:pci_numa_affinity_policy": "required"}
            ports = [Port(rng.choice(PHYSNETS), VnicType.DIRECT)]
        vcpus = rng.choice((2, 4, 8))
        out.append(_server(nets, Flavor(vcpus, vcpus * 2048, extra), ports))
    return out + too_big(nets)


def too_big(nets: dict[str, Network]) -> list[PlacementRequest]:
    """Servers whose ports every host could serve but whose compute none can hold: more
    vCPUs than a host has, more memory, and a guest NUMA cell larger than a host's cells
    (hosts have 64 vCPUs and 256 GiB in two cells of 32 vCPUs and 128 GiB)."""
    numa = {"hw:numa_nodes": "1", "hw:pci_numa_affinity_policy": "preferred"}
    return [
        _server(nets, Flavor(96, 8192, {}), [Port("phy1", VnicType.DIRECT)]),
        _server(nets, Flavor(8, 393216, {}), [Port("phy2", VnicType.DIRECT)]),
        _server(nets, Flavor(40, 8192, numa), [Port("phy3", VnicType.DIRECT)]),
    ]


def _server(nets: dict[str, Network], flavor: Flavor, ports: list[Port]) -> PlacementRequest:
    reqs = flavor_requirements(flavor, {})
    pci = server_requests(
        reqs.alias_requests,
        [(p, nets[p.network]) for p in ports],
        numa_policy=reqs.pci_numa_policy,
    )
    return PlacementRequest(reqs.vcpus, reqs.memory_mb, pci, reqs.guest_cells)
