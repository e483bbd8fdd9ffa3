"""What discovery found: the devices as sysfs shows them (``DiscoveredDevice``), and what
could not be read (``Problem``), together a ``Discovery`` (``pcinet.inventory.sysfs``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pcinet.core.pci import DevType, PciDevice


@dataclass(frozen=True, slots=True)
class Problem:
    """Something discovery could not read or did not believe, and what it did about it."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


@dataclass(frozen=True, slots=True)
class DiscoveredDevice:
    """One PCI device as sysfs shows it. ``vf_index`` is set for VFs only; ``netdev``,
    ``mac`` and ``operstate`` are None without a network interface (e.g. bound to vfio-pci)."""

    address: str
    vendor_id: str
    product_id: str
    class_code: str | None
    dev_type: DevType
    parent_address: str | None = None
    vf_index: int | None = None
    numa_node: int | None = None
    netdev: str | None = None
    driver: str | None = None
    mac: str | None = None
    operstate: str | None = None
    pcie_root: str | None = None
    sriov_totalvfs: int | None = None
    sriov_numvfs: int | None = None
    # Every interface of the device, ``netdev`` first (see the module docstring).
    netdevs: tuple[str, ...] = ()

    def to_pci_device(self) -> PciDevice:
        """The controller's device model (untagged)."""
        return PciDevice(
            self.address,
            self.vendor_id,
            self.product_id,
            self.dev_type,
            self.parent_address,
            self.numa_node,
            self.netdev,
            vf_index=self.vf_index,
            pcie_root=self.pcie_root,
            mac_address=self.mac,
        )

    def to_dict(self) -> dict[str, Any]:
        """The ``pcinet agent discover --json`` object (without tags)."""
        return {
            "address": self.address,
            "vendor_id": self.vendor_id,
            "product_id": self.product_id,
            "dev_type": self.dev_type.value,
            "parent_address": self.parent_address,
            "vf_index": self.vf_index,
            "numa_node": self.numa_node,
            "netdev": self.netdev,
            "netdevs": list(self.netdevs),
            "driver": self.driver,
            "mac": self.mac,
            "pcie_root": self.pcie_root,
            "operstate": self.operstate,
            "class": self.class_code,
        }


@dataclass(frozen=True, slots=True)
class Discovery:
    """Devices in address order, and what could not be read."""

    devices: tuple[DiscoveredDevice, ...]
    problems: tuple[Problem, ...] = ()

    def by_address(self) -> dict[str, DiscoveredDevice]:
        return {d.address: d for d in self.devices}

    def by_netdev(self) -> dict[str, DiscoveredDevice]:
        """Each interface name (of ``netdevs``: all of a device's) to its device."""
        return {name: d for d in self.devices for name in d.netdevs}
