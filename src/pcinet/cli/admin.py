"""``pcinet alias set|list`` and ``pcinet token create|list|delete`` (admin)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

import typer

from pcinet.cli.formats import ColumnOption, FormatOption
from pcinet.cli.output import console, new_app
from pcinet.cli.remote import (
    JsonOption,
    TokenOption,
    UrlOption,
    connect,
    output_of,
    show,
    show_rows,
    table,
)
from pcinet.client import DEFAULT_URL, Json
from pcinet.cloudfile import read_yaml
from pcinet.core.errors import InvalidInput

alias_app = new_app(help="PCI aliases (admin): set, list.", no_args_is_help=True)
token_app = new_app(help="API tokens (admin): create, list, delete.", no_args_is_help=True)

ALIAS_COLUMNS = ("name", "device_type", "vendor_id", "product_id", "numa_policy")


def print_aliases(aliases: list[Json]) -> None:
    rows = [tuple(a.get(c) for c in ALIAS_COLUMNS) for a in aliases]
    console.print(table(f"{len(aliases)} PCI alias entries", ALIAS_COLUMNS, rows))


def read_alias_file(path: Path) -> list[Json]:
    """A YAML or JSON file holding a list of Nova alias objects (bad input otherwise)."""
    data = read_yaml(path)
    if not isinstance(data, list) or not all(isinstance(a, dict) for a in data):
        raise InvalidInput(f"{path}: expected a list of alias objects", field=str(path))
    return data


@alias_app.command("set")
def set_(
    *,
    file: Annotated[Path, typer.Argument(help="YAML/JSON list of Nova alias objects.")],
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    fmt: FormatOption = None,
    columns: ColumnOption = None,
    as_json: JsonOption = False,
) -> None:
    """Replace the controller's PCI aliases with the file's."""
    out = output_of(fmt, columns, as_json)
    with connect(url, token, as_json=out.structured) as client:
        aliases = client.set_aliases(read_alias_file(file))
    show(aliases, out=out, render=lambda: print_aliases(aliases))


@alias_app.command("list")
def list_(
    *,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    fmt: FormatOption = None,
    columns: ColumnOption = None,
    as_json: JsonOption = False,
) -> None:
    """List the controller's PCI aliases."""
    out = output_of(fmt, columns, as_json)
    with connect(url, token, as_json=out.structured) as client:
        aliases = client.list_aliases()
    show(aliases, out=out, render=lambda: print_aliases(aliases))


TOKEN_COLUMNS = ("id", "project_id", "role", "host", "expires_at", "created_at")
_DURATION = re.compile(r"(\d+)([smhd])")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_expires(text: str) -> dict[str, Any]:
    """``--expires``: a duration (``90s``, ``30m``, ``12h``, ``30d``) as ``ttl_s``, or else
    an ISO 8601 time with a zone as ``expires_at`` (which the controller checks)."""
    match = _DURATION.fullmatch(text.strip())
    if match:
        return {"ttl_s": int(match.group(1)) * _UNIT_S[match.group(2)]}
    if not re.match(r"\d{4}-\d{2}-\d{2}", text):
        raise InvalidInput(
            f"--expires: expected a duration such as 12h or 30d, or an ISO 8601 time such as "
            f"2027-01-31T12:00:00Z, got {text!r}",
            field="--expires",
        )
    return {"expires_at": text}


@token_app.command("create")
def create_token(
    *,
    project_id: Annotated[str, typer.Option("--project-id", help="The token's project.")],
    role: Annotated[str, typer.Option("--role", help="member, admin or service.")] = "member",
    host: Annotated[
        str | None,
        typer.Option("--host", help="Bind a service token to this host (implies --role service)."),
    ] = None,
    expires: Annotated[
        str | None,
        typer.Option("--expires", help="A duration (12h, 30d) or an ISO 8601 time with a zone."),
    ] = None,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    fmt: FormatOption = None,
    columns: ColumnOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create a token for a project; it is shown only once."""
    out = output_of(fmt, columns, as_json)
    if host is not None and role == "member":
        role = "service"
    with connect(url, token, as_json=out.structured) as client:
        expiry = parse_expires(expires) if expires is not None else {}
        created = client.create_token(project_id, role, host=host, **expiry)
    show(
        created,
        out=out,
        render=lambda: console.print(
            f"token for project {created.get('project_id')} ({created.get('role')}): "
            f"{created.get('token')}",
            soft_wrap=True,
            markup=False,
            highlight=False,
        ),
    )


@token_app.command("list")
def list_tokens(
    *,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    fmt: FormatOption = None,
    columns: ColumnOption = None,
    as_json: JsonOption = False,
) -> None:
    """List the tokens (ids, never the secrets)."""
    out = output_of(fmt, columns, as_json)
    with connect(url, token, as_json=out.structured) as client:
        tokens = client.list_tokens()
    show_rows(tokens, TOKEN_COLUMNS, lambda t: [t.get(c) for c in TOKEN_COLUMNS], out=out)


@token_app.command("delete")
def delete_token(
    *,
    token_id: Annotated[str, typer.Argument(metavar="ID", help="The token's id (token list).")],
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    fmt: FormatOption = None,
    columns: ColumnOption = None,
    as_json: JsonOption = False,
) -> None:
    """Revoke a token: it is refused from now on."""
    out = output_of(fmt, columns, as_json)
    with connect(url, token, as_json=out.structured) as client:
        client.delete_token(token_id)
    show(
        {"id": token_id, "deleted": True},
        out=out,
        render=lambda: console.print(f"deleted token {token_id}", markup=False),
    )
