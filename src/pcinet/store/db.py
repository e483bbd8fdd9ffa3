"""Engines, sessions and schema upgrades.

SQLite (the embedded default) runs in WAL mode with foreign keys on and a busy timeout.
pcinet emits its own ``BEGIN`` (SQLAlchemy's pysqlite recipe): ``BEGIN IMMEDIATE`` for
writers, so a writing transaction takes the database's write lock at its start and
concurrent writers queue on the busy timeout instead of failing with "database is locked"
when they upgrade a read lock; a plain (deferred) ``BEGIN`` for read-only units of work,
which then read one consistent snapshot. PostgreSQL goes through psycopg 3; read-only units
of work run REPEATABLE READ, READ ONLY.
"""

from __future__ import annotations

import sqlite3
import threading
import time
import weakref
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import Pool

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_S = 30.0
# Execution option read by the SQLite "begin" hook: a deferred BEGIN instead of IMMEDIATE.
READONLY_OPTION = "pcinet_readonly"
# Any constant will do; all pcinet replicas must agree on it.
_UPGRADE_LOCK_KEY = 0x70636E6574


def normalize_url(url: str | URL) -> URL:
    """``postgresql://`` and ``postgres://`` become ``postgresql+psycopg://``."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def make_engine(url: str | URL, **kwargs: Any) -> Engine:
    """An engine for a SQLite file or a PostgreSQL database (see the module docstring).

    For a SQLite file, the parent directory is created if missing.
    """
    parsed = normalize_url(url)
    if parsed.get_backend_name() != "sqlite":
        return sa.create_engine(parsed, **kwargs)
    if (
        parsed.database
        and parsed.database != ":memory:"
        and not parsed.database.startswith("file:")
    ):
        Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    connect_args = {"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_S}
    connect_args.update(kwargs.pop("connect_args", {}))
    engine = sa.create_engine(parsed, connect_args=connect_args, **kwargs)
    sa.event.listen(engine, "connect", _sqlite_connect)
    writer = _WriterLock()
    _WRITER_LOCKS[engine.pool] = writer.lock
    sa.event.listen(engine, "begin", writer.begin)
    sa.event.listen(engine, "commit", writer.end)
    sa.event.listen(engine, "rollback", writer.end)
    return engine


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Take transaction control away from the sqlite3 module: _WriterLock.begin emits BEGIN.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        _journal_wal(cursor)
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
        # With WAL, NORMAL never corrupts and survives an application crash; only a power
        # loss can take back the last commits.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA wal_autocheckpoint=10000")
        cursor.execute("PRAGMA cache_size=-65536")
    finally:
        cursor.close()


def _journal_wal(cursor: Any) -> None:
    """``PRAGMA journal_mode=WAL``, retried while another connection holds the lock: on a
    new database file the switch needs it and SQLite answers "database is locked" at once
    instead of calling its busy handler (several replicas starting together)."""
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_S
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.005)


class _WriterLock:
    """Writers of one process queue on a lock before ``BEGIN IMMEDIATE``: SQLite's busy
    handler would make them sleep and poll (1, 2, 5 ms ...) instead. Only an efficiency
    measure: other processes still queue on the database lock and its busy timeout."""

    def __init__(self) -> None:
        self.lock = threading.Lock()

    def begin(self, conn: Connection) -> None:
        if conn.get_execution_options().get(READONLY_OPTION, False):
            conn.exec_driver_sql("BEGIN")
            return
        acquire_writer(self.lock)
        conn.info[_HOLDS_WRITER] = True
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            self.end(conn)
            raise

    def end(self, conn: Connection) -> None:
        if conn.info.pop(_HOLDS_WRITER, False):
            self.lock.release()


_HOLDS_WRITER = "pcinet_holds_writer_lock"
# By pool: an engine derived with ``execution_options`` shares its parent's pool, and lock.
_WRITER_LOCKS: weakref.WeakKeyDictionary[Pool, threading.Lock] = weakref.WeakKeyDictionary()


def acquire_writer(lock: threading.Lock, timeout_s: float | None = None) -> None:
    """Take a writer lock, waiting at most the busy timeout (OperationalError then)."""
    if not lock.acquire(timeout=SQLITE_BUSY_TIMEOUT_S if timeout_s is None else timeout_s):
        raise sa.exc.OperationalError(
            "BEGIN IMMEDIATE", {}, TimeoutError("no write lock within the busy timeout")
        )


def writer_lock(engine: Engine) -> threading.Lock | None:
    """The in-process writer lock of a SQLite engine (``_WriterLock``), for a transaction
    begun on the DBAPI connection (``store.direct``); None for other databases."""
    return _WRITER_LOCKS.get(engine.pool)


def readonly_options(bind: Engine | Connection) -> dict[str, Any]:
    """Execution options for a read-only transaction that reads one consistent snapshot."""
    if bind.dialect.name == "postgresql":
        return {"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}
    return {READONLY_OPTION: True}


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """Sessions whose objects stay readable after commit (no expiry: nothing reloads lazily)."""
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=True)


def alembic_config() -> Config:
    """An Alembic config built in code: no ``alembic.ini`` is looked up in the CWD."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def upgrade(engine_or_url: Engine | str | URL, revision: str = "head") -> None:
    """Bring the database to ``revision`` (default: the newest). Idempotent, and safe when
    several replicas start at once on PostgreSQL (they serialise on an advisory lock)."""
    engine = engine_or_url if isinstance(engine_or_url, Engine) else make_engine(engine_or_url)
    try:
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _UPGRADE_LOCK_KEY})
            cfg = alembic_config()
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
    finally:
        if engine is not engine_or_url:
            engine.dispose()


def current_revision(engine: Engine) -> str | None:
    """The database's schema revision, or None for an empty database."""
    with engine.connect().execution_options(**readonly_options(engine)) as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str:
    """The newest revision this code knows."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError(f"no Alembic revision under {MIGRATIONS_DIR}")
    return head
