"""The controller: settings, database, and the snapshot cache, for one process.

>>> ctl = Controller.start(Settings(database_url="sqlite:///pcinet.db"))  # doctest: +SKIP
>>> ctl.close()                                                            # doctest: +SKIP

``start`` brings the database to the newest schema (Alembic) and stores the configured
admin token (the one configured before stops working); the snapshot cache loads every host
on its first refresh, incrementally after.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from pcinet.config import Settings
from pcinet.core.vlan import VlanRanges
from pcinet.scheduler import SchedulerConfig
from pcinet.service.cache import SnapshotCache
from pcinet.service.context import ADMIN_PROJECT, Caller
from pcinet.service.metrics import DbGauges, Metrics, read_db_gauges
from pcinet.service.portcache import PortCache
from pcinet.store.db import make_engine, make_sessionmaker, upgrade
from pcinet.store.direct import DirectUnit
from pcinet.store.tokens import put_configured_admin
from pcinet.store.uow import UnitOfWork

# How many times a lost claim race is retried on fresh state before 409 concurrent_update.
CLAIM_ATTEMPTS = 5


@dataclass(eq=False)
class Controller:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    cache: SnapshotCache
    vlan_ranges: VlanRanges
    claim_attempts: int = CLAIM_ATTEMPTS
    # Ports created here and not attached yet, and networks read: see ``service.portcache``.
    ports: PortCache = field(default_factory=PortCache)
    # Counters, histograms and the /metrics gauges: see ``service.metrics``.
    metrics: Metrics = field(default_factory=Metrics)
    # Token digest -> (when it was looked up, its caller, when it expires as a Unix time);
    # see ``service.tokens``.
    token_cache: dict[str, tuple[float, Caller, float]] = field(default_factory=dict)
    # Project -> (when its limits were read, its limits); see ``service.quotas``.
    quota_cache: dict[str, tuple[float, Mapping[str, int]]] = field(default_factory=dict)
    _seed: int = 0
    _seed_lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.metrics.watch(self.cache.read, self._db_gauges)

    def _db_gauges(self) -> DbGauges:
        with self.engine.connect() as conn:
            return read_db_gauges(conn)

    @classmethod
    def start(
        cls, settings: Settings, *, refresh_interval_s: float = 1.0, migrate: bool = True
    ) -> Controller:
        engine = make_engine(settings.database_url, **_pool_options(settings.database_url))
        try:
            if migrate:
                upgrade(engine)
            sessions = make_sessionmaker(engine)
            if settings.admin_token is not None:
                with UnitOfWork(sessions) as session:
                    put_configured_admin(session, settings.admin_token, ADMIN_PROJECT)
            cache = SnapshotCache(
                sessions,
                config=SchedulerConfig(strategy=settings.scheduler_strategy),
                heartbeat_timeout_s=settings.host_heartbeat_timeout_s,
                refresh_interval_s=refresh_interval_s,
            )
            cache.refresh(heartbeats_too=True)
        except BaseException:
            engine.dispose()
            raise
        return cls(settings, engine, sessions, cache, settings.vlan_ranges)

    def unit(self, *, readonly: bool = False) -> UnitOfWork:
        return UnitOfWork(self.sessions, readonly=readonly)

    def core_unit(self, *, autocommit: bool = False) -> DirectUnit:
        """A unit of work on a direct connection (``store.direct``), for the placement hot
        path."""
        return DirectUnit(self.engine, autocommit=autocommit)

    def next_seed(self) -> int:
        with self._seed_lock:
            seed = self._seed
            self._seed += 1
            return seed

    def peek_seed(self) -> int:
        """The seed the next placement will use (``next_seed`` without taking it): what
        ``service.capacity`` simulates the next boots with."""
        with self._seed_lock:
            return self._seed

    def close(self) -> None:
        self.engine.dispose()


def _pool_options(url: str) -> dict[str, int]:
    # The API serves requests from a thread pool (40 threads by default): let each have a
    # connection instead of queueing on SQLAlchemy's default of 5 + 10.
    return {} if url.startswith("sqlite") else {"pool_size": 20, "max_overflow": 20}


def settle_heap() -> None:
    """For a long-running controller process, once its snapshot is loaded: collect, then
    move every live object to the permanent generation (``gc.freeze``), so that the cyclic
    garbage collector stops re-traversing the snapshot's many objects on every full
    collection (about 3% of each placement's CPU at 1,000 hosts, more with more hosts).
    Process-wide: ``pcinet serve`` and the benchmarks call it, a library user may not."""
    gc.collect()
    gc.freeze()
