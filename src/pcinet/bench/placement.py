"""The placement benchmark: DURABLE server creates per second on a real controller.

Every timed placement is one committed ``pcinet.service.servers.create`` (schedule the host
and its exact devices, claim them, bind the port, record the VF's desired state: one
transaction), in process (``mode="inprocess"``) or through the REST API over HTTP
(``mode="http"``).

Set-up, not timed: the database is brought to the newest schema (and must hold no hosts,
networks, ports or servers, unless ``reset``), ``hosts`` hosts are reported through the
service layer (two PFs on ``phy1``/``phy2``, one per NUMA cell, ``vfs_per_pf`` VFs each,
made assignable by device specs naming the PF), two shared provider VLAN networks are
created, and one direct port per server to create (alternating between the networks).

Timed: ``servers`` creates with a small flavor and one direct port each (the two networks
in turn), from the moment every worker is ready to the last answer:
- in process: ``workers`` threads sharing one controller (the in-process replica), or
  ``processes`` spawned controller processes with ``workers`` threads each (replicas on one
  database: their claims race in the database);
- http: the API (``pcinet.api.server.background``) serves the benchmark's controller in
  this process; ``workers`` httpx keep-alive clients (threads) in each of ``processes``
  spawned client processes, so that the clients do not compete for the API's GIL
  (``inline_clients``: threads of this process).
Latencies are per create as the caller sees it. ``cpu_ms_per_placement`` is the CPU time
of the controller's process(es) (the API's in http mode; with ``inline_clients`` the
clients' too; never the database server's) during the timed part, per placement: unlike
the rate, it does not depend on what else runs on the machine. ``conflicts`` counts claims
that lost their race (``SnapshotCache.conflicts``) and were retried, or gave up after the
bounded retries (``failed["concurrent_update"]``). Afterwards ``allocations`` and
``devices_held_twice`` are read from the database.
"""

from __future__ import annotations

import cProfile
import multiprocessing as mp
import pstats
import shutil
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, ExitStack, contextmanager, nullcontext, suppress
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from pcinet.api.server import background
from pcinet.bench.cloudgen import PF_ADDRESSES, host_devices
from pcinet.bench.scheduler import percentile
from pcinet.config import Settings
from pcinet.core.errors import InvalidInput, PcinetError
from pcinet.core.pci import DevType
from pcinet.service import hosts as service_hosts
from pcinet.service import networks as service_networks
from pcinet.service import ports as service_ports
from pcinet.service import servers as service_servers
from pcinet.service import tokens as service_tokens
from pcinet.service.context import ADMIN, Caller
from pcinet.service.controller import Controller, settle_heap
from pcinet.store.db import make_engine, upgrade
from pcinet.store.models import Base, allocation_table

Mode = Literal["inprocess", "http"]
MODES: tuple[Mode, ...] = ("inprocess", "http")
PHYSNETS = ("phy1", "phy2")
VLAN_RANGES = "phy1:100:199,phy2:200:299"
PROJECT = "bench"
FLAVOR: dict[str, Any] = {"vcpus": 2, "memory_mb": 2048, "extra_specs": {}}
HOST_VCPUS = 64
HOST_MEMORY_MB = 262144
ADMIN_TOKEN = "pcinet-bench-admin"
TIMED = (
    "server creates only (schedule + claim + bind + VF state, committed); hosts, networks "
    "and ports are created before timing, by the same controller (which so knows the "
    "ports, unless --cold-ports; replicas read them)"
)
# Create server i: None once it is created, else the error code answered (any other
# exception is a bug and stops the run).
Attempt = Callable[[int], str | None]


class DatabaseNotEmpty(InvalidInput):
    """The benchmark needs a fresh database (``--reset`` empties it)."""

    code = "database_not_empty"


@dataclass(frozen=True, slots=True)
class Cloud:
    """What the set-up created: the port (and so the server) for each timed create."""

    port_ids: tuple[str, ...]
    vfs: int
    setup_s: float


@dataclass(slots=True)
class Run:
    latencies: list[float] = field(default_factory=list)
    failed: Counter[str] = field(default_factory=Counter)
    conflicts: int = 0
    elapsed_s: float = 0.0
    cpu_s: float = 0.0  # CPU time of the controller process(es) while timed


def host_report(vfs_per_pf: int) -> dict[str, Any]:
    """One host's inventory report (``PUT /v1/hosts/{name}``), every host alike: PF
    ``PF_ADDRESSES[n]`` on NUMA cell ``n`` cabled to ``PHYSNETS[n]``, with its VFs."""
    devices = []
    for device in host_devices(vfs_per_pf):
        item = device.to_dict()
        del item["status"]
        if device.dev_type is DevType.PF:
            item["devname"] = f"ens{PF_ADDRESSES.index(device.address) + 1}f0"
        devices.append(item)
    return {
        "vcpus": HOST_VCPUS,
        "memory_mb": HOST_MEMORY_MB,
        "numa_cells": [
            {"id": n, "vcpus": HOST_VCPUS // 2, "memory_mb": HOST_MEMORY_MB // 2, "socket": n}
            for n in range(2)
        ],
        "device_spec": [
            {"address": pf, "physical_network": physnet}
            for pf, physnet in zip(PF_ADDRESSES, PHYSNETS, strict=True)
        ],
        "devices": devices,
    }


def server_body(index: int, port_id: str) -> dict[str, Any]:
    return {"name": f"vm{index:06d}", "flavor": FLAVOR, "ports": [port_id]}


def prepare_database(url: str, *, reset: bool) -> None:
    """Newest schema, and no data (``reset`` deletes every row), else DatabaseNotEmpty."""
    engine = make_engine(url)
    try:
        upgrade(engine)
        with engine.begin() as conn:
            held = {
                table: conn.execute(
                    sa.select(sa.func.count()).select_from(Base.metadata.tables[table])
                ).scalar_one()
                for table in ("hosts", "networks", "ports", "servers")
            }
            if any(held.values()) and not reset:
                what = ", ".join(f"{n} {t}" for t, n in held.items() if n)
                raise DatabaseNotEmpty(
                    f"--database-url: the database holds {what}; the benchmark needs a fresh "
                    "one (pass --reset to delete every row first)",
                    field="database_url",
                )
            if reset:
                for table in reversed(Base.metadata.sorted_tables):
                    conn.execute(table.delete())
    finally:
        engine.dispose()


def build_cloud(ctl: Controller, *, hosts: int, servers: int, vfs_per_pf: int) -> Cloud:
    """Hosts, two shared provider networks and one direct port per server (not timed)."""
    t0 = time.perf_counter()
    report = host_report(vfs_per_pf)
    for i in range(hosts):
        service_hosts.report(ctl, ADMIN, f"cn{i:05d}", report)
    network_ids = [
        service_networks.create(
            ctl,
            ADMIN,
            {
                "name": f"bench-{physnet}",
                "provider:network_type": "vlan",
                "provider:physical_network": physnet,
                "shared": True,
            },
        )["id"]
        for physnet in PHYSNETS
    ]
    member = Caller(PROJECT, "member")
    port_ids = tuple(
        service_ports.create(
            ctl,
            member,
            {
                "network_id": network_ids[i % len(network_ids)],
                "name": f"p{i:06d}",
                "binding:vnic_type": "direct",
            },
        )["id"]
        for i in range(servers)
    )
    ctl.cache.refresh(heartbeats_too=True)
    return Cloud(port_ids, hosts * 2 * vfs_per_pf, time.perf_counter() - t0)


def _drive(
    indexes: Sequence[int],
    workers: int,
    open_worker: Callable[[], AbstractContextManager[Attempt]],
    *,
    start: Any = None,
) -> Run:
    """Run ``attempt(i)`` for every index from ``workers`` threads, timing each call; the
    clock starts once every worker is ready (and ``start``, a barrier shared with other
    processes, lets them go)."""
    tasks = iter(indexes)  # next() on a range/list iterator is atomic under the GIL
    run = Run()
    lock = threading.Lock()
    ready = threading.Barrier(workers + 1)
    crashed: list[BaseException] = []

    def work() -> None:
        latencies: list[float] = []
        failed: Counter[str] = Counter()
        try:
            with open_worker() as attempt:
                ready.wait()
                for i in tasks:
                    t0 = time.perf_counter()
                    code = attempt(i)
                    latencies.append(time.perf_counter() - t0)
                    if code is not None:
                        failed[code] += 1
        except threading.BrokenBarrierError:
            return
        except BaseException as exc:
            crashed.append(exc)
            ready.abort()
        with lock:
            run.latencies.extend(latencies)
            run.failed.update(failed)

    threads = [threading.Thread(target=work, name=f"bench-{w}") for w in range(workers)]
    for thread in threads:
        thread.start()
    try:
        if start is not None:
            start.wait()
    except BaseException:
        ready.abort()
        raise
    with suppress(threading.BrokenBarrierError):
        ready.wait()
    t0, cpu0 = time.perf_counter(), time.process_time()
    for thread in threads:
        thread.join()
    run.elapsed_s = time.perf_counter() - t0
    run.cpu_s = time.process_time() - cpu0
    if crashed:
        raise crashed[0]
    return run


def _in_process(
    ctl: Controller, port_ids: Sequence[str]
) -> Callable[[], AbstractContextManager[Attempt]]:
    caller = Caller(PROJECT, "member")

    def attempt(i: int) -> str | None:
        try:
            service_servers.create(ctl, caller, server_body(i, port_ids[i]))
        except PcinetError as exc:
            return exc.code
        return None

    return lambda: nullcontext(attempt)


def _over_http(
    url: str, token: str, port_ids: Sequence[str]
) -> Callable[[], AbstractContextManager[Attempt]]:
    @contextmanager
    def open_worker() -> Iterator[Attempt]:
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=url, headers=headers, timeout=60.0) as client:
            client.get("/healthz").raise_for_status()  # open the keep-alive connection

            def attempt(i: int) -> str | None:
                answer = client.post("/v1/servers", json=server_body(i, port_ids[i]))
                if answer.status_code == 201:
                    return None
                try:
                    return str(answer.json()["error"]["code"])
                except (ValueError, KeyError, TypeError):
                    return f"http_{answer.status_code}"

            yield attempt

    return open_worker


def _replica(
    *,
    target: str,
    token: str | None,
    port_ids: Sequence[str],
    indexes: Sequence[int],
    workers: int,
    start: Any,
    results: Any,
) -> None:
    """One spawned process of several: without ``token``, a controller on the database
    ``target`` (a replica); with it, HTTP clients of the API at ``target``. Get ready, wait
    for the others, create the servers of ``indexes``, send back the latencies, failures
    and (replica) conflicts."""
    try:
        with ExitStack() as stack:
            if token is None:
                ctl = Controller.start(
                    Settings(database_url=target, network_vlan_ranges=VLAN_RANGES), migrate=False
                )
                stack.callback(ctl.close)
                settle_heap()
                open_worker = _in_process(ctl, port_ids)
            else:
                open_worker = _over_http(target, token, port_ids)
            run = _drive(indexes, workers, open_worker, start=start)
            conflicts = ctl.cache.conflicts if token is None else 0
            results.put((run.latencies, dict(run.failed), conflicts, run.cpu_s, None))
    except BaseException as exc:
        start.abort()
        results.put(([], {}, 0, 0.0, f"{type(exc).__name__}: {exc}"))


def _replicas(
    target: str, token: str | None, port_ids: Sequence[str], processes: int, workers: int
) -> Run:
    """``_replica`` in ``processes`` spawned processes, the servers dealt out round-robin;
    the clock runs from when all are ready to when the last has answered."""
    ctx = mp.get_context("spawn")
    start = ctx.Barrier(processes + 1)
    results = ctx.Queue()
    children = [
        ctx.Process(
            target=_replica,
            kwargs={
                "target": target,
                "token": token,
                "port_ids": port_ids,
                "indexes": range(p, len(port_ids), processes),
                "workers": workers,
                "start": start,
                "results": results,
            },
            name=f"bench-{p}",
        )
        for p in range(processes)
    ]
    for child in children:
        child.start()
    run = Run()
    errors: list[str] = []
    try:
        with suppress(threading.BrokenBarrierError):  # a child failed: its error is queued
            start.wait(timeout=600)
        t0 = time.perf_counter()
        for _ in children:
            latencies, failed, conflicts, cpu_s, error = results.get(timeout=3600)
            run.latencies.extend(latencies)
            run.failed.update(failed)
            run.conflicts += conflicts
            run.cpu_s += cpu_s if token is None else 0.0
            if error is not None:
                errors.append(error)
        run.elapsed_s = time.perf_counter() - t0
    finally:
        for child in children:
            child.join(timeout=30)
    if errors:
        raise RuntimeError(f"a benchmark process failed: {errors[0]}")
    return run


@contextmanager
def _profiling(path: str | None) -> Iterator[None]:
    """With a path: profile every thread started in the block (the workers, and in http
    mode the API server's threads) and write the merged ``pstats`` dump to ``path``."""
    if path is None:
        yield
        return
    profiles: list[cProfile.Profile] = []

    def start(_frame: Any, _event: str, _arg: Any) -> None:
        profiler = cProfile.Profile()
        profiles.append(profiler)
        profiler.enable()  # replaces this hook for the thread

    threading.setprofile(start)
    try:
        yield
    finally:
        threading.setprofile(None)
        if profiles:
            pstats.Stats(*profiles).dump_stats(path)


class _SqlStats:
    """Time every statement the engine runs (cursor execute to result), by statement."""

    def __init__(self, engine: sa.engine.Engine) -> None:
        self._engine = engine
        self._lock = threading.Lock()
        self.calls: Counter[str] = Counter()
        self.seconds: Counter[str] = Counter()
        sa.event.listen(engine, "before_cursor_execute", self._before)
        sa.event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, conn: Any, _cursor: Any, _stmt: str, *_args: Any) -> None:
        conn.info["pcinet_bench_t0"] = time.perf_counter()

    def _after(self, conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seconds = time.perf_counter() - conn.info.pop("pcinet_bench_t0", time.perf_counter())
        key = " ".join(statement.split())[:120]
        with self._lock:
            self.calls[key] += 1
            self.seconds[key] += seconds

    def close(self) -> None:
        sa.event.remove(self._engine, "before_cursor_execute", self._before)
        sa.event.remove(self._engine, "after_cursor_execute", self._after)

    def top(self, *, placed: int, count: int = 15) -> list[dict[str, Any]]:
        per = max(placed, 1)
        return [
            {
                "statement": key,
                "calls": self.calls[key],
                "total_ms": round(seconds * 1000, 1),
                "ms_per_placement": round(seconds * 1000 / per, 4),
            }
            for key, seconds in self.seconds.most_common(count)
        ]


def _held(ctl: Controller) -> tuple[int, int]:
    """Allocations in the database, and distinct devices among them (equal unless a device
    is held twice)."""
    with ctl.unit(readonly=True) as session:
        row = session.execute(
            sa.select(sa.func.count(), sa.func.count(sa.distinct(allocation_table.c.device_id)))
        ).one()
    return int(row[0]), int(row[1])


@contextmanager
def _database(url: str | None) -> Iterator[str]:
    """``url``, or a SQLite file in a temporary directory removed afterwards."""
    if url is not None:
        yield url
        return
    directory = tempfile.mkdtemp(prefix="pcinet-bench-")
    try:
        yield f"sqlite:///{directory}/pcinet.db"
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def run_placement_bench(
    *,
    hosts: int,
    servers: int,
    database_url: str | None = None,
    workers: int = 1,
    processes: int = 1,
    mode: Mode = "inprocess",
    vfs_per_pf: int = 8,
    reset: bool = False,
    inline_clients: bool = False,
    profile: str | None = None,
    sql_stats: bool = False,
    cold_ports: bool = False,
) -> dict[str, Any]:
    """See the module docstring. In http mode the clients (``workers`` threads each) run
    in ``processes`` spawned processes, so that they do not take the API process's GIL
    (``inline_clients``: threads of this process instead). ``profile`` writes a cProfile
    dump (``pstats``) of every thread this process starts during the timed part (the
    workers, or the API server's threads); ``sql_stats`` adds ``sql``: this process's
    statements by total time. ``cold_ports``: the controller forgets the ports it created
    and the networks it read (``service.portcache``) before timing, so that every create
    reads its port; ``port_reads`` counts the creates that read their ports (None with
    replicas, which never created them and so always read)."""
    replicas = processes > 1 and mode == "inprocess"
    if (profile or sql_stats) and replicas:
        raise InvalidInput("--profile, --sql-stats: one controller process only", field="processes")
    if inline_clients and (mode != "http" or processes > 1):
        raise InvalidInput("--inline-clients: http mode, one process only", field="inline_clients")
    per_physnet = hosts * vfs_per_pf
    if (servers + 1) // 2 > per_physnet:
        raise InvalidInput(
            f"--servers: {servers} servers need {(servers + 1) // 2} VFs on phy1, but "
            f"{hosts} hosts with {vfs_per_pf} VFs per PF have {per_physnet}",
            field="servers",
        )
    with _database(database_url) as url:
        prepare_database(url, reset=reset)
        settings = Settings(
            database_url=url, network_vlan_ranges=VLAN_RANGES, admin_token=ADMIN_TOKEN
        )
        ctl = Controller.start(settings, migrate=False)
        try:
            cloud = build_cloud(ctl, hosts=hosts, servers=servers, vfs_per_pf=vfs_per_pf)
            if cold_ports:
                ctl.ports.clear()
            settle_heap()
            reads0 = ctl.ports.misses
            indexes = range(servers)
            statements = _SqlStats(ctl.engine) if sql_stats else None
            if replicas:
                run = _replicas(url, None, cloud.port_ids, processes, workers)
            elif mode == "http":
                token = service_tokens.issue(ctl, ADMIN, {"project_id": PROJECT})["token"]
                with _profiling(profile), background(settings, controller=ctl) as base:
                    if inline_clients:
                        clients = _over_http(base, token, cloud.port_ids)
                        run = _drive(indexes, workers, clients)
                    else:
                        cpu0 = time.process_time()  # the API's process: the controller
                        run = _replicas(base, token, cloud.port_ids, processes, workers)
                        run.cpu_s = time.process_time() - cpu0
                run.conflicts = ctl.cache.conflicts
            else:
                with _profiling(profile):
                    run = _drive(indexes, workers, _in_process(ctl, cloud.port_ids))
                run.conflicts = ctl.cache.conflicts
            if statements is not None:
                statements.close()
            allocations, distinct = _held(ctl)
            port_reads = None if replicas else ctl.ports.misses - reads0
        finally:
            ctl.close()
    result = _result(
        url=url,
        mode=mode,
        hosts=hosts,
        servers=servers,
        workers=workers,
        processes=processes,
        clients=_clients(mode, processes, workers, inline=inline_clients),
        cloud=cloud,
        run=run,
        allocations=allocations,
        distinct=distinct,
    )
    result["port_reads"] = port_reads
    if statements is not None:
        result["sql"] = statements.top(placed=result["placed"])
    if profile:
        result["profile"] = profile
    return result


def _clients(mode: Mode, processes: int, workers: int, *, inline: bool) -> str:
    if mode == "inprocess":
        per = "one controller" if processes == 1 else "a controller each"
        return f"{processes} process(es) x {workers} thread(s), {per}"
    where = "in the API's process" if inline else f"in {processes} other process(es)"
    return f"{workers} httpx keep-alive client thread(s) per process, {where}"


def _result(
    *,
    url: str,
    mode: Mode,
    hosts: int,
    servers: int,
    workers: int,
    processes: int,
    clients: str,
    cloud: Cloud,
    run: Run,
    allocations: int,
    distinct: int,
) -> dict[str, Any]:
    times = sorted(run.latencies)
    placed = len(times) - sum(run.failed.values())
    exhausted = run.failed.get("concurrent_update", 0)
    return {
        "backend": make_url(url).get_backend_name(),
        "mode": mode,
        "hosts": hosts,
        "vfs": cloud.vfs,
        "servers": servers,
        "workers": workers,
        "processes": processes,
        "clients": clients,
        "placed": placed,
        "failed": dict(sorted(run.failed.items())),
        "elapsed_s": round(run.elapsed_s, 3),
        "placements_per_s": round(placed / run.elapsed_s, 1) if run.elapsed_s else None,
        "p50_ms": round(percentile(times, 0.50) * 1000, 3),
        "p90_ms": round(percentile(times, 0.90) * 1000, 3),
        "p99_ms": round(percentile(times, 0.99) * 1000, 3),
        "max_ms": round(times[-1] * 1000, 3) if times else 0.0,
        "cpu_ms_per_placement": round(run.cpu_s * 1000 / placed, 3) if placed else None,
        "conflicts": run.conflicts,
        "retries": run.conflicts - exhausted,
        "allocations": allocations,
        "devices_held_twice": allocations - distinct,
        "setup_s": round(cloud.setup_s, 2),
        "timed": TIMED,
    }
