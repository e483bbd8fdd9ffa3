"""The scheduler's view of the cloud: compact per-host device pools and an index.

A host's assignable devices are grouped into *pools* of devices that no request can tell
apart: same type, vendor, product, NUMA node, tags and parent PF (every PF is a pool of its
own, so the PF/VF rules can be applied per PF). A pool keeps its members as packed address
ints and its free members as a bit mask, so 1.28 M VFs fit in a few megabytes.

The index maps coarse keys (physnet and device type; vendor/product and device type) to the
set of hosts that have at least one *usable* device under that key. A decision starts from
the index, so its cost grows with the candidates, not with the cloud.
For every pair of keys the index also counts the hosts under both (``pair_count``), so
"no host has both" is a lookup. It also files every enabled host under its free vCPUs
(``by_vcpus``), its free memory (``by_memory``) and the free vCPUs and memory of its NUMA
cells (``by_cells``, a ``CellShape``): the hosts too small for a request are a union of a
few of those sets, found without looking at a host (``scheduler.computecut``).

``decide`` never mutates a snapshot (its memo of per-host answers, ``CheckMemo``, is kept
by the caller); ``add_host``, ``remove_host``, ``set_disabled``, ``set_down``, ``claim`` and
``release`` are the only mutators and keep the pools and the index consistent. Hosts are
numbered in insertion order; that number, not the (randomly hashed) name, orders every
walk, so a decision replays exactly.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Iterable, Iterator, Mapping, Sequence
from copy import copy as shallow_copy
from dataclasses import dataclass, field
from itertools import combinations
from types import MappingProxyType
from typing import Any

from pcinet.core.errors import DeviceUnavailable, InvalidDevice
from pcinet.core.host import Host
from pcinet.core.pci import DeviceStatus, DevType, PciDevice, address_to_int
from pcinet.core.request import MISSING, tag_is_true

IndexKey = tuple[Any, ...]
# A host's NUMA cells as their free (vCPUs, memory MB), sorted: all a guest's cell sizes
# can be checked against (cell ids and sockets do not change whether they fit).
CellShape = tuple[tuple[int, int], ...]
# A host's free vCPUs, free memory (MB) and cell shape: all ``check_host`` looks at before
# the devices.
ComputeKey = tuple[int, int, CellShape]


def _freeze(value: Any) -> Any:
    if isinstance(value, Mapping):
        return tuple(sorted((str(k), _freeze(v)) for k, v in value.items()))
    if isinstance(value, list | tuple | set | frozenset):
        return tuple(_freeze(v) for v in value)
    return value


@dataclass(frozen=True, slots=True, eq=False)
class DeviceSig:
    """What requests can see of a device. Interned per snapshot: compare by identity."""

    dev_type: DevType
    vendor_id: str
    product_id: str
    numa_node: int | None
    tags: Mapping[str, Any]

    @property
    def physnet(self) -> Any:
        return self.tags.get("physical_network", MISSING)

    def index_keys(self) -> tuple[IndexKey, ...]:
        t = self.dev_type
        keys: list[IndexKey] = [
            ("type", t),
            ("vendor", t, self.vendor_id),
            ("id", t, self.vendor_id, self.product_id),
        ]
        physnet = self.physnet
        if physnet is not MISSING and (physnet is None or isinstance(physnet, str)):
            keys.append(("net", t, physnet))
            if tag_is_true(self.tags.get("trusted")):
                keys.append(("trusted-net", t, physnet))
        return tuple(keys)


@dataclass(slots=True)
class Pool:
    """Interchangeable devices of one host. ``blocked`` > 0 makes the whole pool unusable:
    for a VF pool, its PF is allocated; for a PF pool, that many of its VFs are."""

    sig: DeviceSig
    members: tuple[int, ...]
    free_mask: int
    parent: int | None = None
    pf: int | None = None
    blocked: int = 0

    def usable(self) -> int:
        return 0 if self.blocked else self.free_mask.bit_count()

    def copy(self) -> Pool:
        return Pool(self.sig, self.members, self.free_mask, self.parent, self.pf, self.blocked)

    def take(self, n: int) -> list[int]:
        """The ``n`` lowest free members (does not change the pool)."""
        out: list[int] = []
        mask = self.free_mask
        while len(out) < n and mask:
            low = mask & -mask
            out.append(self.members[low.bit_length() - 1])
            mask ^= low
        return out


@dataclass(slots=True)
class CellState:
    id: int
    vcpus: int
    memory_mb: int
    socket: int | None


@dataclass(slots=True)
class HostState:
    hid: int
    name: str
    vcpus: int
    memory_mb: int
    cells: list[CellState]
    pools: list[Pool]
    disabled: bool = False
    down: bool = False
    # Bumped by every claim and release: a fit computed at another version is stale.
    version: int = 0
    # address int -> (pool index, bit)
    slots: dict[int, tuple[int, int]] = field(default_factory=dict)
    # PF address int -> index of its PF pool (assignable PFs only)
    pf_pool: dict[int, int] = field(default_factory=dict)
    # PF address int -> indexes of its VF pools
    vf_pools: dict[int, list[int]] = field(default_factory=dict)
    # Allocated devices no spec selects (``Host.unselected``): PF addresses whose VFs they
    # block, and per PF address how many of its VFs are held.
    held_pfs: frozenset[int] = frozenset()
    held_vfs: dict[int, int] = field(default_factory=dict)
    index_keys: frozenset[IndexKey] = frozenset()
    # (free vCPUs, free memory, cell shape) the snapshot files this host under; None: not
    # filed (disabled, down or removed).
    compute_key: ComputeKey | None = None

    def copy(self) -> HostState:
        """A twin that claims can change without touching this state: pools and cells are
        copied; the address maps and held devices, never changed after ``add_host``, are
        shared."""
        twin = shallow_copy(self)
        twin.pools = [p.copy() for p in self.pools]
        twin.cells = [CellState(c.id, c.vcpus, c.memory_mb, c.socket) for c in self.cells]
        return twin

    def cell_shape(self) -> CellShape:
        return tuple(sorted((c.vcpus, c.memory_mb) for c in self.cells))

    def usable_devices(self) -> int:
        return sum(p.usable() for p in self.pools)

    def socket_of(self, numa_node: int | None) -> int | None:
        if numa_node is None:
            return None
        for cell in self.cells:
            if cell.id == numa_node:
                return cell.socket
        return None


class Snapshot:
    """All schedulable hosts with their pools, and the index over them."""

    def __init__(self, hosts: Iterable[Host] = ()) -> None:
        self.hosts: list[HostState] = []
        self.by_name: dict[str, int] = {}
        self.index: dict[IndexKey, set[int]] = {}
        # Enabled hosts under both of two keys, for every pair of keys some host has: a
        # refusal for two requests ("no host has a VF on phy1 and one on phy3") is a lookup.
        self.pairs: dict[frozenset[IndexKey], int] = {}
        self.enabled: set[int] = set()
        # Live hosts that are not scheduled, by why (a disabled host that is also down
        # counts as disabled): refusals count them without a pass over the hosts.
        self.disabled: set[int] = set()
        self.down: set[int] = set()
        # Enabled hosts by free vCPUs, free memory (MB) and cell shape.
        self.by_vcpus: dict[int, set[int]] = {}
        self.by_memory: dict[int, set[int]] = {}
        # Their keys in ascending order: the amounts below a request's are a prefix.
        self.vcpu_levels: list[int] = []
        self.memory_levels: list[int] = []
        self.by_cells: dict[CellShape, set[int]] = {}
        # Per index key, how many of the enabled hosts under it have each compute key: how
        # many of a request's candidates are too small for it is counted without a set
        # operation when the request is served under one key (``refusals.cut_refusals``).
        self.compute_counts: dict[IndexKey, dict[ComputeKey, int]] = {}
        self._sigs: dict[Any, DeviceSig] = {}
        self._tags: dict[Any, Mapping[str, Any]] = {}
        for host in hosts:
            self.add_host(host)

    def copy(self) -> Snapshot:
        """A snapshot that claims, releases and host changes can change without touching
        this one (device signatures, immutable, are shared). Every attribute ``__init__``
        sets is copied here: a new one must be added below."""
        twin = Snapshot.__new__(Snapshot)
        twin.hosts = [h.copy() for h in self.hosts]
        twin.by_name = dict(self.by_name)
        twin.index = _copy_sets(self.index)
        twin.pairs = dict(self.pairs)
        twin.enabled = set(self.enabled)
        twin.disabled = set(self.disabled)
        twin.down = set(self.down)
        twin.by_vcpus = _copy_sets(self.by_vcpus)
        twin.by_memory = _copy_sets(self.by_memory)
        twin.vcpu_levels = list(self.vcpu_levels)
        twin.memory_levels = list(self.memory_levels)
        twin.by_cells = _copy_sets(self.by_cells)
        twin.compute_counts = {k: dict(v) for k, v in self.compute_counts.items()}
        twin._sigs = dict(self._sigs)
        twin._tags = dict(self._tags)
        return twin

    def __len__(self) -> int:
        return len(self.by_name)

    def __iter__(self) -> Iterator[HostState]:
        return (h for h in self.hosts if h.name in self.by_name)

    def get(self, name: str) -> HostState | None:
        hid = self.by_name.get(name)
        return None if hid is None else self.hosts[hid]

    def vf_count(self) -> int:
        return sum(len(p.members) for h in self for p in h.pools if p.sig.dev_type is DevType.VF)

    # -- building ---------------------------------------------------------------------

    def _sig(self, dev: PciDevice) -> DeviceSig:
        tags_key = _freeze(dev.tags)
        key = (dev.dev_type, dev.vendor_id, dev.product_id, dev.numa_node, tags_key)
        sig = self._sigs.get(key)
        if sig is None:
            tags = self._tags.get(tags_key)
            if tags is None:
                tags = MappingProxyType(dict(dev.tags))
                self._tags[tags_key] = tags
            sig = DeviceSig(dev.dev_type, dev.vendor_id, dev.product_id, dev.numa_node, tags)
            self._sigs[key] = sig
        return sig

    def add_host(self, host: Host) -> HostState:
        """Add or replace a host (re-reporting a host keeps its number)."""
        groups: dict[tuple[DeviceSig, int | None, int | None], list[tuple[int, bool]]] = {}
        seen: set[int] = set()
        for dev in host.devices:
            addr = address_to_int(dev.address)
            if addr in seen:
                raise InvalidDevice(f"host {host.name}: device {dev.address} is listed twice")
            seen.add(addr)
            parent = address_to_int(dev.parent_address) if dev.parent_address else None
            own = addr if dev.dev_type is DevType.PF else None
            key = (self._sig(dev), parent, own)
            groups.setdefault(key, []).append((addr, dev.status is DeviceStatus.ALLOCATED))
        pools: list[Pool] = []
        for (sig, parent, own), members in groups.items():
            members.sort()
            mask = 0
            for bit, (_, allocated) in enumerate(members):
                if not allocated:
                    mask |= 1 << bit
            pools.append(Pool(sig, tuple(a for a, _ in members), mask, parent, own))
        old = self.by_name.get(host.name)
        hid = old if old is not None else len(self.hosts)
        state = HostState(
            hid=hid,
            name=host.name,
            vcpus=host.vcpus,
            memory_mb=host.memory_mb,
            cells=[CellState(c.id, c.vcpus, c.memory_mb, c.socket) for c in host.cells],
            pools=pools,
            disabled=host.disabled,
            down=host.down,
        )
        for dev in host.unselected:
            if dev.status is not DeviceStatus.ALLOCATED:
                continue
            if dev.dev_type is DevType.PF:
                state.held_pfs |= {address_to_int(dev.address)}
            elif dev.parent_address is not None:
                parent = address_to_int(dev.parent_address)
                state.held_vfs[parent] = state.held_vfs.get(parent, 0) + 1
        for i, pool in enumerate(pools):
            for bit, addr in enumerate(pool.members):
                state.slots[addr] = (i, bit)
            if pool.pf is not None:
                state.pf_pool[pool.pf] = i
            if pool.parent is not None:
                state.vf_pools.setdefault(pool.parent, []).append(i)
        _recompute_blocks(state)
        if old is not None:
            self._unindex(self.hosts[old])
            self.hosts[old] = state
        else:
            self.hosts.append(state)
            self.by_name[host.name] = hid
        self._reindex(state)
        return state

    def remove_host(self, name: str) -> None:
        hid = self.by_name.pop(name, None)
        if hid is not None:
            self._unindex(self.hosts[hid])
            self.disabled.discard(hid)
            self.down.discard(hid)

    def set_disabled(self, name: str, disabled: bool) -> None:
        state = self.hosts[self.by_name[name]]
        state.disabled = disabled
        self._reindex(state)

    def set_down(self, name: str, down: bool) -> None:
        """A host whose heartbeat is stale is not scheduled (and is reported as down)."""
        state = self.hosts[self.by_name[name]]
        state.down = down
        self._reindex(state)

    # -- index ---------------------------------------------------------------------------

    def pair_count(self, a: IndexKey, b: IndexKey) -> int:
        """How many enabled hosts are under both keys, from the counts kept with the index
        (``len(index[a] & index[b])`` without the set operation)."""
        if a == b:
            return len(self.index.get(a, ()))
        return self.pairs.get(frozenset((a, b)), 0)

    def _count_pairs(self, old: frozenset[IndexKey], new: frozenset[IndexKey]) -> None:
        if old == new:
            return
        pairs = self.pairs
        for a, b in combinations(old, 2):
            if a not in new or b not in new:
                pair = frozenset((a, b))
                left = pairs[pair] - 1
                if left:
                    pairs[pair] = left
                else:
                    del pairs[pair]
        for a, b in combinations(new, 2):
            if a not in old or b not in old:
                pair = frozenset((a, b))
                pairs[pair] = pairs.get(pair, 0) + 1

    def _file_compute(self, state: HostState, key: ComputeKey | None) -> None:
        """File the host under ``key``'s free vCPUs, memory and cell shape (None: nowhere)."""
        old = state.compute_key
        if old == key:
            return
        was = old or (None, None, None)
        now = key or (None, None, None)
        _move(self.by_vcpus, state.hid, was[0], now[0], self.vcpu_levels)
        _move(self.by_memory, state.hid, was[1], now[1], self.memory_levels)
        _move(self.by_cells, state.hid, was[2], now[2])
        state.compute_key = key

    def _count_compute(
        self, state: HostState, keys: frozenset[IndexKey], compute: ComputeKey | None
    ) -> None:
        """Move the host's count in ``compute_counts`` to ``keys`` and ``compute`` (call
        before the host's ``index_keys`` and ``compute_key`` change)."""
        old_keys, old = state.index_keys, state.compute_key
        if old == compute:
            if old_keys == keys:
                return
            gone, new = old_keys - keys, keys - old_keys
        else:
            gone, new = old_keys, keys
        counts = self.compute_counts
        if old is not None:
            for key in gone:
                per_key = counts[key]
                left = per_key[old] - 1
                if left:
                    per_key[old] = left
                else:
                    del per_key[old]
                    if not per_key:
                        del counts[key]
        if compute is not None:
            for key in new:
                per_key = counts.setdefault(key, {})
                per_key[compute] = per_key.get(compute, 0) + 1

    def _unindex(self, state: HostState) -> None:
        self._count_compute(state, frozenset(), None)
        self._file_compute(state, None)
        self._count_pairs(state.index_keys, frozenset())
        for key in state.index_keys:
            hosts = self.index.get(key)
            if hosts is not None:
                hosts.discard(state.hid)
        state.index_keys = frozenset()
        self.enabled.discard(state.hid)

    def _reindex(self, state: HostState) -> None:
        self.disabled.discard(state.hid)
        self.down.discard(state.hid)
        if state.disabled:
            self.disabled.add(state.hid)
        elif state.down:
            self.down.add(state.hid)
        if state.disabled or state.down:
            self._unindex(state)
            return
        self.enabled.add(state.hid)
        compute = (state.vcpus, state.memory_mb, state.cell_shape())
        keys = frozenset(k for p in state.pools if p.usable() for k in p.sig.index_keys())
        self._count_compute(state, keys, compute)
        self._file_compute(state, compute)
        self._count_pairs(state.index_keys, keys)
        for key in state.index_keys - keys:
            self.index[key].discard(state.hid)
        for key in keys - state.index_keys:
            self.index.setdefault(key, set()).add(state.hid)
        state.index_keys = keys

    # -- claims -------------------------------------------------------------------------

    def claim(
        self,
        name: str,
        addresses: Sequence[int],
        *,
        vcpus: int = 0,
        memory_mb: int = 0,
        cells: Sequence[tuple[int, int, int]] = (),
    ) -> None:
        """Take devices and compute from a host; ``cells`` is (host cell id, vcpus, memory).

        All-or-nothing: raises DeviceUnavailable and changes nothing if any device is not
        free or a PF and one of its VFs are both named.
        """
        state = self.hosts[self.by_name[name]]
        wanted = set(addresses)
        if len(wanted) != len(addresses):
            raise DeviceUnavailable(f"host {name}: a device is claimed twice")
        for addr in addresses:
            slot = state.slots.get(addr)
            if slot is None:
                raise DeviceUnavailable(f"host {name}: device {addr:#x} is not assignable")
            pool = state.pools[slot[0]]
            if pool.blocked or not pool.free_mask >> slot[1] & 1:
                raise DeviceUnavailable(f"host {name}: device {addr:#x} is not free")
            if pool.parent is not None and pool.parent in wanted:
                raise DeviceUnavailable(f"host {name}: a PF and its VF cannot both be claimed")
        for addr in addresses:
            i, bit = state.slots[addr]
            state.pools[i].free_mask &= ~(1 << bit)
        state.vcpus -= vcpus
        state.memory_mb -= memory_mb
        _apply_cells(state, cells, -1)
        _recompute_blocks(state)
        state.version += 1
        self._reindex(state)

    def release(
        self,
        name: str,
        addresses: Sequence[int],
        *,
        vcpus: int = 0,
        memory_mb: int = 0,
        cells: Sequence[tuple[int, int, int]] = (),
    ) -> None:
        """Give back what ``claim`` took. Idempotent for devices already free."""
        hid = self.by_name.get(name)
        if hid is None:
            return
        state = self.hosts[hid]
        for addr in addresses:
            slot = state.slots.get(addr)
            if slot is not None:
                state.pools[slot[0]].free_mask |= 1 << slot[1]
        state.vcpus += vcpus
        state.memory_mb += memory_mb
        _apply_cells(state, cells, +1)
        _recompute_blocks(state)
        state.version += 1
        self._reindex(state)


def _move(
    buckets: dict[Any, set[int]], hid: int, was: Any, now: Any, levels: list[int] | None = None
) -> None:
    """Move ``hid`` from bucket ``was`` to bucket ``now`` (None: none), keeping ``levels``
    (when given) the buckets' keys in ascending order."""
    if was == now:
        return
    if was is not None:
        hosts = buckets[was]
        hosts.discard(hid)
        if not hosts:
            del buckets[was]
            if levels is not None:
                del levels[bisect_left(levels, was)]
    if now is not None:
        if now not in buckets:
            buckets[now] = set()
            if levels is not None:
                insort(levels, now)
        buckets[now].add(hid)


def _copy_sets(buckets: Mapping[Any, set[int]]) -> dict[Any, set[int]]:
    return {k: set(v) for k, v in buckets.items()}


def _apply_cells(state: HostState, cells: Sequence[tuple[int, int, int]], sign: int) -> None:
    by_id = {c.id: c for c in state.cells}
    for cell_id, vcpus, memory in cells:
        cell = by_id.get(cell_id)
        if cell is not None:
            cell.vcpus += sign * vcpus
            cell.memory_mb += sign * memory


def _recompute_blocks(state: HostState) -> None:
    """Apply the PF/VF rules: derived from the free masks (and the allocated devices no spec
    selects) alone, so they cannot drift."""
    for pf_addr, i in state.pf_pool.items():
        state.pools[i].blocked = state.held_vfs.get(pf_addr, 0)
    for pf_addr, vf_idx in state.vf_pools.items():
        pf_i = state.pf_pool.get(pf_addr)
        pf_allocated = pf_addr in state.held_pfs
        if pf_i is not None:
            pf_pool = state.pools[pf_i]
            pf_allocated = pf_allocated or not pf_pool.free_mask & 1
            pf_pool.blocked += sum(
                len(state.pools[i].members) - state.pools[i].free_mask.bit_count() for i in vf_idx
            )
        for i in vf_idx:
            state.pools[i].blocked = 1 if pf_allocated else 0
