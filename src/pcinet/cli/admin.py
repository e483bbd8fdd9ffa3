"""``pcinet alias set|list`` and ``pcinet token create`` (admin)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

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
    table,
)
from pcinet.client import DEFAULT_URL, Json
from pcinet.cloudfile import read_yaml
from pcinet.core.errors import InvalidInput

alias_app = new_app(help="PCI aliases (admin): set, list.", no_args_is_help=True)
token_app = new_app(help="API tokens (admin): create.", no_args_is_help=True)

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


@token_app.command("create")
def create_token(
    *,
    project_id: Annotated[str, typer.Option("--project-id", help="The token's project.")],
    role: Annotated[str, typer.Option("--role", help="member, admin or service.")] = "member",
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    fmt: FormatOption = None,
    columns: ColumnOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create a token for a project; it is shown only once."""
    out = output_of(fmt, columns, as_json)
    with connect(url, token, as_json=out.structured) as client:
        created = client.create_token(project_id, role)
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
