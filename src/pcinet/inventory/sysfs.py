"""PCI device discovery in sysfs: ``discover(root)`` reads ``<root>/bus/pci/devices``.

Each entry is a device directory (on a real host a symlink into ``<root>/devices/...``;
plain directories are read too). Read per device: ``vendor``, ``device``, ``class``,
``numa_node`` (-1 = unknown), ``sriov_totalvfs``/``sriov_numvfs``, the ``virtfnN`` and
``physfn`` links, the ``driver`` link and ``net/<ifname>/{address,operstate}``.

- A device with ``sriov_totalvfs`` > 0 (or ``virtfnN`` links) is ``type-PF``; one with a
  ``physfn`` link is ``type-VF``, with its PF's address and its index N from the PF's
  ``virtfnN`` link; anything else is ``type-PCI``.
- ``pcie_root`` is the root port the device hangs under, from its real path
  (``devices/pci0000:5d/0000:5d:00.0/...`` gives ``pci0000:5d/0000:5d:00.0``); a device
  directly on the host bridge gives ``pci0000:5d``; a plain directory gives None.
- A device with several network interfaces (``net/`` holding more than one: e.g. a
  ConnectX-3 function with two ports) reports as ``netdev`` (and its ``mac``/``operstate``)
  the one with the lowest ``dev_port`` (the port number the driver gives it; names break a
  tie or stand in when ``dev_port`` is absent), and all of them in ``netdevs``, in that
  order.
- Problems never stop discovery; each is reported with the path at fault:
  an unreadable or malformed ``vendor``/``device``, a dangling entry, or a VF whose PF is
  missing or does not list it skips the device; a VF at or past the PF's ``sriov_numvfs``
  (the kernel is adding or removing VFs) is skipped too; a malformed ``numa_node``, MAC
  or ``sriov_*`` count is reported and read as unknown.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from pcinet.core.errors import InvalidInput
from pcinet.core.pci import DevType, PciDevice, normalize_address, normalize_id

DEFAULT_ROOT = "/sys"
_VIRTFN_RE = re.compile(r"^virtfn(\d+)$")
_MAC_RE = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")
_CLASS_RE = re.compile(r"^0x[0-9a-f]{6}$")
_HOST_BRIDGE_RE = re.compile(r"^pci[0-9a-f]{4}:[0-9a-f]{2}$")
_CANONICAL_RE = re.compile(r"^[0-9a-f]{4}:[0-9a-f]{2}:[01][0-9a-f]\.[0-7]$")


def _address(text: str, field: str) -> str:
    # sysfs names are already in the normal form: skip the full parse for them
    return text if _CANONICAL_RE.match(text) else normalize_address(text, field=field)


@dataclass(frozen=True, slots=True)
class Problem:
    """Something discovery could not read or did not believe, and what it did about it."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


@dataclass(frozen=True, slots=True)
class DiscoveredDevice:
    """One PCI device as sysfs shows it. ``vf_index`` is set for VFs only; ``netdev``,
    ``mac`` and ``operstate`` are None without a network interface (e.g. bound to vfio-pci)."""

    address: str
    vendor_id: str
    product_id: str
    class_code: str | None
    dev_type: DevType
    parent_address: str | None = None
    vf_index: int | None = None
    numa_node: int | None = None
    netdev: str | None = None
    driver: str | None = None
    mac: str | None = None
    operstate: str | None = None
    pcie_root: str | None = None
    sriov_totalvfs: int | None = None
    sriov_numvfs: int | None = None
    # Every interface of the device, ``netdev`` first (see the module docstring).
    netdevs: tuple[str, ...] = ()

    def to_pci_device(self) -> PciDevice:
        """The controller's device model (untagged)."""
        return PciDevice(
            self.address,
            self.vendor_id,
            self.product_id,
            self.dev_type,
            self.parent_address,
            self.numa_node,
            self.netdev,
            vf_index=self.vf_index,
            pcie_root=self.pcie_root,
            mac_address=self.mac,
        )

    def to_dict(self) -> dict[str, Any]:
        """The ``pcinet agent discover --json`` object (without tags)."""
        return {
            "address": self.address,
            "vendor_id": self.vendor_id,
            "product_id": self.product_id,
            "dev_type": self.dev_type.value,
            "parent_address": self.parent_address,
            "vf_index": self.vf_index,
            "numa_node": self.numa_node,
            "netdev": self.netdev,
            "netdevs": list(self.netdevs),
            "driver": self.driver,
            "mac": self.mac,
            "pcie_root": self.pcie_root,
            "operstate": self.operstate,
            "class": self.class_code,
        }


@dataclass(frozen=True, slots=True)
class Discovery:
    """Devices in address order, and what could not be read."""

    devices: tuple[DiscoveredDevice, ...]
    problems: tuple[Problem, ...] = ()

    def by_address(self) -> dict[str, DiscoveredDevice]:
        return {d.address: d for d in self.devices}

    def by_netdev(self) -> dict[str, DiscoveredDevice]:
        """Each interface name (of ``netdevs``: all of a device's) to its device."""
        return {name: d for d in self.devices for name in d.netdevs}


class _Unreadable(Exception):
    """An attribute that exists but cannot be read or parsed; the message says why."""


@dataclass(slots=True)
class _Raw:
    address: str
    path: str
    vendor_id: str
    product_id: str
    class_code: str | None
    numa_node: int | None
    totalvfs: int | None
    numvfs: int | None
    virtfns: dict[int, str] = field(default_factory=dict)
    physfn: str | None = None
    driver: str | None = None
    netdev: str | None = None
    netdevs: tuple[str, ...] = ()
    mac: str | None = None
    operstate: str | None = None
    pcie_root: str | None = None


def _read_text(path: str) -> str | None:
    """The stripped content, None if absent; _Unreadable if present but unreadable.
    (os.open/os.read: a sysfs attribute is one small read, and this runs thousands of
    times per discovery.)"""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise _Unreadable(f"cannot read: {exc.strerror}") from None
    try:
        return os.read(fd, 4096).decode("ascii").strip()
    except OSError as exc:
        raise _Unreadable(f"cannot read: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise _Unreadable(f"cannot read: {exc}") from None
    finally:
        os.close(fd)


def _link_name(path: str) -> str | None:
    """The last component of a symlink's target, None if there is no such link."""
    try:
        return os.path.basename(os.readlink(path))
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise _Unreadable(f"not a readable link: {exc.strerror}") from None


_join = os.path.join


class _Reader:
    def __init__(self, root: str) -> None:
        self.devices_dir = os.path.normpath(_join(root, "devices"))
        self.problems: list[Problem] = []

    def problem(self, path: str, message: str) -> None:
        self.problems.append(Problem(path, message))

    def optional_int(self, path: str, *, minimum: int = 0) -> int | None:
        try:
            text = _read_text(path)
        except _Unreadable as exc:
            self.problem(path, f"{exc}; read as unknown")
            return None
        if text is None:
            return None
        try:
            value = int(text)
        except ValueError:
            self.problem(path, f"{text[:40]!r} is not an integer; read as unknown")
            return None
        if value < minimum:
            self.problem(path, f"{value} is below {minimum}; read as unknown")
            return None
        return value

    def numa_node(self, path: str) -> int | None:
        node = self.optional_int(path, minimum=-1)
        return None if node is None or node < 0 else node

    def pcie_root(self, entry: str) -> str | None:
        """From the entry's link target (``../../../devices/pci0000:3a/0000:3a:00.0/...``)."""
        try:
            target = os.readlink(entry)
        except OSError:  # a plain directory
            return None
        real = os.path.normpath(_join(os.path.dirname(entry), target))
        parts = os.path.relpath(real, self.devices_dir).split(os.sep)
        if len(parts) < 2 or not _HOST_BRIDGE_RE.match(parts[0]):
            return None
        return parts[0] if len(parts) == 2 else f"{parts[0]}/{parts[1]}"

    def read_device(self, entry: str, address: str) -> _Raw | None:
        try:
            names = set(os.listdir(entry))
        except OSError:
            self.problem(entry, "dangling or not a directory; device skipped")
            return None
        ids: list[str] = []
        for name in ("vendor", "device"):
            try:
                text = _read_text(_join(entry, name))
                if text is None:
                    raise _Unreadable("missing")
                ids.append(normalize_id(text, field=name))
            except (_Unreadable, InvalidInput) as exc:
                message = exc.message if isinstance(exc, InvalidInput) else str(exc)
                self.problem(_join(entry, name), f"{message}; device skipped")
                return None
        pf = "sriov_totalvfs" in names
        raw = _Raw(
            address=address,
            path=entry,
            vendor_id=ids[0],
            product_id=ids[1],
            class_code=self.class_code(_join(entry, "class")),
            numa_node=self.numa_node(_join(entry, "numa_node")),
            totalvfs=self.optional_int(_join(entry, "sriov_totalvfs")) if pf else None,
            numvfs=self.optional_int(_join(entry, "sriov_numvfs")) if pf else None,
            pcie_root=self.pcie_root(entry),
        )
        self.links(entry, names, raw)
        if "net" in names:
            self.net(_join(entry, "net"), raw)
        return raw

    def class_code(self, path: str) -> str | None:
        try:
            text = _read_text(path)
        except _Unreadable as exc:
            self.problem(path, f"{exc}; read as unknown")
            return None
        if text is None:
            return None
        if not _CLASS_RE.match(text.lower()):
            self.problem(path, f"{text[:40]!r} is not a class code like 0x020000")
            return None
        return text.lower()

    def links(self, entry: str, names: set[str], raw: _Raw) -> None:
        for name in names:
            if name.startswith("virtfn"):
                m = _VIRTFN_RE.match(name)
                if m is None:
                    continue
                target = self.link_address(_join(entry, name))
                if target is not None:
                    raw.virtfns[int(m.group(1))] = target
        if "physfn" in names:
            raw.physfn = self.link_address(_join(entry, "physfn"))
        if "driver" in names:
            try:
                raw.driver = _link_name(_join(entry, "driver"))
            except _Unreadable as exc:
                self.problem(_join(entry, "driver"), f"{exc}; read as unbound")

    def link_address(self, path: str) -> str | None:
        try:
            name = _link_name(path)
        except _Unreadable as exc:
            self.problem(path, str(exc))
            return None
        if name is None:
            return None
        try:
            return _address(name, os.path.basename(path))
        except InvalidInput:
            self.problem(path, f"points to {name!r}, not a PCI address")
            return None

    def net(self, net: str, raw: _Raw) -> None:
        try:
            names = sorted(os.listdir(net))
        except OSError as exc:
            self.problem(net, f"cannot list: {exc.strerror}; read as no interface")
            return
        if not names:
            return
        if len(names) > 1:
            ports = {n: self.optional_int(_join(net, n, "dev_port")) for n in names}
            names.sort(key=lambda n: (ports[n] is None, ports[n] or 0, n))
        raw.netdev, raw.netdevs = names[0], tuple(names)
        ifdir = _join(net, names[0])
        try:
            mac = _read_text(_join(ifdir, "address"))
            raw.operstate = _read_text(_join(ifdir, "operstate"))
        except _Unreadable as exc:
            self.problem(ifdir, f"{exc}; MAC or link state read as unknown")
            return
        if mac is not None:
            if _MAC_RE.match(mac.lower()):
                raw.mac = mac.lower()
            else:
                self.problem(_join(ifdir, "address"), f"{mac[:40]!r} is not a MAC address")


def _entries(reader: _Reader, base: str) -> Iterator[tuple[str, str]]:
    try:
        names = sorted(os.listdir(base))
    except OSError as exc:
        reader.problem(base, f"cannot list: {exc.strerror or exc}")
        return
    for name in names:
        try:
            yield _join(base, name), _address(name, name)
        except InvalidInput:
            reader.problem(_join(base, name), "not a PCI address; skipped")


def discover(root: str | os.PathLike[str] = DEFAULT_ROOT) -> Discovery:
    """Every PCI device under ``<root>/bus/pci/devices``, and the problems met on the way."""
    top = os.fspath(root)
    reader = _Reader(top)
    raws: dict[str, _Raw] = {}
    for entry, address in _entries(reader, _join(top, "bus", "pci", "devices")):
        raw = reader.read_device(entry, address)
        if raw is not None:
            raws[address] = raw
    links: dict[tuple[str, str], list[int]] = {}  # (PF, VF) -> N of the PF's virtfnN links
    for raw in raws.values():
        for n, vf in raw.virtfns.items():
            links.setdefault((raw.address, vf), []).append(n)
    devices = [d for d in (_classify(reader, raw, raws, links) for raw in raws.values()) if d]
    devices.sort(key=lambda d: d.address)
    return Discovery(tuple(devices), tuple(reader.problems))


def _classify(
    reader: _Reader, raw: _Raw, raws: dict[str, _Raw], links: dict[tuple[str, str], list[int]]
) -> DiscoveredDevice | None:
    where = raw.path
    parent: str | None = None
    vf_index: int | None = None
    if raw.physfn is not None:
        pf = raws.get(raw.physfn)
        if pf is None:
            reader.problem(_join(where, "physfn"), f"its PF {raw.physfn} was not found; VF skipped")
            return None
        indexes = links.get((pf.address, raw.address), [])
        if len(indexes) != 1:
            reader.problem(
                _join(where, "physfn"),
                f"PF {raw.physfn} has {len(indexes)} virtfn links to this VF, not 1; VF skipped",
            )
            return None
        vf_index = indexes[0]
        if pf.numvfs is not None and vf_index >= pf.numvfs:
            reader.problem(
                where,
                f"VF {vf_index} of {raw.physfn} is past its sriov_numvfs ({pf.numvfs}); VF skipped",
            )
            return None
        parent, dev_type = raw.physfn, DevType.VF
    elif raw.totalvfs or raw.virtfns:  # virtfn links show SR-IOV even if the count is garbage
        dev_type = DevType.PF
        count = len(raw.virtfns)
        if raw.numvfs is not None and count != raw.numvfs:
            reader.problem(
                _join(where, "sriov_numvfs"),
                f"{raw.numvfs} VFs enabled but {count} virtfn links (VFs being added or "
                "removed); only VFs below sriov_numvfs are reported",
            )
        for n, vf in sorted(raw.virtfns.items()):
            if vf not in raws:
                reader.problem(_join(where, f"virtfn{n}"), f"VF {vf} was not found")
    else:
        dev_type = DevType.PCI
    return DiscoveredDevice(
        address=raw.address,
        vendor_id=raw.vendor_id,
        product_id=raw.product_id,
        class_code=raw.class_code,
        dev_type=dev_type,
        parent_address=parent,
        vf_index=vf_index,
        numa_node=raw.numa_node,
        netdev=raw.netdev,
        netdevs=raw.netdevs,
        driver=raw.driver,
        mac=raw.mac,
        operstate=raw.operstate,
        pcie_root=raw.pcie_root,
        sriov_totalvfs=raw.totalvfs,
        sriov_numvfs=raw.numvfs,
    )
