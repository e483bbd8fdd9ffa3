"""The simulated cloud's live state: free compute, NUMA cells and devices of every host.

Every strategy keeps one. Device claims go through ``core.pci.Inventory``, so the PF/VF
rules hold whatever a strategy picks (a claim that breaks them raises), and used capacity
is counted per physnet in VF units (a whole PF counts as its VFs: they are gone with it).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from pcinet.core.flavor import GuestCell
from pcinet.core.host import Host
from pcinet.core.pci import DevType, Inventory, PciDevice
from pcinet.core.request import MISSING


def physnet_of(device: PciDevice) -> str | None:
    tag = device.tags.get("physical_network", MISSING)
    return tag if isinstance(tag, str) else None


@dataclass(slots=True)
class HostRuntime:
    index: int
    name: str
    vcpus: int
    memory_mb: int
    cells: dict[int, list[int]]  # host cell id -> [free vcpus, free memory]
    sockets: dict[int, int | None]
    inventory: Inventory
    units: dict[str, int]  # device address -> VF units it holds
    version: int = 0
    cache: dict[str, object] = field(default_factory=dict)

    def device(self, address: str) -> PciDevice:
        return self.inventory.devices[address]

    def free_vfs(self) -> int:
        return sum(
            1
            for d in self.inventory.free_devices()
            if d.dev_type is DevType.VF and physnet_of(d) is not None
        )

    def cell_mappings(self, guest: Sequence[GuestCell]) -> list[tuple[int, ...]]:
        """Host cells for a one-cell or many-cell guest (distinct cells that fit)."""
        if not guest:
            return [()]
        out: list[tuple[int, ...]] = []

        def extend(prefix: tuple[int, ...]) -> None:
            if len(prefix) == len(guest):
                out.append(prefix)
                return
            g = guest[len(prefix)]
            for cid, (vcpus, memory) in self.cells.items():
                if cid not in prefix and vcpus >= g.vcpus and memory >= g.memory_mb:
                    extend((*prefix, cid))

        extend(())
        return out


class CloudState:
    """All hosts' live state, and VF units used per physnet."""

    def __init__(self, hosts: Iterable[Host]) -> None:
        self.hosts: list[HostRuntime] = []
        self.by_name: dict[str, HostRuntime] = {}
        self.capacity: dict[str, int] = {}
        self.used: dict[str, int] = {}
        for i, host in enumerate(hosts):
            inventory = Inventory(host.devices)
            units: dict[str, int] = {}
            for dev in host.devices:
                physnet = physnet_of(dev)
                if physnet is None:
                    continue
                if dev.dev_type is DevType.VF:
                    units[dev.address] = 1
                    self.capacity[physnet] = self.capacity.get(physnet, 0) + 1
                elif dev.dev_type is DevType.PF:
                    units[dev.address] = len(inventory.children(dev.address))
            runtime = HostRuntime(
                index=i,
                name=host.name,
                vcpus=host.vcpus,
                memory_mb=host.memory_mb,
                cells={c.id: [c.vcpus, c.memory_mb] for c in host.cells},
                sockets={c.id: c.socket for c in host.cells},
                inventory=inventory,
                units=units,
            )
            self.hosts.append(runtime)
            self.by_name[host.name] = runtime
        self.used = dict.fromkeys(self.capacity, 0)

    def claim(
        self,
        host: HostRuntime,
        addresses: Sequence[str],
        vcpus: int,
        memory_mb: int,
        cells: Sequence[tuple[int, GuestCell]],
    ) -> None:
        """Take devices and compute; raises DeviceUnavailable (changing nothing) when a
        device is not free or a PF and one of its VFs are both named."""
        host.inventory.claim(addresses)
        self._account(host, addresses, +1)
        host.vcpus -= vcpus
        host.memory_mb -= memory_mb
        for cid, g in cells:
            host.cells[cid][0] -= g.vcpus
            host.cells[cid][1] -= g.memory_mb
        host.version += 1

    def release(
        self,
        host: HostRuntime,
        addresses: Sequence[str],
        vcpus: int,
        memory_mb: int,
        cells: Sequence[tuple[int, GuestCell]],
    ) -> None:
        host.inventory.release(addresses)
        self._account(host, addresses, -1)
        host.vcpus += vcpus
        host.memory_mb += memory_mb
        for cid, g in cells:
            host.cells[cid][0] += g.vcpus
            host.cells[cid][1] += g.memory_mb
        host.version += 1

    def _account(self, host: HostRuntime, addresses: Sequence[str], sign: int) -> None:
        for addr in addresses:
            n = host.units.get(addr)
            if n:
                physnet = physnet_of(host.device(addr))
                if physnet is not None:
                    self.used[physnet] += sign * n

    def stranded_vfs(self, min_vcpus: int, min_memory_mb: int) -> tuple[int, int]:
        """(free VFs on hosts too full to start the smallest server, all free VFs)."""
        stranded = free = 0
        for host in self.hosts:
            n = host.free_vfs()
            free += n
            if host.vcpus < min_vcpus or host.memory_mb < min_memory_mb:
                stranded += n
        return stranded, free
