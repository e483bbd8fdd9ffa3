"""The port cache (``service.portcache``) on both backends: a port created by a controller
is placed without reading it back, and never makes an answer wrong: two controllers on one
database (replicas) delete, take and free each other's ports while one still remembers them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from pcinet.bench.reports import host_report
from pcinet.config import Settings
from pcinet.core.errors import NoValidHost
from pcinet.service import hosts, networks, ports, servers
from pcinet.service.context import ADMIN, Caller
from pcinet.service.controller import Controller
from pcinet.service.errors import NotFound
from pcinet.service.portcache import PortCache
from pcinet.store.errors import PortInUse

MEMBER = Caller("p1", "member")
FLAVOR = {"vcpus": 1, "memory_mb": 512}


@pytest.fixture
def replicas(db_url: str) -> Iterator[tuple[Controller, Controller]]:
    """Two controllers on one fresh database, with a host (six VFs on phy1) and a shared
    phy1 network; ``a`` reported and created them."""
    settings = Settings(database_url=db_url, network_vlan_ranges="phy1:100:199")
    a = Controller.start(settings)
    try:
        hosts.report(
            a, ADMIN, "cn-a", host_report([("3b", "phy1")], vfs=6, vcpus=32, memory_mb=65536)
        )
        b = Controller.start(settings, migrate=False)
        try:
            yield a, b
        finally:
            b.close()
    finally:
        a.close()


@dataclass(frozen=True)
class _Row:
    id: str
    network_id: str


def _network(ctl: Controller) -> str:
    body = {
        "name": "net1",
        "provider:network_type": "vlan",
        "provider:physical_network": "phy1",
        "shared": True,
    }
    return str(networks.create(ctl, ADMIN, body)["id"])


def _port(ctl: Controller, network_id: str, name: str = "p") -> str:
    body = {"network_id": network_id, "name": name, "binding:vnic_type": "direct"}
    return str(ports.create(ctl, MEMBER, body)["id"])


def _server(ctl: Controller, port_id: str) -> dict[str, Any]:
    return servers.create(ctl, MEMBER, {"name": "vm", "flavor": FLAVOR, "ports": [port_id]})


def test_a_port_created_here_is_placed_without_reading_it_back(
    replicas: tuple[Controller, Controller],
) -> None:
    a, _ = replicas
    net = _network(a)
    _server(a, _port(a, net, "first"))  # reads the network once
    port = _port(a, net, "second")
    hits = a.ports.hits
    server = _server(a, port)
    assert a.ports.hits == hits + 1
    [view] = server["ports"]
    assert (view["id"], view["name"], view["device_id"]) == (port, "second", server["id"])
    assert view["binding:vif_type"] == "hw_veb" and view["status"] == "BUILD"
    assert a.ports.get([port]) is None  # attached: forgotten, the next use reads


def test_a_port_deleted_by_another_replica_is_not_found(
    replicas: tuple[Controller, Controller],
) -> None:
    a, b = replicas
    net = _network(a)
    _server(a, _port(a, net, "warm"))  # ``a`` knows the network
    port = _port(a, net)
    ports.delete(b, MEMBER, port)
    assert a.ports.get([port]) is not None  # ``a`` still remembers it
    with pytest.raises(NotFound, match=port):
        _server(a, port)
    assert a.ports.get([port]) is None


def test_a_port_taken_by_another_replica_names_the_server(
    replicas: tuple[Controller, Controller],
) -> None:
    a, b = replicas
    net = _network(a)
    _server(a, _port(a, net, "warm"))
    port = _port(a, net)
    holder = _server(b, port)["id"]
    with pytest.raises(PortInUse, match=holder):
        _server(a, port)
    # Freed on the other replica: the port is placed again (read, not remembered).
    servers.delete(b, MEMBER, holder)
    assert _server(a, port)["ports"][0]["device_id"] is not None


def test_a_deleted_network_is_forgotten(replicas: tuple[Controller, Controller]) -> None:
    a, _ = replicas
    net = _network(a)
    port = _port(a, net)
    _server(a, _port(a, net, "warm"))
    assert a.ports.get([port]) is not None
    ports.delete(a, MEMBER, port)
    assert a.ports.get([port]) is None
    for server in servers.list_servers(a, MEMBER):
        servers.delete(a, MEMBER, server["id"])
    for row in ports.list_ports(a, MEMBER):
        ports.delete(a, MEMBER, row["id"])
    networks.delete(a, ADMIN, net)
    a.ports.remember(_Row("p-new", net))  # a port of that network: unknown without it
    assert a.ports.get(["p-new"]) is None


def test_the_cache_is_bounded_oldest_first_out() -> None:
    cache = PortCache(capacity=2)
    rows = [_Row(f"p{i}", "n") for i in range(3)]
    cache.remember_networks({"n": ("net", [])})
    for row in rows:
        cache.remember(row)
    assert len(cache) == 2
    assert cache.get(["p0"]) is None
    known = cache.get(["p1", "p2"])
    assert known is not None and list(known[0]) == ["p1", "p2"] and list(known[1]) == ["n"]
    cache.forget(["p1"])
    assert cache.get(["p1", "p2"]) is None  # all or nothing


def test_a_failed_create_on_a_remembered_port_says_why_the_port_is_unusable(
    replicas: tuple[Controller, Controller],
) -> None:
    """Another replica deleted the port; the create fails before its write (no host has
    that much memory): the answer is about the port, as on a replica that reads it."""
    a, b = replicas
    net = _network(a)
    _server(a, _port(a, net, "warm"))
    port = _port(a, net)
    ports.delete(b, MEMBER, port)
    body = {"name": "vm", "flavor": {"vcpus": 1, "memory_mb": 10**6}, "ports": [port]}
    with pytest.raises(NotFound, match=port):
        servers.create(a, MEMBER, body)


def test_a_failed_create_on_a_usable_remembered_port_keeps_its_reason(
    replicas: tuple[Controller, Controller],
) -> None:
    a, _ = replicas
    net = _network(a)
    _server(a, _port(a, net, "warm"))
    port = _port(a, net)
    body = {"name": "vm", "flavor": {"vcpus": 1, "memory_mb": 10**6}, "ports": [port]}
    with pytest.raises(NoValidHost):
        servers.create(a, MEMBER, body)
    assert a.ports.get([port]) is None  # forgotten, re-read: placed from a read next time
    assert _server(a, port)["ports"][0]["id"] == port


def test_a_status_set_anywhere_never_shows_stale_in_the_create_view(
    replicas: tuple[Controller, Controller],
) -> None:
    """A normal port's status set on another replica: attaching writes DOWN, as the view
    says; a status set here also makes this replica forget the port."""
    a, b = replicas
    net = _network(a)
    _server(a, _port(a, net, "warm"))
    normal = str(
        ports.create(a, MEMBER, {"network_id": net, "name": "n", "binding:vnic_type": "normal"})[
            "id"
        ]
    )
    service = Caller("p1", "service")
    ports.set_status(b, service, normal, {"status": "ERROR"})
    created = servers.create(a, MEMBER, {"name": "vm", "flavor": FLAVOR, "ports": [normal]})
    assert created["ports"][0]["status"] == "DOWN"
    assert ports.get(a, MEMBER, normal)["status"] == "DOWN"
    mine = _port(a, net, "mine")
    ports.set_status(a, service, mine, {"status": "DOWN"})
    assert a.ports.get([mine]) is None
