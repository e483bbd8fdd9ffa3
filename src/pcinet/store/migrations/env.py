"""Alembic environment: runs on the connection ``pcinet.store.db.upgrade`` passes in
``config.attributes["connection"]``, or (for developers running the ``alembic`` command) on
``PCINET_DATABASE_URL``. Logging is left to the application."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from pcinet.config import Settings
from pcinet.store.db import make_engine, normalize_url
from pcinet.store.models import Base

config = context.config
target_metadata = Base.metadata


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _run() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        return
    url = normalize_url(Settings.from_env().database_url)
    if context.is_offline_mode():
        context.configure(
            url=url.render_as_string(hide_password=False),
            target_metadata=target_metadata,
            literal_binds=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            _configure(conn)
            conn.commit()
    finally:
        engine.dispose()


_run()
