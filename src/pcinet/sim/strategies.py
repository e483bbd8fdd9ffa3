"""Placement strategies on the same cloud and workload.

- ``physnet-blind``: the 2014 behaviour. Host and VF come from the flavor's pool with no
  regard to the port's network; binding on the host fails when the VF cannot reach the
  network; the boot is retried on the next host, up to ``MAX_ATTEMPTS`` (Nova's default
  ``[scheduler] max_attempts`` = 3).
- ``nova``: today's Nova (``novamodel``): physnet-aware through the device spec tags, but
  only the first segment of a multi-segment network, greedy in request order, and PF/VF
  conflicts found only by the claim on the host (then rescheduled the same way).
- ``network-aware``: pcinet's own scheduler (``pcinet.scheduler.decide``) on a
  ``Snapshot`` of the same hosts, each placement claimed in the snapshot.

Each keeps its own ``CloudState``; every device it takes is claimed there through
``core.pci.Inventory`` (the PF/VF rules) and checked against the port's network.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from pcinet.core.errors import DeviceUnavailable
from pcinet.core.flavor import GuestCell
from pcinet.core.host import Host
from pcinet.core.pci import address_to_int
from pcinet.core.request import RequestKind
from pcinet.scheduler import SchedulerConfig, Snapshot, decide
from pcinet.sim.novamodel import consume_requests, support_requests
from pcinet.sim.server_requests import PoolRequest, ServerRequests, port_index
from pcinet.sim.state import CloudState, HostRuntime, physnet_of
from pcinet.sim.workload import NETWORKS, Server

MAX_ATTEMPTS = 3
STRATEGIES = ("physnet-blind", "nova", "network-aware")


@dataclass(frozen=True, slots=True)
class Outcome:
    """One arrival: where it went (None: rejected), how many hosts were tried, bindings
    that failed on the host, claims that failed on the host, and the scheduler's time."""

    server: int
    host: str | None
    attempts: int
    bind_failures: int
    claim_failures: int
    decision_s: float
    reason: str | None = None

    @property
    def retries(self) -> int:
        return max(0, self.attempts - 1)


@dataclass(frozen=True, slots=True)
class Held:
    host: HostRuntime
    addresses: tuple[str, ...]
    vcpus: int
    memory_mb: int
    cells: tuple[tuple[int, GuestCell], ...]


def reaches_networks(
    host: HostRuntime, server: Server, req: ServerRequests, devices: Sequence[Sequence[str]]
) -> bool:
    """Whether every port's device is on a physnet of one of the port's network's segments
    (what binding on the host checks)."""
    for pci, chosen in zip(req.pcinet.pci, devices, strict=True):
        if pci.kind is not RequestKind.PORT:
            continue
        physnets = NETWORKS[server.ports[port_index(pci)].network].physnets
        if any(physnet_of(host.device(a)) not in physnets for a in chosen):
            return False
    return True


class Strategy:
    name = ""

    def __init__(self, hosts: Sequence[Host], seed: int) -> None:
        self.state = CloudState(hosts)
        self.seed = seed
        self.held: dict[int, Held] = {}

    def place(self, server: Server, req: ServerRequests) -> Outcome:
        raise NotImplementedError

    def release(self, server: int) -> None:
        held = self.held.pop(server, None)
        if held is not None:
            self.state.release(held.host, held.addresses, held.vcpus, held.memory_mb, held.cells)
            self._released(held)

    def _released(self, held: Held) -> None:
        pass

    def _take(
        self,
        server: Server,
        req: ServerRequests,
        host: HostRuntime,
        devices: Sequence[Sequence[str]],
        cells: Sequence[int],
    ) -> Held:
        r = req.pcinet
        held = Held(
            host,
            tuple(a for d in devices for a in d),
            r.vcpus,
            r.memory_mb,
            tuple(zip(cells, r.guest_cells, strict=True)),
        )
        self.state.claim(host, held.addresses, held.vcpus, held.memory_mb, held.cells)
        self.held[server.id] = held
        return held


class NetworkAware(Strategy):
    name = "network-aware"

    def __init__(
        self, hosts: Sequence[Host], seed: int, config: SchedulerConfig | None = None
    ) -> None:
        super().__init__(hosts, seed)
        self.snapshot = Snapshot(hosts)
        self.config = config

    def place(self, server: Server, req: ServerRequests) -> Outcome:
        request = req.pcinet
        t0 = time.perf_counter()
        decision = decide(
            self.snapshot, request, config=self.config, seed=self.seed * 1_000_003 + server.id
        )
        elapsed = time.perf_counter() - t0
        placement = decision.placement
        if placement is None:
            return Outcome(server.id, None, 0, 0, 0, elapsed, decision.no_valid_host().message)
        host = self.state.by_name[placement.host]
        try:
            held = self._take(server, req, host, placement.devices, placement.cells)
        except DeviceUnavailable as exc:  # would be a scheduler bug: counted, not hidden
            return Outcome(server.id, None, 1, 0, 1, elapsed, f"claim failed: {exc}")
        self.snapshot.claim(
            host.name,
            [address_to_int(a) for a in held.addresses],
            vcpus=held.vcpus,
            memory_mb=held.memory_mb,
            cells=[(c, g.vcpus, g.memory_mb) for c, g in held.cells],
        )
        if not reaches_networks(host, server, req, placement.devices):
            self.release(server.id)
            return Outcome(server.id, None, 1, 1, 0, elapsed, "binding failed")
        return Outcome(server.id, host.name, 1, 0, 0, elapsed)

    def _released(self, held: Held) -> None:
        self.snapshot.release(
            held.host.name,
            [address_to_int(a) for a in held.addresses],
            vcpus=held.vcpus,
            memory_mb=held.memory_mb,
            cells=[(c, g.vcpus, g.memory_mb) for c, g in held.cells],
        )


class PoolScheduler(Strategy):
    """Nova's filter and claim on pools (``nova``), or the same with physnet-blind
    requests and a binding check on the host (``physnet-blind``)."""

    def __init__(self, hosts: Sequence[Host], seed: int, *, blind: bool) -> None:
        super().__init__(hosts, seed)
        self.blind = blind
        self.name = "physnet-blind" if blind else "nova"

    def _candidates(
        self, req: ServerRequests, requests: Sequence[PoolRequest]
    ) -> list[tuple[HostRuntime, tuple[int, ...]]]:
        """Every host passing the filters, best first (Nova's default RAM weigher spreads:
        most free memory first; ties by host order), with its NUMA cells."""
        r = req.pcinet
        passing = []
        for host in self.state.hosts:
            if host.vcpus < r.vcpus or host.memory_mb < r.memory_mb:
                continue
            for cells in host.cell_mappings(r.guest_cells):
                if support_requests(host, requests, cells):
                    passing.append((host, cells))
                    break
        passing.sort(key=lambda hc: (-hc[0].memory_mb, hc[0].index))
        return passing

    def place(self, server: Server, req: ServerRequests) -> Outcome:
        requests = req.blind if self.blind else req.nova
        t0 = time.perf_counter()
        ranked = self._candidates(req, requests)
        elapsed = time.perf_counter() - t0
        if not ranked:
            return Outcome(server.id, None, 0, 0, 0, elapsed, "no valid host")
        binds = claims = 0
        for attempt, (host, cells) in enumerate(ranked[:MAX_ATTEMPTS], start=1):
            devices = consume_requests(host, requests, cells)
            if devices is None:
                claims += 1
                continue
            try:
                self._take(server, req, host, devices, cells)
            except DeviceUnavailable:
                claims += 1
                continue
            if not reaches_networks(host, server, req, devices):
                binds += 1
                self.release(server.id)
                continue
            return Outcome(server.id, host.name, attempt, binds, claims, elapsed)
        attempts = min(len(ranked), MAX_ATTEMPTS)
        reason = f"failed on {attempts} host(s): {binds} binding(s), {claims} claim(s)"
        return Outcome(server.id, None, attempts, binds, claims, elapsed, reason)


def make_strategy(name: str, hosts: Sequence[Host], seed: int) -> Strategy:
    if name == "network-aware":
        return NetworkAware(hosts, seed)
    if name == "nova":
        return PoolScheduler(hosts, seed, blind=False)
    if name == "physnet-blind":
        return PoolScheduler(hosts, seed, blind=True)
    raise ValueError(f"unknown strategy {name!r}")
