"""Ports: parsing Neutron's attributes, and the PCI request each port makes."""

from __future__ import annotations

from typing import Any

import pytest

from pcinet.core.boolean import strict_bool
from pcinet.core.errors import InvalidDevice, InvalidPort, NetworkNotServable
from pcinet.core.network import Network, NetworkType, Segment
from pcinet.core.pci import DevType
from pcinet.core.port import (
    PCI_VNIC_TYPES,
    Port,
    VnicType,
    normalize_mac,
    port_request,
    server_requests,
)
from pcinet.core.request import DeviceMatcher, NumaPolicy, PciRequest, RequestKind

VLAN1 = Network("net1", (Segment(NetworkType.VLAN, "phy1", 100),))
FLAT2 = Network("net2", (Segment(NetworkType.FLAT, "phy2", None),))
TUN = Network("tun", (Segment(NetworkType.VXLAN, None, 7),))
MULTI = Network(
    "multi", (Segment(NetworkType.VLAN, "phy1", 10), Segment(NetworkType.VLAN, "phy3", 11))
)
MIXED = Network(
    "mixed", (Segment(NetworkType.VLAN, "phy9", 10), Segment(NetworkType.GENEVE, None, 11))
)
NET3 = Network("net3", (Segment(NetworkType.VLAN, "phy9", 10),))

VF_TYPES = frozenset({DevType.VF, DevType.PCI})


def test_pci_vnic_types() -> None:
    assert frozenset(VnicType) - PCI_VNIC_TYPES == {VnicType.NORMAL, VnicType.BAREMETAL}


# -- parsing -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"network": "net1"}, Port("net1")),
        ({"network_id": "uuid-1"}, Port("uuid-1")),
        ({"network": "n", "binding:vnic_type": "direct"}, Port("n", VnicType.DIRECT)),
        (
            {"network": "n", "binding:vnic_type": "direct-physical"},
            Port("n", VnicType.DIRECT_PHYSICAL),
        ),
        ({"network": "n", "binding:vnic_type": None}, Port("n")),
        ({"network": "n", "binding:profile": None}, Port("n")),
        (
            {"network": "n", "binding:profile": {"trusted": "yes", "x": 1}},
            Port("n", profile={"trusted": "yes", "x": 1}),
        ),
        (
            {"network": "n", "mac_address": "FA:16:3E:00:00:01"},
            Port("n", mac_address="fa:16:3e:00:00:01"),
        ),
        (
            {"network": "n", "mac_address": "fa-16-3e-00-00-01"},
            Port("n", mac_address="fa:16:3e:00:00:01"),
        ),
        ({"network": "n", "port_security_enabled": False}, Port("n", port_security_enabled=False)),
        (
            {"network": "n", "port_security_enabled": "False"},
            Port("n", port_security_enabled=False),
        ),
        ({"network": "n", "admin_state_up": "off"}, Port("n", admin_state_up=False)),
        ({"network": "n", "admin_state_up": True}, Port("n")),
        (
            {"network": "n", "numa_affinity_policy": "preferred"},
            Port("n", numa_affinity_policy=NumaPolicy.PREFERRED),
        ),
        ({"network": "n", "numa_affinity_policy": None}, Port("n")),
        (
            {"network": "n", "id": "p1", "name": "eth0", "description": "d", "project_id": "x"},
            Port("n", id="p1", name="eth0"),
        ),
        ({"network": "n", "tenant_id": "x", "name": None}, Port("n")),
    ],
)
def test_port_valid(data: dict[str, Any], expected: Port) -> None:
    assert Port.from_dict(data) == expected


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ("n", "ports[2]", "expected an object"),
        ({}, "ports[2].network", "expected a non-empty string, got None"),
        ({"network": ""}, "ports[2].network", "non-empty string"),
        ({"network_id": 5}, "ports[2].network_id", "got 5"),
        ({"network": "a", "network_id": "a"}, "ports[2].network_id", "not both"),
        ({"network": "n", "fixed_ips": []}, "ports[2].fixed_ips", "unknown port property"),
        (
            {"network": "n", "binding:vnic_type": "sriov"},
            "ports[2].binding:vnic_type",
            "'sriov' is not one of normal, direct, macvtap, direct-physical",
        ),
        ({"network": "n", "binding:profile": []}, "ports[2].binding:profile", "expected an object"),
        (
            {"network": "n", "binding:profile": {"trusted": "maybe"}},
            "ports[2].binding:profile.trusted",
            "'maybe' is not a boolean",
        ),
        (
            {"network": "n", "binding:profile": {"trusted": 1}},
            "ports[2].binding:profile.trusted",
            "1 is not a boolean",
        ),
        ({"network": "n", "mac_address": "fa:16:3e:00:00"}, "ports[2].mac_address", "not a MAC"),
        ({"network": "n", "mac_address": "fa:16-3e:00:00:01"}, "ports[2].mac_address", "not a MAC"),
        ({"network": "n", "mac_address": "gg:16:3e:00:00:01"}, "ports[2].mac_address", "not a MAC"),
        ({"network": "n", "mac_address": 5}, "ports[2].mac_address", "not a MAC"),
        ({"network": "n", "mac_address": "01:00:5e:00:00:01"}, "ports[2].mac_address", "multicast"),
        ({"network": "n", "mac_address": "ff:ff:ff:ff:ff:ff"}, "ports[2].mac_address", "multicast"),
        ({"network": "n", "mac_address": "00:00:00:00:00:00"}, "ports[2].mac_address", "usable"),
        (
            {"network": "n", "port_security_enabled": "sometimes"},
            "ports[2].port_security_enabled",
            "is not a boolean",
        ),
        ({"network": "n", "admin_state_up": None}, "ports[2].admin_state_up", "is not a boolean"),
        (
            {"network": "n", "numa_affinity_policy": "nearby"},
            "ports[2].numa_affinity_policy",
            "'nearby' is not one of required, legacy, preferred, socket",
        ),
        ({"network": "n", "id": 7}, "ports[2].id", "expected a string"),
        ({"network": "n", "name": ["eth0"]}, "ports[2].name", "expected a string"),
    ],
)
def test_port_invalid(data: Any, field: str, message: str) -> None:
    with pytest.raises(InvalidPort) as info:
        Port.from_dict(data, where="ports[2]")
    assert info.value.field == field
    assert message in info.value.message
    assert info.value.message.startswith(f"{field}: ")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, True),
        (False, False),
        ("true", True),
        ("True", True),
        (" yes ", True),
        ("1", True),
        ("on", True),
        ("f", False),
        ("no", False),
        ("0", False),
        ("OFF", False),
    ],
)
def test_strict_bool(value: Any, expected: bool) -> None:
    assert strict_bool(value, field="f", error=InvalidPort) is expected


@pytest.mark.parametrize("value", ["maybe", "", 1, 0, None, 1.0])
def test_strict_bool_rejects(value: Any) -> None:
    with pytest.raises(InvalidPort) as info:
        strict_bool(value, field="f", error=InvalidPort)
    assert info.value.field == "f"


def test_normalize_mac_error_class_is_chosen_by_caller() -> None:
    with pytest.raises(InvalidPort, match=r"^x: 'nope' is not a MAC"):
        normalize_mac("nope", field="x")
    with pytest.raises(InvalidDevice) as info:
        normalize_mac("01:00:00:00:00:01", field="pf_mac_address", error=InvalidDevice)
    assert info.value.field == "pf_mac_address"


@pytest.mark.parametrize(
    ("profile", "trusted"),
    [
        ({}, False),
        ({"trusted": True}, True),
        ({"trusted": "false"}, False),
        ({"trusted": "Y"}, True),
    ],
)
def test_trusted(profile: dict[str, Any], trusted: bool) -> None:
    assert Port("n", profile=profile).trusted is trusted


def test_constructed_port_checks_trusted_and_freezes_profile() -> None:
    with pytest.raises(InvalidPort) as info:
        Port("n", profile={"trusted": "maybe"})
    assert info.value.field == "binding:profile.trusted"
    source = {"trusted": True}
    port = Port("n", VnicType.DIRECT, profile=source)
    source["trusted"] = False
    assert port.trusted
    with pytest.raises(TypeError):
        port.profile["trusted"] = False  # type: ignore[index]


def test_a_constructed_port_takes_its_vnic_type_as_a_string_or_refuses_it() -> None:
    """Regression: a port built with the string "direct-physical" kept the string, and the
    matcher (which compares with ``is``) asked for a VF instead of a whole PF."""
    port = Port("net1", "direct-physical")  # type: ignore[arg-type]
    assert port.vnic_type is VnicType.DIRECT_PHYSICAL
    request = port_request(0, port, VLAN1)
    assert request is not None
    assert request.alternatives[0].dev_types == frozenset({DevType.PF})
    with pytest.raises(InvalidPort) as info:
        Port("net1", "sriov")  # type: ignore[arg-type]
    assert info.value.field == "binding:vnic_type"


def test_every_parsed_vnic_type_is_the_enum_member() -> None:
    for vnic in VnicType:
        for raw in (vnic.value, vnic):
            port = Port.from_dict({"network": "n", "binding:vnic_type": raw})
            assert type(port.vnic_type) is VnicType and port.vnic_type is vnic


# -- requests ------------------------------------------------------------------------------


def matcher(
    physnets: set[str | None],
    dev_types: frozenset[DevType] = VF_TYPES,
    trusted: bool | None = None,
    remote_managed: bool = False,
) -> DeviceMatcher:
    return DeviceMatcher(
        dev_types=dev_types,
        physnets=frozenset(physnets),
        trusted=trusted,
        remote_managed=remote_managed,
    )


@pytest.mark.parametrize(
    ("port", "network", "expected"),
    [
        (Port("net1"), VLAN1, None),
        (Port("net1", VnicType.BAREMETAL), VLAN1, None),
        (Port("net1", VnicType.DIRECT), VLAN1, matcher({"phy1"})),
        (Port("net1", VnicType.MACVTAP), VLAN1, matcher({"phy1"})),
        (Port("net1", VnicType.VIRTIO_FORWARDER), VLAN1, matcher({"phy1"})),
        (Port("net1", VnicType.VDPA), VLAN1, matcher({"phy1"})),
        (Port("net2", VnicType.DIRECT), FLAT2, matcher({"phy2"})),
        (
            Port("net1", VnicType.DIRECT_PHYSICAL),
            VLAN1,
            matcher({"phy1"}, dev_types=frozenset({DevType.PF})),
        ),
        (
            Port("net1", VnicType.REMOTE_MANAGED),
            VLAN1,
            matcher({"phy1"}, remote_managed=True),
        ),
        # Any segment of a multi-segment network will do.
        (Port("multi", VnicType.DIRECT), MULTI, matcher({"phy1", "phy3"})),
        # Overlay segments ask for an explicit physical_network: null.
        (Port("tun", VnicType.DIRECT), TUN, matcher({None})),
        (Port("mixed", VnicType.DIRECT), MIXED, matcher({"phy9", None})),
        # Trust: required when asked, "any" otherwise.
        (
            Port("net1", VnicType.DIRECT, profile={"trusted": "true"}),
            VLAN1,
            matcher({"phy1"}, trusted=True),
        ),
        (Port("net1", VnicType.DIRECT, profile={"trusted": False}), VLAN1, matcher({"phy1"})),
    ],
)
def test_port_request(port: Port, network: Network, expected: DeviceMatcher | None) -> None:
    request = port_request(3, port, network)
    if expected is None:
        assert request is None
        return
    assert request == PciRequest(
        kind=RequestKind.PORT,
        source="3",
        count=1,
        alternatives=(expected,),
        numa_policy=NumaPolicy.LEGACY,
    )


@pytest.mark.parametrize(
    ("port_policy", "given", "expected"),
    [
        (None, NumaPolicy.LEGACY, NumaPolicy.LEGACY),
        (None, NumaPolicy.REQUIRED, NumaPolicy.REQUIRED),
        (NumaPolicy.PREFERRED, NumaPolicy.REQUIRED, NumaPolicy.PREFERRED),
        (NumaPolicy.SOCKET, NumaPolicy.LEGACY, NumaPolicy.SOCKET),
    ],
)
def test_port_request_numa_policy(
    port_policy: NumaPolicy | None, given: NumaPolicy, expected: NumaPolicy
) -> None:
    port = Port("net1", VnicType.DIRECT, numa_affinity_policy=port_policy)
    request = port_request(0, port, VLAN1, numa_policy=given)
    assert request is not None
    assert request.numa_policy is expected


@pytest.mark.parametrize(
    ("network", "servable"),
    [
        (VLAN1, {"phy1"}),
        (VLAN1, {"phy1", None}),
        (MULTI, {"phy3"}),
        (TUN, {None}),
        (MIXED, {None}),
        (MIXED, {"phy9"}),
    ],
)
def test_servable(network: Network, servable: set[str | None]) -> None:
    assert port_request(0, Port(network.name, VnicType.DIRECT), network, servable_physnets=servable)


@pytest.mark.parametrize(
    ("network", "servable", "message"),
    [
        (
            NET3,
            {"phy1", None},
            "port 1: network 'net3' (physnet phy9) cannot be served: "
            "no device in the cloud is tagged with physical_network phy9",
        ),
        (
            MULTI,
            set(),
            "network 'multi' (physnets phy1, phy3) cannot be served: "
            "no device in the cloud is tagged with physical_network phy1 or phy3",
        ),
        (TUN, {"phy1"}, "network 'tun' (overlay) cannot be served: "),
        (TUN, {"phy1"}, "tagged with physical_network null"),
        (MIXED, {"phy1"}, "(physnet phy9 and overlay)"),
        (MIXED, {"phy1"}, "tagged with physical_network phy9 or null"),
    ],
)
def test_not_servable(network: Network, servable: set[str | None], message: str) -> None:
    with pytest.raises(NetworkNotServable) as info:
        port_request(1, Port(network.name, VnicType.DIRECT), network, servable_physnets=servable)
    assert message in info.value.message
    assert info.value.field == "ports[1].network"
    assert info.value.code == "network_not_servable"


def test_normal_port_is_never_unservable() -> None:
    assert port_request(0, Port("net3"), NET3, servable_physnets=set()) is None


ALIAS = PciRequest(
    kind=RequestKind.ALIAS,
    source="gpu",
    count=2,
    alternatives=(DeviceMatcher(dev_types=frozenset({DevType.PCI})),),
    numa_policy=NumaPolicy.REQUIRED,
)


@pytest.mark.parametrize(
    ("aliases", "ports", "flavor_policy", "expected"),
    [
        ((), (), None, ()),
        ((ALIAS,), (), None, (("alias", "gpu", NumaPolicy.REQUIRED),)),
        (
            (ALIAS,),
            ((Port("net1"), VLAN1), (Port("net1", VnicType.DIRECT), VLAN1)),
            None,
            (("alias", "gpu", NumaPolicy.REQUIRED), ("port", "1", NumaPolicy.LEGACY)),
        ),
        (
            (),
            (
                (Port("tun", VnicType.DIRECT), TUN),
                (Port("net1"), VLAN1),
                (Port("net1", VnicType.DIRECT, numa_affinity_policy=NumaPolicy.SOCKET), VLAN1),
            ),
            NumaPolicy.PREFERRED,
            (("port", "0", NumaPolicy.PREFERRED), ("port", "2", NumaPolicy.SOCKET)),
        ),
        (
            # The flavor policy applies to ports only: alias requests are kept as given.
            (ALIAS, ALIAS),
            ((Port("net1", VnicType.MACVTAP), VLAN1),),
            NumaPolicy.SOCKET,
            (
                ("alias", "gpu", NumaPolicy.REQUIRED),
                ("alias", "gpu", NumaPolicy.REQUIRED),
                ("port", "0", NumaPolicy.SOCKET),
            ),
        ),
    ],
)
def test_server_requests(
    aliases: tuple[PciRequest, ...],
    ports: tuple[tuple[Port, Network], ...],
    flavor_policy: NumaPolicy | None,
    expected: tuple[tuple[str, str, NumaPolicy], ...],
) -> None:
    requests = server_requests(aliases, ports, numa_policy=flavor_policy)
    assert tuple((r.kind.value, r.source, r.numa_policy) for r in requests) == expected
    assert requests[: len(aliases)] == aliases


def test_server_requests_reports_unservable_port_by_position() -> None:
    ports = ((Port("net1", VnicType.DIRECT), VLAN1), (Port("net3", VnicType.DIRECT), NET3))
    with pytest.raises(NetworkNotServable, match=r"^port 1: network 'net3'"):
        server_requests((ALIAS,), ports, servable_physnets={"phy1"})
