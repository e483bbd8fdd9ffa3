"""What every command that talks to a controller shares: the ``--url``, ``--token``,
``-f/--format``, ``-c/--column`` and ``--json`` options (``pcinet.cli.formats``), a
client whose errors become the CLI's exit codes, name-or-id lookups,
the ``show`` and ``delete`` commands of a resource, and small printing helpers.

Exit codes (``pcinet.cli.output``): 0 success; 1 the controller said no (``not_found``,
``no_valid_host``, ``*_in_use``, ``unauthorized``, ...) or could not be reached; 2 bad
input (HTTP 400, or arguments the CLI itself refuses).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import partial
from typing import Annotated, Any

import typer
from rich import box
from rich.table import Table

from pcinet.cli.formats import (
    FORMATS,
    ColumnOption,
    FormatOption,
    Output,
    emit_list,
    emit_object,
)
from pcinet.cli.output import console, err_console, fail
from pcinet.client import DEFAULT_URL, ApiError, Client, Json
from pcinet.core.errors import InvalidInput, PcinetError

UrlOption = Annotated[
    str,
    typer.Option("--url", envvar="PCINET_URL", help="The controller's URL."),
]
TokenOption = Annotated[
    str | None,
    typer.Option("--token", envvar="PCINET_TOKEN", help="Bearer token.", show_default=False),
]
JsonOption = Annotated[
    bool, typer.Option("--json", help="Print the API's JSON, for scripts (same as -f json).")
]

Getter = Callable[[Client, str], Json]  # Client.get_network, ...
Deleter = Callable[[Client, str], None]  # Client.delete_network, ...
Lister = Callable[..., list[Json]]  # Client.list_networks, ...: (client, **filters)
Answer = tuple[Any, Callable[[], None]]  # a command's data (for --json) and how to print it


def output_of(fmt: str | None, columns: Sequence[str] | None, as_json: bool) -> Output:
    """The command's ``Output`` from its ``-f``, ``-c`` and ``--json``; bad ones exit 2."""
    try:
        return Output.of(fmt, columns, as_json=as_json)
    except InvalidInput as exc:
        fail(exc, as_json=as_json or fmt in FORMATS[1:3])


@contextmanager
def connect(url: str, token: str | None, *, as_json: bool) -> Iterator[Client]:
    """A client for the body of a command; any pcinet error raised in the body is printed
    (``error (code): message`` on stderr, or ``{"error": ...}`` on stdout with ``--json``)
    and ends the command with its exit code."""
    try:
        with Client(url, token) as client:
            yield client
    except PcinetError as exc:
        fail(exc, as_json=as_json)


def resolve(
    name_or_id: str,
    kind: str,
    lister: Callable[..., list[Json]],
) -> str:
    """The id of the one ``kind`` named ``name_or_id``, else ``name_or_id`` itself (taken as
    an id: the controller answers 404 when it is not one). Two of that name is bad input."""
    found = lister(name=name_or_id)
    if len(found) == 1:
        return str(found[0]["id"])
    if len(found) > 1:
        ids = ", ".join(str(f["id"]) for f in found)
        raise InvalidInput(
            f"{name_or_id!r}: {len(found)} {kind}s have that name ({ids}); use an id"
        )
    return name_or_id


def add_target_command(
    app: typer.Typer,
    command: str,
    doc: str,
    argument: tuple[str, str],
    act: Callable[[Client, str], Answer],
) -> None:
    """Register ``command`` on one resource named by its single argument (``argument``: the
    argument's name and help): ``act`` on it with a client, then print the data it answers
    as JSON with ``--json``, else with its render."""
    name, help_text = argument
    # Typer takes the argument from the default: an Annotated alias could not close over it.
    target_argument = typer.Argument(help=help_text, metavar=name)

    @app.command(command, help=doc)
    def target_command(
        *,
        target: str = target_argument,
        url: UrlOption = DEFAULT_URL,
        token: TokenOption = None,
        fmt: FormatOption = None,
        columns: ColumnOption = None,
        as_json: JsonOption = False,
    ) -> None:
        out = output_of(fmt, columns, as_json)
        with connect(url, token, as_json=out.structured) as client:
            data, render = act(client, target)
        show(data, out=out, render=render)


def add_show_command(
    app: typer.Typer,
    word: str,
    doc: str,
    *,
    get: Getter,
    lister: Lister | None = None,
    render: Callable[[Json], None] | None = None,
    argument: tuple[str, str] | None = None,
) -> None:
    """Register ``show WORD``: ``get`` the one named (by name or id when ``lister`` is given,
    else as typed) and print it with ``render`` (default: its properties as a table).
    ``argument``: the argument's name and help, when not ``WORD`` / "Word id or name."."""
    draw: Callable[[Json], None] = render or partial(print_fields, word)

    def act(client: Client, target: str) -> Answer:
        key = target if lister is None else resolve(target, word, partial(lister, client))
        data = get(client, key)
        return data, lambda: draw(data)

    add_target_command(app, "show", doc, argument or _id_or_name(word), act)


def add_delete_command(
    app: typer.Typer, word: str, doc: str, *, delete: Deleter, lister: Lister
) -> None:
    """Register ``delete WORD``: by name or id; prints ``deleted WORD ID``, or with ``--json``
    ``{"id": ID, "deleted": true}``."""

    def act(client: Client, target: str) -> Answer:
        target_id = resolve(target, word, partial(lister, client))
        delete(client, target_id)
        deleted = {"id": target_id, "deleted": True}
        return deleted, lambda: console.print(f"deleted {word} {target_id}")

    add_target_command(app, "delete", doc, _id_or_name(word), act)


def _id_or_name(word: str) -> tuple[str, str]:
    return word, f"{word.capitalize()} id or name."


def parse_key_values(items: Sequence[str], option: str) -> dict[str, str]:
    """``k=v`` strings to a dict; an item without ``=`` or with an empty key is bad input."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InvalidInput(f"{option}: {item!r} is not of the form key=value", field=option)
        out[key.strip()] = value
    return out


def show(
    data: Any,
    *,
    render: Callable[[], None],
    as_json: bool = False,
    out: Output | None = None,
) -> None:
    """A command's answer in ``out``'s format (``--json`` when no ``out`` is given):
    ``render`` draws the table format when no column is chosen; otherwise an object prints
    as its properties and a list of objects as a table of their keys."""
    out = out or Output("json" if as_json else "table")
    try:
        if out.custom:
            render()
        elif isinstance(data, Mapping):
            emit_object(out, data, cell=text, table=partial(_print_table, False))
        elif isinstance(data, list) and all(isinstance(d, Mapping) for d in data):
            keys = list(dict.fromkeys(k for d in data for k in d))
            show_rows(data, keys, lambda d: [d.get(k) for k in keys], out=out)
        else:
            emit_object(out, {"value": data}, cell=text, table=partial(_print_table, False))
    except PcinetError as exc:
        fail(exc, as_json=out.structured)


def show_rows(
    items: list[Json],
    columns: Sequence[str],
    row: Callable[[Json], Sequence[Any]],
    *,
    as_json: bool = False,
    out: Output | None = None,
    compact: bool = False,
) -> None:
    """A list command's answer in ``out``'s format (``--json`` when no ``out`` is given):
    by default a table of one ``row(item)`` per item, under ``columns``."""
    out = out or Output("json" if as_json else "table")
    try:
        emit_list(out, items, columns, row, cell=text, table=partial(_print_table, compact))
    except PcinetError as exc:
        fail(exc, as_json=out.structured)


def _print_table(compact: bool, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    console.print(table(None, columns, rows, compact=compact))


def table(
    title: str | None,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    compact: bool = False,
) -> Table:
    """A Rich table; ``None`` cells print as ``-``; nothing is cut (long ids fold).
    ``compact``: no outer frame or column rules, to fit more columns in 80."""
    if compact:
        out = Table(
            title=title, box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, collapse_padding=True
        )
    else:
        out = Table(title=title)
    for column in columns:
        out.add_column(column, overflow="fold")
    for row in rows:
        out.add_row(*(text(cell) for cell in row))
    return out


def text(value: Any) -> str:
    """A cell: ``-`` for None or empty, JSON for lists and objects, else ``str``."""
    if value is None or (isinstance(value, str | Mapping | list) and not value):
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Mapping | list):
        return json.dumps(value, sort_keys=True)
    return str(value)


def print_fields(title: str, data: Mapping[str, Any]) -> None:
    """A resource as a two-column table of its properties (in the API's order)."""
    rows = list(data.items())
    console.print(table(title, ("property", "value"), rows))


def print_rejections(exc: ApiError) -> None:
    """For ``no_valid_host``, on stderr: every rejected host with its reason; when the
    controller sent only a sample of the hosts, the count of hosts per reason first."""
    hosts = exc.hosts
    total = sum(exc.groups.values())
    partial = total > len(hosts)
    if partial:
        groups = sorted(exc.groups.items(), key=lambda kv: (-kv[1], kv[0]))
        rows = [(n, reason) for reason, n in groups]
        err_console.print(table("rejected hosts by reason", ("hosts", "reason"), rows))
    if hosts:
        title = f"a sample of {len(hosts)} of {total} hosts" if partial else "rejected hosts"
        err_console.print(table(title, ("host", "reason"), sorted(hosts.items())))


def vlan_of(port: Mapping[str, Any]) -> str | None:
    """The VLAN a bound port's VF is programmed with: ``binding:vif_details.vlan``, else the
    bound profile's ``vlan``; None when unbound or not a VLAN."""
    details = port.get("binding:vif_details") or {}
    profile = port.get("binding:profile") or {}
    for source in (details, profile):
        value = source.get("vlan") if isinstance(source, Mapping) else None
        if value not in (None, "", "0", 0):
            return str(value)
    return None


def physnet_of(port: Mapping[str, Any]) -> str | None:
    """The physnet of a bound port's device (from its bound ``binding:profile``)."""
    profile = port.get("binding:profile") or {}
    value = profile.get("physical_network") if isinstance(profile, Mapping) else None
    return None if value is None else str(value)
