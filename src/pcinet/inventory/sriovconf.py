"""Neutron's ``sriov_agent.ini`` ``[sriov_nic]``, as the SR-IOV agent reads it, translated to
device specs.

- ``physical_device_mappings = physnet2:ens5f0,physnet2:ens5f1``: the PF netdevs of each
  physnet (a physnet may have several; a netdev belongs to one mapping only). Each becomes
  the device spec ``{"devname": "ens5f0", "physical_network": "physnet2"}``, which selects
  the PF and its VFs.
- ``exclude_devices = ens5f0:0000:af:01.1;0000:af:01.2,ens5f1:...``: VFs of a mapped PF
  the agent must leave alone. Device specs cannot exclude, so these are kept as a set of
  addresses and taken out after matching (``agentconf.select_devices``).

The rules are Neutron's: an entry is ``physnet:netdev`` exactly, neither part empty, a
netdev mapped once; an exclusion names a mapped netdev, once. Errors name the file and the
option.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from oslo_config import cfg

from pcinet.core.errors import InvalidInput
from pcinet.core.pci import normalize_address
from pcinet.inventory import inifile

GROUP = "sriov_nic"


@dataclass(frozen=True, slots=True)
class SriovAgentConf:
    path: str
    mappings: tuple[tuple[str, str], ...]  # (physnet, netdev) in file order
    exclude: Mapping[str, frozenset[str]]  # netdev -> VF addresses

    def device_spec(self) -> list[dict[str, Any]]:
        return [{"devname": dev, "physical_network": net} for net, dev in self.mappings]

    @property
    def excluded(self) -> frozenset[str]:
        return frozenset().union(*self.exclude.values()) if self.exclude else frozenset()


def parse_device_mappings(entries: list[str], where: str) -> tuple[tuple[str, str], ...]:
    out: list[tuple[str, str]] = []
    seen: dict[str, str] = {}
    for raw in entries:
        entry = raw.strip()
        if not entry:
            continue
        parts = entry.split(":")
        if len(parts) != 2 or not parts[0].strip() or not parts[1].strip():
            raise InvalidInput(f"{where}: {entry!r} is not of the form physnet:netdev", field=where)
        physnet, dev = parts[0].strip(), parts[1].strip()
        if dev in seen:
            raise InvalidInput(
                f"{where}: netdev {dev} is mapped twice (to {seen[dev]} and {physnet})",
                field=where,
            )
        seen[dev] = physnet
        out.append((physnet, dev))
    return tuple(out)


def parse_exclude_devices(
    entries: list[str], mapped: set[str], where: str
) -> dict[str, frozenset[str]]:
    out: dict[str, frozenset[str]] = {}
    for raw in entries:
        entry = raw.strip()
        if not entry:
            continue
        dev, colon, rest = entry.partition(":")
        dev = dev.strip()
        if not colon or not dev:
            raise InvalidInput(
                f"{where}: {entry!r} is not of the form netdev:address;address...", field=where
            )
        if dev in out:
            raise InvalidInput(f"{where}: netdev {dev} is listed twice", field=where)
        if dev not in mapped:
            raise InvalidInput(
                f"{where}: netdev {dev} is not in [{GROUP}] physical_device_mappings",
                field=where,
            )
        out[dev] = frozenset(
            normalize_address(a.strip(), field=where) for a in rest.split(";") if a.strip()
        )
    return out


def read_sriov_agent_conf(path: str | os.PathLike[str]) -> SriovAgentConf:
    where = os.fspath(path)
    opts = [
        cfg.ListOpt("physical_device_mappings", default=[]),
        cfg.ListOpt("exclude_devices", default=[]),
    ]
    conf = inifile.load(where, {GROUP: opts})
    mappings = parse_device_mappings(
        list(inifile.option(conf, where, GROUP, "physical_device_mappings")),
        f"{where}: [{GROUP}] physical_device_mappings",
    )
    exclude = parse_exclude_devices(
        list(inifile.option(conf, where, GROUP, "exclude_devices")),
        {dev for _, dev in mappings},
        f"{where}: [{GROUP}] exclude_devices",
    )
    return SriovAgentConf(where, mappings, exclude)
