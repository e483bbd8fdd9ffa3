"""The demo's cloud and requests, as API bodies: the seed scenario of the January 2014
thread.

Three hosts ``cn1``-``cn3``, each with two SR-IOV adapters: PF ``0000:3b:00.0``
(``ens1f0``, NUMA 0) cabled to ``phy1`` and PF ``0000:af:00.0`` (``ens2f0``, NUMA 1) cabled
to ``phy2``, eight VFs each (Intel X710: PF ``8086:1572``, VF ``8086:154c``). The operator
tags them with Nova ``device_spec`` entries, one by interface name and one by PF address
(both also select the PF's VFs). Two provider VLAN networks, ``net-phy1`` and ``net-phy2``,
take their VLAN from ``network_vlan_ranges``. Servers have direct ports on one network or
on both.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from pcinet.client import Json

VLAN_RANGES = "phy1:100:199,phy2:200:299"
HOSTS = ("cn1", "cn2", "cn3")
VFS_PER_PF = 8
HOST_VCPUS = 32
HOST_MEMORY_MB = 65536
VENDOR = "8086"
PF_PRODUCT = "1572"
VF_PRODUCT = "154c"


@dataclass(frozen=True, slots=True)
class Adapter:
    pf_address: str
    devname: str
    physnet: str
    numa_node: int

    def vf_address(self, index: int) -> str:
        """VF ``index`` of the PF: ``0000:3b:00.0`` -> ``0000:3b:02.<index>``."""
        return f"{self.pf_address[:8]}02.{index}"


ADAPTERS = (
    Adapter("0000:3b:00.0", "ens1f0", "phy1", 0),
    Adapter("0000:af:00.0", "ens2f0", "phy2", 1),
)
NETWORKS: dict[str, str] = {"net-phy1": "phy1", "net-phy2": "phy2"}


def host_report() -> Json:
    """One host's inventory report (``PUT /v1/hosts/{name}``); every host is alike."""
    devices: list[Json] = []
    for adapter in ADAPTERS:
        devices.append(
            {
                "address": adapter.pf_address,
                "vendor_id": VENDOR,
                "product_id": PF_PRODUCT,
                "dev_type": "type-PF",
                "numa_node": adapter.numa_node,
                "devname": adapter.devname,
            }
        )
        devices.extend(
            {
                "address": adapter.vf_address(i),
                "vendor_id": VENDOR,
                "product_id": VF_PRODUCT,
                "dev_type": "type-VF",
                "parent_address": adapter.pf_address,
                "numa_node": adapter.numa_node,
            }
            for i in range(VFS_PER_PF)
        )
    cells = [
        {"id": i, "vcpus": HOST_VCPUS // 2, "memory_mb": HOST_MEMORY_MB // 2, "socket": i}
        for i in range(2)
    ]
    return {
        "vcpus": HOST_VCPUS,
        "memory_mb": HOST_MEMORY_MB,
        "numa_cells": cells,
        "device_spec": [
            # by interface name: selects ens1f0 and its VFs
            {"devname": ADAPTERS[0].devname, "physical_network": ADAPTERS[0].physnet},
            # by PF address: selects the PF and its VFs
            {"address": ADAPTERS[1].pf_address, "physical_network": ADAPTERS[1].physnet},
        ],
        "devices": devices,
    }


def network_body(name: str) -> Json:
    """A provider VLAN network without a VLAN id: the controller takes one from the range."""
    return {
        "name": name,
        "provider:network_type": "vlan",
        "provider:physical_network": NETWORKS[name],
    }


@dataclass(frozen=True, slots=True)
class ServerPlan:
    """One boot: a server with one direct port per listed network, in order."""

    name: str
    networks: tuple[str, ...]
    vcpus: int = 2
    memory_mb: int = 4096
    trusted: bool = False

    def flavor(self) -> Json:
        return {"vcpus": self.vcpus, "memory_mb": self.memory_mb, "extra_specs": {}}

    def port_body(self, index: int, network_id: str) -> Json:
        body: Json = {
            "network_id": network_id,
            "name": f"{self.name}-p{index}",
            "binding:vnic_type": "direct",
        }
        if self.trusted:
            body["binding:profile"] = {"trusted": True}
        return body


SHAPES: tuple[tuple[str, ...], ...] = (("net-phy1",), ("net-phy2",), ("net-phy1", "net-phy2"))


def server_plans(count: int, seed: int) -> list[ServerPlan]:
    """``count`` servers cycling through the three shapes (phy1 only, phy2 only, both), in
    an order shuffled by ``seed`` within each cycle; then one that cannot fit anywhere: it
    needs a trusted VF and no VF is tagged trusted."""
    rng = random.Random(seed)
    shapes: list[tuple[str, ...]] = []
    while len(shapes) < count:
        cycle = list(SHAPES)
        rng.shuffle(cycle)
        shapes.extend(cycle)
    plans = [ServerPlan(f"vm-{i + 1:02d}", nets) for i, nets in enumerate(shapes[:count])]
    plans.append(ServerPlan("vm-trusted", ("net-phy1",), trusted=True))
    return plans
