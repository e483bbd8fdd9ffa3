"""The schema comes from Alembic: from empty to head, idempotently, matching the models."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from pcinet.store.db import alembic_config, current_revision, head_revision, make_engine, upgrade
from pcinet.store.models import Base

TABLES = {
    "aliases",
    "allocations",
    "change_counter",
    "devices",
    "hosts",
    "networks",
    "ports",
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
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT id, value FROM change_counter")).all() == [(1, 0)]
    finally:
        engine.dispose()


def test_upgrade_takes_a_url_and_is_idempotent(empty_db_url: str) -> None:
    upgrade(empty_db_url)
    upgrade(empty_db_url)
    engine = make_engine(empty_db_url)
    try:
        assert current_revision(engine) == head_revision()
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM change_counter")).scalar() == 1
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
