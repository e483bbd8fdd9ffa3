"""A brute-force oracle for the exact fit, sharing nothing with the scheduler's pools, flows,
NUMA search or integer program.

It tries every set of host cells the guest's cells fit on (through every permutation), and
for each every assignment of free devices to request slots, up to two symmetries that cannot
change the answer: devices that are identical in every respect (including their PF) are
interchangeable, and the slots of one request are unordered. The search is a memoised
recursion over how many devices of each identical group are taken, so infeasible cases on
hosts with 16 PFs stay tractable. Free means free under the PF/VF rules of the *whole*
inventory, devices no device spec selects included (``core.pci.Inventory``).
"""

from __future__ import annotations

import math
from functools import cache
from itertools import combinations, permutations
from typing import Any

from pcinet.core.host import Host
from pcinet.core.pci import DevType, Inventory, PciDevice
from pcinet.core.request import NumaPolicy, PciRequest
from pcinet.scheduler import PlacementRequest


def cell_options(host: Host, req: PlacementRequest) -> list[tuple[int, ...]]:
    """Sets of host cell ids (in host order) that some assignment of the guest's cells fits."""
    if not req.guest_cells:
        return [()]
    if not host.cells:
        return []
    out = []
    for combo in combinations(host.cells, len(req.guest_cells)):
        if any(
            all(
                c.vcpus >= g.vcpus and c.memory_mb >= g.memory_mb
                for c, g in zip(perm, req.guest_cells, strict=True)
            )
            for perm in permutations(combo)
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


def far(dev: PciDevice, pci: PciRequest, cells: tuple[int, ...]) -> int:
    """1 for a device of a ``preferred`` request off the guest's host cells."""
    if not cells or pci.numa_policy is not NumaPolicy.PREFERRED:
        return 0
    return 0 if dev.numa_node is not None and dev.numa_node in cells else 1


def free_devices(host: Host) -> list[PciDevice]:
    """The assignable devices that are free under the rules of the whole inventory."""
    inventory = Inventory([*host.devices, *host.unselected])
    return [d for d in host.devices if inventory.is_free(d.address)]


def least_far(host: Host, req: PlacementRequest) -> int | None:
    """None when nothing fits; otherwise the fewest devices of ``preferred`` requests off
    the guest's host cells over every fitting cell set and assignment."""
    if host.disabled or host.down or host.vcpus < req.vcpus or host.memory_mb < req.memory_mb:
        return None
    free = free_devices(host)
    best: int | None = None
    for cells in cell_options(host, req):
        got = _least_far_on(host, free, req, cells)
        if got is not None and (best is None or got < best):
            best = got
    return best


def feasible(host: Host, req: PlacementRequest) -> bool:
    return least_far(host, req) is not None


def _identity(dev: PciDevice) -> tuple[Any, ...]:
    tags = tuple(sorted((k, repr(v)) for k, v in dev.tags.items()))
    own = dev.address if dev.dev_type is DevType.PF else None
    return (
        dev.dev_type,
        dev.vendor_id,
        dev.product_id,
        dev.numa_node,
        tags,
        dev.parent_address,
        own,
    )


def _least_far_on(
    host: Host, free: list[PciDevice], req: PlacementRequest, cells: tuple[int, ...]
) -> int | None:
    groups: dict[tuple[Any, ...], list[PciDevice]] = {}
    for dev in free:
        groups.setdefault(_identity(dev), []).append(dev)
    reps = [members[0] for members in groups.values()]
    sizes = [len(members) for members in groups.values()]
    slots = [pci for pci in req.pci for _ in range(pci.count)]
    first_of_request = [i == 0 or slots[i] is not slots[i - 1] for i in range(len(slots))]
    ok = [[device_ok(host, d, pci, cells) for d in reps] for pci in slots]
    cost = [[far(d, pci, cells) for d in reps] for pci in slots]
    pf_group = {d.address: g for g, d in enumerate(reps) if d.dev_type is DevType.PF}
    vf_groups: dict[str, list[int]] = {}
    for g, d in enumerate(reps):
        if d.parent_address is not None:
            vf_groups.setdefault(d.parent_address, []).append(g)

    @cache
    def rest(i: int, used: tuple[int, ...], last: int) -> float:
        if i == len(slots):
            return 0
        best = math.inf
        for g in range(0 if first_of_request[i] else last, len(reps)):
            if used[g] >= sizes[g] or not ok[i][g]:
                continue
            dev = reps[g]
            if dev.dev_type is DevType.PF and any(used[v] for v in vf_groups.get(dev.address, ())):
                continue
            parent = pf_group.get(dev.parent_address) if dev.parent_address else None
            if parent is not None and used[parent]:
                continue
            taken = (*used[:g], used[g] + 1, *used[g + 1 :])
            best = min(best, cost[i][g] + rest(i + 1, taken, g))
        return best

    result = rest(0, (0,) * len(reps), 0)
    return None if result == math.inf else int(result)


def valid_together(devices: list[PciDevice]) -> bool:
    pfs = {d.address for d in devices if d.dev_type is DevType.PF}
    return not any(d.parent_address in pfs for d in devices)
