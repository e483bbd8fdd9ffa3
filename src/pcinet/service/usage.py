"""Device usage read from the scheduler's snapshot, for ``/metrics`` and the dashboard:
per host, per PF (its VFs) and per physnet, in one walk over the pools (no database read).

A VF is ``free`` (the scheduler can give it now), ``allocated``, ``unavailable`` (free, but
its PF is passed through whole) or ``unschedulable`` (free, but its host is disabled or down:
the scheduler skips the host). A PF that may be passed through whole is ``free``,
``allocated`` (passed through), ``unavailable`` (some of its VFs are allocated) or
``unschedulable``. So ``free`` is capacity the scheduler could hand out, and the four states
add up to every device.
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
    unschedulable: int = 0

    @property
    def total(self) -> int:
        return self.free + self.allocated + self.unavailable + self.unschedulable

    def add(self, other: Counts) -> None:
        self.free += other.free
        self.allocated += other.allocated
        self.unavailable += other.unavailable
        self.unschedulable += other.unschedulable


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
        offline = state.disabled or state.down
        for pool in state.pools:
            physnet = pool.sig.physnet
            label = physnet if isinstance(physnet, str) else NO_PHYSNET
            free = pool.free_mask.bit_count()
            usable = 0 if pool.blocked else free
            taken, blocked = len(pool.members) - free, free - usable
            counts = (
                Counts(0, taken, blocked, usable) if offline else Counts(usable, taken, blocked)
            )
            if pool.sig.dev_type is DevType.VF and pool.parent is not None:
                host.vfs.setdefault((int_to_address(pool.parent), label), Counts()).add(counts)
            elif pool.sig.dev_type is DevType.PF:
                host.pfs.setdefault(label, Counts()).add(counts)
        hosts.append(host)
    hosts.sort(key=lambda h: h.name)
    return hosts


def physnet_totals(hosts: list[HostUsage]) -> dict[str, tuple[Counts, Counts]]:
    """Per physnet (sorted), the VFs and the whole PFs of ``hosts``: the dashboard's and
    ``/metrics``' per-physnet totals, one sum for both."""
    totals: dict[str, tuple[Counts, Counts]] = {}
    for host in hosts:
        for (_, physnet), counts in host.vfs.items():
            totals.setdefault(physnet, (Counts(), Counts()))[0].add(counts)
        for physnet, counts in host.pfs.items():
            totals.setdefault(physnet, (Counts(), Counts()))[1].add(counts)
    return dict(sorted(totals.items()))
