"""The schema comes from Alembic: from empty to head, idempotently, matching the models."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from pcinet.store.db import alembic_config, current_revision, head_revision, make_engine, upgrade
from pcinet.store.models import Base

TABLES = {
    "aliases",
    "allocations",
    "devices",
    "hosts",
    "networks",
    "ports",
    "quotas",
    "segments",
    "servers",
    "tokens",
    "vf_states",
}


def test_upgrade_from_empty_creates_every_table(empty_db_url: str) -> None:
    engine = make_engine(empty_db_url)
    try:
        assert current_revision(engine) is None
        upgrade(engine)
        assert current_revision(engine) == head_revision()
        names = set(sa.inspect(engine).get_table_names())
        assert names == TABLES | {"alembic_version"}
    finally:
        engine.dispose()


def test_upgrade_takes_a_url_and_is_idempotent(empty_db_url: str) -> None:
    upgrade(empty_db_url)
    upgrade(empty_db_url)
    engine = make_engine(empty_db_url)
    try:
        assert current_revision(engine) == head_revision()
        assert set(sa.inspect(engine).get_table_names()) == TABLES | {"alembic_version"}
    finally:
        engine.dispose()


def test_migrations_match_the_models(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_downgrade_to_base_and_back(engine: sa.Engine) -> None:
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "base")
    assert set(sa.inspect(engine).get_table_names()) == {"alembic_version"}
    upgrade(engine)
    assert current_revision(engine) == head_revision()


def test_replicas_upgrading_an_empty_database_at_once(empty_db_url: str) -> None:
    """Several ``pcinet serve`` starting together: one migrates, the others find it done."""
    with ThreadPoolExecutor(3) as pool:
        list(pool.map(upgrade, [empty_db_url] * 3))
    engine = make_engine(empty_db_url)
    try:
        assert current_revision(engine) == head_revision()
        assert set(sa.inspect(engine).get_table_names()) == TABLES | {"alembic_version"}
    finally:
        engine.dispose()
