"""The agent's configuration (nova.conf, sriov_agent.ini, flags) and the devices it selects.

``load_agent_config`` reads the files; ``select_devices`` applies the result to a discovery:

- the device specs are nova.conf's ``[pci] device_spec`` (or, when given, the
  ``--device-spec`` flags instead), then one spec per ``physical_device_mappings`` entry of
  sriov_agent.ini; the first spec that matches a device gives it its tags (Nova's rule,
  ``pcinet.core.devspec``: a concrete PF address or a PF's devname also selects its VFs);
- the VFs in sriov_agent.ini's ``exclude_devices`` are then left out;
- a device that a nova.conf spec and a sriov_agent.ini mapping both select, but with
  different ``physical_network`` (a missing tag counts as different), is refused: a
  ``ConfigConflict`` naming the device and both files, which the CLI turns into exit 2;
- with no spec source at all (no nova.conf, sriov_agent.ini or flag), every device is
  selected, untagged.

Reserved resources: the flags, else nova.conf, else Nova's defaults (0 vCPUs, 512 MB).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from pcinet.core.alias import Alias
from pcinet.core.devspec import DeviceSpec, first_match, parse_device_specs
from pcinet.core.errors import InvalidInput
from pcinet.inventory.novaconf import read_nova_conf
from pcinet.inventory.resources import NOVA_RESERVED_CPUS, NOVA_RESERVED_MEMORY_MB, Reserved
from pcinet.inventory.sriovconf import GROUP as SRIOV_GROUP
from pcinet.inventory.sriovconf import read_sriov_agent_conf
from pcinet.inventory.sysfs import DiscoveredDevice, Discovery

FLAG_SOURCE = "--device-spec"
_MISSING = object()


class ConfigConflict(InvalidInput):
    """Two of the operator's files say different things about one device."""

    code = "config_conflict"


@dataclass(frozen=True, slots=True)
class AgentConfig:
    """``specs[i]`` came from ``origins[i]``; specs from index ``mapping_start`` on are the
    sriov_agent.ini mappings. ``selective`` is False when no spec source was given."""

    specs: tuple[DeviceSpec, ...] = ()
    device_spec: tuple[Mapping[str, Any], ...] = ()
    origins: tuple[str, ...] = ()
    mapping_start: int = 0
    excluded: Mapping[str, frozenset[str]] = field(default_factory=dict)
    aliases: Mapping[str, Alias] = field(default_factory=dict)
    reserved: Reserved = field(default_factory=Reserved)
    selective: bool = False
    files: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Selected:
    """A discovered device the configuration selects, with its tags (None: no specs)."""

    device: DiscoveredDevice
    tags: Mapping[str, Any]
    spec_index: int | None


def _flag_specs(texts: Sequence[str]) -> list[Any]:
    out: list[Any] = []
    for i, text in enumerate(texts):
        try:
            loaded = json.loads(text)
        except ValueError as exc:
            raise InvalidInput(
                f"{FLAG_SOURCE}[{i}]: not valid JSON: {exc}", field=FLAG_SOURCE
            ) from None
        out.extend(loaded if isinstance(loaded, list) else [loaded])
    return out


def load_agent_config(
    *,
    nova_conf: str | os.PathLike[str] | None = None,
    sriov_agent_conf: str | os.PathLike[str] | None = None,
    device_specs: Sequence[str] = (),
    reserved_host_cpus: int | None = None,
    reserved_host_memory_mb: int | None = None,
) -> AgentConfig:
    """Read and validate the operator's files; InvalidInput names the file and option."""
    objects: list[Any] = []
    origins: list[str] = []
    specs: list[DeviceSpec] = []
    nova = read_nova_conf(nova_conf) if nova_conf is not None else None
    if device_specs:
        flagged = _flag_specs(device_specs)
        specs.extend(parse_device_specs(flagged, where=FLAG_SOURCE))
        objects.extend(flagged)
        origins.extend([FLAG_SOURCE] * len(flagged))
    elif nova is not None:
        specs.extend(nova.specs)
        objects.extend(nova.device_spec)
        origins.extend([f"{nova.path} [pci] device_spec"] * len(nova.specs))
    mapping_start = len(specs)
    sriov = read_sriov_agent_conf(sriov_agent_conf) if sriov_agent_conf is not None else None
    excluded: dict[str, frozenset[str]] = {}
    if sriov is not None:
        mapped = sriov.device_spec()
        specs.extend(parse_device_specs(mapped, where=f"{sriov.path}: [{SRIOV_GROUP}]"))
        objects.extend(mapped)
        origins.extend(
            f"{sriov.path} [{SRIOV_GROUP}] physical_device_mappings ({net}:{dev})"
            for net, dev in sriov.mappings
        )
        excluded = dict(sriov.exclude)
    cpus = reserved_host_cpus
    if cpus is None:
        cpus = NOVA_RESERVED_CPUS if nova is None else nova.reserved_host_cpus
    memory = reserved_host_memory_mb
    if memory is None:
        memory = NOVA_RESERVED_MEMORY_MB if nova is None else nova.reserved_host_memory_mb
    return AgentConfig(
        specs=tuple(specs),
        device_spec=tuple(MappingProxyType(dict(o)) for o in objects),
        origins=tuple(origins),
        mapping_start=mapping_start,
        excluded=MappingProxyType(excluded),
        aliases=MappingProxyType(dict(nova.aliases) if nova is not None else {}),
        reserved=Reserved(
            NOVA_RESERVED_CPUS if cpus is None else cpus,
            NOVA_RESERVED_MEMORY_MB if memory is None else memory,
        ),
        selective=bool(device_specs) or nova is not None or sriov is not None,
        files=tuple(os.fspath(p) for p in (nova_conf, sriov_agent_conf) if p is not None),
    )


def _show(value: object) -> str:
    return "(none)" if value is _MISSING else json.dumps(value)


def select_devices(discovery: Discovery, config: AgentConfig) -> list[Selected]:
    """The devices ``config`` selects, in address order, tagged; ConfigConflict when the
    files disagree about a device's physnet."""
    if not config.selective:
        return [Selected(d, MappingProxyType({}), None) for d in discovery.devices]
    netdevs = {d.address: d.netdev for d in discovery.devices}
    ifnames_of_excluded = {
        address: dev for dev, addresses in config.excluded.items() for address in addresses
    }
    first, mappings = config.specs[: config.mapping_start], config.specs[config.mapping_start :]
    out: list[Selected] = []
    for found in discovery.devices:
        parent = found.parent_address
        parent_devname = netdevs.get(parent) if parent is not None else None
        if parent_devname is not None and ifnames_of_excluded.get(found.address) == parent_devname:
            continue
        device = found.to_pci_device()
        nova = first_match(first, device, parent_devname=parent_devname)
        mapped = first_match(mappings, device, parent_devname=parent_devname)
        if nova is not None and mapped is not None:
            _check_agree(found, config, nova, config.mapping_start + mapped)
        index = nova
        if index is None and mapped is not None:
            index = config.mapping_start + mapped
        if index is not None:
            out.append(Selected(found, config.specs[index].tags, index))
    return out


def _check_agree(found: DiscoveredDevice, config: AgentConfig, nova: int, mapped: int) -> None:
    ours = config.specs[nova].tags.get("physical_network", _MISSING)
    theirs = config.specs[mapped].tags.get("physical_network", _MISSING)
    if ours != theirs:
        what = found.address + (f" ({found.netdev})" if found.netdev else "")
        raise ConfigConflict(
            f"device {what} is tagged physical_network {_show(ours)} by {config.origins[nova]}"
            f" and {_show(theirs)} by {config.origins[mapped]}; the files must agree",
            field="physical_network",
        )
