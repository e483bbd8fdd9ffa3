"""Reading one device's sysfs directory (``DeviceReader.read_device``): its attribute
files and links, each problem recorded with the path at fault and the value read as
unknown, never raised. ``pcinet.inventory.sysfs`` turns what is read into devices."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from pcinet.core.errors import InvalidInput
from pcinet.core.pci import normalize_address, normalize_id
from pcinet.inventory.discovered import Problem

_VIRTFN_RE = re.compile(r"^virtfn(\d+)$")
_MAC_RE = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")
_CLASS_RE = re.compile(r"^0x[0-9a-f]{6}$")
_HOST_BRIDGE_RE = re.compile(r"^pci[0-9a-f]{4}:[0-9a-f]{2}$")
_CANONICAL_RE = re.compile(r"^[0-9a-f]{4}:[0-9a-f]{2}:[01][0-9a-f]\.[0-7]$")


def address_of(text: str, field: str) -> str:
    # sysfs names are already in the normal form: skip the full parse for them
    return text if _CANONICAL_RE.match(text) else normalize_address(text, field=field)


class Unreadable(Exception):
    """An attribute that exists but cannot be read or parsed; the message says why."""


@dataclass(slots=True)
class RawDevice:
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


def read_text(path: str) -> str | None:
    """The stripped content, None if absent; Unreadable if present but unreadable.
    (os.open/os.read: a sysfs attribute is one small read, and this runs thousands of
    times per discovery.)"""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise Unreadable(f"cannot read: {exc.strerror}") from None
    try:
        return os.read(fd, 4096).decode("ascii").strip()
    except OSError as exc:
        raise Unreadable(f"cannot read: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise Unreadable(f"cannot read: {exc}") from None
    finally:
        os.close(fd)


def link_name(path: str) -> str | None:
    """The last component of a symlink's target, None if there is no such link."""
    try:
        return os.path.basename(os.readlink(path))
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise Unreadable(f"not a readable link: {exc.strerror}") from None


_join = os.path.join


class DeviceReader:
    def __init__(self, root: str) -> None:
        self.devices_dir = os.path.normpath(_join(root, "devices"))
        self.problems: list[Problem] = []

    def problem(self, path: str, message: str) -> None:
        self.problems.append(Problem(path, message))

    def optional_int(self, path: str, *, minimum: int = 0) -> int | None:
        try:
            text = read_text(path)
        except Unreadable as exc:
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

    def read_device(self, entry: str, address: str) -> RawDevice | None:
        try:
            names = set(os.listdir(entry))
        except OSError:
            self.problem(entry, "dangling or not a directory; device skipped")
            return None
        ids: list[str] = []
        for name in ("vendor", "device"):
            try:
                text = read_text(_join(entry, name))
                if text is None:
                    raise Unreadable("missing")
                ids.append(normalize_id(text, field=name))
            except (Unreadable, InvalidInput) as exc:
                message = exc.message if isinstance(exc, InvalidInput) else str(exc)
                self.problem(_join(entry, name), f"{message}; device skipped")
                return None
        pf = "sriov_totalvfs" in names
        raw = RawDevice(
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
            text = read_text(path)
        except Unreadable as exc:
            self.problem(path, f"{exc}; read as unknown")
            return None
        if text is None:
            return None
        if not _CLASS_RE.match(text.lower()):
            self.problem(path, f"{text[:40]!r} is not a class code like 0x020000")
            return None
        return text.lower()

    def links(self, entry: str, names: set[str], raw: RawDevice) -> None:
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
                raw.driver = link_name(_join(entry, "driver"))
            except Unreadable as exc:
                self.problem(_join(entry, "driver"), f"{exc}; read as unbound")

    def link_address(self, path: str) -> str | None:
        try:
            name = link_name(path)
        except Unreadable as exc:
            self.problem(path, str(exc))
            return None
        if name is None:
            return None
        try:
            return address_of(name, os.path.basename(path))
        except InvalidInput:
            self.problem(path, f"points to {name!r}, not a PCI address")
            return None

    def net(self, net: str, raw: RawDevice) -> None:
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
            mac = read_text(_join(ifdir, "address"))
            raw.operstate = read_text(_join(ifdir, "operstate"))
        except Unreadable as exc:
            self.problem(ifdir, f"{exc}; MAC or link state read as unknown")
            return
        if mac is not None:
            if _MAC_RE.match(mac.lower()):
                raw.mac = mac.lower()
            else:
                self.problem(_join(ifdir, "address"), f"{mac[:40]!r} is not a MAC address")


def entries(reader: DeviceReader, base: str) -> Iterator[tuple[str, str]]:
    try:
        names = sorted(os.listdir(base))
    except OSError as exc:
        reader.problem(base, f"cannot list: {exc.strerror or exc}")
        return
    for name in names:
        try:
            yield _join(base, name), address_of(name, name)
        except InvalidInput:
            reader.problem(_join(base, name), "not a PCI address; skipped")
