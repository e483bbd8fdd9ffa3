"""Database fixtures: every test that takes ``db_url`` (or ``engine``, ``sessions``) runs on
SQLite and on a throw-away PostgreSQL server, each time on a fresh database at the newest
schema. One PostgreSQL server per test session (per xdist worker), started on first use."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from pcinet.store.db import make_engine, make_sessionmaker, upgrade
from tests.pg import PgServer, PostgresNotFound

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
PG_TEMPLATE = "pcinet_template"


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    try:
        server = PgServer()
    except PostgresNotFound as exc:
        pytest.fail(str(exc), pytrace=False)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def pg_template(pg_server: PgServer) -> str:
    """A database at the newest schema, copied for each test (CREATE DATABASE ... TEMPLATE)."""
    pg_server.execute(f"CREATE DATABASE {PG_TEMPLATE}")
    upgrade(pg_server.url(PG_TEMPLATE))
    return PG_TEMPLATE


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    upgrade(f"sqlite:///{path}")  # disposes its engine: the WAL is checkpointed into the file
    return path


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _fresh_pg(request: pytest.FixtureRequest, template: str | None) -> Iterator[str]:
    server: PgServer = request.getfixturevalue("pg_server")
    name = f"t_{uuid.uuid4().hex[:16]}"
    server.execute(f"CREATE DATABASE {name}" + (f" TEMPLATE {template}" if template else ""))
    try:
        yield server.url(name)
    finally:
        server.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def empty_db_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database with no schema at all."""
    if backend == "postgres":
        yield from _fresh_pg(request, None)
    else:
        yield f"sqlite:///{tmp_path / 'empty.db'}"


@pytest.fixture
def db_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database at the newest schema."""
    if backend == "postgres":
        yield from _fresh_pg(request, request.getfixturevalue("pg_template"))
    else:
        path = tmp_path / "pcinet.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    try:
        yield eng
    finally:
        eng.dispose()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return make_sessionmaker(engine)
