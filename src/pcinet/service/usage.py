"""Device usage read from the scheduler's snapshot, for ``/metrics`` and the dashboard:
per host, per PF (its VFs) and per physnet, in one walk over the pools (no database read).

A VF is ``free`` (can be given now), ``allocated``, or ``unavailable`` (free, but its PF is
passed through whole). A PF that may be passed through whole is ``free``, ``allocated``
(passed through) or ``unavailable`` (some of its VFs are allocated).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pcinet.core.pci import DevType, int_to_address
from pcinet.scheduler import Snapshot

NO_PHYSNET = ""  # devices without a physical_network tag


@dataclass(slots=True)
class Counts:
    free: int = 0
    allocated: int = 0
    unavailable: int = 0

    @property
    def total(self) -> int:
        return self.free + self.allocated + self.unavailable

    def add(self, other: Counts) -> None:
        self.free += other.free
        self.allocated += other.allocated
        self.unavailable += other.unavailable


@dataclass(slots=True)
class HostUsage:
    name: str
    disabled: bool
    down: bool
    # (PF address, physnet) -> its VFs
    vfs: dict[tuple[str, str], Counts] = field(default_factory=dict)
    # physnet -> whole PFs
    pfs: dict[str, Counts] = field(default_factory=dict)

    def vfs_by_physnet(self) -> dict[str, Counts]:
        out: dict[str, Counts] = {}
        for (_, physnet), counts in self.vfs.items():
            out.setdefault(physnet, Counts()).add(counts)
        return out


def usage(snapshot: Snapshot) -> list[HostUsage]:
    """Every host of ``snapshot`` (by name), with its VF and PF counts. Call it under the
    lock that guards the snapshot."""
    hosts = []
    for state in snapshot:
        host = HostUsage(state.name, state.disabled, state.down)
        for pool in state.pools:
            physnet = pool.sig.physnet
            label = physnet if isinstance(physnet, str) else NO_PHYSNET
            free = pool.free_mask.bit_count()
            usable = 0 if pool.blocked else free
            counts = Counts(usable, len(pool.members) - free, free - usable)
            if pool.sig.dev_type is DevType.VF and pool.parent is not None:
                host.vfs.setdefault((int_to_address(pool.parent), label), Counts()).add(counts)
            elif pool.sig.dev_type is DevType.PF:
                host.pfs.setdefault(label, Counts()).add(counts)
        hosts.append(host)
    hosts.sort(key=lambda h: h.name)
    return hosts
