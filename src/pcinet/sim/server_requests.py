"""One server's needs in each strategy's terms.

- pcinet: the request pcinet builds (a port accepts a device on *any* segment's physnet);
- nova: what Nova builds: a port asks for the physnet of its network's *first* segment
  that has one; a VF port's spec names no device type (PF pools are dropped later, after
  the NUMA count), as in ``nova.pci.stats``;
- blind: the 2014 behaviour: a port asks for a VF (or PF) from the flavor's pool, whatever
  its network.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from pcinet.core.network import Network
from pcinet.core.pci import DevType
from pcinet.core.request import DeviceMatcher, NumaPolicy, PciRequest
from pcinet.demo.blind import blind_request, placement_request
from pcinet.scheduler import PlacementRequest
from pcinet.sim.workload import ALIASES, FLAVORS, NETWORKS, PortSpec, Server

ALL_TYPES = frozenset(DevType)
VF_TYPES = frozenset({DevType.VF, DevType.PCI})


@dataclass(frozen=True, slots=True)
class PoolRequest:
    """A request as Nova's pool statistics see it: ``count`` devices from pools matching
    ``alternatives`` (spec stage), PF pools dropped unless ``wants_pf``."""

    count: int
    alternatives: tuple[DeviceMatcher, ...]
    wants_pf: bool
    policy: NumaPolicy


@dataclass(frozen=True, slots=True)
class ServerRequests:
    pcinet: PlacementRequest
    nova: tuple[PoolRequest, ...]
    blind: tuple[PoolRequest, ...]


def first_segment(network: Network) -> Network:
    """The network as Nova sees it: the first segment that has a physnet (or the first)."""
    for segment in network.segments:
        if segment.physical_network is not None:
            return Network(network.name, (segment,), network.id)
    return Network(network.name, network.segments[:1], network.id)


def pool_requests(request: PlacementRequest, *, blind: bool = False) -> tuple[PoolRequest, ...]:
    """Nova's view of ``request``. ``blind``: a VF port asks for a VF of the NIC (the 2014
    flavor pool), never another kind of device."""
    out = []
    for pci in request.pci:
        alts = []
        wants_pf = False
        for m in pci.alternatives:
            if m.dev_types == VF_TYPES:
                types = frozenset({DevType.VF}) if blind else ALL_TYPES
                alts.append(replace(m, dev_types=types))
            else:
                wants_pf = wants_pf or DevType.PF in m.dev_types
                alts.append(m)
        out.append(PoolRequest(pci.count, tuple(alts), wants_pf, pci.numa_policy))
    return tuple(out)


def build_request(flavor: str, ports: tuple[PortSpec, ...], *, nova: bool) -> PlacementRequest:
    """pcinet's request for a server (``nova``: its ports see only their first segment)."""
    nets: Mapping[str, Network] = NETWORKS
    pairs = [(p.port(), first_segment(nets[p.network]) if nova else nets[p.network]) for p in ports]
    return placement_request(FLAVORS[flavor], pairs, ALIASES)


class RequestBuilder:
    """Requests per server shape, built once (servers repeat a few shapes)."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, tuple[PortSpec, ...]], ServerRequests] = {}

    def get(self, server: Server) -> ServerRequests:
        key = (server.flavor, server.ports)
        got = self._cache.get(key)
        if got is None:
            pcinet = build_request(server.flavor, server.ports, nova=False)
            got = ServerRequests(
                pcinet=pcinet,
                nova=pool_requests(build_request(server.flavor, server.ports, nova=True)),
                blind=pool_requests(blind_request(pcinet), blind=True),
            )
            self._cache[key] = got
        return got


def port_index(pci: PciRequest) -> int:
    return int(pci.source)
