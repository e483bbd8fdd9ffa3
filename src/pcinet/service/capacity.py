"""What the scheduler would do, asked without claiming anything: ``GET /v1/capacity`` (how
many more servers of one shape fit, per host and in total) and the dashboard's "Why not?"
(where one server would go, and every host's reason), on the live snapshot.

The shape: a flavor (vCPUs, memory, extra specs) and ports, each a vnic type on a network.
Both run the real scheduler on a private copy of the controller's snapshot
(``scheduler.capacity``). A capacity answer walks the scheduler once per server that fits,
so it is bounded: ``max_servers`` (default ``DEFAULT_MAX_SERVERS``, at most
``MAX_SERVERS``); when more fit, the answer is the error ``capacity_limit_exceeded`` (400),
never a silent cap.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.orm import Session

from pcinet.core.flavor import Flavor
from pcinet.core.network import Network as CoreNetwork
from pcinet.core.port import Port, VnicType
from pcinet.scheduler import PlacementRequest, decide
from pcinet.scheduler.capacity import MAX_SERVERS, count
from pcinet.service.context import Caller
from pcinet.service.controller import Controller
from pcinet.service.errors import InvalidRequest, NotFound
from pcinet.service.inputs.base import parse
from pcinet.service.inputs.limits import MAX_SERVER_PORTS
from pcinet.service.inputs.whynot import DEVICE_VNIC_TYPES, MAX_NEW_PORTS, ServerWhyNot
from pcinet.service.servers import placement_request
from pcinet.store import networks as store_networks
from pcinet.store.models import Network

VNIC_TYPES = DEVICE_VNIC_TYPES
MAX_PORTS = MAX_NEW_PORTS
DEFAULT_MAX_SERVERS = 1000

PortShape = tuple[str, str]  # network id or name, vnic type


def capacity(
    ctl: Controller,
    caller: Caller,
    *,
    network: str,
    vnic_type: str = "direct",
    ports: int = 1,
    vcpus: int = 1,
    memory_mb: int = 512,
    extra_specs: Mapping[str, Any] | None = None,
    max_servers: int = DEFAULT_MAX_SERVERS,
) -> dict[str, Any]:
    """``{"total": N, "hosts": [{"host", "fits", "limited_by"}]}`` for the shape."""
    if not 1 <= ports <= MAX_PORTS:
        raise InvalidRequest(f"ports: {ports} is not in 1..{MAX_PORTS}", field="ports")
    if not 1 <= max_servers <= MAX_SERVERS:
        raise InvalidRequest(
            f"max_servers: {max_servers} is not in 1..{MAX_SERVERS}", field="max_servers"
        )
    request = shape_request(
        ctl,
        caller,
        [(network, vnic_type)] * ports,
        vcpus=vcpus,
        memory_mb=memory_mb,
        extra_specs=extra_specs,
    )
    snapshot = ctl.cache.private_snapshot()
    answer = count(
        snapshot, request, config=ctl.cache.config, seed=ctl.peek_seed(), limit=max_servers
    )
    return answer.to_dict()


def why_not_server(ctl: Controller, caller: Caller, body: ServerWhyNot | Any) -> dict[str, Any]:
    """``POST /v1/why-not``: ``why_not`` for a server create's body (plus new ports);
    errors name ``server.*`` as a boot's do."""
    request = parse(ServerWhyNot, body)
    return why_not(
        ctl,
        caller,
        [(p.network, p.vnic_type) for p in request.networks],
        port_ids=request.ports,
        vcpus=request.flavor.vcpus,
        memory_mb=request.flavor.memory_mb,
        extra_specs=request.flavor.extra_specs,
        where="server",
    )


def why_not(
    ctl: Controller,
    caller: Caller,
    ports: Sequence[PortShape] = (),
    *,
    port_ids: Sequence[str] = (),
    vcpus: int = 1,
    memory_mb: int = 512,
    extra_specs: Mapping[str, Any] | None = None,
    where: str | None = None,
) -> dict[str, Any]:
    """Where a server of the shape would go now (the decision its boot would make, with
    the controller's next seed) and every host's verdict (an exhaustive decision):
    ``{"host": NAME | None, "devices": [[ADDRESS, ...], ...], "hosts": [{"host", "fits",
    "score", "reason"}]}``. Nothing is claimed.

    The server's ports: the existing ports ``port_ids`` (checked and turned into PCI
    requests by the boot's own code, ``servers.placement_request``: a port already used
    by a server is 409 ``port_in_use`` naming it), then one new port per shape of
    ``ports``. ``where``: see ``shape_request``."""
    if len(ports) > MAX_PORTS:
        field = f"{where}.networks" if where else "ports"
        raise InvalidRequest(f"{field}: more than {MAX_PORTS}", field=field)
    if len(port_ids) > MAX_SERVER_PORTS:
        field = f"{where}.ports" if where else "port_ids"
        raise InvalidRequest(f"{field}: more than {MAX_SERVER_PORTS}", field=field)
    request = shape_request(
        ctl,
        caller,
        ports,
        port_ids=port_ids,
        vcpus=vcpus,
        memory_mb=memory_mb,
        extra_specs=extra_specs,
        where=where,
    )
    snapshot = ctl.cache.private_snapshot()
    config = ctl.cache.config
    online = decide(snapshot, request, config=config, seed=ctl.peek_seed())
    every = decide(snapshot, request, config=config, seed=ctl.peek_seed(), exhaustive=True)
    scores = dict(every.feasible)
    names = sorted({*scores, *every.rejected})
    placement = online.placement
    return {
        "host": placement.host if placement else None,
        "devices": [list(group) for group in placement.devices] if placement else [],
        "hosts": [
            {
                "host": name,
                "fits": name in scores,
                "score": scores.get(name),
                "reason": every.rejected.get(name),
            }
            for name in names
        ],
    }


def shape_request(
    ctl: Controller,
    caller: Caller,
    ports: Sequence[PortShape],
    *,
    port_ids: Sequence[str] = (),
    vcpus: int,
    memory_mb: int,
    extra_specs: Mapping[str, Any] | None,
    where: str | None = None,
) -> PlacementRequest:
    """The scheduler's request for a flavor, the existing ports ``port_ids`` and new ports
    (network, vnic type), as a boot of that server would build it (the boot's own code:
    ``servers.placement_request``). ``where``: the name of the request body (``server``):
    errors in a shape then name ``server.networks[i].network`` or ``.vnic_type``, else the
    query's ``network`` or ``vnic_type``."""
    caller.require("admin", "member", action="asking the scheduler")

    def field(i: int, key: str) -> str:
        return f"{where}.networks[{i}].{key}" if where else key

    for i, (_, vnic_type) in enumerate(ports):
        if vnic_type not in VNIC_TYPES:
            allowed = ", ".join(VNIC_TYPES)
            name = field(i, "vnic_type")
            raise InvalidRequest(f"{name}: {vnic_type!r} is not one of {allowed}", field=name)
    flavor = Flavor.from_dict(
        {"vcpus": vcpus, "memory_mb": memory_mb, "extra_specs": dict(extra_specs or {})},
        where=f"{where}.flavor" if where else "flavor",
    )
    nets: dict[str, CoreNetwork] = {}
    with ctl.unit(readonly=True) as session:
        for i, (network, _) in enumerate(ports):
            if network not in nets:
                row = _network(session, caller, network, field(i, "network"))
                segments = store_networks.segments_of(session, [row.id])[row.id]
                nets[network] = store_networks.core_network(row, segments)
    ctl.cache.maybe_refresh()
    new_ports = [(Port(network=nets[n].name, vnic_type=VnicType(v)), nets[n]) for n, v in ports]
    return placement_request(ctl, caller, flavor, port_ids, new_ports)


def _network(session: Session, caller: Caller, key: str, field: str = "network") -> Network:
    """The network with id ``key``, else the one named ``key``, that the caller sees."""

    def visible(row: Network) -> bool:
        return bool(row.shared or caller.owns(row.project_id) or caller.role == "service")

    row = store_networks.get_network(session, key)
    if row is not None and visible(row):
        return row
    named = [r for r in store_networks.list_networks(session, name=key) if visible(r)]
    if len(named) == 1:
        return named[0]
    if len(named) > 1:
        raise InvalidRequest(
            f"{field}: {len(named)} networks are named {key!r}; use an id", field=field
        )
    raise NotFound(f"{field}: network {key} not found", field=field)
