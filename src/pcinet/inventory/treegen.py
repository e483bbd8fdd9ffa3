"""Realistic sysfs trees, for tests, the demo and the simulator.

``write_sysfs_tree(root, layout)`` writes what a host with the given NICs, GPUs and NUMA
nodes shows under ``/sys``: device directories under ``devices/pciDDDD:BB/<root port>/``
with ``bus/pci/devices/<address>`` symlinks to them (or plain directories), the attribute
files, ``virtfnN``/``physfn``/``driver`` links, ``net/<ifname>/{address,operstate}`` and
``devices/system/node/nodeN/{cpulist,meminfo}``. NIC ids, VF limits and VF addresses come
from ``pcinet.core.nics`` (VFs past the end of the PF's bus continue on the next bus).

>>> import tempfile
>>> from pcinet.core.nics import E810
>>> from pcinet.inventory.sysfs import discover
>>> layout = HostLayout(nics=(NicLayout(E810, "0000:3b:00.0", numvfs=2, vfio_vfs=(1,)),))
>>> with tempfile.TemporaryDirectory() as tmp:
...     found = discover(write_sysfs_tree(tmp, layout))
>>> [(d.address, d.vf_index, d.netdev) for d in found.devices][1:4]
[('0000:3b:00.0', None, 'enp59s0f0'), ('0000:3b:00.1', None, 'enp59s0f1'), \
('0000:3b:01.0', 0, 'enp59s0f0v0')]

Writing again onto a root this module wrote replaces the tree (e.g. with more VFs, as when
an operator raises ``sriov_numvfs``); a reader may see a partial tree meanwhile. A root
that is not empty and was not written here is refused, so nothing else is ever deleted.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from pcinet.core.nics import A100, DISPLAY_3D_CLASS, NETWORK_CLASS, GpuModel, NicModel
from pcinet.core.pci import PciAddress

MARKER = ".pcinet-sysfs-tree"
BRIDGE_CLASS = "0x060400"
ROOT_PORT_IDS = ("8086", "347a")  # an Intel Xeon PCIe root port


@dataclass(frozen=True, slots=True)
class NicLayout:
    """One adapter: PFs at functions 0..ports-1 of ``address``'s slot.

    ``numvfs`` VFs are enabled on every port; the VFs whose index is in ``vfio_vfs`` are
    bound to vfio-pci (no netdev), the others to the model's VF driver. Interfaces are
    named ``<ifname>`` + port (``enp59s0f0``) and ``<ifname>`` + port + ``v`` + index.
    ``root_port`` defaults to slot 0 of the bus before the adapter's.
    """

    model: NicModel
    address: str
    numvfs: int = 8
    numa_node: int | None = 0
    ports: int | None = None
    vfio_vfs: tuple[int, ...] = ()
    ifname: str | None = None
    root_port: str | None = None
    operstate: str = "up"


@dataclass(frozen=True, slots=True)
class GpuLayout:
    address: str
    numa_node: int | None = 0
    model: GpuModel = A100
    root_port: str | None = None


@dataclass(frozen=True, slots=True)
class NumaNodeLayout:
    """A NUMA node's CPUs (numbered as Linux does with SMT: half low, half high) and memory."""

    cpus: int = 16
    memory_mb: int = 65536
    socket: int | None = None


@dataclass(frozen=True, slots=True)
class HostLayout:
    """A host's devices and NUMA nodes. ``symlinks=False`` writes plain directories under
    ``bus/pci/devices`` instead of links into ``devices/`` (then no ``pcie_root``).

    ``serial`` (0-255) goes into every MAC, as a real NIC's serial number does: hosts
    written with different serials have different MACs, hosts with the same one (the
    default 0) alike MACs, as cloned hosts would (a ``direct-physical`` port takes its PF's
    MAC, unique per network)."""

    nics: tuple[NicLayout, ...] = ()
    gpus: tuple[GpuLayout, ...] = ()
    numa_nodes: tuple[NumaNodeLayout, ...] = (NumaNodeLayout(),)
    symlinks: bool = True
    serial: int = 0


def simple_layout(
    *models: NicModel, numvfs: int = 8, numa_nodes: int = 2, gpus: int = 0
) -> HostLayout:
    """NIC ``i`` at bus ``0x3b + 0x20 * i`` on NUMA node ``i % numa_nodes``, GPUs after."""
    nics = tuple(
        NicLayout(model, f"0000:{0x3B + 0x20 * i:02x}:00.0", numvfs, i % numa_nodes)
        for i, model in enumerate(models)
    )
    base = 0x3B + 0x20 * len(models)
    gpu_layouts = tuple(
        GpuLayout(f"0000:{base + 0x10 * i:02x}:00.0", i % numa_nodes) for i in range(gpus)
    )
    nodes = tuple(NumaNodeLayout(socket=n) for n in range(numa_nodes))
    return HostLayout(nics, gpu_layouts, nodes)


def write_sysfs_tree(root: str | os.PathLike[str], layout: HostLayout) -> Path:
    """Write ``layout`` under ``root`` (created if needed) and return ``root``.

    Raises ValueError for an impossible layout (too many VFs, colliding addresses) and
    FileExistsError for a non-empty ``root`` this function did not write.
    """
    if not 0 <= layout.serial <= 0xFF:
        raise ValueError(f"serial: {layout.serial} is not in 0..255")
    top = Path(root)
    _prepare(top)
    writer = _Writer(top, layout.symlinks, layout.serial)
    for nic in layout.nics:
        writer.nic(nic)
    for gpu in layout.gpus:
        root_port = writer.root_port(gpu.address, gpu.root_port)
        writer.device(
            gpu.address,
            root_port,
            gpu.model.vendor_id,
            gpu.model.product_id,
            DISPLAY_3D_CLASS,
            numa_node=gpu.numa_node,
            driver="vfio-pci",
        )
    _write_nodes(top, layout.numa_nodes)
    (top / MARKER).write_text("written by pcinet.inventory.treegen\n")
    return top


def _prepare(top: Path) -> None:
    if top.exists() and any(top.iterdir()):
        if not (top / MARKER).exists():
            raise FileExistsError(f"{top}: not empty and not a tree written by pcinet")
        for name in ("bus", "devices"):
            shutil.rmtree(top / name, ignore_errors=True)
    top.mkdir(parents=True, exist_ok=True)


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n")


def _link(link: Path, target: Path) -> None:
    link.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(os.path.relpath(target, link.parent), link)


def _mac(prefix: int, *parts: int) -> str:
    value = prefix << 24
    for i, part in enumerate(reversed(parts)):
        value |= (part & 0xFF) << (8 * i)
    return ":".join(f"{(value >> s) & 0xFF:02x}" for s in range(40, -8, -8))


class _Writer:
    def __init__(self, top: Path, symlinks: bool, serial: int) -> None:
        # The serial's low 5 bits go above the port number (0-7) in its MAC byte, its high
        # 3 bits above the slot (0-31) of a PF's MAC and the VF index's high byte of a VF's.
        self.port_bits = (serial & 0x1F) << 3
        self.slot_bits = (serial >> 5) << 5
        self.top = top
        self.symlinks = symlinks
        self.bus_dir = top / "bus" / "pci" / "devices"
        self.bus_dir.mkdir(parents=True, exist_ok=True)
        self.dirs: dict[str, Path] = {}

    def root_port(self, address: str, explicit: str | None) -> Path:
        dev = PciAddress.parse(address)
        if explicit is not None:
            port = PciAddress.parse(explicit)
        else:
            port = PciAddress(dev.domain, max(dev.bus - 1, 0), 0, 0)
        name = str(port)
        if name not in self.dirs:
            bridge = self.top / "devices" / f"pci{port.domain:04x}:{port.bus:02x}"
            vendor, product = ROOT_PORT_IDS
            self.device(name, bridge, vendor, product, BRIDGE_CLASS, numa_node=None)
            self.dirs[name] = bridge / name
        return self.dirs[name]

    def device(
        self,
        address: str,
        parent: Path,
        vendor: str,
        product: str,
        class_code: str,
        *,
        numa_node: int | None,
        driver: str | None = None,
    ) -> Path:
        if address in self.dirs:
            raise ValueError(f"two devices at {address}")
        path = (parent if self.symlinks else self.bus_dir) / address
        path.mkdir(parents=True)
        _write(path / "vendor", f"0x{vendor}")
        _write(path / "device", f"0x{product}")
        _write(path / "class", class_code)
        _write(path / "numa_node", str(-1 if numa_node is None else numa_node))
        if driver is not None:
            drivers = self.top / "bus" / "pci" / "drivers" / driver
            drivers.mkdir(parents=True, exist_ok=True)
            _link(path / "driver", drivers)
        if self.symlinks:
            _link(self.bus_dir / address, path)
        self.dirs[address] = path
        return path

    def net(self, path: Path, ifname: str, mac: str, operstate: str) -> None:
        _write(path / "net" / ifname / "address", mac)
        _write(path / "net" / ifname / "operstate", operstate)

    def nic(self, nic: NicLayout) -> None:
        model = nic.model
        ports = model.ports if nic.ports is None else nic.ports
        if not 1 <= ports <= model.ports:
            raise ValueError(f"{model.name} has 1..{model.ports} ports, not {ports}")
        if not 0 <= nic.numvfs <= model.max_vfs:
            raise ValueError(f"{model.name} has 0..{model.max_vfs} VFs per port, not {nic.numvfs}")
        base = PciAddress.parse(nic.address)
        parent = self.root_port(nic.address, nic.root_port)
        ifname = nic.ifname or f"enp{base.bus}s{base.slot}f"
        oui = 0x3CFDFE if model.vendor_id == "8086" else 0xB8599F
        for port in range(ports):
            pf = str(PciAddress(base.domain, base.bus, base.slot, port))
            pf_dir = self.device(
                pf,
                parent,
                model.vendor_id,
                model.pf_product_id,
                NETWORK_CLASS,
                numa_node=nic.numa_node,
                driver=model.driver,
            )
            _write(pf_dir / "sriov_totalvfs", str(model.max_vfs))
            _write(pf_dir / "sriov_numvfs", str(nic.numvfs))
            pf_mac = _mac(oui, base.bus, base.slot | self.slot_bits, port | self.port_bits)
            self.net(pf_dir, f"{ifname}{port}", pf_mac, nic.operstate)
            for index in range(nic.numvfs):
                vf = model.vf_address(pf, index)
                vfio = index in nic.vfio_vfs
                vf_dir = self.device(
                    vf,
                    parent,
                    model.vendor_id,
                    model.vf_product_id,
                    NETWORK_CLASS,
                    numa_node=nic.numa_node,
                    driver="vfio-pci" if vfio else model.vf_driver,
                )
                _link(vf_dir / "physfn", pf_dir)
                _link(pf_dir / f"virtfn{index}", vf_dir)
                if not vfio:
                    high = (index >> 8) | self.slot_bits
                    mac = _mac(0x020000 | base.bus, port | self.port_bits, high, index)
                    self.net(vf_dir, f"{ifname}{port}v{index}", mac, nic.operstate)


def _cpulist(first: int, count: int, total: int) -> str:
    """Node CPUs as Linux numbers them with two threads per core: ``0-7,32-39``."""
    if count % 2 or total % 2:
        return f"{first}-{first + count - 1}" if count > 1 else str(first)
    half = count // 2
    low, high = first // 2, total // 2 + first // 2
    return f"{low}-{low + half - 1},{high}-{high + half - 1}"


def _write_nodes(top: Path, nodes: tuple[NumaNodeLayout, ...]) -> None:
    total = sum(n.cpus for n in nodes)
    first = 0
    system = top / "devices" / "system"
    for index, node in enumerate(nodes):
        node_dir = system / "node" / f"node{index}"
        cpus = _cpulist(first, node.cpus, total)
        _write(node_dir / "cpulist", cpus)
        kb = node.memory_mb * 1024
        _write(
            node_dir / "meminfo",
            f"Node {index} MemTotal:       {kb} kB\nNode {index} MemFree:        {kb // 2} kB",
        )
        if node.socket is not None:
            for cpu in _cpu_ids(cpus):
                _write(
                    system / "cpu" / f"cpu{cpu}" / "topology" / "physical_package_id",
                    str(node.socket),
                )
        first += node.cpus


def _cpu_ids(cpulist: str) -> list[int]:
    out: list[int] = []
    for part in cpulist.split(","):
        low, _, high = part.partition("-")
        out.extend(range(int(low), int(high or low) + 1))
    return out
