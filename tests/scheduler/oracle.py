"""A brute-force oracle for the exact PCI fit, sharing nothing with the pool/flow code:
it enumerates every assignment of distinct free devices to request slots."""

from __future__ import annotations

from itertools import permutations

from pcinet.core.host import Host
from pcinet.core.pci import DevType, Inventory, PciDevice
from pcinet.core.request import NumaPolicy, PciRequest
from pcinet.scheduler import PlacementRequest


def cell_options(host: Host, req: PlacementRequest) -> list[tuple[int, ...]]:
    if not req.guest_cells:
        return [()]
    if not host.cells:
        return []
    out = []
    for combo in permutations(host.cells, len(req.guest_cells)):
        if all(
            c.vcpus >= g.vcpus and c.memory_mb >= g.memory_mb
            for c, g in zip(combo, req.guest_cells, strict=True)
        ):
            out.append(tuple(c.id for c in combo))
    return out


def numa_ok(host: Host, dev: PciDevice, pci: PciRequest, cells: tuple[int, ...]) -> bool:
    if not cells:
        return True
    policy = pci.numa_policy
    local = dev.numa_node is not None and dev.numa_node in cells
    if policy is NumaPolicy.REQUIRED:
        return local
    if policy is NumaPolicy.LEGACY:
        return local or dev.numa_node is None
    if policy is NumaPolicy.SOCKET:
        sockets = {c.id: c.socket for c in host.cells}
        s = sockets.get(dev.numa_node) if dev.numa_node is not None else None
        return s is not None and s in {sockets.get(c) for c in cells}
    return True  # preferred is soft


def device_ok(host: Host, dev: PciDevice, pci: PciRequest, cells: tuple[int, ...]) -> bool:
    return pci.matches(dev.dev_type, dev.vendor_id, dev.product_id, dev.tags) and numa_ok(
        host, dev, pci, cells
    )


def feasible(host: Host, req: PlacementRequest) -> bool:
    if host.disabled or host.down or host.vcpus < req.vcpus or host.memory_mb < req.memory_mb:
        return False
    inventory = Inventory(host.devices)
    free = inventory.free_devices()
    slots = [pci for pci in req.pci for _ in range(pci.count)]
    return any(_assign(host, free, slots, cells, 0, [], set()) for cells in cell_options(host, req))


def _assign(
    host: Host,
    free: list[PciDevice],
    slots: list[PciRequest],
    cells: tuple[int, ...],
    i: int,
    chosen: list[PciDevice],
    used: set[str],
) -> bool:
    if i == len(slots):
        return valid_together(chosen)
    for dev in free:
        if dev.address in used or not device_ok(host, dev, slots[i], cells):
            continue
        used.add(dev.address)
        chosen.append(dev)
        if _assign(host, free, slots, cells, i + 1, chosen, used):
            return True
        chosen.pop()
        used.discard(dev.address)
    return False


def valid_together(devices: list[PciDevice]) -> bool:
    pfs = {d.address for d in devices if d.dev_type is DevType.PF}
    return not any(d.parent_address in pfs for d in devices)
