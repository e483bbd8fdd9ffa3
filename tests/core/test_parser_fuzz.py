"""Hypothesis fuzzing of every input parser: each answers with a value or with a domain
error (``InvalidInput`` and its kinds) that names the field; never anything else.

Examples are bounded so the whole module runs in a few seconds."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pcinet.cloudfile import parse_cloud, parse_host, parse_request
from pcinet.core.alias import parse_alias_extra_spec, parse_aliases
from pcinet.core.devspec import DeviceSpec, parse_device_specs
from pcinet.core.errors import InvalidInput, NetworkNotServable
from pcinet.core.flavor import Flavor, flavor_requirements
from pcinet.core.limits import load_json
from pcinet.core.network import Network
from pcinet.core.pci import PciAddress, PciDevice
from pcinet.core.port import Port
from pcinet.core.vlan import parse_vlan_ranges
from pcinet.yamlfile import parse_yaml

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

WORDS = st.sampled_from(
    [
        "",
        "*",
        "0",
        "1",
        "-1",
        "ffff",
        "0x8086",
        "8086",
        "1572",
        "10000",
        "yes",
        "no",
        "true",
        "0000:3b:00.0",
        "3b:00.",
        ":",
        ".",
        "*:*:*.*",
        "phy1",
        "type-PF",
        "type-VF",
        "type-PCI",
        "direct",
        "direct-physical",
        "required",
        "legacy",
        "vlan",
        "flat",
        "gpu:2",
        "gpu:0",
        "a:1,b",
        "0-3,^2",
        "9" * 30,
        "\x00",
        "\udc80",
        "é",
    ]
)
KEYS = st.sampled_from(
    [
        "name",
        "vendor_id",
        "product_id",
        "address",
        "devname",
        "physical_network",
        "trusted",
        "managed",
        "device_type",
        "numa_policy",
        "dev_type",
        "parent_address",
        "numa_node",
        "status",
        "tags",
        "vcpus",
        "memory_mb",
        "numa_cells",
        "id",
        "socket",
        "devices",
        "device_spec",
        "alias",
        "networks",
        "hosts",
        "flavor",
        "ports",
        "extra_specs",
        "network",
        "binding:vnic_type",
        "binding:profile",
        "segments",
        "provider:network_type",
        "provider:physical_network",
        "provider:segmentation_id",
        "hw:numa_nodes",
        "hw:numa_cpus.0",
        "hw:numa_mem.0",
        "pci_passthrough:alias",
        "hw:pci_numa_affinity_policy",
        "hw:cpu_policy",
        "disabled",
        "mac_address",
        "admin_state_up",
        "domain",
        "bus",
        "slot",
        "function",
    ]
)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | WORDS
    | st.text(max_size=12)
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(KEYS | st.text(max_size=6), inner, max_size=5)
    ),
    max_leaves=16,
)
OBJECTS = st.dictionaries(KEYS, VALUES, max_size=7)


def answers(parse: Callable[[], Any]) -> None:
    """``parse()`` returns, or raises a domain error whose message names its field."""
    try:
        parse()
    except (InvalidInput, NetworkNotServable) as exc:
        assert exc.message, exc
        if exc.field is not None:
            assert exc.field in exc.message, (exc.field, exc.message)


@FUZZ
@given(OBJECTS | VALUES)
def test_device_spec(data: Any) -> None:
    answers(lambda: DeviceSpec.parse(data))


@FUZZ
@given(st.lists(OBJECTS | st.text(max_size=40), max_size=3))
def test_device_spec_list(items: list[Any]) -> None:
    answers(lambda: parse_device_specs(items))


@FUZZ
@given(st.lists(OBJECTS | st.text(max_size=40), max_size=3))
def test_alias(items: list[Any]) -> None:
    answers(lambda: parse_aliases(items))


@FUZZ
@given(WORDS | st.text(max_size=30))
def test_alias_extra_spec(value: str) -> None:
    answers(lambda: parse_alias_extra_spec(value))


@FUZZ
@given(OBJECTS, st.dictionaries(KEYS, SCALARS, max_size=6))
def test_flavor_and_extra_specs(data: dict[str, Any], extra: dict[str, Any]) -> None:
    def parse() -> None:
        flavor = Flavor.from_dict({"vcpus": 4, "memory_mb": 4096, **data, "extra_specs": extra})
        flavor_requirements(flavor, {})

    answers(parse)


@FUZZ
@given(WORDS | st.text(max_size=20) | SCALARS)
def test_pci_address(text: Any) -> None:
    answers(lambda: PciAddress.parse(text))


@FUZZ
@given(OBJECTS)
def test_pci_device(data: dict[str, Any]) -> None:
    answers(lambda: PciDevice.from_dict(data))


@FUZZ
@given(st.lists(WORDS | st.text(max_size=10), max_size=4).map(",".join) | SCALARS)
def test_vlan_ranges(text: Any) -> None:
    answers(lambda: parse_vlan_ranges(text))


@FUZZ
@given(OBJECTS)
def test_network_and_port(data: dict[str, Any]) -> None:
    answers(lambda: Network.from_dict(data))
    answers(lambda: Port.from_dict(data))


@FUZZ
@given(OBJECTS | VALUES)
def test_cloud_file(doc: Any) -> None:
    answers(lambda: parse_cloud(doc))


@FUZZ
@given(OBJECTS)
def test_host_report(data: dict[str, Any]) -> None:
    answers(lambda: parse_host(data, "host", None))


@FUZZ
@given(OBJECTS | VALUES)
def test_request_file(doc: Any) -> None:
    net = Network.from_dict(
        {"name": "phy1", "provider:network_type": "flat", "provider:physical_network": "phy1"}
    )
    answers(lambda: parse_request(doc, {"phy1": net}))


@FUZZ
@given(st.text(alphabet=st.sampled_from("[]{}:,-&*!|>'\" \n\tab19.#%@`?"), max_size=60))
def test_yaml_text(text: str) -> None:
    answers(lambda: parse_yaml(text, "f.yaml"))


@FUZZ
@given(st.text(alphabet=st.sampled_from('[]{}:,"0123456789.eE-+ aNIfinty\\u'), max_size=60))
def test_devspec_match_json_text(text: str) -> None:
    answers(lambda: parse_device_specs([load_json(text, "device_spec[0]")]))
