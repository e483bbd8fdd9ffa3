"""The schema comes from Alembic: from empty to head, idempotently, matching the models."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from pcinet.config import Settings
from pcinet.service import networks, ports
from pcinet.service.context import ADMIN
from pcinet.service.controller import Controller
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


def test_downgrading_0008_gives_lent_ports_their_own_mac(db_url: str) -> None:
    """Code older than 0008 knows no lent MAC: the port goes back to its own."""
    ctl = Controller.start(Settings(database_url=db_url, network_vlan_ranges="phy1:100:199"))
    try:
        net = networks.create(ctl, ADMIN, {"name": "n"})
        lent, plain = (
            ports.create(ctl, ADMIN, {"network_id": net["id"], "mac_address": m})["id"]
            for m in ("fa:16:3e:00:00:01", "fa:16:3e:00:00:02")
        )
        table = Base.metadata.tables["ports"]
        with ctl.engine.begin() as conn:
            conn.execute(
                sa.update(table)
                .where(table.c.id == lent)
                .values(mac_address="3c:fd:fe:3b:00:00", own_mac_address="fa:16:3e:00:00:01")
            )
            cfg = alembic_config()
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0007")
        with ctl.engine.connect() as conn:
            macs = dict(conn.execute(sa.select(table.c.id, table.c.mac_address)).all())
            assert "own_mac_address" not in {
                c["name"] for c in sa.inspect(conn).get_columns("ports")
            }
        assert macs == {lent: "fa:16:3e:00:00:01", plain: "fa:16:3e:00:00:02"}
    finally:
        ctl.close()
