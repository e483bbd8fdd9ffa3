"""``pcinet bench stress``: replicas and racing clients over HTTP, then ``pcinet admin check``.

R ``pcinet serve`` processes share one database; C client threads create and delete
networks, ports and servers at random for S seconds, each request to a random replica. The
cloud is small on purpose, so that clients race for the last units:

- 3 hosts with one adapter on ``phy1`` and one on ``phy2``, 4 VFs each (12 VFs a physnet);
- tenant networks draw VLANs from ``phy1:100:107,phy2:200:215``; admin clients create
  provider networks on ``phy1`` with an explicit VLAN from ``100..105``, racing with each
  other and with the tenant allocations (a taken one is 409 ``vlan_in_use``); the quotas
  keep the networks (12 at most) under the 24 VLANs, so no answer is 503;
- two projects, both with quotas (6 networks; project ``stress-a`` also 8 VFs), so that
  ``over_quota`` races happen too; ports and servers are shared within a project, so a port
  is wanted by several clients at once (``port_in_use``) and deleted under others' feet
  (404).

Every answer is classified by operation: the expected successes and the 4xx codes that are
correct for that operation (``EXPECTED``); anything else (a 5xx, a 409 with another code, an
unexpected status) is counted under ``unexpected`` with samples. The run is ``ok`` when
nothing was unexpected and the check finds no violation.
"""

from __future__ import annotations

import random
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from pcinet.bench.replicas import Replicas, server_env
from pcinet.bench.reports import host_report
from pcinet.core.errors import InvalidInput
from pcinet.store.check import check_url
from pcinet.store.db import make_engine, upgrade
from pcinet.store.models import host_table

ADMIN_TOKEN = "stress-admin-token"
VLAN_RANGES = "phy1:100:107,phy2:200:215"
PROVIDER_VLANS = range(100, 106)
PROJECTS = ("stress-a", "stress-b")
HOSTS = ("cn1", "cn2", "cn3")
VFS_PER_ADAPTER = 4
QUOTAS = {"stress-a": {"networks": 6, "vfs": 8}, "stress-b": {"networks": 6}}
# Operation -> the statuses and error codes that are correct answers for it.
EXPECTED: dict[str, set[tuple[int, str]]] = {
    "create_network": {(201, ""), (409, "over_quota"), (409, "concurrent_update")},
    "create_provider_network": {(201, ""), (409, "vlan_in_use"), (409, "over_quota")},
    "create_port": {(201, ""), (404, "not_found"), (409, "over_quota")},
    "create_server": {
        (201, ""),
        (404, "not_found"),
        (409, "no_valid_host"),
        (409, "port_in_use"),
        (409, "over_quota"),
        (409, "concurrent_update"),
    },
    "delete_server": {(204, ""), (404, "not_found")},
    "delete_port": {(204, ""), (404, "not_found"), (409, "port_in_use")},
    "delete_network": {(204, ""), (404, "not_found"), (409, "network_in_use")},
}
SAMPLES = 20


def one_host() -> dict[str, Any]:
    """Every stress host: a phy1 and a phy2 adapter of VFS_PER_ADAPTER VFs."""
    return host_report(
        [("3b", "phy1"), ("af", "phy2")], vfs=VFS_PER_ADAPTER, vcpus=64, memory_mb=262144
    )


@dataclass
class World:
    """What the clients have created, by project (shared: clients race for it)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    networks: dict[str, list[str]] = field(default_factory=dict)
    ports: dict[str, list[str]] = field(default_factory=dict)
    servers: dict[str, list[str]] = field(default_factory=dict)

    def pick(self, kind: dict[str, list[str]], project: str, rng: random.Random) -> str | None:
        with self.lock:
            items = kind.setdefault(project, [])
            return rng.choice(items) if items else None

    def add(self, kind: dict[str, list[str]], project: str, item: str) -> None:
        with self.lock:
            kind.setdefault(project, []).append(item)

    def drop(self, kind: dict[str, list[str]], project: str, item: str) -> None:
        with self.lock:
            items = kind.setdefault(project, [])
            if item in items:
                items.remove(item)


@dataclass
class Tally:
    lock: threading.Lock = field(default_factory=threading.Lock)
    requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    codes_409: Counter[str] = field(default_factory=Counter)
    by_operation: Counter[str] = field(default_factory=Counter)
    server_errors: int = 0
    unexpected: Counter[str] = field(default_factory=Counter)
    samples: list[str] = field(default_factory=list)

    def record(self, operation: str, response: httpx.Response) -> None:
        status = response.status_code
        code = ""
        if status >= 400:
            try:
                code = str(response.json()["error"]["code"])
            except (ValueError, KeyError, TypeError):
                code = "<no error body>"
        with self.lock:
            self.requests += 1
            self.statuses[status] += 1
            self.by_operation[f"{operation} {status}{' ' + code if code else ''}"] += 1
            if status == 409:
                self.codes_409[code] += 1
            if status >= 500:
                self.server_errors += 1
            if (status, code) not in EXPECTED[operation]:
                key = f"{operation} {status} {code}"
                if not self.unexpected[key] and len(self.samples) < SAMPLES:
                    self.samples.append(f"{operation}: {status} {response.text[:300]}")
                self.unexpected[key] += 1


class Client:
    """One client thread's loop: random operations on random replicas."""

    def __init__(
        self,
        index: int,
        *,
        urls: list[str],
        tokens: dict[str, str],
        world: World,
        tally: Tally,
        seed: int,
    ) -> None:
        self.rng = random.Random(seed * 1000 + index)
        self.project = PROJECTS[index % len(PROJECTS)]
        self.admin = index % 4 == 3  # some clients create provider networks as admin
        self.http = [
            httpx.Client(base_url=u, timeout=60, headers=_auth(tokens[self.project])) for u in urls
        ]
        self.admin_http = [
            httpx.Client(base_url=u, timeout=60, headers=_auth(ADMIN_TOKEN)) for u in urls
        ]
        self.world = world
        self.tally = tally

    def close(self) -> None:
        for c in self.http + self.admin_http:
            c.close()

    def _http(self, admin: bool = False) -> httpx.Client:
        return self.rng.choice(self.admin_http if admin else self.http)

    def run(self, deadline: float) -> None:
        operations: list[tuple[Callable[[], None], int]] = [
            (self.create_network, 2),
            (self.create_port, 5),
            (self.create_server, 5),
            (self.delete_server, 3),
            (self.delete_port, 1),
            (self.delete_network, 1),
        ]
        actions = [op for op, _ in operations]
        weights = [w for _, w in operations]
        while time.monotonic() < deadline:
            self.rng.choices(actions, weights)[0]()

    def create_network(self) -> None:
        if self.admin and self.rng.random() < 0.7:
            body = {
                "name": "provider",
                "project_id": self.project,
                "provider:network_type": "vlan",
                "provider:physical_network": "phy1",
                "provider:segmentation_id": self.rng.choice(PROVIDER_VLANS),
            }
            response = self._http(admin=True).post("/v1/networks", json=body)
            operation = "create_provider_network"
        else:
            response = self._http().post("/v1/networks", json={"name": "tenant"})
            operation = "create_network"
        self.tally.record(operation, response)
        if response.status_code == 201:
            self.world.add(self.world.networks, self.project, response.json()["id"])

    def create_port(self) -> None:
        network = self.world.pick(self.world.networks, self.project, self.rng)
        if network is None:
            return self.create_network()
        vnic = "direct" if self.rng.random() < 0.85 else "normal"
        response = self._http().post(
            "/v1/ports", json={"network_id": network, "binding:vnic_type": vnic}
        )
        self.tally.record("create_port", response)
        if response.status_code == 201:
            self.world.add(self.world.ports, self.project, response.json()["id"])

    def create_server(self) -> None:
        ports = {
            p
            for p in (
                self.world.pick(self.world.ports, self.project, self.rng)
                for _ in range(self.rng.choice((1, 1, 2)))
            )
            if p is not None
        }
        if not ports:
            return self.create_port()
        body = {"name": "vm", "flavor": {"vcpus": 1, "memory_mb": 256}, "ports": sorted(ports)}
        response = self._http().post("/v1/servers", json=body)
        self.tally.record("create_server", response)
        if response.status_code == 201:
            self.world.add(self.world.servers, self.project, response.json()["id"])

    def delete_server(self) -> None:
        server = self.world.pick(self.world.servers, self.project, self.rng)
        if server is None:
            return
        response = self._http().delete(f"/v1/servers/{server}")
        self.tally.record("delete_server", response)
        if response.status_code in (204, 404):
            self.world.drop(self.world.servers, self.project, server)

    def delete_port(self) -> None:
        port = self.world.pick(self.world.ports, self.project, self.rng)
        if port is None:
            return
        response = self._http().delete(f"/v1/ports/{port}")
        self.tally.record("delete_port", response)
        if response.status_code in (204, 404):
            self.world.drop(self.world.ports, self.project, port)

    def delete_network(self) -> None:
        network = self.world.pick(self.world.networks, self.project, self.rng)
        if network is None:
            return
        response = self._http().delete(f"/v1/networks/{network}")
        self.tally.record("delete_network", response)
        if response.status_code in (204, 404):
            self.world.drop(self.world.networks, self.project, network)


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _setup(url: str) -> dict[str, str]:
    """Hosts, quotas and one member token per project, through the first replica."""
    with httpx.Client(base_url=url, timeout=60, headers=_auth(ADMIN_TOKEN)) as admin:
        for name in HOSTS:
            admin.put(f"/v1/hosts/{name}", json=one_host()).raise_for_status()
        tokens = {}
        for project in PROJECTS:
            admin.put(f"/v1/quotas/{project}", json=QUOTAS[project]).raise_for_status()
            created = admin.post("/v1/tokens", json={"project_id": project})
            created.raise_for_status()
            tokens[project] = created.json()["token"]
    return tokens


def fresh_database(database_url: str) -> None:
    """Bring the database to the newest schema; InvalidInput if it has hosts already (the
    runs compare what their clients did with everything in it)."""
    upgrade(database_url)
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            hosts = conn.execute(sa.select(sa.func.count()).select_from(host_table)).scalar()
    finally:
        engine.dispose()
    if hosts:
        raise InvalidInput(
            f"--database-url: not a fresh database ({hosts} hosts already)",
            field="--database-url",
        )


def run_stress(
    database_url: str,
    *,
    replicas: int,
    clients: int,
    seconds: float,
    seed: int = 1,
    logs: Path | None = None,
) -> dict[str, Any]:
    """Run the stress (see the module docstring) on a fresh ``database_url``; the result.
    InvalidInput if the database has hosts already."""
    fresh_database(database_url)
    with tempfile.TemporaryDirectory(prefix="pcinet-stress-") as tmp:
        logdir = logs or Path(tmp)
        env = server_env(database_url, ADMIN_TOKEN, VLAN_RANGES)
        world, tally = World(), Tally()
        started = time.monotonic()
        with Replicas(replicas, env, logdir) as running:
            startup_s = time.monotonic() - started
            tokens = _setup(running.urls[0])
            racers = [
                Client(i, urls=running.urls, tokens=tokens, world=world, tally=tally, seed=seed)
                for i in range(clients)
            ]
            errors: list[BaseException] = []

            def loop(client: Client, deadline: float) -> None:
                try:
                    client.run(deadline)
                except BaseException as exc:  # a transport error: reported, not hidden
                    errors.append(exc)

            begin = time.monotonic()
            deadline = begin + seconds
            threads = [threading.Thread(target=loop, args=(c, deadline)) for c in racers]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            elapsed = time.monotonic() - begin
            for c in racers:
                c.close()
    checked = check_url(database_url)
    return {
        "database": make_url(database_url).get_backend_name(),
        "replicas": replicas,
        "clients": clients,
        "seconds": seconds,
        "seed": seed,
        "startup_s": round(startup_s, 2),
        "elapsed_s": round(elapsed, 2),
        "requests": tally.requests,
        "requests_per_s": round(tally.requests / elapsed, 1) if elapsed else 0.0,
        "statuses": {str(k): v for k, v in sorted(tally.statuses.items())},
        "codes_409": dict(sorted(tally.codes_409.items())),
        "server_errors": tally.server_errors,
        "unexpected": dict(sorted(tally.unexpected.items())),
        "unexpected_samples": tally.samples,
        "client_errors": [f"{type(e).__name__}: {e}"[:300] for e in errors],
        "by_operation": dict(sorted(tally.by_operation.items())),
        "violations": checked["violations"],
        "ok": checked["ok"] and not tally.unexpected and not errors and tally.requests > 0,
    }
