"""PCI addresses, device types and devices, and the PF/VF dependency rules.

Addresses are kept in their normal form ``dddd:bb:ss.f`` (lowercase hex, zero padded).
``PciAddress`` also packs to an int whose order is the address order, which the scheduler
uses for compact free lists.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from pcinet.core.errors import DeviceUnavailable, InvalidAddress, InvalidDevice
from pcinet.core.limits import check_value
from pcinet.core.schema import DeviceFile, check_keys

MAX_DOMAIN = 0xFFFF
MAX_BUS = 0xFF
MAX_SLOT = 0x1F
MAX_FUNC = 0x7
MAX_VENDOR_ID = 0xFFFF
MAX_PRODUCT_ID = 0xFFFF

_ADDRESS_RE = re.compile(
    r"^(?:(?P<domain>[0-9a-fA-F]{1,4}):)?(?P<bus>[0-9a-fA-F]{1,2}):"
    r"(?P<slot>[0-9a-fA-F]{1,2})\.(?P<func>[0-7])$"
)


class DevType(StrEnum):
    PCI = "type-PCI"
    PF = "type-PF"
    VF = "type-VF"


class DeviceStatus(StrEnum):
    AVAILABLE = "available"
    ALLOCATED = "allocated"
    # Derived, never reported: blocked by the PF/VF rules.
    UNAVAILABLE = "unavailable"


@dataclass(frozen=True, order=True, slots=True)
class PciAddress:
    domain: int
    bus: int
    slot: int
    func: int

    @classmethod
    def parse(cls, text: str, *, field: str = "address") -> PciAddress:
        """Parse a concrete address: ``0000:0a:00.1`` (the domain may be left out: 0000).

        >>> str(PciAddress.parse("0A:1f.7"))
        '0000:0a:1f.7'
        """
        if not isinstance(text, str):
            raise InvalidAddress(f"{field}: expected a string, got {text!r}", field=field)
        m = _ADDRESS_RE.match(text.strip())
        if m is None:
            raise InvalidAddress(
                f"{field}: {text!r} is not a PCI address of the form dddd:bb:ss.f", field=field
            )
        domain = int(m.group("domain") or "0", 16)
        slot = int(m.group("slot"), 16)
        if slot > MAX_SLOT:
            raise InvalidAddress(
                f"{field}: slot {m.group('slot')!r} of {text!r} is greater than {MAX_SLOT:x}",
                field=field,
            )
        return cls(domain, int(m.group("bus"), 16), slot, int(m.group("func"), 16))

    def __str__(self) -> str:
        return f"{self.domain:04x}:{self.bus:02x}:{self.slot:02x}.{self.func:x}"

    def as_int(self) -> int:
        return (self.domain << 16) | (self.bus << 8) | (self.slot << 3) | self.func

    @classmethod
    def from_int(cls, value: int) -> PciAddress:
        return cls(value >> 16, (value >> 8) & 0xFF, (value >> 3) & 0x1F, value & 0x7)


def normalize_address(text: str, *, field: str = "address") -> str:
    return str(PciAddress.parse(text, field=field))


def address_to_int(text: str) -> int:
    return PciAddress.parse(text).as_int()


def int_to_address(value: int) -> str:
    return str(PciAddress.from_int(value))


def normalize_id(value: object, *, field: str) -> str:
    """A vendor or product id: hex, optional ``0x``, at most ffff, as 4 lowercase digits."""
    if not isinstance(value, str):
        raise InvalidDevice(f"{field}: expected a hex string, got {value!r}", field=field)
    text = value.strip().lower().removeprefix("0x")
    if not text or any(c not in "0123456789abcdef" for c in text):
        raise InvalidDevice(f"{field}: {value!r} does not parse as a hex number", field=field)
    number = int(text, 16)
    if number > 0xFFFF:
        raise InvalidDevice(f"{field}: {value!r} is greater than ffff", field=field)
    return f"{number:04x}"


_EMPTY: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class PciDevice:
    """A PCI device as a host reports it (the objects of a cloud file's ``devices`` list).

    ``tags`` are the tags of the device spec that selected it (or, where a host reports
    without a device spec, the device's own tags). A tag present with value ``None``
    (``physical_network: null``) is different from an absent tag.
    """

    address: str
    vendor_id: str
    product_id: str
    dev_type: DevType
    parent_address: str | None = None
    numa_node: int | None = None
    devname: str | None = None
    status: DeviceStatus = DeviceStatus.AVAILABLE
    tags: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    # What the host agent needs to program the device (see ``pcinet.inventory``):
    # a VF's index on its PF, the PCIe root port, the MAC of its netdev.
    vf_index: int | None = None
    pcie_root: str | None = None
    mac_address: str | None = None

    @property
    def vendor_info(self) -> str:
        return f"{self.vendor_id}:{self.product_id}"

    def with_tags(self, tags: Mapping[str, Any]) -> PciDevice:
        return PciDevice(
            self.address,
            self.vendor_id,
            self.product_id,
            self.dev_type,
            self.parent_address,
            self.numa_node,
            self.devname,
            self.status,
            MappingProxyType(dict(tags)),
            self.vf_index,
            self.pcie_root,
            self.mac_address,
        )

    def with_status(self, status: DeviceStatus) -> PciDevice:
        return PciDevice(
            self.address,
            self.vendor_id,
            self.product_id,
            self.dev_type,
            self.parent_address,
            self.numa_node,
            self.devname,
            status,
            self.tags,
            self.vf_index,
            self.pcie_root,
            self.mac_address,
        )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, where: str = "device") -> PciDevice:
        """Build a device from a cloud-file/API object; errors name ``where.<property>``."""
        if not isinstance(data, Mapping):
            raise InvalidDevice(f"{where}: expected an object, got {data!r}", field=where)
        check_keys(data, DeviceFile, where, error=InvalidDevice)
        address = normalize_address(data["address"], field=f"{where}.address")
        try:
            dev_type = DevType(data["dev_type"])
        except ValueError:
            raise InvalidDevice(
                f"{where}.dev_type: {data['dev_type']!r} is not one of "
                + ", ".join(t.value for t in DevType),
                field=f"{where}.dev_type",
            ) from None
        parent = data.get("parent_address")
        if parent is not None:
            parent = normalize_address(parent, field=f"{where}.parent_address")
        if dev_type is DevType.VF and parent is None:
            raise InvalidDevice(
                f"{where}.parent_address: a type-VF device needs the address of its PF",
                field=f"{where}.parent_address",
            )
        if dev_type is not DevType.VF and parent is not None:
            raise InvalidDevice(
                f"{where}.parent_address: only a type-VF device has a parent PF",
                field=f"{where}.parent_address",
            )
        numa = data.get("numa_node")
        if numa is not None and (not isinstance(numa, int) or isinstance(numa, bool) or numa < 0):
            raise InvalidDevice(
                f"{where}.numa_node: expected a non-negative integer or null, got {numa!r}",
                field=f"{where}.numa_node",
            )
        status_raw = data.get("status", DeviceStatus.AVAILABLE.value)
        if status_raw not in (DeviceStatus.AVAILABLE.value, DeviceStatus.ALLOCATED.value):
            raise InvalidDevice(
                f"{where}.status: {status_raw!r} is not one of available, allocated",
                field=f"{where}.status",
            )
        devname = data.get("devname")
        if devname is not None and not isinstance(devname, str):
            raise InvalidDevice(f"{where}.devname: expected a string", field=f"{where}.devname")
        tags = data.get("tags") or {}
        if not isinstance(tags, Mapping):
            raise InvalidDevice(f"{where}.tags: expected an object", field=f"{where}.tags")
        tags = dict(tags)
        check_value(tags, f"{where}.tags", error=InvalidDevice)
        physnet = tags.get("physical_network")
        if physnet is not None and not isinstance(physnet, str):
            field = f"{where}.tags.physical_network"
            raise InvalidDevice(f"{field}: expected a string or null, got {physnet!r}", field=field)
        return cls(
            address=address,
            vendor_id=normalize_id(data["vendor_id"], field=f"{where}.vendor_id"),
            product_id=normalize_id(data["product_id"], field=f"{where}.product_id"),
            dev_type=dev_type,
            parent_address=parent,
            numa_node=numa,
            devname=devname,
            status=DeviceStatus(status_raw),
            tags=MappingProxyType(tags),
            vf_index=_vf_index(data.get("vf_index"), dev_type, where),
            pcie_root=_pcie_root(data.get("pcie_root"), where),
            mac_address=_device_mac(data.get("mac_address"), where),
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "address": self.address,
            "vendor_id": self.vendor_id,
            "product_id": self.product_id,
            "dev_type": self.dev_type.value,
            "numa_node": self.numa_node,
            "status": self.status.value,
        }
        if self.parent_address is not None:
            out["parent_address"] = self.parent_address
        if self.devname is not None:
            out["devname"] = self.devname
        if self.tags:
            out["tags"] = dict(self.tags)
        for key in ("vf_index", "pcie_root", "mac_address"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        return out


_PCIE_ROOT_RE = re.compile(
    r"^pci[0-9a-f]{4}:[0-9a-f]{2}(/[0-9a-f]{4}:[0-9a-f]{2}:[0-1][0-9a-f]\.[0-7])?$"
)
_DEVICE_MAC_RE = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")
MAX_VF_INDEX = 0xFFFF


def _vf_index(value: object, dev_type: DevType, where: str) -> int | None:
    field = f"{where}.vf_index"
    if value is None:
        return None
    if dev_type is not DevType.VF:
        raise InvalidDevice(f"{field}: only a type-VF device has a VF index", field=field)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_VF_INDEX:
        raise InvalidDevice(
            f"{field}: expected an integer 0-{MAX_VF_INDEX} or null, got {value!r}", field=field
        )
    return value


def _pcie_root(value: object, where: str) -> str | None:
    """``pci0000:5d/0000:5d:00.0`` (host bridge / root port), or ``pci0000:5d`` alone."""
    field = f"{where}.pcie_root"
    if value is None:
        return None
    if not isinstance(value, str) or not _PCIE_ROOT_RE.match(value.lower()):
        raise InvalidDevice(
            f"{field}: {value!r} is not a PCIe root like pci0000:5d/0000:5d:00.0", field=field
        )
    return value.lower()


def _device_mac(value: object, where: str) -> str | None:
    # Any well-formed MAC: a VF nobody configured yet reads 00:00:00:00:00:00.
    field = f"{where}.mac_address"
    if value is None:
        return None
    text = value.strip().lower().replace("-", ":") if isinstance(value, str) else ""
    if not _DEVICE_MAC_RE.match(text):
        raise InvalidDevice(
            f"{field}: {value!r} is not a MAC address like aa:bb:cc:dd:ee:ff", field=field
        )
    return text


class Inventory:
    """One host's devices and the PF/VF dependency rules, derived from allocations alone.

    - a PF is free only while it is not allocated and none of its VFs is allocated;
    - a VF is free only while it is not allocated and its PF is not allocated;
    so allocating a PF makes its VFs unavailable, allocating a VF makes its PF unavailable,
    and freeing the last allocated VF frees the PF. Statuses are never stored, only derived,
    so they cannot drift.
    """

    __slots__ = ("_allocated", "_children", "_devices")

    def __init__(self, devices: Iterable[PciDevice], allocated: Iterable[str] = ()) -> None:
        self._devices: dict[str, PciDevice] = {}
        self._children: dict[str, list[str]] = {}
        for dev in devices:
            if dev.address in self._devices:
                raise InvalidDevice(
                    f"devices: address {dev.address} is listed twice", field="devices"
                )
            self._devices[dev.address] = dev
            if dev.parent_address is not None:
                self._children.setdefault(dev.parent_address, []).append(dev.address)
        for dev in self._devices.values():
            if dev.parent_address is not None:
                parent = self._devices.get(dev.parent_address)
                if parent is not None and parent.dev_type is not DevType.PF:
                    raise InvalidDevice(
                        f"devices: parent_address {dev.parent_address} of {dev.address} "
                        f"is a {parent.dev_type.value}, not a type-PF",
                        field="devices",
                    )
        self._allocated: set[str] = {
            d.address for d in self._devices.values() if d.status is DeviceStatus.ALLOCATED
        }
        self._allocated.update(allocated)
        for addr in self._allocated:
            if addr not in self._devices:
                raise InvalidDevice(
                    f"devices: allocated address {addr} is unknown", field="devices"
                )
        self._check_consistent()

    def _check_consistent(self) -> None:
        for addr in self._allocated:
            dev = self._devices[addr]
            if dev.dev_type is DevType.PF:
                held = [c for c in self._children.get(addr, ()) if c in self._allocated]
                if held:
                    raise InvalidDevice(
                        f"devices: PF {addr} and its VF {held[0]} are both allocated",
                        field="devices",
                    )

    @property
    def devices(self) -> Mapping[str, PciDevice]:
        return self._devices

    def children(self, pf_address: str) -> tuple[str, ...]:
        return tuple(self._children.get(pf_address, ()))

    def is_allocated(self, address: str) -> bool:
        return address in self._allocated

    def status(self, address: str) -> DeviceStatus:
        if address in self._allocated:
            return DeviceStatus.ALLOCATED
        return DeviceStatus.AVAILABLE if self.is_free(address) else DeviceStatus.UNAVAILABLE

    def is_free(self, address: str) -> bool:
        dev = self._devices[address]
        if address in self._allocated:
            return False
        if dev.dev_type is DevType.PF:
            return not any(c in self._allocated for c in self._children.get(address, ()))
        if dev.parent_address is not None:
            return dev.parent_address not in self._allocated
        return True

    def free_devices(self) -> list[PciDevice]:
        return [d for a, d in self._devices.items() if self.is_free(a)]

    def check_claim(self, addresses: Iterable[str]) -> list[str]:
        """Validate that ``addresses`` can be allocated together; return them in order.

        Raises DeviceUnavailable naming the first device that is unknown, not free, listed
        twice, or in PF/VF conflict with another device of the same claim.
        """
        wanted = list(addresses)
        seen: set[str] = set()
        for addr in wanted:
            if addr not in self._devices:
                raise DeviceUnavailable(f"device {addr} is not on this host")
            if addr in seen:
                raise DeviceUnavailable(f"device {addr} is claimed twice")
            if not self.is_free(addr):
                raise DeviceUnavailable(
                    f"device {addr} is {self.status(addr).value}, not available"
                )
            seen.add(addr)
        for addr in wanted:
            parent = self._devices[addr].parent_address
            if parent is not None and parent in seen:
                raise DeviceUnavailable(f"PF {parent} and its VF {addr} cannot both be claimed")
        return wanted

    def claim(self, addresses: Iterable[str]) -> None:
        for addr in self.check_claim(addresses):
            self._allocated.add(addr)

    def release(self, addresses: Iterable[str]) -> None:
        """Idempotent: releasing a free or unknown device is a no-op."""
        for addr in addresses:
            self._allocated.discard(addr)
