"""``network_vlan_ranges`` parsing (pure: pcinet.core.vlan)."""

from __future__ import annotations

import pytest

from pcinet.core.errors import InvalidInput
from pcinet.core.vlan import VlanRanges, parse_vlan_ranges


def test_parse_keeps_order_and_bare_physnet_means_every_vlan() -> None:
    assert parse_vlan_ranges("phy1:100:199, phy2 ,phy1:300:310,") == {
        "phy1": [(100, 199), (300, 310)],
        "phy2": [(1, 4094)],
    }
    assert parse_vlan_ranges("") == {}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("phy1:a:10", "entry 'phy1:a:10': minimum 'a' is not an integer"),
        ("phy1:10:", "entry 'phy1:10:': maximum '' is not an integer"),
        ("phy1:200:100", "entry 'phy1:200:100': minimum 200 is greater than maximum 100"),
        ("phy1:0:10", "minimum 0 is outside 1-4094"),
        ("phy1:10:4095", "maximum 4095 is outside 1-4094"),
        ("phy1:10", "entry 'phy1:10' is not of the form physnet or physnet:min:max"),
        (":1:2", "entry ':1:2' has an empty physnet"),
    ],
)
def test_errors_name_the_entry(text: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message) as info:
        parse_vlan_ranges(text, field="PCINET_NETWORK_VLAN_RANGES")
    assert info.value.field == "PCINET_NETWORK_VLAN_RANGES"
    assert str(info.value).startswith("PCINET_NETWORK_VLAN_RANGES: ")


def test_vlan_ranges_contains_and_iterates_candidates_in_order() -> None:
    ranges = VlanRanges.parse("phy2:5:6,phy1:10:12,phy2:1:2,phy2:6:7,phy1:11:11")
    assert ranges.physnets == ("phy2", "phy1")
    assert ranges.contains("phy1", 12) and not ranges.contains("phy1", 13)
    assert not ranges.contains("phy3", 5)
    assert list(ranges) == [
        ("phy2", 1),
        ("phy2", 2),
        ("phy2", 5),
        ("phy2", 6),
        ("phy2", 7),
        ("phy1", 10),
        ("phy1", 11),
        ("phy1", 12),
    ]
    assert len(list(VlanRanges.parse("phy1").vlans("phy1"))) == 4094
    assert list(VlanRanges()) == []
