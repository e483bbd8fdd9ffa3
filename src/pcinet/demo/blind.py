"""What a physnet-blind scheduler would have done on the same cloud and the same requests.

The classic failure: the scheduler picks "a free VF" without asking whether that VF is
cabled to the port's network, and the boot fails late, when the port is bound on the host.
``replay`` runs pcinet's own scheduler (same filters, weighers, config and seeds) on a
snapshot of the hosts, once with each port's device matcher stripped of its physnets
(``physnets=None``: any VF will do) and, for reference, once as pcinet runs it. Each boot
is claimed in the snapshot before the next, deletes release, exactly as the controller
does. A port is *misplaced* when its VF's ``physical_network`` tag is not the physnet of
any segment of the port's network: that boot would fail at binding.

Pure: hosts and requests in, outcomes out; no I/O.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pcinet.core.alias import Alias
from pcinet.core.flavor import Flavor, flavor_requirements
from pcinet.core.host import Host
from pcinet.core.network import Network
from pcinet.core.pci import PciDevice
from pcinet.core.port import Port, server_requests
from pcinet.core.request import MISSING, PciRequest, RequestKind
from pcinet.scheduler import PlacementRequest, SchedulerConfig, Snapshot, decide


@dataclass(frozen=True, slots=True)
class Boot:
    """Boot ``server`` with ``request`` as pcinet builds it (port requests name their
    network's physnets). ``seed``: the scheduler seed for this decision (None: the
    replay's ``seed`` plus the boot's number)."""

    server: str
    request: PlacementRequest
    seed: int | None = None


@dataclass(frozen=True, slots=True)
class Delete:
    """Delete ``server``: its devices and compute go back to the host."""

    server: str


Event = Boot | Delete


@dataclass(frozen=True, slots=True)
class PortOutcome:
    """The device one port request got: its physnet tag (None also for an untagged device,
    see ``tagged``) and whether that physnet is one of the port's network."""

    source: str
    address: str
    physnet: str | None
    tagged: bool
    wanted: tuple[str | None, ...]
    reachable: bool


@dataclass(frozen=True, slots=True)
class BootOutcome:
    """Where one boot went (``host`` None: no valid host) and what each port got."""

    server: str
    host: str | None
    ports: tuple[PortOutcome, ...] = ()
    reason: str | None = None

    @property
    def misplaced(self) -> bool:
        return any(not p.reachable for p in self.ports)


@dataclass(frozen=True, slots=True)
class Replay:
    boots: tuple[BootOutcome, ...]

    @property
    def placed(self) -> int:
        return sum(1 for b in self.boots if b.host is not None)

    @property
    def misplaced(self) -> int:
        """Boots with at least one port on a VF that cannot reach the port's network."""
        return sum(1 for b in self.boots if b.misplaced)

    @property
    def misplaced_ports(self) -> int:
        return sum(1 for b in self.boots for p in b.ports if not p.reachable)


def placement_request(
    flavor: Flavor,
    ports: Sequence[tuple[Port, Network]],
    aliases: Mapping[str, Alias] | None = None,
) -> PlacementRequest:
    """The scheduler's request for a server, as pcinet builds it."""
    reqs = flavor_requirements(flavor, aliases or {})
    pci = server_requests(reqs.alias_requests, ports, numa_policy=reqs.pci_numa_policy)
    return PlacementRequest(
        vcpus=reqs.vcpus, memory_mb=reqs.memory_mb, pci=pci, guest_cells=reqs.guest_cells
    )


def blind_request(request: PlacementRequest) -> PlacementRequest:
    """The same request with every port's physnet requirement dropped (alias requests,
    which never name a physnet, are unchanged)."""
    pci = tuple(
        dataclasses.replace(
            r, alternatives=tuple(dataclasses.replace(m, physnets=None) for m in r.alternatives)
        )
        if r.kind is RequestKind.PORT
        else r
        for r in request.pci
    )
    return dataclasses.replace(request, pci=pci)


def wanted_physnets(request: PciRequest) -> frozenset[str | None] | None:
    """The physnets a port request's device must be on (None: the request names none)."""
    sets = [m.physnets for m in request.alternatives if m.physnets is not None]
    return frozenset().union(*sets) if sets else None


def _outcome(source: str, device: PciDevice, wanted: frozenset[str | None]) -> PortOutcome:
    tag: Any = device.tags.get("physical_network", MISSING)
    tagged = tag is not MISSING
    physnet = tag if tagged and (tag is None or isinstance(tag, str)) else None
    return PortOutcome(
        source=source,
        address=device.address,
        physnet=physnet,
        tagged=tagged,
        wanted=tuple(sorted(wanted, key=lambda p: (p is None, p or ""))),
        reachable=tagged and tag in wanted,
    )


def replay(
    hosts: Sequence[Host],
    events: Sequence[Event],
    *,
    blind: bool = True,
    config: SchedulerConfig | None = None,
    seed: int = 0,
) -> Replay:
    """Schedule ``events`` in order on a snapshot of ``hosts`` (free capacity, tagged
    devices). Boot number ``i`` (counting boots only) is decided with its own ``seed``, or
    else ``seed + i``. ``blind`` drops the physnet from every port request; the outcome
    still judges each port against its network's physnets."""
    snapshot = Snapshot(hosts)
    devices = {(h.name, d.address): d for h in hosts for d in h.devices}
    held: dict[str, tuple[str, list[int], PlacementRequest, list[tuple[int, int, int]]]] = {}
    outcomes: list[BootOutcome] = []
    for event in events:
        if isinstance(event, Delete):
            if event.server in held:
                host, addresses, req, cells = held.pop(event.server)
                snapshot.release(
                    host, addresses, vcpus=req.vcpus, memory_mb=req.memory_mb, cells=cells
                )
            continue
        request = event.request
        decision = decide(
            snapshot,
            blind_request(request) if blind else request,
            config=config,
            seed=event.seed if event.seed is not None else seed + len(outcomes),
        )
        placement = decision.placement
        if placement is None:
            reason = decision.no_valid_host().message
            outcomes.append(BootOutcome(event.server, None, reason=reason))
            continue
        cells = [
            (cell, guest.vcpus, guest.memory_mb)
            for cell, guest in zip(placement.cells, request.guest_cells, strict=True)
        ]
        addresses = placement.packed_devices()
        snapshot.claim(
            placement.host,
            addresses,
            vcpus=request.vcpus,
            memory_mb=request.memory_mb,
            cells=cells,
        )
        held[event.server] = (placement.host, addresses, request, cells)
        ports: list[PortOutcome] = []
        for pci, chosen in zip(request.pci, placement.devices, strict=True):
            wanted = wanted_physnets(pci)
            if pci.kind is not RequestKind.PORT or wanted is None:
                continue
            ports.extend(_outcome(pci.source, devices[placement.host, a], wanted) for a in chosen)
        outcomes.append(BootOutcome(event.server, placement.host, tuple(ports)))
    return Replay(tuple(outcomes))
