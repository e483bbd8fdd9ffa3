"""``pcinet admin check``: verify the invariants directly in the database.

Exit 0 when every invariant holds, 1 when any is violated, 2 on bad input (a bad URL, a
database that cannot be reached or has no pcinet schema).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import sqlalchemy as sa
import typer

from pcinet.cli.output import console, fail, new_app, print_json
from pcinet.cli.remote import table
from pcinet.cli.serve import ConfigOption, _settings
from pcinet.core.errors import InvalidInput, PcinetError

admin_app = new_app(help="Operator tools on the database: check.", no_args_is_help=True)

EXIT_VIOLATED = 1


@admin_app.command("check")
def check_command(
    database_url: Annotated[
        str | None,
        typer.Option("--database-url", help="Database URL (else $PCINET_DATABASE_URL / config)."),
    ] = None,
    config: ConfigOption = None,
    as_json: Annotated[
        bool, typer.Option("--json", help='Print {"ok", "violations"} as JSON.')
    ] = False,
) -> None:
    """Verify the invariants (a device held once, never a PF with its VFs, bound ports on
    their physnet, unique VLANs, allocations of live servers, host usage, VF states)."""
    from pcinet.store.check import check, report
    from pcinet.store.db import make_engine

    try:
        settings = _settings(config, database_url)
        _exists(settings.database_url)
        engine = make_engine(settings.database_url)
    except PcinetError as exc:
        fail(exc, as_json=as_json)
    except sa.exc.ArgumentError as exc:
        fail(InvalidInput(f"--database-url: {exc}", field="--database-url"), as_json=as_json)
    try:
        violations = check(engine)
    except sa.exc.DBAPIError as exc:
        reason = str(exc.orig or exc).strip().splitlines()[0][:300]
        fail(
            InvalidInput(f"cannot check the database: {reason}", field="--database-url"),
            as_json=as_json,
        )
    finally:
        engine.dispose()
    answer = report(violations)
    if as_json:
        print_json(answer)
    elif not violations:
        console.print("ok: every invariant holds")
    else:
        rows = [(v.invariant, v.detail) for v in violations]
        console.print(table(f"{len(violations)} violation(s)", ("invariant", "detail"), rows))
    if violations:
        raise typer.Exit(EXIT_VIOLATED)


def _exists(url: str) -> None:
    """A SQLite file must exist: checking must not create an empty database."""
    from pcinet.store.db import normalize_url

    parsed = normalize_url(url)
    path = parsed.database
    if (
        parsed.get_backend_name() == "sqlite"
        and path
        and path != ":memory:"
        and not path.startswith("file:")
        and not Path(path).expanduser().is_file()
    ):
        raise InvalidInput(f"--database-url: no SQLite file {path}", field="--database-url")
