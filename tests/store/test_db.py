"""Engines: URL rewriting, SQLite connection set-up, read-only units of work."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from pcinet.store import hosts
from pcinet.store.db import make_engine, normalize_url
from pcinet.store.uow import UnitOfWork
from tests.store.helpers import add_host


@pytest.mark.parametrize(
    "url", ["postgresql://u@h/db", "postgres://u@h/db", "postgresql+psycopg://u@h/db"]
)
def test_postgres_urls_use_psycopg3(url: str) -> None:
    assert normalize_url(url).drivername == "postgresql+psycopg"


def test_sqlite_engine_is_wal_with_foreign_keys_and_creates_its_directory(
    tmp_path: Path,
) -> None:
    path = tmp_path / "new" / "dir" / "pcinet.db"
    engine = make_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as conn:
            pragma = {
                name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
                for name in ("journal_mode", "foreign_keys", "busy_timeout")
            }
        assert pragma == {"journal_mode": "wal", "foreign_keys": 1, "busy_timeout": 30000}
        assert path.exists()
    finally:
        engine.dispose()


def test_read_only_unit_of_work_writes_nothing(
    sessions: sessionmaker[Session], backend: str
) -> None:
    before = add_host(sessions, "h1")
    with UnitOfWork(sessions, readonly=True) as session:
        if backend == "postgres":  # the database refuses writes outright
            with pytest.raises(sa.exc.InternalError, match="read-only"):
                hosts.heartbeat(session, "h1")
        else:  # rolled back at the end
            assert hosts.heartbeat(session, "h1")
    with UnitOfWork(sessions, readonly=True) as session:
        assert hosts.get_host(session, "h1") == before


def test_unit_of_work_is_single_use(sessions: sessionmaker[Session]) -> None:
    uow = UnitOfWork(sessions)
    with uow:
        pass
    with pytest.raises(RuntimeError, match="single use"), uow:
        pass
