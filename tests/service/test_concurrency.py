"""Servers created at once, for fewer free VFs than requests: exactly as many succeed as
there were VFs, every other request is ``no_valid_host``, and no device is held twice.

The cloud: two hosts with one PF and six VFs each, host ``cn-a`` cabled to ``phy1`` and
``cn-b`` to ``phy2``; twelve direct ports on a ``phy1`` network and twelve on a ``phy2``
network. Twelve VFs, twenty-four requests, and a port on the wrong physnet's VF would be a
bug the checks below see.

The racers, all through ``pcinet.service.servers.create``:
- PostgreSQL: four processes (spawned), each with its own controller, six creates each;
- SQLite: eight threads sharing one controller; and two processes, one controller each,
  on one SQLite file.
Racing controllers refresh their snapshot only when a claim or a decision fails (no timer),
so each works on a view that the others' claims have made stale: the database's
compare-and-swap must catch every such claim (the process variants check that some did).
They also get a large claim budget (``claim_attempts``): a request that loses its race more
than the default five times is answered 409 ``concurrent_update``, a policy (bounded
retries) and not what is under test here; with four replicas hammering one host per
physnet that happens to about one request in 24 (measured: 7 runs of 8). With the budget
out of the way, every loser ends with the truth: a VF, or no valid host once none is left.
"""

from __future__ import annotations

import multiprocessing as mp
import threading
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from pcinet.bench.reports import host_report
from pcinet.config import Settings
from pcinet.core.errors import PcinetError
from pcinet.service import hosts, networks, ports, servers
from pcinet.service.context import ADMIN, Caller
from pcinet.service.controller import Controller
from pcinet.store.models import (
    Network,
    Port,
    Segment,
    VfState,
    allocation_table,
    device_table,
    host_table,
    server_table,
)
from tests.pg import PgServer

VLAN_RANGES = "phy1:100:199,phy2:200:299"
VFS_PER_HOST = 6
HOSTS = {"cn-a": ("phy1", "3b"), "cn-b": ("phy2", "af")}  # physnet, the PF's bus
PORTS_PER_NETWORK = 12
MEMBER = Caller("p1", "member")
FLAVOR = {"vcpus": 1, "memory_mb": 512}
CLAIM_ATTEMPTS = 1000  # see the module docstring
STALE_S = 3600.0  # racers refresh their snapshot only when a claim or a decision fails
TIMEOUT_S = 60.0


@dataclass(frozen=True, slots=True)
class Outcome:
    port_id: str
    code: str  # "created", or the error code
    server_id: str | None


def _settings(url: str) -> Settings:
    return Settings(database_url=url, network_vlan_ranges=VLAN_RANGES)


def _build_cloud(ctl: Controller) -> list[str]:
    """Report the hosts, create the networks and the ports; return the port ids, the two
    networks' ports interleaved (so every racer asks for both physnets)."""
    for name, (physnet, bus) in HOSTS.items():
        report = host_report([(bus, physnet)], vfs=VFS_PER_HOST, vcpus=32, memory_mb=65536)
        hosts.report(ctl, ADMIN, name, report)
    by_network = []
    for physnet in ("phy1", "phy2"):
        net = networks.create(
            ctl,
            ADMIN,
            {
                "name": f"net-{physnet}",
                "provider:network_type": "vlan",
                "provider:physical_network": physnet,
                "shared": True,
            },
        )
        by_network.append(
            [
                ports.create(
                    ctl,
                    MEMBER,
                    {
                        "network_id": net["id"],
                        "name": f"{physnet}-{i}",
                        "binding:vnic_type": "direct",
                    },
                )["id"]
                for i in range(PORTS_PER_NETWORK)
            ]
        )
    return [p for pair in zip(*by_network, strict=True) for p in pair]


def _chunks(items: Sequence[str], n: int) -> list[list[str]]:
    """``n`` contiguous chunks: with interleaved ports, each asks for both physnets."""
    size = -(-len(items) // n)
    return [list(items[i * size : (i + 1) * size]) for i in range(n)]


def _create_all(
    ctl: Controller, port_ids: Sequence[str], threads: int, start: Any
) -> list[Outcome]:
    """Create one server per port from ``threads`` threads; they start together once
    ``start`` (a barrier shared with the other racing processes, or None) lets them go."""
    ctl.claim_attempts = CLAIM_ATTEMPTS
    outcomes: list[Outcome] = []
    crashed: list[BaseException] = []
    lock = threading.Lock()
    ready = threading.Barrier(threads + 1)

    def work(mine: Sequence[str]) -> None:
        try:
            ready.wait(TIMEOUT_S)
            for port_id in mine:
                body = {"name": f"vm-{port_id[:8]}", "flavor": FLAVOR, "ports": [port_id]}
                try:
                    outcome = Outcome(port_id, "created", servers.create(ctl, MEMBER, body)["id"])
                except PcinetError as exc:
                    outcome = Outcome(port_id, exc.code, None)
                with lock:
                    outcomes.append(outcome)
        except BaseException as exc:
            crashed.append(exc)

    workers = [threading.Thread(target=work, args=(c,)) for c in _chunks(port_ids, threads)]
    for worker in workers:
        worker.start()
    try:
        if start is not None:
            start.wait(TIMEOUT_S)  # every racing process has its controller up
        ready.wait(TIMEOUT_S)
    except BaseException:
        ready.abort()
        raise
    finally:
        for worker in workers:
            worker.join(TIMEOUT_S)
    if crashed:
        raise crashed[0]
    assert len(outcomes) == len(port_ids), "a racer did not finish"
    return outcomes


def _racer_process(url: str, port_ids: list[str], threads: int, start: Any, results: Any) -> None:
    """One replica (spawned): its own controller, then ``_create_all``."""
    try:
        ctl = Controller.start(_settings(url), refresh_interval_s=STALE_S)
        try:
            results.put(("ok", _create_all(ctl, port_ids, threads, start), ctl.cache.conflicts))
        finally:
            ctl.close()
    except BaseException as exc:
        start.abort()
        results.put(("crashed", f"{type(exc).__name__}: {exc}", 0))


def _race_processes(url: str, port_ids: list[str], processes: int) -> tuple[list[Outcome], int]:
    ctx = mp.get_context("spawn")
    start = ctx.Barrier(processes)
    results = ctx.Queue()
    children = [
        ctx.Process(target=_racer_process, args=(url, chunk, 1, start, results))
        for chunk in _chunks(port_ids, processes)
    ]
    for child in children:
        child.start()
    outcomes: list[Outcome] = []
    conflicts = 0
    try:
        for _ in children:
            status, payload, lost = results.get(timeout=TIMEOUT_S)
            assert status == "ok", payload
            outcomes.extend(payload)
            conflicts += lost
    finally:
        for child in children:
            child.join(TIMEOUT_S)
            if child.is_alive():
                child.kill()
    assert all(child.exitcode == 0 for child in children)
    return outcomes, conflicts


def _check(url: str, port_ids: list[str], outcomes: list[Outcome]) -> None:
    vfs = VFS_PER_HOST * len(HOSTS)
    codes = Counter(o.code for o in outcomes)
    assert sorted(o.port_id for o in outcomes) == sorted(port_ids)
    assert codes == {"created": vfs, "no_valid_host": len(port_ids) - vfs}, codes
    created = {o.server_id: o.port_id for o in outcomes if o.server_id is not None}

    ctl = Controller.start(_settings(url), migrate=False)
    try:
        with ctl.unit(readonly=True) as session:
            alloc = session.execute(
                sa.select(
                    allocation_table.c.server_id,
                    allocation_table.c.device_id,
                    device_table.c.address,
                    device_table.c.dev_type,
                    device_table.c.tags,
                    host_table.c.name,
                )
                .join(device_table, device_table.c.id == allocation_table.c.device_id)
                .join(host_table, host_table.c.id == device_table.c.host_id)
            ).all()
            port_rows = {p.id: p for p in session.scalars(sa.select(Port))}
            physnet_of_port = {
                row.id: row.physical_network
                for row in session.execute(
                    sa.select(Port.id, Segment.physical_network)
                    .join(Network, Network.id == Port.network_id)
                    .join(Segment, Segment.network_id == Network.id)
                )
            }
            vf_rows = list(session.scalars(sa.select(VfState)))
            server_rows = session.execute(
                sa.select(server_table.c.id, server_table.c.host_id)
            ).all()
            host_rows = session.execute(
                sa.select(host_table.c.name, host_table.c.id, host_table.c.vcpus_used)
            ).all()
    finally:
        ctl.close()

    # Every device is held once, by a server that was answered "created", and is a VF.
    assert len(alloc) == vfs
    assert len({a.device_id for a in alloc}) == vfs
    assert {a.server_id for a in alloc} == set(created)
    assert all(a.dev_type == "type-VF" for a in alloc)
    assert {s.id for s in server_rows} == set(created)
    per_host = VFS_PER_HOST * FLAVOR["vcpus"]
    assert {h.name: h.vcpus_used for h in host_rows} == dict.fromkeys(HOSTS, per_host)
    host_ids = {h.name: h.id for h in host_rows}
    vf_of_server = {a.server_id: a for a in alloc}
    for server_id, port_id in created.items():
        vf, port = vf_of_server[server_id], port_rows[port_id]
        # The port is bound to exactly that VF, on that host, on its network's physnet.
        assert port.device_id == server_id
        assert (port.binding_host_id, port.pci_address) == (vf.name, vf.address)
        assert port.binding_vif_type == "hw_veb"
        assert vf.tags["physical_network"] == physnet_of_port[port_id]
        assert HOSTS[vf.name][0] == physnet_of_port[port_id]
        assert port.binding_profile is not None
        assert port.binding_profile["physical_network"] == physnet_of_port[port_id]
    # The losers' ports stay unbound.
    for outcome in outcomes:
        if outcome.server_id is None:
            port = port_rows[outcome.port_id]
            assert (port.device_id, port.pci_address, port.status) == (None, None, "DOWN")
    # One desired VF state per held VF, for the port bound to it.
    states = {(r.host_id, r.pci_address): r.port_id for r in vf_rows}
    assert len(states) == vfs
    bound = {
        (host_ids[port_rows[p].binding_host_id or ""], port_rows[p].pci_address): p
        for p in created.values()
    }
    assert states == bound


# -- fixtures -----------------------------------------------------------------------------


@pytest.fixture
def pg_url(pg_server: PgServer, pg_template: str) -> Iterator[str]:
    name = f"t_{uuid.uuid4().hex[:16]}"
    pg_server.execute(f"CREATE DATABASE {name} TEMPLATE {pg_template}")
    try:
        yield pg_server.url(name)
    finally:
        pg_server.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'pcinet.db'}"


def _cloud(url: str) -> list[str]:
    ctl = Controller.start(_settings(url))
    try:
        return _build_cloud(ctl)
    finally:
        ctl.close()


# -- the races ----------------------------------------------------------------------------


@pytest.mark.postgres
def test_processes_on_postgres_place_exactly_as_many_servers_as_vfs(pg_url: str) -> None:
    port_ids = _cloud(pg_url)
    outcomes, conflicts = _race_processes(pg_url, port_ids, processes=4)
    _check(pg_url, port_ids, outcomes)
    assert conflicts > 0, "no claim ran on a stale view: the race was not exercised"


def test_threads_sharing_a_controller_on_sqlite_place_exactly_as_many_servers_as_vfs(
    sqlite_url: str,
) -> None:
    ctl = Controller.start(_settings(sqlite_url), refresh_interval_s=STALE_S)
    try:
        port_ids = _build_cloud(ctl)
        outcomes = _create_all(ctl, port_ids, threads=8, start=None)
    finally:
        ctl.close()
    _check(sqlite_url, port_ids, outcomes)


def test_two_controller_processes_on_one_sqlite_file_place_exactly_as_many_servers_as_vfs(
    sqlite_url: str,
) -> None:
    port_ids = _cloud(sqlite_url)
    outcomes, conflicts = _race_processes(sqlite_url, port_ids, processes=2)
    _check(sqlite_url, port_ids, outcomes)
    assert conflicts > 0, "no claim ran on a stale view: the race was not exercised"
