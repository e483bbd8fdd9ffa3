"""``pcinet bench crash``: SIGKILL a controller at random points while servers are created
and deleted, restart it, again and again; then compare what the clients were told with
what the database holds, and run the invariant check.

The controller is a real process serving HTTP (``pcinet.api.server.serve``, as ``pcinet
serve`` runs it), forked from a ``forkserver`` that has pcinet imported already, so that a
restart costs the controller's own start (schema check, snapshot) and not Python's imports.
Clients (threads, each with ports of its own) create a server on a free direct port or
delete one of theirs; after a random delay (seeded) the controller is killed mid-flight.
Every answer must be a success or a clean error (a 4xx with a correct code, or no answer at
all: the connection dropped); a 5xx is a failure. A request whose answer was lost is
*uncertain*: it may or may not have happened, and the final comparison accepts either, but
only whole (the server with its allocation, bound port and VF state; or nothing of it).
"""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from pcinet.api.server import free_port
from pcinet.bench.reports import host_report
from pcinet.bench.stress import fresh_database
from pcinet.store.check import check_url
from pcinet.store.db import make_engine
from pcinet.store.models import allocation_table, server_table

ADMIN_TOKEN = "crash-admin-token"
VLAN_RANGES = "phy1:100:199"
HOSTS = ("cn1", "cn2")
VFS_PER_HOST = 6
REPORT = host_report([("3b", "phy1")], vfs=VFS_PER_HOST, vcpus=32, memory_mb=65536)
PORTS_PER_CLIENT = 5
CLEAN_CODES = {
    (201, ""),
    (204, ""),
    (404, "not_found"),
    (409, "no_valid_host"),
    (409, "port_in_use"),
    (409, "concurrent_update"),
    (503, "database_unavailable"),
}
TRANSPORT_ERRORS = (httpx.TransportError,)
START_TIMEOUT_S = 60.0


def serve_child(values: dict[str, Any], port: int) -> None:
    """The controller process: ``pcinet serve``'s server on ``port``."""
    import uvicorn

    from pcinet.api.app import create_app
    from pcinet.config import Settings

    app = create_app(Settings(**values))
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="critical", access_log=False)


@dataclass
class Ledger:
    """What the clients were told (or found out after a lost answer): the servers that
    exist (201) and those deleted (204)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    answers: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    live: dict[str, str] = field(default_factory=dict)  # server -> port, known to exist
    gone: set[str] = field(default_factory=set)  # known deleted

    def answer(self, what: str, response: httpx.Response) -> str:
        code = ""
        if response.status_code >= 400:
            try:
                code = str(response.json()["error"]["code"])
            except (ValueError, KeyError, TypeError):
                code = "<no error body>"
        with self.lock:
            self.answers[f"{what} {response.status_code} {code}".strip()] += 1
            if (response.status_code, code) not in CLEAN_CODES:
                self.failures.append(f"{what}: {response.status_code} {response.text[:300]}")
        return code


class CrashClient:
    """One client: its own ports; creates a server on a free one or deletes one of its."""

    def __init__(self, url: str, ports: list[str], ledger: Ledger, rng: random.Random) -> None:
        self.http = httpx.Client(base_url=url, timeout=30, headers=_auth(ADMIN_TOKEN))
        self.free = list(ports)
        self.mine: dict[str, str] = {}  # server -> port
        self.ledger = ledger
        self.rng = rng
        # Requests whose answer was lost with the controller: settled after the restart.
        self.unsure_ports: list[str] = []
        self.unsure_servers: dict[str, str] = {}

    def resolve(self) -> None:
        """Ask the restarted controller what became of the requests whose answer was lost:
        each happened whole or not at all (the final comparison checks the whole). One it
        cannot ask now (killed again meanwhile) stays for the next time."""
        for port in list(self.unsure_ports):
            try:
                found = self.http.get(f"/v1/ports/{port}")
            except TRANSPORT_ERRORS:
                return
            holder = found.raise_for_status().json()["device_id"]
            self.unsure_ports.remove(port)
            if holder:
                self.mine[holder] = port
                self._settled("create happened", live={holder: port})
            else:
                self.free.append(port)
                self._settled("create did not happen")
        for server, port in list(self.unsure_servers.items()):
            try:
                found = self.http.get(f"/v1/servers/{server}")
            except TRANSPORT_ERRORS:
                return
            del self.unsure_servers[server]
            if found.status_code == 404:
                self.free.append(port)
                self._settled("delete happened", gone=server)
            else:
                found.raise_for_status()
                self.mine[server] = port
                self._settled("delete did not happen", live={server: port})

    def _settled(
        self, what: str, *, live: dict[str, str] | None = None, gone: str | None = None
    ) -> None:
        with self.ledger.lock:
            self.ledger.answers[f"lost answer: {what}"] += 1
            self.ledger.live.update(live or {})
            if gone is not None:
                self.ledger.gone.add(gone)

    def run(self, stop: threading.Event) -> None:
        self.resolve()
        while not stop.is_set():
            if self.free and (not self.mine or self.rng.random() < 0.6):
                self.create()
            elif self.mine:
                self.delete()

    def create(self) -> None:
        port = self.rng.choice(self.free)
        body = {"name": "vm", "flavor": {"vcpus": 1, "memory_mb": 256}, "ports": [port]}
        try:
            response = self.http.post("/v1/servers", json=body)
        except TRANSPORT_ERRORS:
            self._lost("create")
            self.free.remove(port)
            self.unsure_ports.append(port)
            return
        self.ledger.answer("create", response)
        if response.status_code == 201:
            server = response.json()["id"]
            self.mine[server] = port
            self.free.remove(port)
            with self.ledger.lock:
                self.ledger.live[server] = port

    def delete(self) -> None:
        server = self.rng.choice(sorted(self.mine))
        try:
            response = self.http.delete(f"/v1/servers/{server}")
        except TRANSPORT_ERRORS:
            self._lost("delete")
            self.unsure_servers[server] = self.mine.pop(server)
            with self.ledger.lock:
                self.ledger.live.pop(server, None)
            return
        self.ledger.answer("delete", response)
        if response.status_code in (204, 404):
            self.free.append(self.mine.pop(server))
            with self.ledger.lock:
                self.ledger.live.pop(server, None)
                self.ledger.gone.add(server)

    def _lost(self, what: str) -> None:
        with self.ledger.lock:
            self.ledger.answers[f"{what} no answer (controller killed)"] += 1

    def close(self) -> None:
        self.http.close()


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class Controller:
    """The controller process, restartable on one port."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._ctx = multiprocessing.get_context("forkserver")
        self._ctx.set_forkserver_preload(["pcinet.api.app", "pcinet.bench.crash", "uvicorn"])
        self.process: Any = None

    def start(self) -> float:
        """Start and wait until it answers; the seconds that took."""
        begin = time.monotonic()
        self.process = self._ctx.Process(target=serve_child, args=(self.values, self.port))
        self.process.start()
        deadline = begin + START_TIMEOUT_S
        while True:
            if not self.process.is_alive():
                raise RuntimeError(
                    f"the controller exited while starting ({self.process.exitcode})"
                )
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return time.monotonic() - begin
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"the controller did not start in {START_TIMEOUT_S}s")
            time.sleep(0.02)

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.process is not None and self.process.is_alive():
            assert self.process.pid is not None
            os.kill(self.process.pid, sig)
            self.process.join(timeout=30)
        self.process = None


def _setup(url: str, clients: int) -> list[list[str]]:
    with httpx.Client(base_url=url, timeout=60, headers=_auth(ADMIN_TOKEN)) as admin:
        for name in HOSTS:
            admin.put(f"/v1/hosts/{name}", json=REPORT).raise_for_status()
        net = admin.post(
            "/v1/networks",
            json={
                "name": "net1",
                "provider:network_type": "vlan",
                "provider:physical_network": "phy1",
            },
        )
        net.raise_for_status()
        ports: list[list[str]] = []
        for _ in range(clients):
            mine = []
            for _ in range(PORTS_PER_CLIENT):
                made = admin.post(
                    "/v1/ports",
                    json={"network_id": net.json()["id"], "binding:vnic_type": "direct"},
                )
                made.raise_for_status()
                mine.append(made.json()["id"])
            ports.append(mine)
    return ports


def _compare(url: str, database_url: str, ledger: Ledger) -> list[str]:
    """What the clients were told against what the controller and the database hold."""
    problems: list[str] = []
    with httpx.Client(base_url=url, timeout=60, headers=_auth(ADMIN_TOKEN)) as admin:
        servers = {s["id"]: s for s in admin.get("/v1/servers").raise_for_status().json()}
        ports = {p["id"]: p for p in admin.get("/v1/ports").raise_for_status().json()}
    for server, port in ledger.live.items():
        if server not in servers:
            problems.append(f"server {server} was created (201) and is lost")
        elif ports[port].get("device_id") != server:
            problems.append(f"server {server}: its port {port} is not bound to it")
    problems += [f"server {s} was deleted (204) and exists" for s in ledger.gone if s in servers]
    problems += [f"server {s} exists, no client made it" for s in servers if s not in ledger.live]
    for port, view in ports.items():
        holder = view.get("device_id")
        if holder and holder not in servers:
            problems.append(f"port {port} is bound to {holder}, which does not exist")
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            held: dict[str, int] = dict(
                conn.execute(
                    sa.select(allocation_table.c.server_id, sa.func.count()).group_by(
                        allocation_table.c.server_id
                    )
                ).all()
            )
            rows = conn.execute(sa.select(server_table.c.id, server_table.c.host_id)).all()
    finally:
        engine.dispose()
    for server, host in rows:
        if host is None or held.get(server) != 1:
            problems.append(f"server {server}: host {host}, {held.get(server, 0)} allocations")
    return problems


def run_crash(
    database_url: str,
    *,
    kills: int,
    clients: int = 3,
    seed: int = 1,
    min_s: float = 0.05,
    max_s: float = 0.4,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Kill the controller ``kills`` times at random points (see the module docstring), on
    a fresh database (InvalidInput otherwise)."""
    fresh_database(database_url)
    values = {
        "database_url": database_url,
        "admin_token": ADMIN_TOKEN,
        "network_vlan_ranges": VLAN_RANGES,
    }
    rng = random.Random(seed)
    controller = Controller(values)
    ledger = Ledger()
    starts: list[float] = []
    begin = time.monotonic()
    try:
        starts.append(controller.start())
        owned = _setup(controller.url, clients)
        racers = [
            CrashClient(controller.url, owned[i], ledger, random.Random(seed * 100 + i))
            for i in range(clients)
        ]
        for n in range(kills):
            if n:
                starts.append(controller.start())
            stop = threading.Event()
            threads = [threading.Thread(target=c.run, args=(stop,)) for c in racers]
            for t in threads:
                t.start()
            time.sleep(rng.uniform(min_s, max_s))
            controller.kill()
            stop.set()
            for t in threads:
                t.join()
            if progress is not None:
                progress(f"kill {n + 1}/{kills}")
        starts.append(controller.start())
        for c in racers:
            c.resolve()
            c.close()
        problems = _compare(controller.url, database_url, ledger)
    finally:
        controller.kill(signal.SIGTERM)
    checked = check_url(database_url)
    return {
        "database": make_url(database_url).get_backend_name(),
        "kills": kills,
        "clients": clients,
        "seed": seed,
        "elapsed_s": round(time.monotonic() - begin, 2),
        "restart_s_mean": round(sum(starts) / len(starts), 3),
        "answers": dict(sorted(ledger.answers.items())),
        "unclean_answers": ledger.failures[:20],
        "servers_alive": len(ledger.live),
        "servers_deleted": len(ledger.gone),
        "mismatches": problems[:20],
        "violations": checked["violations"],
        "ok": checked["ok"] and not problems and not ledger.failures,
    }
