"""Binding re-checks the chosen device and produces Neutron's binding attributes."""

from __future__ import annotations

from typing import Any

import pytest

from pcinet.core.binding import PortBinding, bind_port, usable_mac
from pcinet.core.errors import ConsistencyError, InvalidDevice
from pcinet.core.network import Network, NetworkType, Segment
from pcinet.core.pci import DevType, PciDevice
from pcinet.core.port import Port, VnicType

SEG_PHY1 = Segment(NetworkType.VLAN, "phy1", 100)
SEG_PHY2 = Segment(NetworkType.VLAN, "phy2", 200)
SEG_PHY1_B = Segment(NetworkType.VLAN, "phy1", 101)
SEG_FLAT = Segment(NetworkType.FLAT, "phy3", None)
SEG_VXLAN = Segment(NetworkType.VXLAN, None, 5000)
SEG_GRE = Segment(NetworkType.GRE, None, 6)

NET1 = Network("net1", (SEG_PHY1,))
MULTI = Network("multi", (SEG_PHY1, SEG_PHY2, SEG_PHY1_B))
FLAT = Network("flat", (SEG_FLAT,))
TUN = Network("tun", (SEG_VXLAN, SEG_GRE))
MIXED = Network("mixed", (SEG_GRE, SEG_PHY2))
UNSET = Network("unset", (Segment(NetworkType.VLAN, "phy1", None),))

PF_ADDR = "0000:0a:00.0"


def vf(physnet: Any = "phy1", **tags: Any) -> PciDevice:
    if physnet is not ...:
        tags["physical_network"] = physnet
    return PciDevice("0000:0a:10.1", "8086", "154c", DevType.VF, PF_ADDR, tags=tags)


def pf(physnet: Any = "phy1", **tags: Any) -> PciDevice:
    if physnet is not ...:
        tags["physical_network"] = physnet
    return PciDevice(PF_ADDR, "8086", "1572", DevType.PF, tags=tags)


def pci(physnet: Any = "phy1", **tags: Any) -> PciDevice:
    if physnet is not ...:
        tags["physical_network"] = physnet
    return PciDevice("0000:3b:00.0", "15b3", "101e", DevType.PCI, tags=tags)


DIRECT = Port("net1", VnicType.DIRECT)


@pytest.mark.parametrize(
    ("port", "network", "device", "segment", "vlan"),
    [
        (DIRECT, NET1, vf(), SEG_PHY1, 100),
        (Port("n", VnicType.MACVTAP), NET1, vf(), SEG_PHY1, 100),
        (Port("n", VnicType.VDPA), NET1, vf(), SEG_PHY1, 100),
        (Port("n", VnicType.VIRTIO_FORWARDER), NET1, pci(), SEG_PHY1, 100),
        (Port("n", VnicType.DIRECT_PHYSICAL), NET1, pf(), SEG_PHY1, 100),
        (Port("n", VnicType.REMOTE_MANAGED), NET1, vf(remote_managed="true"), SEG_PHY1, 100),
        # The first segment on the device's physnet, not the network's first segment.
        (DIRECT, MULTI, vf("phy2"), SEG_PHY2, 200),
        (DIRECT, MULTI, vf("phy1"), SEG_PHY1, 100),
        (DIRECT, FLAT, vf("phy3"), SEG_FLAT, 0),
        # Overlay: a device tagged null takes the first overlay segment.
        (DIRECT, TUN, vf(None), SEG_VXLAN, 0),
        (DIRECT, MIXED, vf(None), SEG_GRE, 0),
        (DIRECT, MIXED, vf("phy2"), SEG_PHY2, 200),
        # An untrusted port may take a trusted VF.
        (DIRECT, NET1, vf(trusted="true"), SEG_PHY1, 100),
        (
            Port("n", VnicType.DIRECT, profile={"trusted": True}),
            NET1,
            vf(trusted="yes"),
            SEG_PHY1,
            100,
        ),
    ],
)
def test_bind_segment_and_vlan(
    port: Port, network: Network, device: PciDevice, segment: Segment, vlan: int
) -> None:
    binding = bind_port(port, network, device)
    assert binding.segment == segment
    assert binding.vlan == vlan
    assert binding.vif_details == {"port_filter": False, "connectivity": "l2", "vlan": str(vlan)}
    assert binding.profile["physical_network"] == segment.physical_network
    assert binding.profile["pci_slot"] == device.address
    assert binding.profile["pci_vendor_info"] == f"{device.vendor_id}:{device.product_id}"


@pytest.mark.parametrize(
    ("port", "device", "vif_type"),
    [
        (DIRECT, vf(), "hw_veb"),
        (DIRECT, pci(), "hw_veb"),
        (Port("n", VnicType.MACVTAP), vf(), "hw_veb"),
        (Port("n", VnicType.DIRECT_PHYSICAL), pf(), "hostdev_physical"),
    ],
)
def test_vif_type(port: Port, device: PciDevice, vif_type: str) -> None:
    assert bind_port(port, NET1, device).vif_type == vif_type


@pytest.mark.parametrize(
    ("port", "device", "kwargs", "profile"),
    [
        (
            DIRECT,
            vf(),
            {},
            {
                "pci_slot": "0000:0a:10.1",
                "pci_vendor_info": "8086:154c",
                "physical_network": "phy1",
            },
        ),
        (
            DIRECT,
            vf(),
            {"pf_mac_address": "3C:FD:FE:00:00:01", "vf_num": 0},
            {
                "pci_slot": "0000:0a:10.1",
                "pci_vendor_info": "8086:154c",
                "physical_network": "phy1",
                "pf_mac_address": "3c:fd:fe:00:00:01",
                "vf_num": 0,
            },
        ),
        (
            # PF and VF details apply to VFs only.
            Port("n", VnicType.DIRECT_PHYSICAL),
            pf(),
            {"pf_mac_address": "3c:fd:fe:00:00:01", "vf_num": 3},
            {"pci_slot": PF_ADDR, "pci_vendor_info": "8086:1572", "physical_network": "phy1"},
        ),
        (
            DIRECT,
            pci(),
            {"vf_num": 3},
            {
                "pci_slot": "0000:3b:00.0",
                "pci_vendor_info": "15b3:101e",
                "physical_network": "phy1",
            },
        ),
        (
            # The port's own keys come first; the binding's win; trusted becomes True.
            Port(
                "n",
                VnicType.DIRECT,
                profile={"trusted": "yes", "pci_slot": "bogus", "capabilities": ["switchdev"]},
            ),
            vf(trusted=True),
            {"vf_num": 2},
            {
                "trusted": True,
                "pci_slot": "0000:0a:10.1",
                "capabilities": ["switchdev"],
                "pci_vendor_info": "8086:154c",
                "physical_network": "phy1",
                "vf_num": 2,
            },
        ),
        (
            # An untrusted port keeps its own trusted: false.
            Port("n", VnicType.DIRECT, profile={"trusted": False}),
            vf(trusted=True),
            {},
            {
                "trusted": False,
                "pci_slot": "0000:0a:10.1",
                "pci_vendor_info": "8086:154c",
                "physical_network": "phy1",
            },
        ),
    ],
)
def test_profile(
    port: Port, device: PciDevice, kwargs: dict[str, Any], profile: dict[str, Any]
) -> None:
    assert dict(bind_port(port, NET1, device, **kwargs).profile) == profile


@pytest.mark.parametrize(
    ("reported", "taken"),
    [
        ("3C-FD-FE-0A-00-00", "3c:fd:fe:0a:00:00"),
        (None, None),  # not reported: the port keeps its own
        ("00:00:00:00:00:00", None),  # a device not configured yet
        ("01:00:5e:00:00:01", None),  # multicast: no port can carry it
    ],
)
def test_a_pf_lends_its_mac_to_a_direct_physical_port(
    reported: str | None, taken: str | None
) -> None:
    """Nova's ``device_mac_address``: a whole PF keeps its burnt-in MAC, so the port takes
    it; a VF's binding never lends a MAC (its port's is programmed on the VF)."""
    device = PciDevice(
        PF_ADDR, "8086", "1572", DevType.PF, tags={"physical_network": "phy1"}, mac_address=reported
    )
    binding = bind_port(Port("n", VnicType.DIRECT_PHYSICAL), NET1, device)
    assert binding.mac_address == taken
    assert binding.profile.get("device_mac_address") == taken
    assert ("device_mac_address" in binding.profile) == (taken is not None)
    assert usable_mac(device) == taken
    with_mac = PciDevice(
        "0000:0a:10.1",
        "8086",
        "154c",
        DevType.VF,
        PF_ADDR,
        tags={"physical_network": "phy1"},
        mac_address="02:00:00:00:00:01",
    )
    vf_binding = bind_port(DIRECT, NET1, with_mac, pf_mac_address="3c:fd:fe:0a:00:00")
    assert vf_binding.mac_address is None
    assert "device_mac_address" not in vf_binding.profile
    assert vf_binding.profile["pf_mac_address"] == "3c:fd:fe:0a:00:00"


def test_overlay_profile_has_null_physnet() -> None:
    binding = bind_port(DIRECT, TUN, vf(None))
    assert "physical_network" in binding.profile
    assert binding.profile["physical_network"] is None


def test_to_dict_is_neutron_shaped() -> None:
    binding = bind_port(DIRECT, MULTI, vf("phy2"), pf_mac_address="3c:fd:fe:00:00:01", vf_num=1)
    assert binding.to_dict() == {
        "binding:vif_type": "hw_veb",
        "binding:vif_details": {"port_filter": False, "connectivity": "l2", "vlan": "200"},
        "binding:profile": {
            "pci_slot": "0000:0a:10.1",
            "pci_vendor_info": "8086:154c",
            "physical_network": "phy2",
            "pf_mac_address": "3c:fd:fe:00:00:01",
            "vf_num": 1,
        },
        "provider:network_type": "vlan",
        "provider:physical_network": "phy2",
        "provider:segmentation_id": 200,
    }


def test_binding_is_read_only() -> None:
    binding = bind_port(DIRECT, NET1, vf())
    with pytest.raises(TypeError):
        binding.profile["pci_slot"] = "x"  # type: ignore[index]
    with pytest.raises(TypeError):
        binding.vif_details["vlan"] = "1"  # type: ignore[index]


@pytest.mark.parametrize(
    ("segment", "vlan"),
    [
        (SEG_PHY1, 100),
        (SEG_FLAT, 0),
        (SEG_VXLAN, 0),
        (Segment(NetworkType.VLAN, "phy1", None), 0),
    ],
)
def test_vlan_property(segment: Segment, vlan: int) -> None:
    assert PortBinding(segment, "hw_veb", {}, {}).vlan == vlan


@pytest.mark.parametrize(
    ("port", "network", "device", "messages"),
    [
        (
            DIRECT,
            NET1,
            vf("phy2"),
            ["device 0000:0a:10.1 on physnet phy2 cannot reach network 'net1' (segments on phy1)"],
        ),
        (
            DIRECT,
            NET1,
            vf(...),
            ["device 0000:0a:10.1 with no physical_network tag cannot reach network 'net1'"],
        ),
        (
            DIRECT,
            NET1,
            vf(None),
            ["tagged physical_network null (overlay) cannot reach network 'net1'"],
        ),
        # An untagged device does not serve an overlay network (Nova would let it).
        (DIRECT, TUN, vf(...), ["with no physical_network tag", "(overlay segments only)"]),
        (DIRECT, TUN, vf("phy1"), ["on physnet phy1 cannot reach network 'tun'"]),
        (DIRECT, MULTI, vf("phy3"), ["(segments on phy1, phy2)"]),
        (DIRECT, MIXED, vf("phy1"), ["(segments on phy2 and overlay)"]),
        (
            Port("n", VnicType.DIRECT, id="p-1"),
            NET1,
            vf("phy9"),
            ["port p-1: device 0000:0a:10.1 on physnet phy9"],
        ),
        (
            Port("n", VnicType.DIRECT, name="eth1"),
            NET1,
            vf("phy9"),
            ["port eth1: device"],
        ),
        (
            Port("n", VnicType.DIRECT_PHYSICAL),
            NET1,
            vf(),
            ["device 0000:0a:10.1 is a type-VF, but a direct-physical port needs a type-PF"],
        ),
        (
            Port("n", VnicType.DIRECT_PHYSICAL),
            NET1,
            pci(),
            ["is a type-PCI, but a direct-physical port needs a type-PF"],
        ),
        (DIRECT, NET1, pf(), ["device 0000:0a:00.0 is a type-PF, but a direct port needs a VF"]),
        (Port("n", VnicType.MACVTAP), NET1, pf(), ["but a macvtap port needs a VF"]),
        (
            Port("n"),
            NET1,
            vf(),
            ["port on network 'net1' has vnic type normal: there is no device to bind"],
        ),
        (Port("n", VnicType.BAREMETAL), NET1, vf(), ["vnic type baremetal"]),
        (
            Port("n", VnicType.REMOTE_MANAGED),
            NET1,
            vf(),
            ["device 0000:0a:10.1 is not remote-managed, but the port's vnic type is remote-"],
        ),
        (
            DIRECT,
            NET1,
            vf(remote_managed="true"),
            ["device 0000:0a:10.1 is remote-managed, but the port's vnic type is direct"],
        ),
        (
            Port("n", VnicType.DIRECT, profile={"trusted": "true"}),
            NET1,
            vf(trusted="false"),
            ["device 0000:0a:10.1 is not trusted, but the port asks for trust"],
        ),
        (
            DIRECT,
            UNSET,
            vf(),
            ["network 'unset' has a vlan segment on physnet phy1 with no VLAN id"],
        ),
    ],
)
def test_inconsistent(port: Port, network: Network, device: PciDevice, messages: list[str]) -> None:
    with pytest.raises(ConsistencyError) as info:
        bind_port(port, network, device)
    for message in messages:
        assert message in info.value.message
    assert info.value.code == "binding_inconsistent"


@pytest.mark.parametrize(
    ("kwargs", "field", "message"),
    [
        ({"pf_mac_address": "nope"}, "pf_mac_address", "'nope' is not a MAC address"),
        ({"pf_mac_address": "ff:ff:ff:ff:ff:ff"}, "pf_mac_address", "multicast"),
        ({"vf_num": -1}, "vf_num", "expected a non-negative integer, got -1"),
        ({"vf_num": True}, "vf_num", "got True"),
        ({"vf_num": "3"}, "vf_num", "got '3'"),
    ],
)
def test_bad_host_details(kwargs: dict[str, Any], field: str, message: str) -> None:
    with pytest.raises(InvalidDevice) as info:
        bind_port(DIRECT, NET1, vf(), **kwargs)
    assert info.value.field == field
    assert message in info.value.message
