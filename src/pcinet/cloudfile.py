"""The ``pcinet plan`` input files: a CLOUD (device specs, aliases, networks, hosts) and a
REQUEST (flavor and ports). Both are YAML (JSON is YAML too).

Every error names the file and the field (``cloud.yaml: hosts[1].devices[0].address: ...``)
and is an ``InvalidInput``; nothing is half-loaded.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pcinet.core.alias import Alias, parse_aliases
from pcinet.core.devspec import DeviceSpec, apply_device_specs, parse_device_specs
from pcinet.core.errors import InvalidDevice, InvalidInput, PcinetError
from pcinet.core.flavor import Flavor
from pcinet.core.host import Host, HostCell
from pcinet.core.network import Network
from pcinet.core.pci import Inventory, PciDevice
from pcinet.core.port import Port
from pcinet.yamlfile import read_yaml

MAX_INT = 2**31 - 1  # what a database integer column holds
HOST_KEYS = {"name", "vcpus", "memory_mb", "numa_cells", "device_spec", "devices", "disabled"}
CELL_KEYS = {"id", "vcpus", "memory_mb", "socket"}
CLOUD_KEYS = {"device_spec", "alias", "networks", "hosts"}
REQUEST_KEYS = {"flavor", "ports", "name"}


@dataclass(frozen=True, slots=True)
class Cloud:
    hosts: tuple[Host, ...]
    aliases: Mapping[str, Alias]
    networks: Mapping[str, Network]

    def servable_physnets(self) -> frozenset[str | None]:
        """Values of ``physical_network`` on any assignable device (None = explicit null)."""
        return frozenset(
            d.tags["physical_network"]
            for h in self.hosts
            for d in h.devices
            if "physical_network" in d.tags
        )


@dataclass(frozen=True, slots=True)
class ServerRequest:
    flavor: Flavor
    ports: tuple[Port, ...]


def in_file(name: str, exc: PcinetError) -> PcinetError:
    """The same error, its message prefixed with the file name."""
    exc.message = f"{name}: {exc.message}"
    exc.args = (exc.message,)
    return exc


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidInput(f"{where}: expected an object", field=where)
    return value


def _list(value: Any, where: str) -> Sequence[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidInput(f"{where}: expected a list", field=where)
    return value


def _unknown(data: Mapping[str, Any], allowed: set[str], where: str) -> None:
    extra = sorted(str(k) for k in data if k not in allowed)
    if extra:
        field = f"{where}.{extra[0]}" if where else extra[0]
        raise InvalidInput(f"{field}: unknown property", field=field)


def _int(data: Mapping[str, Any], key: str, where: str, *, default: int | None = None) -> int:
    value = data.get(key, default)
    field = f"{where}.{key}"
    if value is None:
        raise InvalidInput(f"{field}: required property is missing", field=field)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise InvalidInput(f"{field}: expected a non-negative integer, got {value!r}", field=field)
    if value > MAX_INT:
        raise InvalidInput(f"{field}: {value} is above {MAX_INT}", field=field)
    return value


def parse_host(data: Any, where: str, default_specs: Sequence[DeviceSpec] | None) -> Host:
    host = _mapping(data, where)
    _unknown(host, HOST_KEYS, where)
    name = host.get("name")
    if not isinstance(name, str) or not name:
        raise InvalidInput(f"{where}.name: expected a non-empty string", field=f"{where}.name")
    cells = []
    for i, raw in enumerate(_list(host.get("numa_cells"), f"{where}.numa_cells")):
        cw = f"{where}.numa_cells[{i}]"
        cell = _mapping(raw, cw)
        _unknown(cell, CELL_KEYS, cw)
        socket = cell.get("socket")
        if socket is not None and (not isinstance(socket, int) or isinstance(socket, bool)):
            raise InvalidInput(f"{cw}.socket: expected an integer", field=f"{cw}.socket")
        cells.append(
            HostCell(
                _int(cell, "id", cw), _int(cell, "vcpus", cw), _int(cell, "memory_mb", cw), socket
            )
        )
    if len({c.id for c in cells}) != len(cells):
        raise InvalidInput(
            f"{where}.numa_cells: cell ids must be unique", field=f"{where}.numa_cells"
        )
    devices = [
        PciDevice.from_dict(d, where=f"{where}.devices[{i}]")
        for i, d in enumerate(_list(host.get("devices"), f"{where}.devices"))
    ]
    try:  # the PF/VF rules: a PF and one of its VFs cannot both be reported allocated
        Inventory(devices)
    except InvalidDevice as exc:
        raise InvalidDevice(f"{where}.{exc.message}", field=f"{where}.devices") from None
    specs = default_specs
    if "device_spec" in host:
        specs = parse_device_specs(
            _list(host["device_spec"], f"{where}.device_spec"), where=f"{where}.device_spec"
        )
    assignable = devices if specs is None else [d for d, _ in apply_device_specs(specs, devices)]
    selected = {d.address for d in assignable}
    disabled = host.get("disabled", False)
    if not isinstance(disabled, bool):
        raise InvalidInput(f"{where}.disabled: expected true or false", field=f"{where}.disabled")
    return Host(
        name=name,
        vcpus=_int(host, "vcpus", where),
        memory_mb=_int(host, "memory_mb", where),
        cells=tuple(cells),
        devices=tuple(assignable),
        disabled=disabled,
        unselected=tuple(d for d in devices if d.address not in selected),
    )


def parse_cloud(data: Any) -> Cloud:
    doc = _mapping(data, "cloud")
    _unknown(doc, CLOUD_KEYS, "")
    specs = None
    if "device_spec" in doc:
        specs = parse_device_specs(_list(doc["device_spec"], "device_spec"), where="device_spec")
    aliases = parse_aliases(_list(doc.get("alias"), "alias"), where="alias")
    networks: dict[str, Network] = {}
    for i, raw in enumerate(_list(doc.get("networks"), "networks")):
        net = Network.from_dict(_mapping(raw, f"networks[{i}]"), where=f"networks[{i}]")
        if net.name in networks:
            raise InvalidInput(
                f"networks[{i}].name: network {net.name!r} is defined twice",
                field=f"networks[{i}].name",
            )
        networks[net.name] = net
    hosts = []
    names: set[str] = set()
    for i, raw in enumerate(_list(doc.get("hosts"), "hosts")):
        host = parse_host(raw, f"hosts[{i}]", specs)
        if host.name in names:
            raise InvalidInput(
                f"hosts[{i}].name: host {host.name!r} is listed twice", field=f"hosts[{i}].name"
            )
        names.add(host.name)
        hosts.append(host)
    return Cloud(tuple(hosts), aliases, networks)


def parse_request(data: Any, networks: Mapping[str, Network]) -> ServerRequest:
    doc = _mapping(data, "request")
    _unknown(doc, REQUEST_KEYS, "")
    if "flavor" not in doc:
        raise InvalidInput("flavor: required property is missing", field="flavor")
    flavor = Flavor.from_dict(_mapping(doc["flavor"], "flavor"), where="flavor")
    ports = []
    for i, raw in enumerate(_list(doc.get("ports"), "ports")):
        port = Port.from_dict(_mapping(raw, f"ports[{i}]"), where=f"ports[{i}]")
        if port.network not in networks:
            known = ", ".join(sorted(networks)) or "none"
            raise InvalidInput(
                f"ports[{i}].network: unknown network {port.network!r} (defined: {known})",
                field=f"ports[{i}].network",
            )
        ports.append(port)
    return ServerRequest(flavor, tuple(ports))


def load_cloud(path: str | Path) -> Cloud:
    try:
        return parse_cloud(read_yaml(path))
    except PcinetError as exc:
        if exc.message.startswith(f"{path}:"):
            raise
        raise in_file(str(path), exc) from None


def load_request(path: str | Path, networks: Mapping[str, Network]) -> ServerRequest:
    try:
        return parse_request(read_yaml(path), networks)
    except PcinetError as exc:
        if exc.message.startswith(f"{path}:"):
            raise
        raise in_file(str(path), exc) from None
