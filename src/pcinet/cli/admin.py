"""``pcinet alias set|list``, ``pcinet token create|list|delete`` and
``pcinet quota show|set`` (admin)."""

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
from pcinet.core.errors import InvalidInput
from pcinet.yamlfile import read_yaml

alias_app = new_app(help="PCI aliases (admin): set, list.", no_args_is_help=True)
token_app = new_app(help="API tokens (admin): create, list, delete.", no_args_is_help=True)
quota_app = new_app(help="Quotas per project (admin): show, set.", no_args_is_help=True)

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


QUOTA_RESOURCES = ("networks", "ports", "servers", "vfs")
ProjectArgument = Annotated[
    str | None, typer.Argument(metavar="[PROJECT]", help="The project (omit with --default).")
]
DefaultOption = Annotated[
    bool, typer.Option("--default", help="The defaults of every project without its own.")
]


def _project_of(project: str | None, default: bool) -> str | None:
    if default == (project is not None):
        raise InvalidInput("give a PROJECT or --default (not both)", field="PROJECT")
    return project


def parse_limit(text: str, option: str) -> int | None:
    """``--servers 10``; ``unlimited`` (or -1); ``default`` removes a project's own limit."""
    word = text.strip().lower()
    if word in ("unlimited", "-1"):
        return -1
    if word in ("default", "none"):
        return None
    if word.isdigit():
        return int(word)
    raise InvalidInput(
        f"{option}: expected a number >= 0, 'unlimited' or 'default', got {text!r}", field=option
    )


def print_quota(quota: Json) -> None:
    limits = quota.get("quotas", {})
    usage = quota.get("usage", {})
    overrides = quota.get("overrides", {})
    rows = [
        (
            r,
            "unlimited" if limits.get(r, -1) == -1 else limits.get(r),
            usage.get(r, "-"),
            "project" if r in overrides else "default",
        )
        for r in QUOTA_RESOURCES
    ]
    title = f"quotas of project {quota['project_id']}" if "project_id" in quota else "defaults"
    console.print(table(title, ("resource", "limit", "used", "from"), rows))


@quota_app.command("show")
def show_quota(
    *,
    project: ProjectArgument = None,
    default: DefaultOption = False,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    fmt: FormatOption = None,
    columns: ColumnOption = None,
    as_json: JsonOption = False,
) -> None:
    """A project's limits (-1 unlimited), where each comes from, and its usage."""
    out = output_of(fmt, columns, as_json)
    with connect(url, token, as_json=out.structured) as client:
        quota = client.get_quota(_project_of(project, default))
    show(quota, out=out, render=lambda: print_quota(quota))


def _limit_option(resource: str) -> Any:
    return typer.Option(
        f"--{resource}", help=f"Limit of {resource}: a number, 'unlimited' or 'default'."
    )


@quota_app.command("set")
def set_quota(
    *,
    project: ProjectArgument = None,
    default: DefaultOption = False,
    networks: Annotated[str | None, _limit_option("networks")] = None,
    ports: Annotated[str | None, _limit_option("ports")] = None,
    servers: Annotated[str | None, _limit_option("servers")] = None,
    vfs: Annotated[str | None, _limit_option("vfs")] = None,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    fmt: FormatOption = None,
    columns: ColumnOption = None,
    as_json: JsonOption = False,
) -> None:
    """Set a project's limits (or the defaults); the others stay as they are."""
    out = output_of(fmt, columns, as_json)
    given = {"networks": networks, "ports": ports, "servers": servers, "vfs": vfs}
    with connect(url, token, as_json=out.structured) as client:
        target = _project_of(project, default)
        limits = {r: parse_limit(v, f"--{r}") for r, v in given.items() if v is not None}
        if not limits:
            raise InvalidInput(
                "give at least one of --networks, --ports, --servers, --vfs", field="--servers"
            )
        quota = client.set_quota(target, limits)
    show(quota, out=out, render=lambda: print_quota(quota))
