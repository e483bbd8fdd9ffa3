"""The scheduler's in-memory snapshot of every host, kept fresh incrementally.

One ``SnapshotCache`` per controller process. It is never rebuilt from scratch after start:
``refresh`` reads only the hosts changed since its horizon (``claims.changed_hosts``),
leaving out hosts it already holds at their current generation, e.g. the ones its own
claims just changed. It refreshes
- lazily on a timer (``refresh_interval_s``; heartbeats are re-read then, so a host whose
  heartbeat went stale stops being scheduled),
- after every failed claim (``failed``: the host is reloaded from the database), and
- before answering "no valid host" (the service asks for one fresh retry).

Claims are optimistic. ``reserve`` decides on the snapshot and takes the chosen devices and
compute from it at once, under the cache's lock, so concurrent requests of this process do
not pick the same devices; the database's compare-and-swap (``claims.claim``) settles the
races with other processes and replicas. The invariants that keep the cache honest:
- a host's state is never replaced by an older generation than the one held;
- a failed claim reloads the host from the database (an optimistic reservation is never
  "given back" by hand, which could free a device another replica holds);
- after a successful claim the generation is advanced only if the state the decision was
  made on is still the one held; otherwise the next refresh picks the host up again (its
  change stamp is above the horizon of the refresh that replaced it).
Snapshot mutations and decisions run under one lock; database reads run outside it.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from pcinet.core.pci import PciDevice, address_to_int
from pcinet.scheduler import Decision, PlacementRequest, SchedulerConfig, Snapshot, decide
from pcinet.store.claims import changed_hosts
from pcinet.store.host_records import HostRecord, load_hosts
from pcinet.store.hosts import heartbeats
from pcinet.store.models import host_table, utcnow
from pcinet.store.uow import UnitOfWork

CellUse = tuple[int, int, int]


@dataclass(frozen=True, slots=True)
class Reservation:
    """Devices and compute taken from the snapshot for one placement, not yet committed.

    ``devices`` holds, per PCI request in request order, the chosen devices (with their
    tags, for binding) and ``device_ids`` their database ids."""

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
        self._refreshing = threading.Lock()
        self.snapshot = Snapshot()
        self._horizon = 0
        self._records: dict[str, HostRecord] = {}
        self._generation: dict[str, int] = {}
        # Bumped whenever a host's state is replaced from the database (see ``claiming``).
        self._epoch: dict[str, int] = {}
        self._host_locks: dict[str, threading.Lock] = {}
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

    def host_count(self) -> int:
        return len(self.snapshot)

    # -- refreshing ---------------------------------------------------------------------

    def maybe_refresh(self) -> None:
        """Refresh if the last refresh is older than the interval."""
        if self._clock() - self._last_refresh >= self.refresh_interval_s:
            self.refresh(heartbeats_too=True)

    def refresh(self, *, heartbeats_too: bool = False) -> int:
        """Read the hosts changed since the horizon (and, with ``heartbeats_too``, every
        host's heartbeat) and apply them; return the number of hosts applied. Concurrent
        callers wait for the refresh in progress instead of running their own."""
        if not self._refreshing.acquire(blocking=False):
            with self._refreshing:  # someone else refreshes: wait for it, that is enough
                return 0
        try:
            with self._lock:
                since, known = self._horizon, dict(self._generation)
            with UnitOfWork(self._sessions, readonly=True) as session:
                records, horizon = changed_hosts(session, since, known=known)
                beats = heartbeats(session) if heartbeats_too else None
            applied = self._apply(records, horizon, beats)
            self._last_refresh = self._clock()
            self.refreshes += 1
            return applied
        finally:
            self._refreshing.release()

    def reload_host(self, name: str) -> None:
        """Read one host afresh from the database (after a failed claim on it)."""
        with UnitOfWork(self._sessions, readonly=True) as session:
            records = load_hosts(session, host_table.c.name == name)
        with self._lock:
            for record in records:
                self._put(record, force=True)

    def _apply(
        self,
        records: Sequence[HostRecord],
        horizon: int,
        beats: Mapping[str, datetime] | None,
    ) -> int:
        applied = 0
        with self._lock:
            for record in records:
                applied += self._put(record, force=False)
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
        held = self._generation.get(record.name)
        if not force and held is not None and held > record.generation:
            return 0  # never go back to an older state
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
            decision = decide(self.snapshot, request, config=self.config, seed=seed)
            placement = decision.placement
            if placement is None:
                return decision
            record = self._records[placement.host]
            cells = tuple(
                (cell, guest.vcpus, guest.memory_mb)
                for cell, guest in zip(placement.cells, request.guest_cells, strict=True)
            )
            self.snapshot.claim(
                placement.host,
                placement.packed_devices(),
                vcpus=request.vcpus,
                memory_mb=request.memory_mb,
                cells=cells,
            )
            by_address = {d.address: d for d in record.devices}
            return Reservation(
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
        host is now at ``generation``."""
        with self._lock:
            if self._generation.get(reservation.host) == seen:
                self._generation[reservation.host] = generation

    def failed(self, reservation: Reservation) -> None:
        """The claim of ``reservation`` did not commit: catch up with the change feed (a
        lost race usually means other replicas' claims this view has not seen yet, on
        other hosts too) and reload its host from the database."""
        self.refresh()
        self.reload_host(reservation.host)

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
        state is the one just before it, else reload the host."""
        with self._lock:
            if self._generation.get(host) == generation - 1:
                self.snapshot.release(
                    host,
                    [address_to_int(a) for a in addresses],
                    vcpus=vcpus,
                    memory_mb=memory_mb,
                    cells=cells,
                )
                self._generation[host] = generation
                return
        if host in self._records:
            self.reload_host(host)

    def host_changed(self, name: str) -> None:
        """This process changed a host (report, enable/disable): read it now."""
        self.reload_host(name)
