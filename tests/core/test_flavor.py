"""Flavors: parsing, guest NUMA topology (Nova semantics), PCI requirements."""

from __future__ import annotations

from typing import Any

import pytest

from pcinet.core.alias import parse_aliases
from pcinet.core.errors import InvalidFlavor
from pcinet.core.flavor import (
    Flavor,
    FlavorRequirements,
    GuestCell,
    flavor_requirements,
    guest_cells,
    parse_cpu_list,
)
from pcinet.core.request import NumaPolicy, RequestKind

# Flavor.from_dict


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"vcpus": 2, "memory_mb": 1024}, Flavor(2, 1024, {})),
        ({"vcpus": 1, "memory_mb": 1, "extra_specs": {}}, Flavor(1, 1, {})),
        (
            {"vcpus": 4, "memory_mb": 4096, "extra_specs": {"hw:numa_nodes": 2}},
            Flavor(4, 4096, {"hw:numa_nodes": "2"}),
        ),
        (
            {"vcpus": 4, "memory_mb": 4096, "extra_specs": {"a": True, "b": False, "c": 1.5}},
            Flavor(4, 4096, {"a": "true", "b": "false", "c": "1.5"}),
        ),
        (
            {"vcpus": 4, "memory_mb": 4096, "extra_specs": {"pci_passthrough:alias": "gpu:1"}},
            Flavor(4, 4096, {"pci_passthrough:alias": "gpu:1"}),
        ),
    ],
)
def test_flavor_from_dict(data: dict[str, Any], expected: Flavor) -> None:
    flavor = Flavor.from_dict(data)
    assert (flavor.vcpus, flavor.memory_mb, dict(flavor.extra_specs)) == (
        expected.vcpus,
        expected.memory_mb,
        dict(expected.extra_specs),
    )


def test_flavor_extra_specs_are_read_only() -> None:
    flavor = Flavor.from_dict({"vcpus": 1, "memory_mb": 1, "extra_specs": {"a": "1"}})
    with pytest.raises(TypeError):
        flavor.extra_specs["a"] = "2"  # type: ignore[index]


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"memory_mb": 1024}, "vcpus", "expected an integer >= 1, got None"),
        ({"vcpus": 0, "memory_mb": 1024}, "vcpus", "expected an integer >= 1, got 0"),
        ({"vcpus": True, "memory_mb": 1024}, "vcpus", "got True"),
        ({"vcpus": "2", "memory_mb": 1024}, "vcpus", "got '2'"),
        ({"vcpus": 2.0, "memory_mb": 1024}, "vcpus", "got 2.0"),
        ({"vcpus": 2}, "memory_mb", "expected an integer >= 1"),
        ({"vcpus": 2, "memory_mb": -1}, "memory_mb", "got -1"),
        ({"vcpus": 2, "memory_mb": False}, "memory_mb", "got False"),
        ({"vcpus": 2, "memory_mb": 1, "name": "m1"}, "name", "unknown property"),
        ({"vcpus": 2, "memory_mb": 1, "extra_specs": []}, "extra_specs", "expected an object"),
        (
            {"vcpus": 2, "memory_mb": 1, "extra_specs": {"hw:x": None}},
            "extra_specs.hw:x",
            "expected a string or number",
        ),
        (
            {"vcpus": 2, "memory_mb": 1, "extra_specs": {"hw:x": ["1"]}},
            "extra_specs.hw:x",
            "expected a string or number",
        ),
    ],
)
def test_bad_flavor_names_the_field(data: dict[str, Any], field: str, message: str) -> None:
    with pytest.raises(InvalidFlavor) as info:
        Flavor.from_dict(data, where="request.flavor")
    assert info.value.field == f"request.flavor.{field}"
    assert info.value.message.startswith(f"request.flavor.{field}: ")
    assert message in info.value.message


@pytest.mark.parametrize("data", [[], "m1.small", None])
def test_flavor_must_be_an_object(data: Any) -> None:
    with pytest.raises(InvalidFlavor) as info:
        Flavor.from_dict(data)
    assert info.value.field == "flavor"


# CPU lists


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0", {0}),
        ("0-3", {0, 1, 2, 3}),
        ("0-1,4", {0, 1, 4}),
        ("0-3,^2", {0, 1, 3}),
        ("0-5,^1-2, ^4", {0, 3, 5}),
        (" 1 , 0 ", {0, 1}),
        ("0,,1,", {0, 1}),
        ("2 - 3", {2, 3}),
        ("0,^0", set()),
        ("", set()),
    ],
)
def test_parse_cpu_list(text: str, expected: set[int]) -> None:
    assert parse_cpu_list(text, field="hw:numa_cpus.0") == expected


@pytest.mark.parametrize("text", ["a", "0-a", "3-1", "^", "-1", "1-", "0-100000", "1.5", "+1"])
def test_bad_cpu_list(text: str) -> None:
    with pytest.raises(InvalidFlavor) as info:
        parse_cpu_list(text, field="hw:numa_cpus.1")
    assert info.value.field == "hw:numa_cpus.1"
    assert "is not a CPU number or range" in info.value.message


# guest NUMA topology


def cells(*triples: tuple[int, int, int]) -> tuple[GuestCell, ...]:
    return tuple(GuestCell(*t) for t in triples)


@pytest.mark.parametrize(
    ("specs", "vcpus", "memory_mb", "expected"),
    [
        ({}, 4, 4096, ()),
        ({"hw:cpu_policy": "shared"}, 4, 4096, ()),
        ({"hw:numa_nodes": "1"}, 4, 4096, cells((0, 4, 4096))),
        ({"hw:numa_nodes": " 2 "}, 4, 4096, cells((0, 2, 2048), (1, 2, 2048))),
        ({"hw:numa_nodes": "4"}, 4, 4096, cells(*((i, 1, 1024) for i in range(4)))),
        ({"hw:cpu_policy": "dedicated"}, 3, 1000, cells((0, 3, 1000))),
        ({"hw:cpu_policy": "mixed"}, 3, 1000, cells((0, 3, 1000))),
        ({"hw:mem_page_size": "large"}, 3, 1000, cells((0, 3, 1000))),
        ({"hw:mem_page_size": "small"}, 3, 1000, cells((0, 3, 1000))),
        (
            {"hw:cpu_policy": "dedicated", "hw:numa_nodes": "2"},
            4,
            4096,
            cells((0, 2, 2048), (1, 2, 2048)),
        ),
        (
            {
                "hw:numa_nodes": "2",
                "hw:numa_cpus.0": "0-2",
                "hw:numa_cpus.1": "3",
                "hw:numa_mem.0": "3072",
                "hw:numa_mem.1": "1024",
            },
            4,
            4096,
            cells((0, 3, 3072), (1, 1, 1024)),
        ),
        (
            {
                "hw:numa_nodes": "2",
                "hw:numa_cpus.0": "0-3,^1,^3",
                "hw:numa_cpus.1": "1,3",
                "hw:numa_mem.0": "1024",
                "hw:numa_mem.1": "1024",
            },
            4,
            2048,
            cells((0, 2, 1024), (1, 2, 1024)),
        ),
        (  # an uneven split is fine when spelled out
            {
                "hw:numa_nodes": "2",
                "hw:numa_cpus.0": "0-1",
                "hw:numa_cpus.1": "2",
                "hw:numa_mem.0": "1025",
                "hw:numa_mem.1": "1024",
            },
            3,
            2049,
            cells((0, 2, 1025), (1, 1, 1024)),
        ),
        (  # dedicated CPUs imply one cell, which may be spelled out
            {"hw:cpu_policy": "dedicated", "hw:numa_cpus.0": "0-3", "hw:numa_mem.0": "4096"},
            4,
            4096,
            cells((0, 4, 4096)),
        ),
    ],
)
def test_guest_cells(
    specs: dict[str, str], vcpus: int, memory_mb: int, expected: tuple[GuestCell, ...]
) -> None:
    assert guest_cells(Flavor(vcpus, memory_mb, specs)) == expected


TWO_CELLS = {
    "hw:numa_nodes": "2",
    "hw:numa_cpus.0": "0-1",
    "hw:numa_cpus.1": "2-3",
    "hw:numa_mem.0": "1024",
    "hw:numa_mem.1": "1024",
}


def without(key: str) -> dict[str, str]:
    return {k: v for k, v in TWO_CELLS.items() if k != key}


@pytest.mark.parametrize(
    ("specs", "vcpus", "memory_mb", "field", "message"),
    [
        ({"hw:numa_nodes": "0"}, 4, 4096, "hw:numa_nodes", "expected an integer >= 1, got '0'"),
        ({"hw:numa_nodes": "two"}, 4, 4096, "hw:numa_nodes", "expected an integer >= 1"),
        ({"hw:numa_nodes": "-1"}, 4, 4096, "hw:numa_nodes", "expected an integer >= 1"),
        ({"hw:numa_nodes": "1.5"}, 4, 4096, "hw:numa_nodes", "expected an integer >= 1"),
        ({"hw:numa_nodes": "5"}, 4, 4096, "hw:numa_nodes", "5 guest NUMA cells for 4 vCPUs"),
        ({"hw:numa_nodes": "2"}, 3, 4096, "hw:numa_nodes", "do not split evenly over 2"),
        ({"hw:numa_nodes": "2"}, 4, 4095, "hw:numa_nodes", "do not split evenly over 2"),
        ({"hw:cpu_policy": "exclusive"}, 4, 4096, "hw:cpu_policy", "'exclusive' is not one of"),
        ({"hw:cpu_policy": "Dedicated"}, 4, 4096, "hw:cpu_policy", "shared, dedicated, mixed"),
        (
            {"hw:numa_cpus.0": "0-3", "hw:numa_mem.0": "4096"},
            4,
            4096,
            "hw:numa_cpus.0",
            "no guest NUMA topology",
        ),
        ({**TWO_CELLS, "hw:numa_cpus.2": "0"}, 4, 2048, "hw:numa_cpus.2", "no such guest NUMA"),
        ({**TWO_CELLS, "hw:numa_mem.x": "1"}, 4, 2048, "hw:numa_mem.x", "no such guest NUMA"),
        (without("hw:numa_mem.0"), 4, 2048, "hw:numa_mem.0", "missing"),
        (without("hw:numa_cpus.1"), 4, 2048, "hw:numa_cpus.1", "must be given for every"),
        (
            {"hw:numa_nodes": "2", "hw:numa_cpus.0": "0-1", "hw:numa_cpus.1": "2-3"},
            4,
            2048,
            "hw:numa_mem.0",
            "missing",
        ),
        (
            {**TWO_CELLS, "hw:numa_cpus.1": "2-4"},
            4,
            2048,
            "hw:numa_cpus.1",
            "vCPU 4 is out of range; the flavor has vCPUs 0 to 3",
        ),
        (
            {**TWO_CELLS, "hw:numa_cpus.1": "1-3"},
            4,
            2048,
            "hw:numa_cpus.1",
            "vCPU 1 is already in cell 0",
        ),
        (
            {**TWO_CELLS, "hw:numa_cpus.1": "2"},
            4,
            2048,
            "hw:numa_cpus",
            "vCPUs [3] are in no guest NUMA cell",
        ),
        (
            {**TWO_CELLS, "hw:numa_cpus.1": "2-3,^2-3"},
            4,
            2048,
            "hw:numa_cpus.1",
            "needs at least one vCPU",
        ),
        ({**TWO_CELLS, "hw:numa_cpus.0": "0-a"}, 4, 2048, "hw:numa_cpus.0", "not a CPU number"),
        ({**TWO_CELLS, "hw:numa_mem.1": "abc"}, 4, 2048, "hw:numa_mem.1", "expected an integer"),
        ({**TWO_CELLS, "hw:numa_mem.1": "0"}, 4, 1024, "hw:numa_mem.1", "expected an integer >= 1"),
        (
            TWO_CELLS,
            4,
            4096,
            "hw:numa_mem",
            "the cells add up to 2048 MB, the flavor has 4096 MB",
        ),
    ],
)
def test_bad_guest_topology_names_the_key(
    specs: dict[str, str], vcpus: int, memory_mb: int, field: str, message: str
) -> None:
    with pytest.raises(InvalidFlavor) as info:
        guest_cells(Flavor(vcpus, memory_mb, specs))
    assert info.value.field == field
    assert info.value.message.startswith(f"{field}")
    assert message in info.value.message


# flavor requirements

ALIASES = parse_aliases([{"name": "gpu", "vendor_id": "10de", "product_id": "2236"}])


def test_flavor_requirements() -> None:
    flavor = Flavor(
        8,
        8192,
        {
            "hw:numa_nodes": "2",
            "pci_passthrough:alias": "gpu:2",
            "hw:pci_numa_affinity_policy": "preferred",
        },
    )
    req = flavor_requirements(flavor, ALIASES)
    assert isinstance(req, FlavorRequirements)
    assert (req.vcpus, req.memory_mb) == (8, 8192)
    assert req.guest_cells == cells((0, 4, 4096), (1, 4, 4096))
    assert req.pci_numa_policy is NumaPolicy.PREFERRED
    (request,) = req.alias_requests
    assert (request.kind, request.source, request.count, request.numa_policy) == (
        RequestKind.ALIAS,
        "gpu",
        2,
        NumaPolicy.PREFERRED,
    )


def test_flavor_requirements_plain_flavor() -> None:
    req = flavor_requirements(Flavor(2, 2048, {}), ALIASES)
    assert req == FlavorRequirements(2, 2048, (), None, ())


@pytest.mark.parametrize(
    ("specs", "field"),
    [
        ({"pci_passthrough:alias": "fpga:1"}, "pci_passthrough:alias"),
        ({"hw:pci_numa_affinity_policy": "local"}, "hw:pci_numa_affinity_policy"),
        ({"hw:numa_nodes": "3"}, "hw:numa_nodes"),
    ],
)
def test_flavor_requirements_errors(specs: dict[str, str], field: str) -> None:
    with pytest.raises(InvalidFlavor) as info:
        flavor_requirements(Flavor(4, 4096, specs), ALIASES)
    assert info.value.field == field
