"""The ``pcinet plan`` input files: a CLOUD (device specs, aliases, networks, hosts) and a
REQUEST (flavor and ports). Both are YAML (JSON is YAML too), read by ``pcinet.yamlfile``.

Their shape is declared once, in ``pcinet.fileschema``; the core parsers (shared with the
REST API) then give values their meaning. Every error names the file and the field
(``cloud.yaml: hosts[1].devices[0].address: ...``) and is an ``InvalidInput``; nothing is
half-loaded. Likely mistakes that Nova accepts are ``warnings`` (``pcinet.mistakes``).
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
from pcinet.fileschema import CloudFile, HostFile, RequestFile, check_shape
from pcinet.mistakes import (
    describe_pf_and_vf,
    extra_spec_warnings,
    pf_and_vf_warnings,
    spec_key_warnings,
)
from pcinet.yamlfile import read_yaml


@dataclass(frozen=True, slots=True)
class Cloud:
    hosts: tuple[Host, ...]
    aliases: Mapping[str, Alias]
    networks: Mapping[str, Network]
    warnings: tuple[str, ...] = ()

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
    warnings: tuple[str, ...] = ()


def in_file(name: str, exc: PcinetError) -> PcinetError:
    """The same error, its message prefixed with the file name."""
    exc.message = f"{name}: {exc.message}"
    exc.args = (exc.message,)
    return exc


class _Findings:
    """Warnings gathered while parsing, PF-and-VF ones merged over hosts."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.pf_and_vf: dict[str, tuple[list[str], str]] = {}

    def host(self, name: str, found: Mapping[str, str]) -> None:
        for spec, example in found.items():
            hosts, _ = self.pf_and_vf.setdefault(spec, ([], example))
            hosts.append(name)

    def all(self) -> tuple[str, ...]:
        merged = [describe_pf_and_vf(s, h, e) for s, (h, e) in self.pf_and_vf.items()]
        return tuple(self.lines + merged)


def parse_host(
    data: Any,
    where: str,
    default_specs: Sequence[DeviceSpec] | None,
    *,
    checked: bool = False,
    findings: _Findings | None = None,
) -> Host:
    """One host (of a cloud file, or a host report to the REST API), named ``where`` in
    errors. ``checked``: ``data`` has already passed the file schema."""
    if not checked:
        check_shape(HostFile, data, where, root=where)
    host: Mapping[str, Any] = data
    name = host["name"]
    cells = [
        HostCell(c["id"], c["vcpus"], c["memory_mb"], c.get("socket"))
        for c in host.get("numa_cells") or ()
    ]
    if len({c.id for c in cells}) != len(cells):
        raise InvalidInput(
            f"{where}.numa_cells: cell ids must be unique", field=f"{where}.numa_cells"
        )
    devices = [
        PciDevice.from_dict(d, where=f"{where}.devices[{i}]")
        for i, d in enumerate(host.get("devices") or ())
    ]
    try:  # the PF/VF rules: a PF and one of its VFs cannot both be reported allocated
        Inventory(devices)
    except InvalidDevice as exc:
        raise InvalidDevice(f"{where}.{exc.message}", field=f"{where}.devices") from None
    specs, spec_where = default_specs, "device_spec"
    if "device_spec" in host:  # null or [] here: no device of the host is assignable
        spec_where = f"{where}.device_spec"
        specs = parse_device_specs(host["device_spec"] or [], where=spec_where)
        if findings is not None:
            findings.lines.extend(spec_key_warnings(host["device_spec"] or [], spec_where))
    if specs is None:
        assignable = devices
    else:
        selected_by = apply_device_specs(specs, devices)
        assignable = [d for d, _ in selected_by]
        if findings is not None:
            findings.host(name, pf_and_vf_warnings(specs, selected_by, spec_where))
    selected = {d.address for d in assignable}
    return Host(
        name=name,
        vcpus=host["vcpus"],
        memory_mb=host["memory_mb"],
        cells=tuple(cells),
        devices=tuple(assignable),
        disabled=host.get("disabled", False),
        unselected=tuple(d for d in devices if d.address not in selected),
    )


def parse_cloud(data: Any) -> Cloud:
    check_shape(CloudFile, data, root="cloud")
    doc: Mapping[str, Any] = data
    findings = _Findings()
    specs = None
    if "device_spec" in doc:  # null or []: no device is assignable
        specs = parse_device_specs(doc["device_spec"] or [], where="device_spec")
        findings.lines.extend(spec_key_warnings(doc["device_spec"] or [], "device_spec"))
    aliases = parse_aliases(doc.get("alias") or [], where="alias")
    networks: dict[str, Network] = {}
    for i, raw in enumerate(doc.get("networks") or ()):
        net = Network.from_dict(raw, where=f"networks[{i}]")
        if net.name in networks:
            raise InvalidInput(
                f"networks[{i}].name: network {net.name!r} is defined twice",
                field=f"networks[{i}].name",
            )
        networks[net.name] = net
    hosts = []
    names: set[str] = set()
    for i, raw in enumerate(doc.get("hosts") or ()):
        host = parse_host(raw, f"hosts[{i}]", specs, checked=True, findings=findings)
        if host.name in names:
            raise InvalidInput(
                f"hosts[{i}].name: host {host.name!r} is listed twice", field=f"hosts[{i}].name"
            )
        names.add(host.name)
        hosts.append(host)
    return Cloud(tuple(hosts), aliases, networks, findings.all())


def parse_request(data: Any, networks: Mapping[str, Network]) -> ServerRequest:
    check_shape(RequestFile, data, root="request")
    doc: Mapping[str, Any] = data
    flavor = Flavor.from_dict(doc["flavor"], where="flavor")
    ports = []
    for i, raw in enumerate(doc.get("ports") or ()):
        port = Port.from_dict(raw, where=f"ports[{i}]")
        if port.network not in networks:
            known = ", ".join(sorted(networks)) or "none"
            raise InvalidInput(
                f"ports[{i}].network: unknown network {port.network!r} (defined: {known})",
                field=f"ports[{i}].network",
            )
        ports.append(port)
    warnings = extra_spec_warnings(flavor.extra_specs, "flavor.extra_specs")
    return ServerRequest(flavor, tuple(ports), tuple(warnings))


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
