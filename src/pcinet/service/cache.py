"""The scheduler's in-memory snapshot of every host, kept fresh incrementally.

One ``SnapshotCache`` per controller process. It is never rebuilt from scratch after start:
``refresh`` reads only the hosts changed since its horizon (``claims.changed_hosts``),
leaving out hosts it already holds at their current generation, e.g. the ones its own
claims just changed. It refreshes
- lazily on a timer (``refresh_interval_s``; heartbeats are re-read then, so a host whose
  heartbeat went stale stops being scheduled),
- after every failed claim (``failed``), and whenever the held state of a host may differ
  from the database at the same generation (``mark_dirty``: the next refresh reads it
  again), and
- before answering "no valid host" (the service asks for one fresh retry).

Claims are optimistic. ``reserve`` decides on the snapshot and takes the chosen devices and
compute from it at once, under the cache's lock, so concurrent requests of this process do
not pick the same devices; the database's compare-and-swap (``claims.claim``) settles the
races with other processes and replicas. The invariants that keep the cache honest:
- a host's state is never replaced by an older generation than the one held, and by the
  same generation only when it is dirty;
- a failed claim marks the host dirty (an optimistic reservation is never "given back" by
  hand, which could free a device another replica holds), so it is read again even if the
  database did not change;
- after a successful claim the generation is advanced only if the state the decision was
  made on is still the one held (same epoch); otherwise the host is marked dirty and read
  again, so the claim's usage is never missing from a state the cache believes current.
Snapshot mutations and decisions run under one lock; database reads run outside it.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import TypeVar

from sqlalchemy.orm import Session, sessionmaker

from pcinet.core.binding import usable_mac
from pcinet.core.pci import PciDevice, address_to_int
from pcinet.scheduler import (
    Decision,
    PlacementRequest,
    SchedulerConfig,
    Snapshot,
    claim_placement,
    decide,
)
from pcinet.scheduler.memo import CheckMemo
from pcinet.store.claims import changed_hosts
from pcinet.store.host_records import HostRecord, load_hosts
from pcinet.store.hosts import heartbeats
from pcinet.store.models import host_table, utcnow
from pcinet.store.uow import UnitOfWork

CellUse = tuple[int, int, int]
T = TypeVar("T")
log = logging.getLogger("pcinet.cache")


@dataclass(frozen=True, slots=True)
class Reservation:
    """Devices and compute taken from the snapshot for one placement, not yet committed.

    ``devices`` holds, per PCI request in request order, the chosen devices (with their
    tags, for binding) and ``device_ids`` their database ids; ``pf_macs`` the MAC of each
    chosen VF's PF, where the host reported the PF with one (``pf_mac_address``)."""

    host: str
    host_id: str
    seen_generation: int
    epoch: int
    devices: tuple[tuple[PciDevice, ...], ...]
    device_ids: tuple[tuple[str, ...], ...]
    vcpus: int
    memory_mb: int
    cells: tuple[CellUse, ...]
    decision: Decision
    pf_macs: Mapping[str, str]


class SnapshotCache:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        config: SchedulerConfig | None = None,
        heartbeat_timeout_s: float = 120.0,
        refresh_interval_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessions = sessions
        self.config = config or SchedulerConfig()
        self.heartbeat_timeout_s = heartbeat_timeout_s
        self.refresh_interval_s = refresh_interval_s
        self._clock = clock
        self._now = now
        self._lock = threading.Lock()
        self._refreshing = threading.RLock()  # re-entrant: a refresh never waits on itself
        self.snapshot = Snapshot()
        self.memo = CheckMemo()  # decide's per-host answers, outside the snapshot
        self._horizon = 0
        self._records: dict[str, HostRecord] = {}
        self._generation: dict[str, int] = {}
        # Bumped whenever a host's state is replaced from the database (see ``claiming``).
        self._epoch: dict[str, int] = {}
        self._host_locks: dict[str, threading.Lock] = {}
        self._dirty: set[str] = set()
        self._beats: dict[str, datetime | None] = {}
        self._stale: set[str] = set()
        self._physnets: dict[str, frozenset[str | None]] = {}
        self._servable: frozenset[str | None] | None = None
        self._last_refresh = -math.inf
        self.refreshes = 0
        # Claims of this process that lost their race (ConcurrentUpdate); see servers.create.
        self.conflicts = 0

    # -- reading ------------------------------------------------------------------------

    def servable_physnets(self) -> frozenset[str | None]:
        """``physical_network`` tag values on any assignable device of any known host."""
        with self._lock:
            if self._servable is None:
                found: set[str | None] = set()
                for names in self._physnets.values():
                    found |= names
                self._servable = frozenset(found)
            return self._servable

    def read(self, reader: Callable[[Snapshot], T]) -> T:
        """``reader(snapshot)`` under the cache's lock, for a quick read of many hosts
        (``/metrics``, the dashboard): it must not keep or change the snapshot."""
        with self._lock:
            return reader(self.snapshot)

    def private_snapshot(self) -> Snapshot:
        """A copy of the snapshot that claims can change without touching the cache's
        (``scheduler.capacity``)."""
        with self._lock:
            return self.snapshot.copy()

    # -- refreshing ---------------------------------------------------------------------

    def maybe_refresh(self) -> None:
        """Refresh if the last refresh is older than the interval."""
        if self._clock() - self._last_refresh >= self.refresh_interval_s:
            self.refresh(heartbeats_too=True, if_older_than=self.refresh_interval_s)

    def refresh(self, *, heartbeats_too: bool = False, if_older_than: float | None = None) -> int:
        """Read the hosts changed since the horizon, the hosts marked dirty, and with
        ``heartbeats_too`` every host's heartbeat; apply them; return the number of hosts
        applied. Refreshes run one at a time; with ``if_older_than`` (seconds), a caller
        that waited for another refresh is content with it if it is recent enough."""
        with self._refreshing:
            if if_older_than is not None and self._clock() - self._last_refresh < if_older_than:
                return 0
            with self._lock:
                since, known = self._horizon, dict(self._generation)
                dirty = sorted(self._dirty)
            with UnitOfWork(self._sessions, readonly=True) as session:
                records, horizon = changed_hosts(session, since, known=known)
                reread = load_hosts(session, host_table.c.name.in_(dirty)) if dirty else []
                beats = heartbeats(session) if heartbeats_too else None
            applied = self._apply(records, horizon, beats, reread)
            self._last_refresh = self._clock()
            self.refreshes += 1
            return applied

    def mark_dirty(self, name: str) -> None:
        """The held state of ``name`` may differ from the database at the same generation
        (a reservation that never committed, a claim whose state was replaced meanwhile):
        the next refresh reads it again, whatever the change feed says."""
        with self._lock:
            self._dirty.add(name)

    def _apply(
        self,
        records: Sequence[HostRecord],
        horizon: int,
        beats: Mapping[str, datetime] | None,
        reread: Sequence[HostRecord] = (),
    ) -> int:
        applied = 0
        with self._lock:
            for record in records:
                applied += self._put(record, force=False)
            for record in reread:
                applied += self._put(record, force=True)
            self._horizon = max(self._horizon, horizon)
            if beats is not None:
                now = self._now()
                for name, record in self._records.items():
                    self._beats[name] = beats.get(name, record.heartbeat_at)
                    self._set_stale(name, self._is_stale(name, now))
        return applied

    def _is_stale(self, name: str, now: datetime) -> bool:
        beat = self._beats.get(name)
        return beat is None or (now - beat).total_seconds() > self.heartbeat_timeout_s

    def _set_stale(self, name: str, stale: bool) -> None:
        if stale == (name in self._stale):
            return
        if stale:
            self._stale.add(name)
        else:
            self._stale.discard(name)
        self.snapshot.set_down(name, stale)

    def _put(self, record: HostRecord, *, force: bool) -> int:
        """Replace a host's state by ``record``: never by an older generation; by the same
        generation only when ``force``d (the held state may carry a reservation that never
        committed; otherwise it is at least as new, with this process's reservations)."""
        held = self._generation.get(record.name)
        if held is not None and (
            held > record.generation or (held == record.generation and not force)
        ):
            return 0
        self._dirty.discard(record.name)
        beat = record.heartbeat_at
        older = self._beats.get(record.name)
        if older is not None and (beat is None or older > beat):
            beat = older
        self._beats[record.name] = beat
        stale = self._is_stale(record.name, self._now())
        if stale:
            self._stale.add(record.name)
        else:
            self._stale.discard(record.name)
        self.snapshot.add_host(record.to_host(stale=stale))
        self._records[record.name] = record
        self._generation[record.name] = record.generation
        self._epoch[record.name] = self._epoch.get(record.name, 0) + 1
        physnets = frozenset(
            d.tags["physical_network"]
            for d in record.devices
            if isinstance(d.tags.get("physical_network", 0), str | None)
        )
        if self._physnets.get(record.name) != physnets:
            self._physnets[record.name] = physnets
            self._servable = None
        return 1

    # -- placing ------------------------------------------------------------------------

    def reserve(self, request: PlacementRequest, *, seed: int) -> Reservation | Decision:
        """Decide; on success take the devices and compute from the snapshot at once and
        return the reservation, else return the decision (no placement, with reasons)."""
        with self._lock:
            decision = decide(self.snapshot, request, config=self.config, seed=seed, memo=self.memo)
            placement = decision.placement
            if placement is None:
                return decision
            record = self._records[placement.host]
            cells = claim_placement(self.snapshot, request, placement)
            by_address = {d.address: d for d in record.devices}
            chosen = [by_address[a] for group in placement.devices for a in group]
            parents = {d.address: by_address.get(d.parent_address or "") for d in chosen}
            return Reservation(
                pf_macs=MappingProxyType(
                    {a: mac for a, pf in parents.items() if pf and (mac := usable_mac(pf))}
                ),
                host=placement.host,
                host_id=record.id,
                seen_generation=self._generation[placement.host],
                epoch=self._epoch[placement.host],
                devices=tuple(tuple(by_address[a] for a in group) for group in placement.devices),
                device_ids=tuple(
                    tuple(record.device_ids[a] for a in group) for group in placement.devices
                ),
                vcpus=request.vcpus,
                memory_mb=request.memory_mb,
                cells=cells,
                decision=decision,
            )

    @contextmanager
    def claiming(self, reservation: Reservation) -> Iterator[int]:
        """Serialise this process's claims on the reservation's host, and yield the
        generation the claim must compare-and-swap against.

        Two requests of this process may reserve devices on one host at once, both seeing
        generation g. Once the first commits (g+1), the second is still valid: it was
        decided on a snapshot that already held the first's reservation. So, as long as the
        host's state was not replaced from the database since the reservation (its epoch
        is unchanged), the claim expects the generation this process last committed or
        released; otherwise the one it saw (and most likely loses, and retries). Call
        ``committed`` inside the block."""
        with self._lock:
            lock = self._host_locks.setdefault(reservation.host, threading.Lock())
        with lock:
            with self._lock:
                if self._epoch.get(reservation.host) == reservation.epoch:
                    seen = self._generation[reservation.host]
                else:
                    seen = reservation.seen_generation
            yield seen

    def committed(self, reservation: Reservation, seen: int, generation: int) -> None:
        """The claim of ``reservation``, made against generation ``seen``, committed; the
        host is now at ``generation``. The held state includes the claim only if it was not
        replaced since the reservation (same epoch): then it is the database's state at
        ``generation``; otherwise the host is read again."""
        host = reservation.host
        with self._lock:
            current = self._generation.get(host) == seen
            if current and self._epoch.get(host) == reservation.epoch:
                self._generation[host] = generation
                return
            self._dirty.add(host)
        self._try_reload(host)

    def failed(self, reservation: Reservation) -> None:
        """The claim of ``reservation`` did not commit: its host is marked dirty (the held
        state still carries the reservation), then the cache catches up with the change
        feed (a lost race usually means other replicas' claims this view has not seen yet,
        on other hosts too), which reads the host again. Never raises: if the database is
        unreachable the host stays dirty for the next refresh, and the caller's own error
        is the one that matters."""
        self.mark_dirty(reservation.host)
        try:
            self.refresh()
        except Exception:
            log.warning("snapshot refresh after a failed claim failed", exc_info=True)

    def _try_reload(self, name: str) -> None:
        try:
            self.refresh()
        except Exception:
            log.warning("snapshot refresh for host %s failed", name, exc_info=True)

    def released(
        self,
        host: str,
        *,
        generation: int,
        addresses: Sequence[str],
        vcpus: int,
        memory_mb: int,
        cells: Sequence[CellUse],
    ) -> None:
        """A release committed (the host is now at ``generation``); apply it if the held
        state is the one just before it, else reload the host. A device the host reports in
        use outside pcinet stays taken (``store.hosts``)."""
        with self._lock:
            if self._generation.get(host) == generation - 1:
                outside = self._records[host].reported_allocated
                self.snapshot.release(
                    host,
                    [address_to_int(a) for a in addresses if a not in outside],
                    vcpus=vcpus,
                    memory_mb=memory_mb,
                    cells=cells,
                )
                self._generation[host] = generation
                return
        if host in self._records:
            self.mark_dirty(host)
            self._try_reload(host)

    def host_changed(self, name: str) -> None:
        """This process changed a host (report, enable/disable): read it now."""
        self.mark_dirty(name)
        self._try_reload(name)
