"""Nova's PCI decision, modelled on the simulator's state (facts of ``nova/pci/stats.py``,
release 34; ``make bench-nova`` checks them against Nova's own code).

- Devices are grouped into pools of identical devices (type, vendor, product, NUMA node,
  tags, and the parent PF's address, or a PF's own); pools are ordered by the number of
  their keys, then by discovery.
- **The filter** (``support_requests``, run for every host) applies the requests in order,
  each taking from the first pools that match it, on pool *counts*. A VF port's spec names
  no device type: pools are filtered by spec, then by NUMA (counting PF pools too), then
  PF pools are dropped. A PF pool and the pools of its own VFs are counted independently.
- **The claim** (``consume_requests`` on the compute host) repeats the greedy walk on real
  devices, popping the last device of a pool; taking a PF removes its VFs from the pools
  and taking a VF removes its PF. So [a PF, one of its VFs] passes the filter and fails
  here: the boot is rescheduled.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from pcinet.core.pci import DevType
from pcinet.core.request import NumaPolicy
from pcinet.sim.server_requests import PoolRequest
from pcinet.sim.state import HostRuntime


@dataclass(slots=True)
class NovaPool:
    dev_type: DevType
    vendor_id: str
    product_id: str
    numa_node: int | None
    tags: dict[str, object]
    devices: list[str] = field(default_factory=list)  # free addresses, discovery order
    count: int = 0


def host_pools(host: HostRuntime) -> list[NovaPool]:
    """The host's pools of free devices (cached until the host's next claim or release)."""
    cached = host.cache.get("pools")
    if isinstance(cached, tuple) and cached[0] == host.version:
        return [_copy(p) for p in cached[1]]
    pools: dict[tuple[object, ...], NovaPool] = {}
    for dev in host.inventory.free_devices():
        owner = dev.parent_address or dev.address
        key = (
            dev.dev_type,
            dev.vendor_id,
            dev.product_id,
            dev.numa_node,
            owner,
            tuple(sorted(dev.tags.items())),
        )
        pool = pools.get(key)
        if pool is None:
            pool = pools[key] = NovaPool(
                dev.dev_type, dev.vendor_id, dev.product_id, dev.numa_node, dict(dev.tags)
            )
        pool.devices.append(dev.address)
        pool.count += 1
    # Nova sorts pools by their number of keys (remote_managed is added to VF/PF pools).
    ordered = sorted(
        pools.values(),
        key=lambda p: len(p.tags) + (p.dev_type is not DevType.PCI),
    )
    host.cache["pools"] = (host.version, ordered)
    return [_copy(p) for p in ordered]


def _copy(pool: NovaPool) -> NovaPool:
    return NovaPool(
        pool.dev_type,
        pool.vendor_id,
        pool.product_id,
        pool.numa_node,
        pool.tags,
        list(pool.devices),
        pool.count,
    )


def _spec_match(pool: NovaPool, req: PoolRequest) -> bool:
    return any(
        m.matches(pool.dev_type, pool.vendor_id, pool.product_id, pool.tags)
        for m in req.alternatives
    )


def _numa_filter(
    host: HostRuntime, pools: list[NovaPool], req: PoolRequest, cells: Sequence[int]
) -> list[NovaPool]:
    if not cells:
        return pools
    policy = req.policy
    local = [p for p in pools if p.numa_node in cells]
    if policy is NumaPolicy.REQUIRED or sum(p.count for p in local) >= req.count:
        return local
    if policy is NumaPolicy.SOCKET:
        sockets = {host.sockets.get(c) for c in cells}
        if any(s is None for s in host.sockets.values()):
            return []
        nodes = {c for c, s in host.sockets.items() if s in sockets}
        return [p for p in pools if p.numa_node in nodes]
    allowed = [*cells, None]
    legacy = [p for p in pools if p.numa_node in allowed]
    if policy is NumaPolicy.LEGACY or sum(p.count for p in legacy) >= req.count:
        return legacy
    return sorted(pools, key=lambda p: p.numa_node not in allowed)


def _filter_pools(
    host: HostRuntime, pools: list[NovaPool], req: PoolRequest, cells: Sequence[int]
) -> list[NovaPool] | None:
    matched = [p for p in pools if _spec_match(p, req)]
    if sum(p.count for p in matched) < req.count:
        return None
    matched = _numa_filter(host, matched, req, cells)
    if sum(p.count for p in matched) < req.count:
        return None
    if not req.wants_pf:
        matched = [p for p in matched if p.dev_type is not DevType.PF]
    if sum(p.count for p in matched) < req.count:
        return None
    return matched


def support_requests(
    host: HostRuntime, requests: Sequence[PoolRequest], cells: Sequence[int]
) -> bool:
    """The scheduler's filter: greedy, in request order, on pool counts."""
    pools = host_pools(host)
    for req in requests:
        matched = _filter_pools(host, pools, req, cells)
        if not matched:
            return False
        need = req.count
        for pool in matched:
            take = min(need, pool.count)
            pool.count -= take
            need -= take
            if not need:
                break
    return True


def consume_requests(
    host: HostRuntime, requests: Sequence[PoolRequest], cells: Sequence[int]
) -> list[list[str]] | None:
    """The compute host's claim: the same greedy walk on devices, with the PF/VF
    dependents removed from the pools as devices are taken. None: the claim fails."""
    pools = host_pools(host)
    children: dict[str, list[str]] = {}
    for dev in host.inventory.devices.values():
        if dev.parent_address is not None:
            children.setdefault(dev.parent_address, []).append(dev.address)

    def remove(address: str) -> None:
        for pool in pools:
            if address in pool.devices:
                pool.devices.remove(address)
                pool.count -= 1
                return

    out: list[list[str]] = []
    for req in requests:
        matched = _filter_pools(host, pools, req, cells)
        if not matched:
            return None
        need = req.count
        taken: list[str] = []
        for pool in matched:
            take = min(need, pool.count)
            for _ in range(take):
                address = pool.devices.pop()
                pool.count -= 1
                taken.append(address)
                dev = host.device(address)
                if dev.dev_type is DevType.PF:
                    for vf in children.get(address, ()):
                        remove(vf)
                elif dev.parent_address is not None:
                    remove(dev.parent_address)
            need -= take
            if not need:
                break
        if need:
            return None
        out.append(taken)
    return out
