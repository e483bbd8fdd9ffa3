"""Nova's ``[pci] device_spec``: which devices are assignable, and the tags they carry.

A device spec is one JSON object. ``vendor_id``, ``product_id``, ``address`` and ``devname``
select devices; every other key is a tag copied onto the devices it selects. Devices are
matched against the specs in order; the first spec that matches a device gives it its
tags, and a device that matches no spec is not assignable.

- ``vendor_id``/``product_id``: hex (optional ``0x``, at most ffff), ``*`` or absent = any.
- ``address`` as a string is a glob ``[[[[domain]:]bus]:][slot][.[function]]``: missing or
  ``*`` fields are wildcards. As an object ``{domain, bus, slot, function}`` each value is a
  regular expression matched as a prefix (``re.match``) against the zero-padded field.
- ``devname`` selects the device with that interface name (and, when it names a PF, the
  PF's VFs); it cannot be combined with ``address``.
- A glob naming one concrete address also selects the VFs whose PF has that address.
- ``managed``, ``live_migratable``, ``one_time_use`` are normalised to ``"true"``/``"false"``;
  ``physical_network`` is a string, or null for devices serving overlay networks.

Worked example::

    >>> from pcinet.core.pci import DevType
    >>> spec = DeviceSpec.parse('{"address": "1:3b:0.", "physical_network": "phy1"}')
    >>> str(spec.address), dict(spec.tags)
    ('0001:3b:00.*', {'physical_network': 'phy1'})
    >>> pf = PciDevice("0001:3b:00.0", "8086", "1592", DevType.PF)
    >>> vf = PciDevice("0001:3b:11.0", "8086", "1889", DevType.VF, "0001:3b:00.0")
    >>> spec.match(pf), spec.match(vf)  # a glob with wildcards never matches via the parent
    (True, False)
    >>> DeviceSpec.parse({"address": "0001:3b:00.0"}).match(vf)
    True
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType
from typing import Any, TypeAlias

from pcinet.core.boolean import strict_bool
from pcinet.core.errors import InvalidDeviceSpec
from pcinet.core.limits import load_json
from pcinet.core.pci import (
    MAX_BUS,
    MAX_DOMAIN,
    MAX_FUNC,
    MAX_PRODUCT_ID,
    MAX_SLOT,
    MAX_VENDOR_ID,
    PciAddress,
    PciDevice,
)
from pcinet.core.schema import RegexAddressFile, unknown_key

ANY = "*"
BOOLEAN_TAGS = ("managed", "live_migratable", "one_time_use")
_HEX_RE = re.compile(r"(?:0x)?[0-9a-f]+")
_REGEX_KEYS = tuple(RegexAddressFile.model_fields)
_GLOB_FORM = "[[[[domain]:]bus]:][slot][.[function]]"


def _hex_field(text: str, maximum: int, width: int, field: str, name: str = "") -> str | None:
    """One glob/ID field: None for a wildcard, else ``width`` lowercase hex digits."""
    text = text.strip()
    if text == ANY:
        return None
    what = f"{name} {text!r}" if name else repr(text)
    if not _HEX_RE.fullmatch(text.lower()):
        raise InvalidDeviceSpec(f"{field}: {what} does not parse as a hex number", field=field)
    value = int(text, 16)
    if value > maximum:
        raise InvalidDeviceSpec(f"{field}: {what} is greater than {maximum:x}", field=field)
    return f"{value:0{width}x}"


@lru_cache(maxsize=65536)
def _address_fields(address: str) -> tuple[str, str, str, str]:
    # Cached: hosts of one model repeat the same addresses, and parsing dominates matching.
    a = PciAddress.parse(address)
    return f"{a.domain:04x}", f"{a.bus:02x}", f"{a.slot:02x}", f"{a.func:x}"


@dataclass(frozen=True, slots=True)
class GlobAddress:
    """Glob form: each field is a normalised hex string, or None for any."""

    domain: str | None = None
    bus: str | None = None
    slot: str | None = None
    func: str | None = None

    @classmethod
    def parse(cls, text: str, *, field: str = "address") -> GlobAddress:
        # Nova's algorithm: partition on '.', split the left on ':', left-pad with wildcards.
        dbs, _, func_text = text.partition(".")
        parts = dbs.split(":") if dbs else []
        if len(parts) > 3:
            raise InvalidDeviceSpec(
                f"{field}: {text!r} has more than 3 colon-separated parts; expected {_GLOB_FORM}",
                field=field,
            )
        domain, bus, slot = [ANY] * (3 - len(parts)) + [p.strip() or ANY for p in parts]
        return cls(
            _hex_field(domain, MAX_DOMAIN, 4, field, "domain"),
            _hex_field(bus, MAX_BUS, 2, field, "bus"),
            _hex_field(slot, MAX_SLOT, 2, field, "slot"),
            _hex_field(func_text.strip() or ANY, MAX_FUNC, 1, field, "function"),
        )

    @property
    def is_single(self) -> bool:
        return None not in (self.domain, self.bus, self.slot, self.func)

    def match(self, fields: tuple[str, str, str, str]) -> bool:
        domain, bus, slot, func = fields
        return (
            (self.domain is None or self.domain == domain)
            and (self.bus is None or self.bus == bus)
            and (self.slot is None or self.slot == slot)
            and (self.func is None or self.func == func)
        )

    def __str__(self) -> str:
        d, b, s, f = (
            ANY if x is None else x for x in (self.domain, self.bus, self.slot, self.func)
        )
        return f"{d}:{b}:{s}.{f}"


@dataclass(frozen=True, slots=True)
class RegexAddress:
    """Regex form: each field a pattern matched with ``re.match`` (a prefix match)."""

    domain: re.Pattern[str]
    bus: re.Pattern[str]
    slot: re.Pattern[str]
    func: re.Pattern[str]

    @classmethod
    def parse(cls, data: Mapping[str, Any], *, field: str = "address") -> RegexAddress:
        unknown = unknown_key(data, RegexAddressFile)
        if unknown is not None:
            raise InvalidDeviceSpec(
                f"{field}: unknown key {unknown!r} (expected {', '.join(_REGEX_KEYS)})",
                field=field,
            )
        patterns: list[re.Pattern[str]] = []
        for key in _REGEX_KEYS:
            pattern = data.get(key, ".*")
            if not isinstance(pattern, str):
                raise InvalidDeviceSpec(
                    f"{field}: {key} pattern must be a string, got {pattern!r}", field=field
                )
            try:
                patterns.append(re.compile(pattern))
            except re.error as exc:
                raise InvalidDeviceSpec(
                    f"{field}: {key} pattern {pattern!r} does not compile: {exc}", field=field
                ) from None
        return cls(*patterns)

    def match(self, fields: tuple[str, str, str, str]) -> bool:
        own = (self.domain, self.bus, self.slot, self.func)
        return all(p.match(value) is not None for p, value in zip(own, fields, strict=True))

    def __str__(self) -> str:
        own = (self.domain, self.bus, self.slot, self.func)
        return json.dumps({key: p.pattern for key, p in zip(_REGEX_KEYS, own, strict=True)})


AddressSpec: TypeAlias = GlobAddress | RegexAddress


def _parse_id(data: Mapping[str, Any], key: str, maximum: int, where: str) -> str | None:
    value = data.get(key, ANY)
    field = f"{where}.{key}"
    if not isinstance(value, str):
        raise InvalidDeviceSpec(f"{field}: expected a hex string, got {value!r}", field=field)
    return _hex_field(value, maximum, 4, field)


def _parse_address(data: Mapping[str, Any], where: str) -> tuple[AddressSpec | None, str | None]:
    raw, devname, field = data.get("address"), data.get("devname"), f"{where}.address"
    if devname is not None and (not isinstance(devname, str) or not devname.strip()):
        raise InvalidDeviceSpec(
            f"{where}.devname: expected an interface name, got {devname!r}",
            field=f"{where}.devname",
        )
    if raw is not None and devname is not None:
        raise InvalidDeviceSpec(
            f"{field}: address and devname cannot be used together", field=field
        )
    if raw is None:
        return None, devname
    if isinstance(raw, str):
        return GlobAddress.parse(raw, field=field), None
    if isinstance(raw, Mapping):
        return RegexAddress.parse(raw, field=field), None
    raise InvalidDeviceSpec(
        f"{field}: {raw!r} is neither a string ({_GLOB_FORM}) nor an object "
        "of regular expressions {domain, bus, slot, function}",
        field=field,
    )


def _parse_tags(data: Mapping[str, Any], where: str) -> Mapping[str, Any]:
    tags: dict[str, Any] = {}
    for key, value in data.items():
        if key in ("vendor_id", "product_id", "address", "devname"):
            continue
        field = f"{where}.{key}"
        if key in BOOLEAN_TAGS and value is not None:
            parsed = strict_bool(value, field=field, error=InvalidDeviceSpec, ints=True)
            tags[key] = "true" if parsed else "false"
            continue
        if key == "physical_network" and value is not None and not isinstance(value, str):
            raise InvalidDeviceSpec(
                f"{field}: expected a string or null, got {value!r}", field=field
            )
        tags[key] = value
    return MappingProxyType(tags)


@dataclass(frozen=True, slots=True)
class DeviceSpec:
    """One ``[pci] device_spec`` entry. ``None`` ids/address mean "any"."""

    vendor_id: str | None
    product_id: str | None
    address: AddressSpec | None
    devname: str | None
    tags: Mapping[str, Any]

    @classmethod
    def parse(cls, data: Mapping[str, Any] | str, *, where: str = "device_spec") -> DeviceSpec:
        """Parse one spec: an object, or the JSON text of one (as written in nova.conf)."""
        if isinstance(data, str):
            data = _load_json(data, where)
        if not isinstance(data, Mapping):
            raise InvalidDeviceSpec(f"{where}: expected an object, got {data!r}", field=where)
        vendor_id = _parse_id(data, "vendor_id", MAX_VENDOR_ID, where)
        product_id = _parse_id(data, "product_id", MAX_PRODUCT_ID, where)
        address, devname = _parse_address(data, where)
        return cls(vendor_id, product_id, address, devname, _parse_tags(data, where))

    @property
    def is_single_address(self) -> bool:
        return isinstance(self.address, GlobAddress) and self.address.is_single

    def match(self, device: PciDevice, *, parent_devname: str | None = None) -> bool:
        """Whether this spec selects ``device``.

        ``parent_devname`` is the interface name of the device's PF, when known: a spec whose
        ``devname`` names a PF also selects its VFs, as Nova does by looking the name up in
        sysfs. ``apply_device_specs`` fills it in from the device list.
        """
        if self.vendor_id is not None and device.vendor_id != self.vendor_id:
            return False
        if self.product_id is not None and device.product_id != self.product_id:
            return False
        if self.devname is not None:
            return device.devname == self.devname or (
                device.parent_address is not None and parent_devname == self.devname
            )
        if self.address is None:
            return True
        if self.address.match(_address_fields(device.address)):
            return True
        return (
            self.is_single_address
            and device.parent_address is not None
            and self.address.match(_address_fields(device.parent_address))
        )


def _load_json(text: str, where: str) -> Any:
    return load_json(text, where, error=InvalidDeviceSpec)


def parse_device_specs(
    items: Sequence[Mapping[str, Any] | str], *, where: str = "device_spec"
) -> tuple[DeviceSpec, ...]:
    """Parse ``[pci] device_spec`` entries, named ``where[i]`` in errors.

    As in Nova, one JSON text may also hold a list of objects; they are flattened in order
    (named ``where[i][j]``), so indexes into the result may differ from indexes into ``items``.
    """
    specs: list[DeviceSpec] = []
    for i, item in enumerate(items):
        name = f"{where}[{i}]"
        loaded = _load_json(item, name) if isinstance(item, str) else item
        if isinstance(loaded, list):
            specs.extend(DeviceSpec.parse(o, where=f"{name}[{j}]") for j, o in enumerate(loaded))
        else:
            specs.append(DeviceSpec.parse(loaded, where=name))
    return tuple(specs)


def first_match(
    specs: Sequence[DeviceSpec], device: PciDevice, *, parent_devname: str | None = None
) -> int | None:
    """The index of the first spec that selects ``device``, or None."""
    for index, spec in enumerate(specs):
        if spec.match(device, parent_devname=parent_devname):
            return index
    return None


def apply_device_specs(
    specs: Sequence[DeviceSpec], devices: Iterable[PciDevice]
) -> list[tuple[PciDevice, int]]:
    """The assignable devices, in input order, each tagged by the first spec that selects it.

    Returns ``(device.with_tags(spec.tags), spec_index)`` pairs; unselected devices are dropped.
    """
    devices = list(devices)
    devnames = {d.address: d.devname for d in devices if d.devname is not None}
    out: list[tuple[PciDevice, int]] = []
    for device in devices:
        parent = device.parent_address
        parent_devname = devnames.get(parent) if parent is not None else None
        index = first_match(specs, device, parent_devname=parent_devname)
        if index is not None:
            out.append((device.with_tags(specs[index].tags), index))
    return out
