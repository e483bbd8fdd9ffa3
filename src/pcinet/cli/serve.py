"""``pcinet serve`` and ``pcinet db upgrade``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pcinet.cli.output import console, fail, new_app
from pcinet.config import Settings
from pcinet.core.errors import PcinetError

db_app = new_app(help="Database schema.", no_args_is_help=True)

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", help="A TOML or YAML config file (else $PCINET_CONFIG)."),
]


def _settings(
    config: Path | None, database_url: str | None = None, ml2_conf: Path | None = None
) -> Settings:
    settings = Settings.from_env(config_file=config)
    overrides = {"database_url": database_url, "ml2_conf": ml2_conf and str(ml2_conf)}
    if any(value is not None for value in overrides.values()):
        values = {name: getattr(settings, name) for name in settings.__dataclass_fields__}
        values.update({k: v for k, v in overrides.items() if v is not None})
        settings = Settings(**values)
    return settings


def serve_command(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8774,
    config: ConfigOption = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
    ml2_conf: Annotated[
        Path | None,
        typer.Option(
            "--ml2-conf",
            help="Neutron's ml2_conf.ini: VLAN ranges from [ml2_type_vlan] network_vlan_ranges "
            "(else $PCINET_ML2_CONF; not together with $PCINET_NETWORK_VLAN_RANGES).",
        ),
    ] = None,
) -> None:
    """Run the controller's REST API (upgrading the database schema first)."""
    try:
        settings = _settings(config, ml2_conf=ml2_conf)
    except PcinetError as exc:
        fail(exc, as_json=False)
    from pcinet.api.server import serve

    serve(settings, host=host, port=port, log_level=log_level)


@db_app.command("upgrade")
def upgrade_command(
    database_url: Annotated[
        str | None, typer.Option(help="Database URL (else $PCINET_DATABASE_URL / config).")
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Bring the database to the newest schema (Alembic); safe to run repeatedly."""
    from pcinet.store.db import current_revision, make_engine, upgrade

    try:
        settings = _settings(config, database_url)
    except PcinetError as exc:
        fail(exc, as_json=False)
    engine = make_engine(settings.database_url)
    try:
        before = current_revision(engine)
        upgrade(engine)
        after = current_revision(engine)
    finally:
        engine.dispose()
    console.print(f"database at revision {after} (was {before or 'empty'})")
