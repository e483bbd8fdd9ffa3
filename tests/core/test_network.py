"""Networks and segments: Neutron's two shapes, per-type rules, clashes."""

from __future__ import annotations

from typing import Any

import pytest

from pcinet.core.errors import InvalidNetwork
from pcinet.core.network import (
    OVERLAY_TYPES,
    Network,
    NetworkType,
    Segment,
    describe_physnets,
)

NT, PN, SID = "provider:network_type", "provider:physical_network", "provider:segmentation_id"


def seg(net_type: str, physnet: str | None = None, seg_id: int | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {NT: net_type}
    if physnet is not None:
        out[PN] = physnet
    if seg_id is not None:
        out[SID] = seg_id
    return out


def test_overlay_types() -> None:
    assert {NetworkType.VXLAN, NetworkType.GENEVE, NetworkType.GRE} == OVERLAY_TYPES


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (seg("vlan", "phy1", 1), Segment(NetworkType.VLAN, "phy1", 1)),
        (seg("vlan", "phy1", 4094), Segment(NetworkType.VLAN, "phy1", 4094)),
        (seg("flat", "phy2"), Segment(NetworkType.FLAT, "phy2", None)),
        ({NT: "flat", PN: "phy2", SID: None}, Segment(NetworkType.FLAT, "phy2", None)),
        (seg("vxlan"), Segment(NetworkType.VXLAN, None, None)),
        ({NT: "vxlan", PN: None, SID: 16777215}, Segment(NetworkType.VXLAN, None, 16777215)),
        (seg("geneve", seg_id=1), Segment(NetworkType.GENEVE, None, 1)),
        (seg("gre", seg_id=2**32 - 1), Segment(NetworkType.GRE, None, 2**32 - 1)),
    ],
)
def test_segment_valid(data: dict[str, Any], expected: Segment) -> None:
    segment = Segment.from_dict(data, where="s")
    assert segment == expected
    assert Segment.from_dict(segment.to_dict(), where="s") == segment


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ("vlan", "s", "expected an object"),
        ({PN: "phy1"}, f"s.{NT}", "required property is missing"),
        (seg("ethernet"), f"s.{NT}", "'ethernet' is not one of flat, vlan, vxlan, geneve, gre"),
        ({**seg("vlan", "phy1", 5), "mtu": 1500}, "s.mtu", "unknown segment property"),
        (seg("vlan", seg_id=5), f"s.{PN}", "a vlan segment needs a physical network"),
        ({NT: "vlan", PN: "", SID: 5}, f"s.{PN}", "got ''"),
        ({NT: "vlan", PN: 7, SID: 5}, f"s.{PN}", "got 7"),
        (seg("flat"), f"s.{PN}", "a flat segment needs a physical network"),
        (seg("vlan", "phy1"), f"s.{SID}", "a vlan segment needs a VLAN id (1-4094)"),
        (seg("vlan", "phy1", 0), f"s.{SID}", "VLAN 0 is outside 1-4094"),
        (seg("vlan", "phy1", 4095), f"s.{SID}", "VLAN 4095 is outside 1-4094"),
        ({NT: "vlan", PN: "phy1", SID: "100"}, f"s.{SID}", "expected an integer, got '100'"),
        ({NT: "vlan", PN: "phy1", SID: True}, f"s.{SID}", "expected an integer, got True"),
        (seg("flat", "phy1", 100), f"s.{SID}", "a flat segment has no segmentation id"),
        (seg("vxlan", "phy1"), f"s.{PN}", "a vxlan segment has no physical network"),
        (seg("gre", "phy1"), f"s.{PN}", "a gre segment has no physical network"),
        (seg("vxlan", seg_id=0), f"s.{SID}", "VNI 0 is outside 1-16777215"),
        (seg("geneve", seg_id=2**24), f"s.{SID}", "VNI 16777216 is outside 1-16777215"),
        (seg("gre", seg_id=2**32), f"s.{SID}", "GRE key 4294967296 is outside 1-4294967295"),
        (seg("gre", seg_id=-1), f"s.{SID}", "GRE key -1 is outside"),
    ],
)
def test_segment_invalid(data: Any, field: str, message: str) -> None:
    with pytest.raises(InvalidNetwork) as info:
        Segment.from_dict(data, where="s")
    assert info.value.field == field
    assert message in info.value.message
    assert info.value.message.startswith(f"{field}: ")


def test_unset_vlan_only_when_allowed() -> None:
    segment = Segment.from_dict(seg("vlan", "phy1"), where="s", allow_unset_vlan=True)
    assert segment == Segment(NetworkType.VLAN, "phy1", None)
    net = Network.from_dict({"name": "n", **seg("vlan", "phy1")}, allow_unset_vlan=True)
    assert net.segments == (segment,)
    with pytest.raises(InvalidNetwork):
        Network.from_dict({"name": "n", **seg("vlan", "phy1")})


@pytest.mark.parametrize(
    ("data", "segments", "physnets"),
    [
        (
            {"name": "net1", **seg("vlan", "phy1", 100)},
            (Segment(NetworkType.VLAN, "phy1", 100),),
            {"phy1"},
        ),
        (
            {"name": "flat", **seg("flat", "phy2")},
            (Segment(NetworkType.FLAT, "phy2", None),),
            {"phy2"},
        ),
        ({"name": "tun", NT: "vxlan"}, (Segment(NetworkType.VXLAN, None, None),), {None}),
        (
            {"name": "multi", "segments": [seg("vlan", "phy1", 10), seg("vlan", "phy2", 10)]},
            (Segment(NetworkType.VLAN, "phy1", 10), Segment(NetworkType.VLAN, "phy2", 10)),
            {"phy1", "phy2"},
        ),
        (
            {"name": "mixed", "segments": [seg("vxlan", seg_id=7), seg("vlan", "phy1", 7)]},
            (Segment(NetworkType.VXLAN, None, 7), Segment(NetworkType.VLAN, "phy1", 7)),
            {None, "phy1"},
        ),
        (
            # Same physnet, different VLANs: fine.
            {"name": "two", "segments": [seg("vlan", "phy1", 10), seg("vlan", "phy1", 11)]},
            (Segment(NetworkType.VLAN, "phy1", 10), Segment(NetworkType.VLAN, "phy1", 11)),
            {"phy1"},
        ),
        (
            # Flat and vlan on one physnet are different wires (untagged, tagged).
            {"name": "fv", "segments": [seg("flat", "phy1"), seg("vlan", "phy1", 11)]},
            (Segment(NetworkType.FLAT, "phy1", None), Segment(NetworkType.VLAN, "phy1", 11)),
            {"phy1"},
        ),
        (
            # Ignored Neutron properties.
            {
                "name": "all",
                **seg("vlan", "phy1", 5),
                "shared": False,
                "description": "",
                "admin_state_up": True,
                "mtu": 1500,
                "project_id": "p",
                "tenant_id": "p",
                "router:external": False,
                "status": "ACTIVE",
            },
            (Segment(NetworkType.VLAN, "phy1", 5),),
            {"phy1"},
        ),
    ],
)
def test_network_valid(
    data: dict[str, Any], segments: tuple[Segment, ...], physnets: set[str | None]
) -> None:
    net = Network.from_dict(data)
    assert net.name == data["name"]
    assert net.segments == segments
    assert net.physnets == frozenset(physnets)
    assert net.id is None
    assert Network.from_dict(net.to_dict()) == net


def test_network_id_kept_and_round_trips() -> None:
    net = Network.from_dict({"id": "abc", "name": "n", **seg("flat", "phy1")})
    assert net.id == "abc"
    assert net.to_dict() == {"id": "abc", "name": "n", NT: "flat", PN: "phy1", SID: None}
    assert Network.from_dict(net.to_dict()) == net


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (["x"], "networks[1]", "expected an object"),
        ({NT: "flat", PN: "phy1"}, "networks[1].name", "expected a non-empty string, got None"),
        ({"name": "", NT: "flat", PN: "p"}, "networks[1].name", "non-empty string"),
        ({"name": 3, NT: "flat", PN: "p"}, "networks[1].name", "got 3"),
        ({"name": "n", "id": 3, NT: "flat", PN: "p"}, "networks[1].id", "got 3"),
        ({"name": "n", "colour": "red", NT: "flat"}, "networks[1].colour", "unknown network"),
        ({"name": "n"}, f"networks[1].{NT}", "needs provider:network_type or a segments list"),
        (
            {"name": "n", NT: "vlan", "segments": [seg("vlan", "p", 1)]},
            "networks[1].segments",
            "cannot be combined with provider:*",
        ),
        (
            {"name": "n", SID: 3, "segments": [seg("vlan", "p", 1)]},
            "networks[1].segments",
            "cannot be combined",
        ),
        ({"name": "n", "segments": []}, "networks[1].segments", "non-empty list"),
        ({"name": "n", "segments": "vlan"}, "networks[1].segments", "non-empty list"),
        ({"name": "n", PN: "phy1"}, f"networks[1].{NT}", "required property is missing"),
        (
            {"name": "n", **seg("vlan", "phy1", 5000)},
            f"networks[1].{SID}",
            "VLAN 5000 is outside 1-4094",
        ),
        (
            {"name": "n", "segments": [seg("vxlan", seg_id=3), seg("vlan", "phy1", 5000)]},
            f"networks[1].segments[1].{SID}",
            "networks[1].segments[1].provider:segmentation_id: VLAN 5000 is outside 1-4094",
        ),
        (
            {"name": "n", "segments": [seg("vlan", "phy1", 3), "x"]},
            "networks[1].segments[1]",
            "expected an object",
        ),
        (
            {"name": "n", "segments": [{**seg("vlan", "phy1", 3), "name": "s"}]},
            "networks[1].segments[0].name",
            "unknown segment property",
        ),
        (
            {"name": "n", "segments": [seg("vlan", "phy1", 3), seg("vlan", "phy1", 3)]},
            f"networks[1].segments[1].{SID}",
            "VLAN 3 on physnet phy1 is already used by segments[0]",
        ),
        (
            {"name": "n", "segments": [seg("flat", "phy1"), seg("flat", "phy1")]},
            f"networks[1].segments[1].{PN}",
            "physnet phy1 already has a flat segment (segments[0])",
        ),
        (
            {
                "name": "n",
                "segments": [seg("vxlan", seg_id=9), seg("vlan", "p", 9), seg("vxlan", seg_id=9)],
            },
            f"networks[1].segments[2].{SID}",
            "vxlan id 9 is already used by segments[0]",
        ),
    ],
)
def test_network_invalid(data: Any, field: str, message: str) -> None:
    with pytest.raises(InvalidNetwork) as info:
        Network.from_dict(data, where="networks[1]")
    assert info.value.field == field
    assert message in info.value.message
    assert info.value.code == "invalid_network"


def test_unset_vlans_on_one_physnet_do_not_clash() -> None:
    data = {"name": "n", "segments": [seg("vlan", "phy1"), seg("vlan", "phy1")]}
    net = Network.from_dict(data, allow_unset_vlan=True)
    assert len(net.segments) == 2


def test_default_where_is_network() -> None:
    with pytest.raises(InvalidNetwork) as info:
        Network.from_dict({"name": "n"})
    assert info.value.field == f"network.{NT}"


MULTI = Network(
    "multi",
    (
        Segment(NetworkType.VLAN, "phy1", 10),
        Segment(NetworkType.VXLAN, None, 5),
        Segment(NetworkType.VLAN, "phy1", 11),
        Segment(NetworkType.VLAN, "phy2", 12),
        Segment(NetworkType.GRE, None, 6),
    ),
)


@pytest.mark.parametrize(
    ("physnet", "expected"),
    [
        ("phy1", MULTI.segments[0]),
        ("phy2", MULTI.segments[3]),
        (None, MULTI.segments[1]),
        ("phy3", None),
        ("", None),
    ],
)
def test_segment_for_physnet(physnet: str | None, expected: Segment | None) -> None:
    assert MULTI.segment_for_physnet(physnet) == expected


def test_multi_segment_to_dict_uses_segments() -> None:
    out = MULTI.to_dict()
    assert NT not in out
    assert out["segments"][1] == {NT: "vxlan", PN: None, SID: 5}
    assert Network.from_dict(out) == MULTI


@pytest.mark.parametrize(
    ("physnets", "words"),
    [
        ({"phy1"}, "physnet phy1"),
        ({"phy2", "phy1"}, "physnets phy1, phy2"),
        ({None}, "overlay"),
        ({"phy1", None}, "physnet phy1 and overlay"),
        (set(), "no segment"),
    ],
)
def test_describe_physnets(physnets: set[str | None], words: str) -> None:
    assert describe_physnets(frozenset(physnets)) == words


def test_is_overlay() -> None:
    assert Segment(NetworkType.GENEVE, None, None).is_overlay
    assert not Segment(NetworkType.FLAT, "p", None).is_overlay
