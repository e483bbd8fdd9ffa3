"""Nova's [pci] alias and the flavor extra spec pci_passthrough:alias."""

from __future__ import annotations

from typing import Any

import pytest

from pcinet.core.alias import (
    Alias,
    AliasSpec,
    alias_requests,
    parse_alias_extra_spec,
    parse_aliases,
    parse_pci_numa_policy,
)
from pcinet.core.errors import InvalidAlias, InvalidFlavor
from pcinet.core.pci import DevType
from pcinet.core.request import DeviceMatcher, NumaPolicy, RequestKind

GPU = {"name": "gpu", "vendor_id": "10de", "product_id": "2236"}


def one_spec(entry: dict[str, Any] | str) -> AliasSpec:
    aliases = parse_aliases([entry])
    (alias,) = aliases.values()
    (spec,) = alias.specs
    return spec


def alias_error(items: list[Any]) -> InvalidAlias:
    with pytest.raises(InvalidAlias) as info:
        parse_aliases(items)
    return info.value


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        (GPU, AliasSpec(vendor_id="10de", product_id="2236")),
        ({"name": "gpu", "vendor_id": "10DE", "product_id": "22aB"}, AliasSpec("10de", "22ab")),
        ({"name": "any"}, AliasSpec()),
        ({"name": "vf", "device_type": "type-VF"}, AliasSpec(device_type=DevType.VF)),
        ({"name": "pf", "device_type": "type-PF"}, AliasSpec(device_type=DevType.PF)),
        ({"name": "p", "device_type": "type-PCI"}, AliasSpec(device_type=DevType.PCI)),
        ({"name": "n", "numa_policy": "required"}, AliasSpec(numa_policy=NumaPolicy.REQUIRED)),
        ({"name": "n", "numa_policy": "legacy"}, AliasSpec(numa_policy=NumaPolicy.LEGACY)),
        ({"name": "n", "numa_policy": "preferred"}, AliasSpec(numa_policy=NumaPolicy.PREFERRED)),
        ({"name": "n", "numa_policy": "socket"}, AliasSpec(numa_policy=NumaPolicy.SOCKET)),
        ({"name": "rc", "resource_class": "CUSTOM_GPU"}, AliasSpec(resource_class="CUSTOM_GPU")),
        (
            {"name": "t", "traits": " HW_GPU_API_CUDA, CUSTOM_A ,"},
            AliasSpec(traits=frozenset({"HW_GPU_API_CUDA", "CUSTOM_A"})),
        ),
        ({"name": "t", "traits": ""}, AliasSpec()),
        ({"name": "lm", "live_migratable": "yes"}, AliasSpec(live_migratable=True)),
        ({"name": "lm", "live_migratable": "False"}, AliasSpec(live_migratable=False)),
        ({"name": "lm", "live_migratable": True}, AliasSpec(live_migratable=True)),
        ({"name": "c", "capability_type": "pci"}, AliasSpec()),
        ('{"name": "gpu", "vendor_id": "10de", "product_id": "2236"}', AliasSpec("10de", "2236")),
    ],
)
def test_alias_entry(entry: dict[str, Any] | str, expected: AliasSpec) -> None:
    assert one_spec(entry) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [(" gpu ", "gpu"), ("a" * 256, "a" * 256), ("my gpu-1_x", "my gpu-1_x")],
)
def test_alias_name(name: str, expected: str) -> None:
    assert list(parse_aliases([{"name": name}])) == [expected]


@pytest.mark.parametrize(
    ("entry", "prop", "message"),
    [
        ({}, "name", "expected a name of 1 to 256 characters"),
        ({"name": ""}, "name", "expected a name"),
        ({"name": "  "}, "name", "expected a name"),
        ({"name": "a" * 257}, "name", "expected a name of 1 to 256"),
        ({"name": 5}, "name", "expected a name"),
        ({"name": "a:b"}, "name", "without ':' or ','"),
        ({"name": "a,b"}, "name", "without ':' or ','"),
        ({**GPU, "vendor": "10de"}, "vendor", "unknown property (alias 'gpu')"),
        ({**GPU, "device_id": "1"}, "device_id", "unknown property"),
        ({**GPU, "vendor_id": "10d"}, "vendor_id", "'10d' is not 4 hex digits (alias 'gpu')"),
        ({**GPU, "vendor_id": "0x10de"}, "vendor_id", "is not 4 hex digits"),
        ({**GPU, "vendor_id": "10dex"}, "vendor_id", "is not 4 hex digits"),
        ({**GPU, "vendor_id": 4318}, "vendor_id", "expected a string"),
        ({**GPU, "product_id": "ggg1"}, "product_id", "is not 4 hex digits"),
        ({**GPU, "product_id": "22361"}, "product_id", "is not 4 hex digits"),
        ({**GPU, "device_type": "type-VDPA"}, "device_type", "'type-VDPA' is not one of"),
        ({**GPU, "device_type": "VF"}, "device_type", "is not one of type-PCI, type-PF, type-VF"),
        ({**GPU, "numa_policy": "strict"}, "numa_policy", "'strict' is not one of"),
        ({**GPU, "numa_policy": ""}, "numa_policy", "is not one of"),
        ({**GPU, "capability_type": "gpu"}, "capability_type", "is not one of pci"),
        ({**GPU, "live_migratable": "maybe"}, "live_migratable", "'maybe' is not a boolean"),
        ({**GPU, "resource_class": ""}, "resource_class", "must not be empty"),
        ({**GPU, "resource_class": 5}, "resource_class", "expected a string"),
        ({**GPU, "traits": ["A"]}, "traits", "expected a string"),
    ],
)
def test_bad_alias_names_index_and_property(entry: Any, prop: str, message: str) -> None:
    err = alias_error([{"name": "ok"}, entry])
    assert err.field == f"alias[1].{prop}"
    assert err.message.startswith(f"alias[1].{prop}: ")
    assert message in err.message


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("[]", "expected an object"),
        ("{bad", "not valid JSON"),
        (5, "expected an object"),
        ([GPU], "expected an object"),
    ],
)
def test_alias_must_be_an_object(entry: Any, message: str) -> None:
    err = alias_error([entry])
    assert err.field == "alias[0]"
    assert message in err.message


def test_where_prefixes_errors() -> None:
    with pytest.raises(InvalidAlias) as info:
        parse_aliases([{"name": "x", "vendor_id": "1"}], where="cloud.alias")
    assert info.value.field == "cloud.alias[0].vendor_id"


# repeated names are alternatives


def test_repeated_name_adds_alternatives_in_order() -> None:
    aliases = parse_aliases(
        [
            {"name": "qat", "vendor_id": "8086", "product_id": "0443", "device_type": "type-PCI"},
            {"name": "nic", "vendor_id": "8086", "product_id": "154c"},
            {"name": "qat", "vendor_id": "8086", "product_id": "0442", "device_type": "type-PCI"},
        ]
    )
    assert list(aliases) == ["qat", "nic"]
    qat = aliases["qat"]
    assert [s.product_id for s in qat.specs] == ["0443", "0442"]
    assert qat.device_type is DevType.PCI
    assert qat.numa_policy is NumaPolicy.LEGACY
    assert aliases["nic"] == Alias("nic", (AliasSpec("8086", "154c"),))


@pytest.mark.parametrize(
    ("first", "second", "agree"),
    [
        ({"device_type": "type-VF"}, {"device_type": "type-VF"}, True),
        ({}, {}, True),
        ({"numa_policy": "legacy"}, {}, True),  # legacy is the default
        ({"numa_policy": "required"}, {"numa_policy": "required"}, True),
        ({"device_type": "type-VF"}, {"device_type": "type-PF"}, False),
        ({}, {"device_type": "type-PCI"}, False),
        ({"numa_policy": "required"}, {"numa_policy": "preferred"}, False),
        ({"numa_policy": "socket"}, {}, False),
    ],
)
def test_alternatives_must_agree(
    first: dict[str, str], second: dict[str, str], agree: bool
) -> None:
    items = [{"name": "gpu", **first}, {"name": "other"}, {"name": "gpu", **second}]
    if agree:
        assert len(parse_aliases(items)["gpu"].specs) == 2
        return
    err = alias_error(items)
    (prop,) = {k for k in ("device_type", "numa_policy") if first.get(k) != second.get(k)}
    assert err.field == f"alias[2].{prop}"
    assert "alias 'gpu'" in err.message
    assert "alias[0]" in err.message
    assert "must agree" in err.message


# the matcher


@pytest.mark.parametrize(
    ("spec", "dev_types"),
    [
        (AliasSpec(), {DevType.PCI, DevType.VF}),
        (AliasSpec(device_type=DevType.PF), {DevType.PF}),
        (AliasSpec(device_type=DevType.VF), {DevType.VF}),
        (AliasSpec(device_type=DevType.PCI), {DevType.PCI}),
    ],
)
def test_matcher_device_types(spec: AliasSpec, dev_types: set[DevType]) -> None:
    assert spec.matcher().dev_types == frozenset(dev_types)


def test_matcher_passes_the_spec_through() -> None:
    spec = AliasSpec("10de", "2236", None, NumaPolicy.SOCKET, "CUSTOM_GPU", frozenset({"T1"}), True)
    assert spec.matcher() == DeviceMatcher(
        dev_types=frozenset({DevType.PCI, DevType.VF}),
        vendor_id="10de",
        product_id="2236",
        physnets=None,
        trusted=None,
        remote_managed=False,
        resource_class="CUSTOM_GPU",
        traits=frozenset({"T1"}),
    )


@pytest.mark.parametrize(
    ("dev_type", "tags", "expected"),
    [
        (DevType.VF, {}, True),
        (DevType.PCI, {"physical_network": "phy1"}, True),  # physnet does not matter
        (DevType.VF, {"physical_network": None}, True),
        (DevType.PF, {}, False),  # PFs only when asked for by device_type
        (DevType.VF, {"remote_managed": "true"}, False),  # kept for remote-managed ports
        (DevType.VF, {"remote_managed": "false"}, True),
    ],
)
def test_matcher_behaviour(dev_type: DevType, tags: dict[str, Any], expected: bool) -> None:
    assert AliasSpec("10de", "2236").matcher().matches(dev_type, "10de", "2236", tags) is expected


# the flavor extra spec


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("gpu:2", [("gpu", 2)]),
        ("a1:2, a2:1", [("a1", 2), ("a2", 1)]),
        ("  a : 1 ,b:3  ", [("a", 1), ("b", 3)]),
        ("a:1,a:2", [("a", 1), ("a", 2)]),
        ("my-alias_1:10", [("my-alias_1", 10)]),
        ("my gpu:01", [("my gpu", 1)]),
    ],
)
def test_parse_alias_extra_spec(value: str, expected: list[tuple[str, int]]) -> None:
    assert parse_alias_extra_spec(value) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "is not name:count"),
        ("gpu", "'gpu' in 'gpu' is not name:count"),
        ("gpu:", "is not name:count"),
        (":2", "is not name:count"),
        ("gpu:-1", "is not name:count"),
        ("gpu:x", "is not name:count"),
        ("gpu:1.5", "is not name:count"),
        ("gpu:1,", "'' in 'gpu:1,' is not name:count"),
        ("gpu:1,,nic:1", "is not name:count"),
        ("gpu:1:2", "is not name:count"),
        ("a:1;b:2", "is not name:count"),
        ("gpu:0", "the count of 'gpu' must be a positive integer, got 0"),
        ("nic:1, gpu:00", "the count of 'gpu' must be a positive integer"),
        (2, "expected a string"),
    ],
)
def test_bad_alias_extra_spec(value: Any, message: str) -> None:
    with pytest.raises(InvalidFlavor) as info:
        parse_alias_extra_spec(value)
    assert info.value.field == "pci_passthrough:alias"
    assert info.value.message.startswith("pci_passthrough:alias: ")
    assert message in info.value.message


ALIASES = parse_aliases(
    [
        {"name": "gpu", "vendor_id": "10de", "product_id": "2236", "numa_policy": "required"},
        {"name": "gpu", "vendor_id": "10de", "product_id": "20b5", "numa_policy": "required"},
        {"name": "nic", "vendor_id": "8086", "product_id": "154c", "device_type": "type-VF"},
    ]
)


def test_alias_requests_one_per_entry_in_order() -> None:
    requests = alias_requests({"pci_passthrough:alias": "nic:1, gpu:2"}, ALIASES)
    assert [(r.kind, r.source, r.count, r.numa_policy) for r in requests] == [
        (RequestKind.ALIAS, "nic", 1, NumaPolicy.LEGACY),
        (RequestKind.ALIAS, "gpu", 2, NumaPolicy.REQUIRED),
    ]
    assert requests[0].alternatives == (ALIASES["nic"].specs[0].matcher(),)
    assert requests[1].alternatives == tuple(s.matcher() for s in ALIASES["gpu"].specs)
    assert [m.product_id for m in requests[1].alternatives] == ["2236", "20b5"]


@pytest.mark.parametrize("policy", list(NumaPolicy))
def test_flavor_numa_policy_overrides_the_alias(policy: NumaPolicy) -> None:
    specs = {"pci_passthrough:alias": "nic:1,gpu:1", "hw:pci_numa_affinity_policy": policy.value}
    assert [r.numa_policy for r in alias_requests(specs, ALIASES)] == [policy, policy]


@pytest.mark.parametrize(
    ("specs", "field", "message"),
    [
        (
            {"pci_passthrough:alias": "fpga:1"},
            "pci_passthrough:alias",
            "PCI alias fpga is not defined",
        ),
        (
            {"pci_passthrough:alias": "gpu:1", "hw:pci_numa_affinity_policy": "strict"},
            "hw:pci_numa_affinity_policy",
            "'strict' is not one of required, legacy, preferred, socket",
        ),
        ({"hw:pci_numa_affinity_policy": "Required"}, "hw:pci_numa_affinity_policy", "is not one"),
        ({"pci_passthrough:alias": "gpu"}, "pci_passthrough:alias", "is not name:count"),
    ],
)
def test_alias_requests_errors(specs: dict[str, str], field: str, message: str) -> None:
    with pytest.raises(InvalidFlavor) as info:
        alias_requests(specs, ALIASES)
    assert info.value.field == field
    assert message in info.value.message


def test_no_alias_extra_spec_no_requests() -> None:
    assert alias_requests({"hw:numa_nodes": "1"}, ALIASES) == []


@pytest.mark.parametrize(
    ("specs", "expected"),
    [({}, None), ({"hw:pci_numa_affinity_policy": "socket"}, NumaPolicy.SOCKET)],
)
def test_parse_pci_numa_policy(specs: dict[str, str], expected: NumaPolicy | None) -> None:
    assert parse_pci_numa_policy(specs) == expected
