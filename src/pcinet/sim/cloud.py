"""Generated clouds: hosts in racks, NICs from the shared catalog, PFs cabled to physnets.

Racks differ the way real ones do. Each rack has one *profile* (how its NIC ports are
cabled), one NIC model, one ``sriov_numvfs`` and one trust setting, and every host of the
rack is built the same way:

- ``phy1-only``: one dual-port NIC, both ports trunk only ``phy1``;
- ``pf-per-physnet``: one dual-port NIC, port 0 on ``phy1`` and port 1 on ``phy2``;
- ``dual-nic``: two NICs, one per NUMA node, one trunking ``phy1`` and one ``phy2``;
- ``edge``: one NIC, port 0 on ``phy2`` and port 1 on ``phy3``.

Devices are made assignable the way operators do it: one Nova ``[pci] device_spec`` per
PF naming the PF's address (which also selects its VFs), tagged with the port's physnet
and, on racks with trusted VFs, ``trusted: "true"`` on port 1. Hosts with GPUs list them
with a spec by vendor and product (no physnet). Hosts sharing a layout share their
(immutable) device tuples, so 10,000 hosts cost little memory.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

from pcinet.core.devspec import apply_device_specs, parse_device_specs
from pcinet.core.host import Host, HostCell
from pcinet.core.nics import A100, MODELS
from pcinet.core.pci import DevType, PciDevice

PHYSNETS = ("phy1", "phy2", "phy3")
PROFILES: dict[str, tuple[tuple[str, ...], ...]] = {
    "phy1-only": (("phy1", "phy1"),),
    "pf-per-physnet": (("phy1", "phy2"),),
    "dual-nic": (("phy1", "phy1"), ("phy2", "phy2")),
    "edge": (("phy2", "phy3"),),
}
PROFILE_WEIGHTS = {"phy1-only": 0.3, "pf-per-physnet": 0.35, "dual-nic": 0.2, "edge": 0.15}
NIC_BUSES = (0x3B, 0xAF)  # one NIC slot per NUMA node
GPU_ADDRESSES = ("0000:17:00.0", "0000:ca:00.0")
HOST_CELLS = (HostCell(0, 48, 196608, socket=0), HostCell(1, 48, 196608, socket=1))
HOSTS_PER_RACK = 8
VF_CHOICES = (8, 16)


@dataclass(frozen=True, slots=True)
class Layout:
    """How every host of a rack is built (hashable: hosts of one layout share devices)."""

    profile: str
    nic: str
    vfs_per_pf: int
    trusted: bool
    gpus: int = 0

    def cabling(self) -> tuple[tuple[str, ...], ...]:
        return PROFILES[self.profile]

    def pf_addresses(self) -> list[tuple[str, int, str]]:
        """(PF address, NUMA node, physnet) of every PF."""
        out = []
        for n, ports in enumerate(self.cabling()):
            for port, physnet in enumerate(ports):
                out.append((f"0000:{NIC_BUSES[n]:02x}:00.{port}", n, physnet))
        return out


@dataclass(frozen=True, slots=True)
class Rack:
    name: str
    layout: Layout
    hosts: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Cloud:
    """Hosts (free capacity and tagged devices, as the scheduler takes them), their racks,
    and each host's layout (index-aligned with ``hosts``)."""

    hosts: tuple[Host, ...]
    layouts: tuple[Layout, ...]
    racks: tuple[Rack, ...]
    seed: int

    def vcpus(self) -> int:
        return sum(h.vcpus for h in self.hosts)

    def physnet_vfs(self) -> dict[str, int]:
        """Assignable VFs per physnet in the whole cloud."""
        out = dict.fromkeys(PHYSNETS, 0)
        for layout in self.layouts:
            for _, _, physnet in layout.pf_addresses():
                out[physnet] += layout.vfs_per_pf
        return out


@cache
def raw_devices(layout: Layout) -> tuple[PciDevice, ...]:
    """The host's PCI devices as discovered (untagged): PFs, their VFs, GPUs."""
    model = MODELS[layout.nic]
    devices = []
    for pf, node, _ in layout.pf_addresses():
        devices.append(
            PciDevice(pf, model.vendor_id, model.pf_product_id, DevType.PF, numa_node=node)
        )
        for v in range(layout.vfs_per_pf):
            devices.append(
                PciDevice(
                    model.vf_address(pf, v),
                    model.vendor_id,
                    model.vf_product_id,
                    DevType.VF,
                    parent_address=pf,
                    numa_node=node,
                )
            )
    for g in range(layout.gpus):
        devices.append(
            PciDevice(GPU_ADDRESSES[g], A100.vendor_id, A100.product_id, DevType.PCI, numa_node=g)
        )
    return tuple(devices)


@cache
def device_spec(layout: Layout) -> tuple[dict[str, Any], ...]:
    """The host's ``[pci] device_spec`` entries, as an operator writes them."""
    specs: list[dict[str, Any]] = []
    for pf, _, physnet in layout.pf_addresses():
        spec: dict[str, Any] = {"address": pf, "physical_network": physnet}
        if layout.trusted and pf.endswith(".1"):
            spec["trusted"] = "true"
        specs.append(spec)
    if layout.gpus:
        specs.append({"vendor_id": A100.vendor_id, "product_id": A100.product_id})
    return tuple(specs)


@cache
def tagged_devices(layout: Layout) -> tuple[PciDevice, ...]:
    """The assignable devices, tagged by the device spec (pcinet's own device-spec code)."""
    specs = parse_device_specs(list(device_spec(layout)))
    return tuple(d for d, _ in apply_device_specs(specs, raw_devices(layout)))


def make_host(name: str, layout: Layout) -> Host:
    return Host(name, vcpus=96, memory_mb=393216, cells=HOST_CELLS, devices=tagged_devices(layout))


def rack_layouts(
    hosts: int, seed: int, *, gpus: bool = False, vfs_per_pf: int | None = None
) -> Iterator[tuple[str, Layout, int]]:
    """(rack name, layout, number of hosts) for racks of ``HOSTS_PER_RACK`` hosts."""
    rng = random.Random(seed)
    names = list(PROFILE_WEIGHTS)
    weights = list(PROFILE_WEIGHTS.values())
    nics = sorted(MODELS)
    left = hosts
    r = 0
    while left > 0:
        profile = rng.choices(names, weights)[0]
        layout = Layout(
            profile=profile,
            nic=rng.choice(nics),
            vfs_per_pf=vfs_per_pf or rng.choice(VF_CHOICES),
            trusted=rng.random() < 0.5,
            gpus=2 if gpus and rng.random() < 0.25 else 0,
        )
        n = min(HOSTS_PER_RACK, left)
        yield f"r{r:04d}", layout, n
        left -= n
        r += 1


def generate_cloud(
    hosts: int, seed: int, *, gpus: bool = False, vfs_per_pf: int | None = None
) -> Cloud:
    """A seeded cloud of ``hosts`` hosts: the same arguments give the same cloud."""
    out: list[Host] = []
    layouts: list[Layout] = []
    racks: list[Rack] = []
    for rack, layout, n in rack_layouts(hosts, seed, gpus=gpus, vfs_per_pf=vfs_per_pf):
        names = tuple(f"{rack}-cn{k:02d}" for k in range(n))
        racks.append(Rack(rack, layout, names))
        for name in names:
            out.append(make_host(name, layout))
            layouts.append(layout)
    return Cloud(tuple(out), tuple(layouts), tuple(racks), seed)
