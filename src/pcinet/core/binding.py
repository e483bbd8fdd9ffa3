"""Binding a port to the device the scheduler chose for it (pure).

Neutron's ``sriovnicswitch`` never checks the chosen VF; here binding re-checks it. With
scheduling done right every check passes, so a failure is a ConsistencyError (a bug or
a race), never a user error and never a late ``binding_failed``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from pcinet.core.errors import ConsistencyError, InvalidDevice, InvalidInput
from pcinet.core.network import Network, NetworkType, Segment
from pcinet.core.pci import DevType, PciDevice
from pcinet.core.port import Port, VnicType, normalize_mac
from pcinet.core.request import MISSING, tag_is_true

VIF_TYPE_VF = "hw_veb"
VIF_TYPE_PF = "hostdev_physical"


@dataclass(frozen=True, slots=True)
class PortBinding:
    """The result of binding: Neutron's ``binding:*`` attributes and the bound segment."""

    segment: Segment
    vif_type: str
    vif_details: Mapping[str, Any]
    profile: Mapping[str, Any]
    # The MAC the port takes: a direct-physical port its PF's (the guest uses the PF's
    # burnt-in MAC), when the host reported it; None keeps the port's own.
    mac_address: str | None = None

    @property
    def vlan(self) -> int:
        """The VLAN the device must tag with: 0 on flat and overlay segments."""
        if self.segment.network_type is NetworkType.VLAN:
            return self.segment.segmentation_id or 0
        return 0

    def to_dict(self) -> dict[str, Any]:
        """Neutron-shaped: the ``binding:*`` attributes plus the bound segment's
        ``provider:*`` keys."""
        return {
            "binding:vif_type": self.vif_type,
            "binding:vif_details": dict(self.vif_details),
            "binding:profile": dict(self.profile),
            **self.segment.to_dict(),
        }


def _segments_words(network: Network) -> str:
    physnets = network.physnets
    names = ", ".join(sorted(p for p in physnets if p is not None))
    if not names:
        return "overlay segments only"
    return f"segments on {names}" + (" and overlay" if None in physnets else "")


def _device_words(device: PciDevice) -> str:
    physnet = device.tags.get("physical_network", MISSING)
    if physnet is MISSING:
        return "with no physical_network tag"
    if physnet is None:
        return "tagged physical_network null (overlay)"
    return f"on physnet {physnet}"


def _check_device(port: Port, network: Network, device: PciDevice, prefix: str) -> None:
    """Everything ``port_matcher`` would require of the device, with reasons."""
    if not port.needs_device:
        raise ConsistencyError(
            f"{prefix}port on network {network.name!r} has vnic type {port.vnic_type}: "
            f"there is no device to bind (device {device.address} was given)"
        )
    if port.vnic_type is VnicType.DIRECT_PHYSICAL and device.dev_type is not DevType.PF:
        raise ConsistencyError(
            f"{prefix}device {device.address} is a {device.dev_type}, "
            "but a direct-physical port needs a type-PF"
        )
    if port.vnic_type is not VnicType.DIRECT_PHYSICAL and device.dev_type is DevType.PF:
        raise ConsistencyError(
            f"{prefix}device {device.address} is a type-PF, but a {port.vnic_type} port needs a VF"
        )
    remote_managed = tag_is_true(device.tags.get("remote_managed"))
    if remote_managed != (port.vnic_type is VnicType.REMOTE_MANAGED):
        raise ConsistencyError(
            f"{prefix}device {device.address} is "
            + ("" if remote_managed else "not ")
            + f"remote-managed, but the port's vnic type is {port.vnic_type}"
        )
    if port.trusted and not tag_is_true(device.tags.get("trusted")):
        raise ConsistencyError(
            f"{prefix}device {device.address} is not trusted, but the port asks for trust"
        )


def usable_mac(device: PciDevice) -> str | None:
    """The device's reported MAC if a port can take it (a unicast address); None when it
    is unknown (not reported: e.g. no netdev) or unusable (all-zero, multicast).

    >>> pf = PciDevice("0000:3b:00.0", "8086", "1572", DevType.PF, mac_address="3C:FD:FE:3B:00:00")
    >>> usable_mac(pf)
    '3c:fd:fe:3b:00:00'
    """
    if device.mac_address is None:
        return None
    try:
        return normalize_mac(device.mac_address, field="mac_address")
    except InvalidInput:
        return None


def bind_port(
    port: Port,
    network: Network,
    device: PciDevice,
    *,
    pf_mac_address: str | None = None,
    vf_num: int | None = None,
) -> PortBinding:
    """Bind ``port`` on ``network`` to ``device``, or raise ConsistencyError.

    The bound segment is the first one whose physnet equals the device's
    ``physical_network`` tag (an overlay segment for a device tagged null). The device
    must also be of the type, trust and remote-managed kind the port asked for.
    ``pf_mac_address`` and ``vf_num`` (a VF's PF MAC and index, when the host knows them)
    go into the profile of a VF binding and are ignored for other devices.

    The profile is the port's own ``binding:profile`` with the binding's keys over it:
    ``pci_slot``, ``pci_vendor_info``, ``physical_network``, and where they apply
    ``pf_mac_address``, ``vf_num`` and ``trusted``; for a PF whose MAC the host reported
    (``device.mac_address``), ``device_mac_address``, which is also the binding's
    ``mac_address``: as in Nova, a whole PF keeps its burnt-in MAC, so the port takes it.
    """
    prefix = f"port {port.id or port.name}: " if (port.id or port.name) else ""
    _check_device(port, network, device, prefix)
    physnet = device.tags.get("physical_network", MISSING)
    segment = None if physnet is MISSING else network.segment_for_physnet(physnet)
    if segment is None:
        raise ConsistencyError(
            f"{prefix}device {device.address} {_device_words(device)} cannot reach "
            f"network {network.name!r} ({_segments_words(network)})"
        )
    if segment.network_type is NetworkType.VLAN and segment.segmentation_id is None:
        raise ConsistencyError(
            f"{prefix}network {network.name!r} has a vlan segment on physnet "
            f"{segment.physical_network} with no VLAN id allocated yet"
        )

    binding_keys: dict[str, Any] = {
        "pci_slot": device.address,
        "pci_vendor_info": device.vendor_info,
        "physical_network": segment.physical_network,
    }
    if device.dev_type is DevType.VF:
        if pf_mac_address is not None:
            binding_keys["pf_mac_address"] = normalize_mac(
                pf_mac_address, field="pf_mac_address", error=InvalidDevice
            )
        if vf_num is not None:
            if not isinstance(vf_num, int) or isinstance(vf_num, bool) or vf_num < 0:
                raise InvalidDevice(
                    f"vf_num: expected a non-negative integer, got {vf_num!r}", field="vf_num"
                )
            binding_keys["vf_num"] = vf_num
    device_mac = usable_mac(device) if device.dev_type is DevType.PF else None
    if device_mac is not None:
        binding_keys["device_mac_address"] = device_mac
    if port.trusted:
        binding_keys["trusted"] = True

    vlan = segment.segmentation_id if segment.network_type is NetworkType.VLAN else 0
    return PortBinding(
        segment=segment,
        vif_type=VIF_TYPE_PF if device.dev_type is DevType.PF else VIF_TYPE_VF,
        vif_details=MappingProxyType(
            {"port_filter": False, "connectivity": "l2", "vlan": str(vlan)}
        ),
        profile=MappingProxyType({**port.profile, **binding_keys}),
        mac_address=device_mac,
    )
