"""A minimal libvirt domain document for a server's PCI devices, one element per port:

- a ``direct`` port (a VF): ``<interface type='hostdev' managed='yes'>`` with the VF's PCI
  address as source, the port's MAC and, on a VLAN segment, ``<vlan><tag id='N'/></vlan>``;
- a ``macvtap`` port: ``<interface type='direct'>`` on the VF's netdev in ``passthrough``
  mode, with the MAC and the VLAN;
- a ``direct-physical`` port (a whole PF): a PCI ``<hostdev>``;
- a device of a flavor's ``pci_passthrough:alias``: a PCI ``<hostdev>`` too.

Ports without a PCI device (``normal`` and the like, or not bound yet) have no element. The
document validates against libvirt's schema (``virt-xml-validate FILE domain``); the
compute host's own libvirt adds disks, consoles and the rest.

>>> server = {"id": "s1", "name": "vm", "flavor": {"vcpus": 1, "memory_mb": 512}, "ports": []}
>>> print(domain_xml(server, {}).splitlines()[0])
<domain type="kvm">
"""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from typing import Any

from pcinet.core.errors import PcinetError
from pcinet.core.pci import PciAddress

HOSTDEV_VNIC = "direct"
MACVTAP_VNIC = "macvtap"
PF_VNIC = "direct-physical"


class NetdevUnknown(PcinetError):
    """A ``macvtap`` port's VF has no netdev in its host's report (its ``devname``)."""

    code = "netdev_unknown"


def domain_xml(server: Mapping[str, Any], netdevs: Mapping[str, str]) -> str:
    """The domain document of ``server`` (the API's server object). ``netdevs``: VF PCI
    address to its netdev name on the host, needed for ``macvtap`` ports only."""
    flavor = server.get("flavor") or {}
    domain = ET.Element("domain", type="kvm")
    ET.SubElement(domain, "name").text = str(server.get("name") or server["id"])
    uid = _uuid(str(server["id"]))
    if uid is not None:
        ET.SubElement(domain, "uuid").text = uid
    ET.SubElement(domain, "memory", unit="MiB").text = str(int(flavor.get("memory_mb") or 1))
    ET.SubElement(domain, "vcpu").text = str(int(flavor.get("vcpus") or 1))
    os_element = ET.SubElement(domain, "os")
    ET.SubElement(os_element, "type").text = "hvm"
    devices = ET.SubElement(domain, "devices")
    for port in server.get("ports") or []:
        _add_port(devices, port, netdevs)
    for device in server.get("pci_devices") or []:
        if device.get("alias") and device.get("address"):
            _add_hostdev(devices, str(device["address"]))
    ET.indent(domain)
    return ET.tostring(domain, encoding="unicode") + "\n"


def _add_port(devices: ET.Element, port: Mapping[str, Any], netdevs: Mapping[str, str]) -> None:
    address = port.get("pci_slot")
    vnic = port.get("binding:vnic_type")
    if not address:
        return
    address = str(address)
    if vnic == PF_VNIC:
        _add_hostdev(devices, address)
        return
    if vnic == MACVTAP_VNIC:
        netdev = netdevs.get(address)
        if not netdev:
            raise NetdevUnknown(
                f"port {port.get('name') or port.get('id')} (macvtap) is on VF {address}, "
                "which has no netdev (devname) in its host's report",
                field="devname",
            )
        element = ET.SubElement(devices, "interface", type="direct")
        ET.SubElement(element, "mac", address=str(port["mac_address"]))
        ET.SubElement(element, "source", dev=netdev, mode="passthrough")
    else:
        element = ET.SubElement(devices, "interface", type="hostdev", managed="yes")
        ET.SubElement(element, "mac", address=str(port["mac_address"]))
        source = ET.SubElement(element, "source")
        _address(source, address)
    vlan = _vlan(port)
    if vlan is not None:
        ET.SubElement(ET.SubElement(element, "vlan"), "tag", id=str(vlan))


def _add_hostdev(devices: ET.Element, address: str) -> None:
    element = ET.SubElement(devices, "hostdev", mode="subsystem", type="pci", managed="yes")
    _address(ET.SubElement(element, "source"), address, typed=False)


def _address(parent: ET.Element, text: str, *, typed: bool = True) -> None:
    """``<address type='pci' .../>``; a ``<hostdev>``'s source address has no ``type``
    in libvirt's schema (``typed=False``)."""
    pci = PciAddress.parse(text, field="pci_slot")
    attributes = {"type": "pci"} if typed else {}
    attributes.update(
        domain=f"0x{pci.domain:04x}",
        bus=f"0x{pci.bus:02x}",
        slot=f"0x{pci.slot:02x}",
        function=f"0x{pci.func:x}",
    )
    ET.SubElement(parent, "address", attributes)


def _vlan(port: Mapping[str, Any]) -> int | None:
    """The VLAN the VF is programmed with (``binding:vif_details.vlan``); None for 0 (a
    flat or overlay segment) or when unbound."""
    details = port.get("binding:vif_details") or {}
    value = details.get("vlan") if isinstance(details, Mapping) else None
    try:
        vlan = int(value) if value is not None else 0
    except (TypeError, ValueError):
        return None
    return vlan or None


def _uuid(text: str) -> str | None:
    try:
        return str(uuid.UUID(text))
    except ValueError:
        return None
