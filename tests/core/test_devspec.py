"""Nova's [pci] device_spec: parsing, address forms, tags, first match wins."""

from __future__ import annotations

from typing import Any

import pytest

from pcinet.core.boolean import strict_bool
from pcinet.core.devspec import (
    DeviceSpec,
    GlobAddress,
    RegexAddress,
    apply_device_specs,
    first_match,
    parse_device_specs,
)
from pcinet.core.errors import InvalidDeviceSpec, InvalidInput
from pcinet.core.pci import DevType, PciDevice

PF_ADDR = "0000:3b:00.0"


def dev(
    address: str = "0000:0a:00.0",
    dev_type: DevType = DevType.PCI,
    parent: str | None = None,
    vendor: str = "8086",
    product: str = "1572",
    devname: str | None = None,
) -> PciDevice:
    return PciDevice(address, vendor, product, dev_type, parent, devname=devname)


def vf(address: str, parent: str = PF_ADDR, product: str = "154c", **kw: Any) -> PciDevice:
    return dev(address, DevType.VF, parent, product=product, **kw)


def parse_error(data: Any, where: str = "device_spec[2]") -> InvalidDeviceSpec:
    with pytest.raises(InvalidDeviceSpec) as info:
        DeviceSpec.parse(data, where=where)
    return info.value


# vendor_id / product_id


@pytest.mark.parametrize("key", ["vendor_id", "product_id"])
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("8086", "8086"),
        ("10DE", "10de"),
        ("0x15b3", "15b3"),
        ("0X15B3", "15b3"),
        ("1", "0001"),
        (" 8086 ", "8086"),
        ("ffff", "ffff"),
        ("*", None),
    ],
)
def test_ids_are_normalised(key: str, value: str, expected: str | None) -> None:
    assert getattr(DeviceSpec.parse({key: value}), key) == expected


@pytest.mark.parametrize("key", ["vendor_id", "product_id"])
def test_absent_id_is_any(key: str) -> None:
    assert getattr(DeviceSpec.parse({}), key) is None


@pytest.mark.parametrize("key", ["vendor_id", "product_id"])
@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("10000", "'10000' is greater than ffff"),
        ("0x1ffff", "is greater than ffff"),
        ("80g6", "'80g6' does not parse as a hex number"),
        ("", "does not parse as a hex number"),
        ("0x", "does not parse as a hex number"),
        ("-1", "does not parse as a hex number"),
        ("8_086", "does not parse as a hex number"),
        ("8*", "does not parse as a hex number"),
        (8086, "expected a hex string"),
        (None, "expected a hex string"),
    ],
)
def test_bad_ids_name_the_property(key: str, value: Any, message: str) -> None:
    err = parse_error({key: value})
    assert err.field == f"device_spec[2].{key}"
    assert err.message.startswith(f"device_spec[2].{key}: ")
    assert message in err.message


@pytest.mark.parametrize(
    ("spec", "device", "expected"),
    [
        ({"vendor_id": "8086"}, dev(vendor="8086"), True),
        ({"vendor_id": "8086"}, dev(vendor="15b3"), False),
        ({"product_id": "0x1572"}, dev(product="1572"), True),
        ({"product_id": "1572"}, dev(product="1573"), False),
        ({"vendor_id": "8086", "product_id": "1572"}, dev(), True),
        ({"vendor_id": "*", "product_id": "*"}, dev(vendor="15b3", product="1017"), True),
    ],
)
def test_ids_match(spec: dict[str, Any], device: PciDevice, expected: bool) -> None:
    assert DeviceSpec.parse(spec).match(device) is expected


# address, glob form


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0000:0a:00.1", "0000:0a:00.1"),
        (":0a:00.", "*:0a:00.*"),
        ("*:0a:00.*", "*:0a:00.*"),
        (".1", "*:*:*.1"),
        ("", "*:*:*.*"),
        (".", "*:*:*.*"),
        ("::.", "*:*:*.*"),
        ("*:*:*.*", "*:*:*.*"),
        ("1:3b:1.1", "0001:3b:01.1"),
        ("0a:00.1", "*:0a:00.1"),
        ("00", "*:*:00.*"),
        ("3.2", "*:*:03.2"),
        ("0000:0a:", "0000:0a:*.*"),
        (" 0000 : 0A : 1f . 7 ", "0000:0a:1f.7"),
        ("ffff:ff:1f.7", "ffff:ff:1f.7"),
        ("0x0a:0x1.0", "*:0a:01.0"),
    ],
)
def test_glob_address_is_normalised(text: str, expected: str) -> None:
    spec = DeviceSpec.parse({"address": text})
    assert isinstance(spec.address, GlobAddress)
    assert str(spec.address) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("10000:00:00.0", "domain '10000' is greater than ffff"),
        ("0000:fff:00.0", "bus 'fff' is greater than ff"),
        ("0000:100:00.0", "bus '100' is greater than ff"),
        ("0000:00:20.0", "slot '20' is greater than 1f"),
        ("0000:00:00.8", "function '8' is greater than 7"),
        ("0*:00:00.0", "domain '0*' does not parse as a hex number"),
        ("0000:0g:00.0", "bus '0g' does not parse as a hex number"),
        ("0000:00:0*.0", "slot '0*' does not parse as a hex number"),
        ("0000:00:00.*1", "function '*1' does not parse as a hex number"),
        ("0000:00:00.1.2", "function '1.2' does not parse as a hex number"),
        ("0000:00:00.-1", "function '-1' does not parse as a hex number"),
        ("1:2:3:4.0", "has more than 3 colon-separated parts"),
        ("0000:00:00:00", "has more than 3 colon-separated parts"),
    ],
)
def test_bad_glob_address_names_the_field(text: str, message: str) -> None:
    err = parse_error({"address": text})
    assert err.field == "device_spec[2].address"
    assert err.message.startswith("device_spec[2].address: ")
    assert message in err.message


@pytest.mark.parametrize(
    ("glob", "address", "expected"),
    [
        ("*:0a:00.*", "0000:0a:00.3", True),
        ("*:0a:00.*", "0000:0b:00.3", False),
        (":0a:00.", "0001:0a:00.7", True),
        (":0a:00.", "0001:0a:01.0", False),
        (".1", "abcd:ff:1f.1", True),
        (".1", "abcd:ff:1f.0", False),
        ("", "abcd:ff:1f.0", True),
        ("1:3b:1.1", "0001:3b:01.1", True),
        ("1:3b:1.1", "0000:3b:01.1", False),
        ("0a:00.1", "abcd:0a:00.1", True),
        ("00", "0000:05:00.4", True),
        ("00", "0000:05:01.4", False),
        ("0000:0a:00.0", "0000:0a:00.0", True),
        ("0000:0a:00.0", "0000:0a:00.1", False),
    ],
)
def test_glob_address_match(glob: str, address: str, expected: bool) -> None:
    assert DeviceSpec.parse({"address": glob}).match(dev(address)) is expected


# address, regex form


@pytest.mark.parametrize(
    ("pattern", "address", "expected"),
    [
        ({"bus": "0a"}, "0000:0a:00.1", True),
        ({"bus": "0"}, "0000:0a:00.1", True),  # a prefix match, not fullmatch
        ({"bus": "a"}, "0000:0a:00.1", False),  # anchored at the start
        ({"bus": "0a$"}, "0000:0a:00.1", True),
        ({"function": "[0-2]"}, "0000:0a:00.2", True),
        ({"function": "[0-2]"}, "0000:0a:00.3", False),
        ({"slot": "1"}, "0000:0a:1f.0", True),
        ({"slot": "1"}, "0000:0a:01.0", False),  # fields are zero padded
        ({"domain": "0000"}, "0001:0a:01.0", False),
        ({"domain": ".*", "bus": "02", "slot": "01", "function": "[0-2]"}, "0000:02:01.2", True),
        ({}, "ffff:ff:1f.7", True),
        ({"bus": "fff"}, "0000:ff:00.0", False),  # no range check: parses, never matches
    ],
)
def test_regex_address_match(pattern: dict[str, str], address: str, expected: bool) -> None:
    spec = DeviceSpec.parse({"address": pattern})
    assert isinstance(spec.address, RegexAddress)
    assert spec.match(dev(address)) is expected


@pytest.mark.parametrize(
    ("address", "message"),
    [
        ({"bus": "["}, "bus pattern '[' does not compile"),
        ({"function": "(0"}, "function pattern '(0' does not compile"),
        ({"bus": 10}, "bus pattern must be a string"),
        ({"bogus": "0"}, "unknown key 'bogus'"),
        ({"func": "0"}, "unknown key 'func'"),
        (5, "is neither a string"),
        (["0000:00:00.0"], "is neither a string"),
        (True, "is neither a string"),
    ],
)
def test_bad_address_is_a_format_error(address: Any, message: str) -> None:
    err = parse_error({"address": address})
    assert err.field == "device_spec[2].address"
    assert message in err.message


# a concrete PF address also selects its VFs


@pytest.mark.parametrize(
    ("spec", "device", "expected"),
    [
        ({"address": PF_ADDR}, dev(PF_ADDR, DevType.PF), True),
        ({"address": PF_ADDR}, vf("0000:3b:02.0"), True),
        ({"address": "1:3b:0.0"}, vf("0001:3b:02.1", parent="0001:3b:00.0"), True),
        ({"address": PF_ADDR}, vf("0000:3b:02.0", parent="0000:3b:00.1"), False),
        ({"address": "3b:00.0"}, vf("0000:3b:02.0"), False),  # domain is a wildcard
        ({"address": "0000:3b:00."}, vf("0000:3b:02.0"), False),
        ({"address": "0000:3b:00.*"}, vf("0000:3b:02.0"), False),
        (
            {"address": {"domain": "0000", "bus": "3b", "slot": "00", "function": "0"}},
            vf("0000:3b:02.0"),
            False,
        ),
        # the ids are checked on the VF itself
        ({"address": PF_ADDR, "product_id": "1572"}, vf("0000:3b:02.0", product="154c"), False),
        ({"address": PF_ADDR, "product_id": "154c"}, vf("0000:3b:02.0", product="154c"), True),
    ],
)
def test_single_pf_address_matches_its_vfs(
    spec: dict[str, Any], device: PciDevice, expected: bool
) -> None:
    assert DeviceSpec.parse(spec).match(device) is expected


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"address": PF_ADDR}, True),
        ({"address": "1:3b:0.0"}, True),
        ({"address": "3b:00.0"}, False),
        ({"address": "0000:3b:00."}, False),
        ({"address": "0000:3b:*.0"}, False),
        ({"address": {"domain": "0000", "bus": "3b", "slot": "00", "function": "0"}}, False),
        ({"devname": "ens1f0"}, False),
        ({}, False),
    ],
)
def test_is_single_address(spec: dict[str, Any], expected: bool) -> None:
    assert DeviceSpec.parse(spec).is_single_address is expected


# devname


@pytest.mark.parametrize(
    ("device", "parent_devname", "expected"),
    [
        (dev(PF_ADDR, DevType.PF, devname="ens1f0"), None, True),
        (dev(PF_ADDR, DevType.PF, devname="ens1f1"), None, False),
        (dev(PF_ADDR, DevType.PF), None, False),
        (vf("0000:3b:02.0", devname="ens1f0"), None, True),
        (vf("0000:3b:02.0"), "ens1f0", True),  # a VF of the named PF
        (vf("0000:3b:02.0"), "ens1f1", False),
        (vf("0000:3b:02.0", devname="ens1f0v0"), "ens1f1", False),
        (dev("0000:0a:00.0", devname="eth0"), "ens1f0", False),  # no parent: not a VF
    ],
)
def test_devname_match(device: PciDevice, parent_devname: str | None, expected: bool) -> None:
    spec = DeviceSpec.parse({"devname": "ens1f0"})
    assert spec.address is None
    assert spec.match(device, parent_devname=parent_devname) is expected


@pytest.mark.parametrize(
    ("spec", "field", "message"),
    [
        ({"devname": "eth0", "address": "0000:0a:00.0"}, "address", "cannot be used together"),
        ({"devname": "eth0", "address": {"bus": "0a"}}, "address", "cannot be used together"),
        ({"devname": 5}, "devname", "expected an interface name"),
        ({"devname": " "}, "devname", "expected an interface name"),
    ],
)
def test_bad_devname(spec: dict[str, Any], field: str, message: str) -> None:
    err = parse_error(spec)
    assert err.field == f"device_spec[2].{field}"
    assert message in err.message


def test_neither_address_nor_devname_matches_every_address() -> None:
    spec = DeviceSpec.parse({"physical_network": "phy1"})
    assert spec.address is None and spec.devname is None
    assert all(spec.match(d) for d in (dev("ffff:ff:1f.7"), vf("0000:3b:02.0")))


# tags


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("managed", "yes", "true"),
        ("managed", "No", "false"),
        ("managed", " TRUE ", "true"),
        ("managed", True, "true"),
        ("managed", 0, "false"),
        ("managed", None, None),
        ("live_migratable", "1", "true"),
        ("live_migratable", "t", "true"),
        ("live_migratable", "n", "false"),
        ("one_time_use", "off", "false"),
        ("one_time_use", "on", "true"),
        ("trusted", "yes", "yes"),
        ("trusted", True, True),
        ("remote_managed", "True", "True"),
        ("physical_network", "phy1", "phy1"),
        ("physical_network", None, None),
        ("resource_class", "CUSTOM_GPU", "CUSTOM_GPU"),
        ("custom", {"a": [1]}, {"a": [1]}),
    ],
)
def test_tags_are_kept_and_normalised(key: str, value: Any, expected: Any) -> None:
    spec = DeviceSpec.parse({"vendor_id": "8086", key: value})
    assert dict(spec.tags) == {key: expected}


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("managed", "maybe", "'maybe' is not a boolean"),
        ("managed", "", "is not a boolean"),
        ("managed", 1.0, "is not a boolean"),
        ("live_migratable", 2, "2 is not a boolean"),
        ("one_time_use", "yes please", "is not a boolean"),
        ("physical_network", 5, "expected a string or null"),
        ("physical_network", ["phy1"], "expected a string or null"),
    ],
)
def test_bad_tags_name_the_tag(key: str, value: Any, message: str) -> None:
    err = parse_error({key: value})
    assert err.field == f"device_spec[2].{key}"
    assert err.message.startswith(f"device_spec[2].{key}: ")
    assert message in err.message


def test_tags_are_read_only() -> None:
    spec = DeviceSpec.parse({"physical_network": "phy1"})
    with pytest.raises(TypeError):
        spec.tags["physical_network"] = "phy2"  # type: ignore[index]


_TRUE_WORDS: list[Any] = ["1", "t", "true", "on", "y", "yes", "YES", " On ", 1, True]
_FALSE_WORDS: list[Any] = ["0", "f", "false", "off", "n", "no", "Off", 0, False]


@pytest.mark.parametrize(
    ("value", "expected"),
    [(w, True) for w in _TRUE_WORDS] + [(w, False) for w in _FALSE_WORDS],
)
def test_strict_bool(value: Any, expected: bool) -> None:
    assert strict_bool(value, field="managed", ints=True) is expected


@pytest.mark.parametrize("value", ["maybe", "", "2", 2, -1, 1.0, None, "truee"])
def test_strict_bool_rejects(value: Any) -> None:
    with pytest.raises(InvalidInput, match=r"^managed: .* is not a boolean") as caught:
        strict_bool(value, field="managed", ints=True)
    assert caught.value.field == "managed"


@pytest.mark.parametrize("value", [1, 0])
def test_strict_bool_takes_integers_only_when_asked(value: int) -> None:
    """Nova's device spec and alias flags take 1 and 0; Neutron's JSON port flags do not."""
    with pytest.raises(InvalidInput, match="is not a boolean"):
        strict_bool(value, field="admin_state_up")


# spec shapes and error locations


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("[1, 2]", "expected an object"),
        ('"0000:0a:00.0"', "expected an object"),
        ("{not json", "not valid JSON"),
        (5, "expected an object"),
        (["address"], "expected an object"),
    ],
)
def test_spec_must_be_an_object(data: Any, message: str) -> None:
    err = parse_error(data)
    assert err.field == "device_spec[2]"
    assert message in err.message


def test_json_text_is_parsed() -> None:
    spec = DeviceSpec.parse('{"vendor_id": "8086", "address": ":0a:00.", "physical_network": null}')
    assert (spec.vendor_id, str(spec.address), dict(spec.tags)) == (
        "8086",
        "*:0a:00.*",
        {"physical_network": None},
    )


def test_parse_device_specs_names_the_entry() -> None:
    items: list[Any] = [
        {"vendor_id": "8086"},
        '{"product_id": "1572"}',
        {"address": "0000:fff:00.0"},
    ]
    with pytest.raises(InvalidDeviceSpec) as info:
        parse_device_specs(items)
    assert info.value.field == "device_spec[2].address"
    assert info.value.message == "device_spec[2].address: bus 'fff' is greater than ff"


def test_parse_device_specs_flattens_a_json_list() -> None:
    specs = parse_device_specs(['[{"vendor_id": "8086"}, {"vendor_id": "10de"}]', {"devname": "x"}])
    assert [s.vendor_id for s in specs] == ["8086", "10de", None]
    with pytest.raises(InvalidDeviceSpec) as info:
        parse_device_specs(['{"devname": "x"}', '[{"vendor_id": "8086"}, {"managed": "maybe"}]'])
    assert info.value.field == "device_spec[1][1].managed"


# first match wins


SPECS = parse_device_specs(
    [
        {"address": "0000:3b:00.0", "physical_network": "phy1", "trusted": "true"},
        {"vendor_id": "8086", "address": "*:3b:*.*", "physical_network": "phy2"},
        {"vendor_id": "15b3", "physical_network": None},
        {"devname": "ens2f0", "physical_network": "phy3"},
    ]
)


@pytest.mark.parametrize(
    ("device", "expected"),
    [
        (dev(PF_ADDR, DevType.PF), 0),
        (vf("0000:3b:02.0"), 0),  # through its PF, before the broader spec 1
        (dev("0000:3b:00.1", DevType.PF), 1),
        (vf("0000:3b:0a.0", parent="0000:3b:00.1"), 1),
        (dev("0000:5e:00.0", vendor="15b3"), 2),
        (dev("0000:5e:00.0", vendor="10de", devname="ens2f0"), 3),
        (dev("0000:5e:00.0", vendor="10de"), None),
    ],
)
def test_first_match(device: PciDevice, expected: int | None) -> None:
    assert first_match(SPECS, device) == expected


def test_apply_device_specs_tags_with_the_first_matching_spec() -> None:
    devices = [
        dev("0000:5e:00.0", vendor="10de"),  # no spec: dropped
        vf("0000:3b:02.0"),
        dev("0000:3b:00.1", DevType.PF).with_tags({"stale": "x"}),
        dev("0000:5e:00.1", vendor="15b3"),
        dev("0000:86:00.0", DevType.PF, vendor="10de", devname="ens2f0"),
        vf("0000:86:02.0", parent="0000:86:00.0", vendor="10de"),  # via its PF's devname
        vf("0000:87:02.0", parent="0000:87:00.0", vendor="10de"),
    ]
    out = apply_device_specs(SPECS, devices)
    assert [(d.address, i) for d, i in out] == [
        ("0000:3b:02.0", 0),
        ("0000:3b:00.1", 1),
        ("0000:5e:00.1", 2),
        ("0000:86:00.0", 3),
        ("0000:86:02.0", 3),
    ]
    tags = [dict(d.tags) for d, _ in out]
    assert tags[0] == {"physical_network": "phy1", "trusted": "true"}
    assert tags[1] == {"physical_network": "phy2"}  # the device's own tags are replaced
    assert tags[2] == {"physical_network": None}
    assert out[0][0] == devices[1].with_tags(SPECS[0].tags)


def test_apply_device_specs_without_specs_selects_nothing() -> None:
    assert apply_device_specs((), [dev()]) == []
