"""Flavors, and what a flavor asks of a host: vCPUs, memory, guest NUMA cells, PCI devices.

The guest has a NUMA topology (Nova semantics) when the flavor sets ``hw:numa_nodes``,
``hw:cpu_policy`` ``dedicated`` or ``mixed``, or ``hw:mem_page_size``; without
``hw:numa_nodes`` that topology is one cell. vCPUs and memory are split evenly over the
cells, unless ``hw:numa_cpus.X`` and ``hw:numa_mem.X`` are given for every cell X::

    >>> flavor = Flavor(4, 3072, {"hw:numa_nodes": "2", "hw:numa_cpus.0": "0-2",
    ...                           "hw:numa_cpus.1": "3", "hw:numa_mem.0": "2048",
    ...                           "hw:numa_mem.1": "1024"})
    >>> flavor_requirements(flavor, {}).guest_cells
    (GuestCell(id=0, vcpus=3, memory_mb=2048), GuestCell(id=1, vcpus=1, memory_mb=1024))
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from pcinet.core.alias import Alias, alias_requests, parse_pci_numa_policy
from pcinet.core.errors import InvalidFlavor
from pcinet.core.request import NumaPolicy, PciRequest
from pcinet.core.schema import FlavorFile, check_keys

NUMA_NODES = "hw:numa_nodes"
NUMA_CPUS = "hw:numa_cpus"
NUMA_MEM = "hw:numa_mem"
CPU_POLICY = "hw:cpu_policy"
MEM_PAGE_SIZE = "hw:mem_page_size"
CPU_POLICIES = ("shared", "dedicated", "mixed")
_CPU_RULE_RE = re.compile(r"(\^)?\s*([0-9]{1,9})(?:\s*-\s*([0-9]{1,9}))?")
_CELL_KEY_RE = re.compile(rf"({re.escape(NUMA_CPUS)}|{re.escape(NUMA_MEM)})\.(.*)")
_DIGITS_RE = re.compile(r"[0-9]+")
_MAX_CPU_RANGE = 4096


@dataclass(frozen=True, slots=True)
class GuestCell:
    id: int
    vcpus: int
    memory_mb: int


MAX_AMOUNT = 2**31 - 1  # vCPUs or MB: what a database integer column holds


def _positive_int(data: Mapping[str, Any], key: str, where: str) -> int:
    value = data.get(key)
    field = f"{where}.{key}"
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise InvalidFlavor(f"{field}: expected an integer >= 1, got {value!r}", field=field)
    if value > MAX_AMOUNT:
        raise InvalidFlavor(f"{field}: {value} is above {MAX_AMOUNT}", field=field)
    return value


def _extra_spec_value(value: Any, field: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise InvalidFlavor(f"{field}: expected a string or number, got {value!r}", field=field)


@dataclass(frozen=True, slots=True)
class Flavor:
    vcpus: int
    memory_mb: int
    extra_specs: Mapping[str, str]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, where: str = "flavor") -> Flavor:
        """Build a flavor from ``{vcpus, memory_mb, extra_specs}``; errors name ``where.<key>``.

        Extra spec values may be numbers or booleans; they are kept as strings, as in Nova.
        """
        if not isinstance(data, Mapping):
            raise InvalidFlavor(f"{where}: expected an object, got {data!r}", field=where)
        # A missing vcpus or memory_mb is named below, as not an integer >= 1.
        check_keys(data, FlavorFile, where, error=InvalidFlavor, required=False)
        raw_specs = data.get("extra_specs", {})
        if not isinstance(raw_specs, Mapping):
            field = f"{where}.extra_specs"
            raise InvalidFlavor(f"{field}: expected an object, got {raw_specs!r}", field=field)
        extra_specs = {
            str(k): _extra_spec_value(v, f"{where}.extra_specs.{k}") for k, v in raw_specs.items()
        }
        return cls(
            vcpus=_positive_int(data, "vcpus", where),
            memory_mb=_positive_int(data, "memory_mb", where),
            extra_specs=MappingProxyType(extra_specs),
        )


@dataclass(frozen=True, slots=True)
class FlavorRequirements:
    """What a flavor asks of a host. Empty ``guest_cells`` means no guest NUMA topology."""

    vcpus: int
    memory_mb: int
    guest_cells: tuple[GuestCell, ...]
    pci_numa_policy: NumaPolicy | None
    alias_requests: tuple[PciRequest, ...]


def parse_cpu_list(text: str, *, field: str) -> set[int]:
    """Nova's CPU list: ``"0-3,^2,6"`` is {0, 1, 3, 6}; empty items are skipped."""
    include: set[int] = set()
    exclude: set[int] = set()
    for item in text.split(","):
        rule = item.strip()
        if not rule:
            continue
        m = _CPU_RULE_RE.fullmatch(rule)
        start = int(m.group(2)) if m else 0
        end = int(m.group(3)) if m and m.group(3) is not None else start
        if m is None or end < start or end - start >= _MAX_CPU_RANGE:
            raise InvalidFlavor(f"{field}: {rule!r} is not a CPU number or range", field=field)
        (exclude if m.group(1) else include).update(range(start, end + 1))
    return include - exclude


def _int_spec(specs: Mapping[str, str], key: str, minimum: int) -> int:
    value = specs[key].strip()
    if not _DIGITS_RE.fullmatch(value) or (len(value.lstrip("0")) <= 10 and int(value) < minimum):
        raise InvalidFlavor(
            f"{key}: expected an integer >= {minimum}, got {_short(specs[key])}", field=key
        )
    if len(value.lstrip("0")) > 10 or int(value) > MAX_AMOUNT:
        raise InvalidFlavor(f"{key}: {_short(value)} is above {MAX_AMOUNT}", field=key)
    return int(value)


def _short(value: str, limit: int = 40) -> str:
    """``repr`` of a value, cut for an error message (the field is named beside it)."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(value)} characters)"


def _cell_keys(
    specs: Mapping[str, str], nodes: int | None
) -> tuple[dict[int, str], dict[int, str]]:
    """The ``hw:numa_cpus.X`` and ``hw:numa_mem.X`` keys by cell, checked against the cells."""
    found: dict[str, dict[int, str]] = {NUMA_CPUS: {}, NUMA_MEM: {}}
    for key in sorted(specs):
        m = _CELL_KEY_RE.fullmatch(key)
        if m is None:
            continue
        if nodes is None:
            raise InvalidFlavor(
                f"{key}: set, but the flavor has no guest NUMA topology (set {NUMA_NODES})",
                field=key,
            )
        if not _DIGITS_RE.fullmatch(m.group(2)) or len(m.group(2)) > 9 or int(m.group(2)) >= nodes:
            raise InvalidFlavor(
                f"{key}: no such guest NUMA cell; cells are 0 to {nodes - 1}", field=key
            )
        found[m.group(1)][int(m.group(2))] = key
    cpus, mems = found[NUMA_CPUS], found[NUMA_MEM]
    if (cpus or mems) and nodes is not None:
        for prefix, keys in ((NUMA_CPUS, cpus), (NUMA_MEM, mems)):
            missing = [cell for cell in range(nodes) if cell not in keys]
            if missing:
                key = f"{prefix}.{missing[0]}"
                raise InvalidFlavor(
                    f"{key}: missing; {NUMA_CPUS}.X and {NUMA_MEM}.X must be given for every "
                    f"guest NUMA cell X (0 to {nodes - 1}) or for none",
                    field=key,
                )
    return cpus, mems


def _manual_cells(
    flavor: Flavor, cpu_keys: dict[int, str], mem_keys: dict[int, str]
) -> tuple[GuestCell, ...]:
    specs = flavor.extra_specs
    cells: list[GuestCell] = []
    seen: dict[int, int] = {}  # vCPU -> its cell
    for cell in sorted(cpu_keys):
        key = cpu_keys[cell]
        cpus = parse_cpu_list(specs[key], field=key)
        if not cpus:
            raise InvalidFlavor(f"{key}: a guest NUMA cell needs at least one vCPU", field=key)
        for cpu in sorted(cpus):
            if cpu >= flavor.vcpus:
                raise InvalidFlavor(
                    f"{key}: vCPU {cpu} is out of range; the flavor has vCPUs "
                    f"0 to {flavor.vcpus - 1}",
                    field=key,
                )
            if cpu in seen:
                raise InvalidFlavor(f"{key}: vCPU {cpu} is already in cell {seen[cpu]}", field=key)
            seen[cpu] = cell
        cells.append(GuestCell(cell, len(cpus), _int_spec(specs, mem_keys[cell], 1)))
    unassigned = sorted(set(range(flavor.vcpus)) - seen.keys())
    if unassigned:
        raise InvalidFlavor(
            f"{NUMA_CPUS}: vCPUs {unassigned} are in no guest NUMA cell", field=NUMA_CPUS
        )
    total = sum(c.memory_mb for c in cells)
    if total != flavor.memory_mb:
        raise InvalidFlavor(
            f"{NUMA_MEM}: the cells add up to {total} MB, the flavor has {flavor.memory_mb} MB",
            field=NUMA_MEM,
        )
    return tuple(cells)


def guest_cells(flavor: Flavor) -> tuple[GuestCell, ...]:
    """The guest NUMA cells the flavor asks for; empty when it asks for no NUMA topology."""
    specs = flavor.extra_specs
    policy = specs.get(CPU_POLICY)
    if policy is not None and policy not in CPU_POLICIES:
        raise InvalidFlavor(
            f"{CPU_POLICY}: {policy!r} is not one of {', '.join(CPU_POLICIES)}", field=CPU_POLICY
        )
    nodes: int | None = None
    if NUMA_NODES in specs:
        nodes = _int_spec(specs, NUMA_NODES, 1)
        if nodes > flavor.vcpus:
            raise InvalidFlavor(
                f"{NUMA_NODES}: {nodes} guest NUMA cells for {flavor.vcpus} vCPUs", field=NUMA_NODES
            )
    elif policy in ("dedicated", "mixed") or MEM_PAGE_SIZE in specs:
        nodes = 1
    cpu_keys, mem_keys = _cell_keys(specs, nodes)
    if nodes is None:
        return ()
    if cpu_keys:
        return _manual_cells(flavor, cpu_keys, mem_keys)
    if flavor.vcpus % nodes or flavor.memory_mb % nodes:
        raise InvalidFlavor(
            f"{NUMA_NODES}: {flavor.vcpus} vCPUs and {flavor.memory_mb} MB do not split evenly "
            f"over {nodes} guest NUMA cells; give {NUMA_CPUS}.X and {NUMA_MEM}.X per cell",
            field=NUMA_NODES,
        )
    return tuple(
        GuestCell(i, flavor.vcpus // nodes, flavor.memory_mb // nodes) for i in range(nodes)
    )


def flavor_requirements(flavor: Flavor, aliases: Mapping[str, Alias]) -> FlavorRequirements:
    """Everything the scheduler needs from a flavor. Errors are InvalidFlavor naming the key."""
    return FlavorRequirements(
        vcpus=flavor.vcpus,
        memory_mb=flavor.memory_mb,
        guest_cells=guest_cells(flavor),
        pci_numa_policy=parse_pci_numa_policy(flavor.extra_specs),
        alias_requests=tuple(alias_requests(flavor.extra_specs, aliases)),
    )
