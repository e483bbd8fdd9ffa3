"""The core parsers keep no key list of their own: each refuses exactly the keys its declared
shape (``pcinet.core.schema``) refuses, and names the field as the shape's path does.

The keys are generated from the models (and random text); the oracle is pydantic's own
validation of the same object against the same model."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from pcinet.core.alias import parse_aliases
from pcinet.core.devspec import DeviceSpec
from pcinet.core.errors import (
    InvalidAlias,
    InvalidDevice,
    InvalidDeviceSpec,
    InvalidFlavor,
    InvalidInput,
    InvalidNetwork,
    InvalidPort,
)
from pcinet.core.flavor import Flavor
from pcinet.core.network import Network, Segment
from pcinet.core.pci import PciDevice
from pcinet.core.port import Port
from pcinet.core.schema import (
    AliasFile,
    DeviceFile,
    FlavorFile,
    NetworkFile,
    PortFile,
    RegexAddressFile,
    SegmentFile,
    keys_of,
    required_of,
)
from pcinet.core.vf import VfConfig
from pcinet.fileschema import CloudFile, HostFile, RequestFile
from pcinet.sim.traceschema import TraceFile, TracePort, TraceServer
from pcinet.sim.workload import parse_trace


class Case:
    """A parser, the shape it reads, a valid object of that shape, and how the parser names
    an unknown key (its field and its message)."""

    def __init__(
        self,
        shape: type,
        parse: Callable[[Mapping[str, Any]], object],
        valid: Mapping[str, Any],
        error: type[InvalidInput],
        unknown: Callable[[str], tuple[str, str]],
    ) -> None:
        self.shape, self.parse, self.valid = shape, parse, dict(valid)
        self.error, self.unknown = error, unknown

    def __repr__(self) -> str:
        return self.shape.__name__


def _named(noun: str, where: str = "w", suffix: str = "") -> Callable[[str], tuple[str, str]]:
    return lambda key: (f"{where}.{key}", f"{where}.{key}: {noun}{suffix}")


CASES = [
    Case(
        DeviceFile,
        lambda d: PciDevice.from_dict(d, where="w"),
        {
            "address": "0000:3b:00.0",
            "vendor_id": "8086",
            "product_id": "1593",
            "dev_type": "type-PF",
        },
        InvalidDevice,
        _named("unknown property"),
    ),
    Case(
        SegmentFile,
        lambda d: Segment.from_dict(d, where="w"),
        {"provider:network_type": "flat", "provider:physical_network": "phy1"},
        InvalidNetwork,
        _named("unknown segment property"),
    ),
    Case(
        NetworkFile,
        lambda d: Network.from_dict(d, where="w"),
        {"name": "n", "provider:network_type": "flat", "provider:physical_network": "phy1"},
        InvalidNetwork,
        _named("unknown network property"),
    ),
    Case(
        FlavorFile,
        lambda d: Flavor.from_dict(d, where="w"),
        {"vcpus": 2, "memory_mb": 512},
        InvalidFlavor,
        _named("unknown property"),
    ),
    Case(
        PortFile,
        lambda d: Port.from_dict(d, where="w"),
        {"network": "n"},
        InvalidPort,
        _named("unknown port property"),
    ),
    Case(
        AliasFile,
        lambda d: parse_aliases([d], where="w"),
        {"name": "gpu", "vendor_id": "10de"},
        InvalidAlias,
        _named("unknown property", "w[0]", " (alias 'gpu')"),
    ),
    Case(
        RegexAddressFile,
        lambda d: DeviceSpec.parse({"address": d}, where="w"),
        {"bus": "3b"},
        InvalidDeviceSpec,
        lambda key: ("w.address", f"w.address: unknown key {key!r} (expected domain, bus, "),
    ),
    Case(
        TraceFile,
        lambda d: parse_trace(d, where="w"),
        {"servers": [{"at": 0, "flavor": "small"}]},
        InvalidInput,
        _named("unknown property"),
    ),
    Case(
        TraceServer,
        lambda d: parse_trace({"servers": [d]}, where="w"),
        {"at": 0, "flavor": "small"},
        InvalidInput,
        _named("unknown property", "w.servers[0]"),
    ),
    Case(
        TracePort,
        lambda d: parse_trace({"servers": [{"at": 0, "flavor": "small", "ports": [d]}]}, where="w"),
        {"network": "prov-phy1"},
        InvalidInput,
        _named("unknown property", "w.servers[0].ports[0]"),
    ),
    Case(
        VfConfig,
        lambda d: VfConfig.from_dict(d, "w"),
        {"vlan": 5},
        InvalidInput,
        _named("unknown VF setting"),
    ),
]


def refused_as_unknown(shape: type, data: Mapping[str, Any], key: str) -> bool:
    """The oracle: does the declared shape itself refuse ``key`` as an unknown property?"""
    if dataclasses.is_dataclass(shape):
        return key not in {f.name for f in dataclasses.fields(shape)}
    assert issubclass(shape, BaseModel)
    try:
        shape.model_validate(data)
    except ValidationError as exc:
        return any(e["type"] == "extra_forbidden" for e in exc.errors())
    return False


VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**40), 2**40),
    st.text(max_size=8),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


@pytest.mark.parametrize("case", CASES, ids=repr)
def test_the_valid_object_parses(case: Case) -> None:
    case.parse(case.valid)


@pytest.mark.parametrize("case", CASES, ids=repr)
def test_each_parser_knows_every_key_its_shape_declares(case: Case) -> None:
    for key in sorted(keys_of(case.shape)):
        for value in (None, "x", 1, True, {}):
            field, message = case.unknown(key)
            try:
                case.parse({**case.valid, key: value})
            except InvalidInput as exc:  # a bad value, not an unknown key
                assert not (exc.field == field and exc.message.startswith(message)), key
    field, message = case.unknown("colour")
    with pytest.raises(case.error) as caught:
        case.parse({**case.valid, "colour": 1})
    assert (caught.value.field, caught.value.message[: len(message)]) == (field, message)


@pytest.mark.parametrize("case", CASES, ids=repr)
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_each_parser_refuses_exactly_the_keys_its_shape_refuses(
    case: Case, data: st.DataObject
) -> None:
    declared = sorted(keys_of(case.shape))
    key = data.draw(st.one_of(st.sampled_from(declared), st.text(max_size=12)), label="key")
    value = data.draw(VALUES, label="value")
    obj = {**case.valid, key: value}
    field, message = case.unknown(key)
    try:
        case.parse(obj)
    except InvalidInput as exc:
        refused = exc.field == field and exc.message.startswith(message)
        assert isinstance(exc, case.error) or not refused, exc
    else:
        refused = False
    assert refused == refused_as_unknown(case.shape, obj, key)


@pytest.mark.parametrize(
    "case",
    [c for c in CASES if isinstance(c.shape, type) and issubclass(c.shape, BaseModel)],
    ids=repr,
)
def test_a_missing_required_key_is_named_by_every_parser(case: Case) -> None:
    assert issubclass(case.shape, BaseModel)
    for key in required_of(case.shape):
        where = {
            AliasFile: "w[0]",
            TraceServer: "w.servers[0]",
            TracePort: "w.servers[0].ports[0]",
        }.get(case.shape, "w")
        obj = {k: v for k, v in case.valid.items() if k != key}
        with pytest.raises(case.error) as caught:
            case.parse(obj)
        assert caught.value.field == f"{where}.{key}", key


def test_the_file_formats_are_composed_of_the_core_shapes() -> None:
    """One definition: the CLOUD and REQUEST files hold the very models the core reads."""
    assert CloudFile.model_fields["networks"].annotation == list[NetworkFile] | None
    assert HostFile.model_fields["devices"].annotation == list[DeviceFile] | None
    assert NetworkFile.model_fields["segments"].annotation == list[SegmentFile] | None
    assert RequestFile.model_fields["flavor"].annotation is FlavorFile
    assert RequestFile.model_fields["ports"].annotation == list[PortFile] | None
