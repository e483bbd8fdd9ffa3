"""Generated workloads: servers arriving and leaving, their flavors and ports.

The catalog (networks, flavors, the ``gpu`` alias) is fixed; a workload is a seeded draw
of servers from it, or a trace file naming catalog entries. Arrivals are a Poisson process
of rate 1 per time unit; lifetimes are exponential with a mean chosen so that, at
``load`` 1.0, the servers alive at once would need every VF (or every vCPU, whichever
runs out first) of the cloud. Above 1 the cloud is over-subscribed: placements start to
fail and strategies differ.

Networks: provider VLAN networks on each physnet, tenant VLAN networks (on ``phy1``, the
first range of ``network_vlan_ranges``, as Neutron allocates them) and two multi-segment
networks whose *first* segment is on a scarcer physnet than their second one: the case
Nova's first-segment rule gets wrong.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pcinet.core.alias import Alias, parse_aliases
from pcinet.core.errors import InvalidInput
from pcinet.core.flavor import Flavor
from pcinet.core.network import Network
from pcinet.core.port import Port, VnicType
from pcinet.core.schema import check_keys
from pcinet.sim.limits import MAX_SERVERS
from pcinet.sim.traceschema import TraceFile, TracePort, TraceServer

VNIC_TYPES = ("direct", "direct-physical", "macvtap")


def _vlan(name: str, physnet: str, vlan: int) -> Network:
    return Network.from_dict(
        {
            "name": name,
            "provider:network_type": "vlan",
            "provider:physical_network": physnet,
            "provider:segmentation_id": vlan,
        }
    )


def _multi(name: str, segments: Sequence[tuple[str, int]]) -> Network:
    return Network.from_dict(
        {
            "name": name,
            "segments": [
                {
                    "provider:network_type": "vlan",
                    "provider:physical_network": p,
                    "provider:segmentation_id": v,
                }
                for p, v in segments
            ],
        }
    )


NETWORKS: dict[str, Network] = {
    "prov-phy1": _vlan("prov-phy1", "phy1", 100),
    "prov-phy2": _vlan("prov-phy2", "phy2", 200),
    "prov-phy3": _vlan("prov-phy3", "phy3", 300),
    "tenant-1": _vlan("tenant-1", "phy1", 1001),
    "tenant-2": _vlan("tenant-2", "phy1", 1002),
    "multi-31": _multi("multi-31", [("phy3", 400), ("phy1", 401)]),
    "multi-21": _multi("multi-21", [("phy2", 402), ("phy1", 403)]),
}
FLAVORS: dict[str, Flavor] = {
    "small": Flavor(2, 4096, {}),
    "medium": Flavor(4, 8192, {}),
    "large": Flavor(8, 16384, {}),
    "numa": Flavor(4, 8192, {"hw:numa_nodes": "1", "hw:pci_numa_affinity_policy": "required"}),
    "gpu": Flavor(8, 32768, {"pci_passthrough:alias": "gpu:1"}),
    "vf": Flavor(2, 4096, {"pci_passthrough:alias": "vf:1"}),
}
ALIASES: dict[str, Alias] = parse_aliases(
    [
        {"name": "gpu", "vendor_id": "10de", "product_id": "20b5", "device_type": "type-PCI"},
        # any X710 VF, whatever its network: the flavor-pool request of 2014
        {"name": "vf", "vendor_id": "8086", "product_id": "154c", "device_type": "type-VF"},
    ]
)
# Where a generated port goes (weights), and which networks two-port servers use.
NETWORK_WEIGHTS = {
    "prov-phy1": 0.18,
    "prov-phy2": 0.22,
    "prov-phy3": 0.04,
    "tenant-1": 0.1,
    "tenant-2": 0.08,
    "multi-31": 0.18,
    "multi-21": 0.2,
}
# Means of the generated mix, for sizing lifetimes.
PORTS_PER_SERVER = 1.25
VCPUS_PER_SERVER = 5.0


@dataclass(frozen=True, slots=True)
class PortSpec:
    network: str
    vnic_type: str = "direct"
    trusted: bool = False

    def port(self) -> Port:
        profile = {"trusted": True} if self.trusted else {}
        return Port(self.network, VnicType(self.vnic_type), profile)


@dataclass(frozen=True, slots=True)
class Server:
    """Server ``id`` arrives at ``arrive`` and leaves at ``leave`` (None: never)."""

    id: int
    arrive: float
    leave: float | None
    flavor: str
    ports: tuple[PortSpec, ...]


@dataclass(frozen=True, slots=True)
class Workload:
    servers: tuple[Server, ...]
    seed: int

    def events(self) -> list[tuple[float, int, int]]:
        """(time, kind, server id) in time order; kind 0 = leave, 1 = arrive, so that at
        equal times departures free their devices before arrivals ask."""
        out = [(s.arrive, 1, s.id) for s in self.servers]
        out += [(s.leave, 0, s.id) for s in self.servers if s.leave is not None]
        out.sort()
        return out

    @property
    def horizon(self) -> float:
        return max((s.arrive for s in self.servers), default=0.0)


def _server_shape(rng: random.Random, gpus: bool) -> tuple[str, tuple[PortSpec, ...]]:
    nets = list(NETWORK_WEIGHTS)
    weights = list(NETWORK_WEIGHTS.values())

    def net() -> str:
        return rng.choices(nets, weights)[0]

    kind = rng.random()
    if kind < 0.55:
        return rng.choice(("small", "medium", "large")), (PortSpec(net()),)
    if kind < 0.73:
        a = net()
        b = net()
        while b == a:
            b = net()
        return rng.choice(("medium", "large")), (PortSpec(a), PortSpec(b))
    if kind < 0.81:
        return "medium", (PortSpec(net(), trusted=True),)
    if kind < 0.85:
        # a whole PF, and half the time a VF on the same network too
        network = rng.choice(("prov-phy1", "prov-phy2"))
        pf = PortSpec(network, "direct-physical")
        return "large", (pf, PortSpec(network)) if rng.random() < 0.5 else (pf,)
    if kind < 0.93 or not gpus:
        return "numa", (PortSpec(net()),)
    return "gpu", (PortSpec(net()),)


def capacity(vfs: int, vcpus: int) -> float:
    """About how many servers of the mix a cloud of ``vfs`` VFs and ``vcpus`` vCPUs holds."""
    return min(vfs / PORTS_PER_SERVER, vcpus / VCPUS_PER_SERVER)


def generate_workload(
    requests: int, seed: int, *, capacity: float, load: float = 1.2, gpus: bool = False
) -> Workload:
    """``requests`` servers (seeded) for a cloud holding about ``capacity`` servers.

    Lifetimes average ``load * capacity`` time units (one arrival per unit), so about
    ``load * capacity`` servers would be alive at once; the cloud fills after about that
    many arrivals, so ``requests`` should be a few times it to see the steady state."""
    if not 1 <= requests <= MAX_SERVERS:
        raise InvalidInput(
            f"--requests: expected 1 to {MAX_SERVERS}, got {requests}", field="requests"
        )
    if not 0 < load <= 100:
        raise InvalidInput(f"--load: expected a number in (0, 100], got {load}", field="load")
    rng = random.Random(seed)
    mean_life = max(1.0, load * capacity)
    servers = []
    t = 0.0
    for i in range(requests):
        t += rng.expovariate(1.0)
        flavor, ports = _server_shape(rng, gpus)
        servers.append(Server(i, t, t + rng.expovariate(1.0 / mean_life), flavor, ports))
    return Workload(tuple(servers), seed)


def _fail(field: str, reason: str) -> InvalidInput:
    return InvalidInput(f"{field}: {reason}", field=field)


def _number(value: Any, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _fail(field, f"expected a finite number, got {value!r}")
    if value < 0:
        raise _fail(field, f"expected a number >= 0, got {value!r}")
    return float(value)


def _trace_port(data: Any, where: str) -> PortSpec:
    if not isinstance(data, Mapping):
        raise _fail(where, f"expected an object, got {data!r}")
    check_keys(data, TracePort, where, error=InvalidInput, required=False)
    network = data.get("network")
    if not isinstance(network, str) or network not in NETWORKS:
        raise _fail(f"{where}.network", f"{network!r} is not one of {', '.join(NETWORKS)}")
    vnic = data.get("vnic_type", "direct")
    if not isinstance(vnic, str) or vnic not in VNIC_TYPES:
        raise _fail(f"{where}.vnic_type", f"{vnic!r} is not one of {', '.join(VNIC_TYPES)}")
    trusted = data.get("trusted", False)
    if not isinstance(trusted, bool):
        raise _fail(f"{where}.trusted", f"expected true or false, got {trusted!r}")
    return PortSpec(network, vnic, trusted)


def parse_trace(data: Any, *, where: str = "trace") -> Workload:
    """A workload from a trace object::

        {"servers": [{"at": 0.5, "leave": 12.0, "flavor": "small",
                      "ports": [{"network": "prov-phy1", "vnic_type": "direct"}]}]}

    ``leave`` may be null or absent (the server stays). Networks and flavors are names from
    the catalog. Errors name ``trace.servers[i].<property>``.
    """
    if not isinstance(data, Mapping):
        raise _fail(where, "expected an object with a servers list")
    check_keys(data, TraceFile, where, error=InvalidInput, required=False)
    raw = data.get("servers")
    if not isinstance(raw, list) or not raw:
        raise _fail(f"{where}.servers", "expected a non-empty list")
    if len(raw) > MAX_SERVERS:
        raise _fail(f"{where}.servers", f"at most {MAX_SERVERS} servers, got {len(raw)}")
    rows = []
    for i, item in enumerate(raw):
        at = f"{where}.servers[{i}]"
        if not isinstance(item, Mapping):
            raise _fail(at, f"expected an object, got {item!r}")
        check_keys(item, TraceServer, at, error=InvalidInput, required=False)
        arrive = _number(item.get("at"), f"{at}.at")
        raw_leave = item.get("leave")
        leave = None if raw_leave is None else _number(raw_leave, f"{at}.leave")
        if leave is not None and leave < arrive:
            raise _fail(f"{at}.leave", f"{leave} is before the arrival at {arrive}")
        flavor = item.get("flavor")
        if not isinstance(flavor, str) or flavor not in FLAVORS:
            raise _fail(f"{at}.flavor", f"{flavor!r} is not one of {', '.join(FLAVORS)}")
        ports = item.get("ports", [])
        if not isinstance(ports, list):
            raise _fail(f"{at}.ports", "expected a list")
        specs = tuple(_trace_port(p, f"{at}.ports[{j}]") for j, p in enumerate(ports))
        rows.append((arrive, i, leave, flavor, specs))
    rows.sort(key=lambda r: (r[0], r[1]))
    servers = tuple(Server(k, a, lv, f, p) for k, (a, _, lv, f, p) in enumerate(rows))
    return Workload(servers, seed=0)


def load_trace(path: Path) -> Workload:
    try:
        text = path.read_text()
    except OSError as exc:
        raise _fail("--trace", f"cannot read {path}: {exc.strerror}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _fail("--trace", f"{path} is not valid JSON: {exc}") from None
    return parse_trace(data)
