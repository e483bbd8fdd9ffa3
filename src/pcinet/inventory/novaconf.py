"""nova.conf as nova-compute reads it: ``[pci] device_spec`` and ``[pci] alias``, and
``[DEFAULT] reserved_host_cpus`` / ``reserved_host_memory_mb``.

``device_spec`` and ``alias`` are multi-valued: the key may be repeated, and each value is a
JSON object or a JSON list of objects (flattened in order). A value may run over several
lines (continuation lines are indented), ``#`` starts a comment line. The deprecated name
``[pci] passthrough_whitelist`` is still read, as Nova does. Errors name the file, the
option and the index of the value (``nova.conf: [pci] device_spec[1]: not valid JSON``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from oslo_config import cfg

from pcinet.core.alias import Alias, parse_aliases
from pcinet.core.devspec import DeviceSpec, parse_device_specs
from pcinet.core.errors import InvalidInput
from pcinet.inventory import inifile


def _opts() -> dict[str, list[Any]]:
    return {
        "pci": [
            cfg.MultiStrOpt(
                "device_spec",
                default=[],
                deprecated_opts=[cfg.DeprecatedOpt("passthrough_whitelist", group="pci")],
            ),
            cfg.MultiStrOpt("alias", default=[]),
        ],
        # Text, not IntOpt: our own message then names the option and the bad value.
        "DEFAULT": [cfg.StrOpt("reserved_host_cpus"), cfg.StrOpt("reserved_host_memory_mb")],
    }


@dataclass(frozen=True, slots=True)
class NovaConf:
    """What pcinet takes from one nova.conf. A reserved amount is None when not set."""

    path: str
    device_spec: tuple[Mapping[str, Any], ...]
    specs: tuple[DeviceSpec, ...]
    alias: tuple[Mapping[str, Any], ...]
    aliases: Mapping[str, Alias]
    reserved_host_cpus: int | None = None
    reserved_host_memory_mb: int | None = None


def _objects(values: list[str], where: str) -> list[Any]:
    """The JSON values of a multi-valued option, lists flattened."""
    out: list[Any] = []
    for i, text in enumerate(values):
        try:
            loaded = json.loads(text)
        except ValueError as exc:
            raise InvalidInput(f"{where}[{i}]: not valid JSON: {exc}", field=where) from None
        if isinstance(loaded, list):
            out.extend(loaded)
        elif isinstance(loaded, dict):
            out.append(loaded)
        else:
            raise InvalidInput(
                f"{where}[{i}]: expected a JSON object or list, got {text.strip()!r}", field=where
            )
    return out


def read_nova_conf(path: str | os.PathLike[str]) -> NovaConf:
    where = os.fspath(path)
    conf = inifile.load(where, _opts())
    spec_values = list(inifile.option(conf, where, "pci", "device_spec"))
    alias_values = list(inifile.option(conf, where, "pci", "alias"))
    spec_where, alias_where = f"{where}: [pci] device_spec", f"{where}: [pci] alias"
    device_spec = _objects(spec_values, spec_where)
    specs = parse_device_specs(spec_values, where=spec_where)
    alias = _objects(alias_values, alias_where)
    aliases = parse_aliases(alias, where=alias_where)
    cpus = inifile.option(conf, where, "DEFAULT", "reserved_host_cpus")
    memory = inifile.option(conf, where, "DEFAULT", "reserved_host_memory_mb")
    return NovaConf(
        path=where,
        device_spec=tuple(device_spec),
        specs=specs,
        alias=tuple(alias),
        aliases=aliases,
        reserved_host_cpus=inifile.non_negative_int(cpus, where, "[DEFAULT] reserved_host_cpus"),
        reserved_host_memory_mb=inifile.non_negative_int(
            memory, where, "[DEFAULT] reserved_host_memory_mb"
        ),
    )
