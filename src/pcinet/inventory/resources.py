"""The host's own compute: vCPUs, memory and NUMA cells, read under the same sysfs root.

``read_host_resources(root)`` reads ``devices/system/node/node<N>/cpulist`` (``0-7,32-39``)
and ``meminfo`` (``Node 0 MemTotal: 65536000 kB``) for every node, and the socket of each
node from its first CPU's ``devices/system/cpu/cpu<K>/topology/physical_package_id``. A
node that cannot be read is reported as a Problem and left out. Without any readable node
(no NUMA in sysfs, or a container), the whole machine is one host without cells: the CPU
count and physical memory of the running system, or ``machine`` when given.

Reserved resources are Nova's ``[DEFAULT] reserved_host_cpus`` and
``reserved_host_memory_mb`` (default 0 and 512, as in Nova): ``HostResources.usable``
subtracts them from the totals the controller may hand to guests (cells are reported
whole, as Nova does: reserved memory is not taken from a particular cell).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from pcinet.core.errors import InvalidInput
from pcinet.core.host import HostCell
from pcinet.inventory.sysfs import DEFAULT_ROOT, Problem

NOVA_RESERVED_CPUS = 0
NOVA_RESERVED_MEMORY_MB = 512
_NODE_RE = re.compile(r"^node(\d+)$")
_MEMTOTAL_RE = re.compile(r"^Node\s+\d+\s+MemTotal:\s+(\d+)\s+kB\s*$", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class Reserved:
    """What the host keeps for itself: Nova's ``reserved_host_cpus``/``_memory_mb``."""

    vcpus: int = NOVA_RESERVED_CPUS
    memory_mb: int = NOVA_RESERVED_MEMORY_MB

    def __post_init__(self) -> None:
        for name, value in (
            ("reserved_host_cpus", self.vcpus),
            ("reserved_host_memory_mb", self.memory_mb),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise InvalidInput(f"{name}: expected a non-negative integer, got {value!r}")


@dataclass(frozen=True, slots=True)
class HostResources:
    """Totals as found (``vcpus``, ``memory_mb``), NUMA cells, and the problems met."""

    vcpus: int
    memory_mb: int
    cells: tuple[HostCell, ...] = ()
    problems: tuple[Problem, ...] = ()

    def usable(self, reserved: Reserved) -> tuple[int, int]:
        """(vcpus, memory_mb) left for guests; InvalidInput if the reservation is larger."""
        vcpus, memory = self.vcpus - reserved.vcpus, self.memory_mb - reserved.memory_mb
        if vcpus < 0:
            raise InvalidInput(
                f"reserved_host_cpus: {reserved.vcpus} is more than the host's {self.vcpus} vCPUs"
            )
        if memory < 0:
            raise InvalidInput(
                f"reserved_host_memory_mb: {reserved.memory_mb} is more than the host's "
                f"{self.memory_mb} MB"
            )
        return vcpus, memory


def parse_cpulist(text: str) -> list[int]:
    """Linux's CPU list format: ``0-3,8,10-11`` -> [0, 1, 2, 3, 8, 10, 11]. ValueError if
    malformed."""
    out: list[int] = []
    if not text.strip():  # a memory-only node (e.g. CXL) has no CPUs
        return out
    for part in text.strip().split(","):
        low, dash, high = part.strip().partition("-")
        first = int(low)
        last = int(high) if dash else first
        if first < 0 or last < first:
            raise ValueError(f"bad CPU range {part!r}")
        out.extend(range(first, last + 1))
    return out


def machine_resources() -> tuple[int, int]:
    """The running system's CPU count and physical memory in MB."""
    pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    return os.cpu_count() or 1, pages // (1024 * 1024)


def _socket(system: Path, cpu: int) -> int | None:
    try:
        return int((system / "cpu" / f"cpu{cpu}" / "topology" / "physical_package_id").read_text())
    except (OSError, ValueError):
        return None


def _read_node(node_dir: Path, node_id: int, system: Path) -> HostCell:
    cpus = parse_cpulist((node_dir / "cpulist").read_text())
    found = _MEMTOTAL_RE.search((node_dir / "meminfo").read_text())
    if found is None:
        raise ValueError("no 'Node N MemTotal: ... kB' line in meminfo")
    socket = _socket(system, cpus[0]) if cpus else None
    return HostCell(node_id, len(cpus), int(found.group(1)) // 1024, socket)


def read_host_resources(
    root: str | os.PathLike[str] = DEFAULT_ROOT, *, machine: tuple[int, int] | None = None
) -> HostResources:
    system = Path(root) / "devices" / "system"
    problems: list[Problem] = []
    cells: list[HostCell] = []
    try:
        names = os.listdir(system / "node")
    except OSError:
        names = []
    for name in sorted(names, key=lambda n: (len(n), n)):
        m = _NODE_RE.match(name)
        if m is None:
            continue
        try:
            cells.append(_read_node(system / "node" / name, int(m.group(1)), system))
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            problems.append(Problem(str(system / "node" / name), f"{reason}; node skipped"))
    if not cells:
        vcpus, memory_mb = machine if machine is not None else machine_resources()
        return HostResources(vcpus, memory_mb, (), tuple(problems))
    return HostResources(
        sum(c.vcpus for c in cells), sum(c.memory_mb for c in cells), tuple(cells), tuple(problems)
    )
