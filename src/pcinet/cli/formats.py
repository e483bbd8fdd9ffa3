"""Output formats of show and list commands, as the ``openstack`` client has them:
``-f table|json|yaml|value|csv`` and ``-c COLUMN`` (repeatable); ``--json`` is ``-f json``.

A column is a column of the command's table (``-c "PCI address"``) or a key of the API's
JSON (``-c mac_address``), matched without regard to case. ``-f json`` and ``-f yaml``
print the API's objects, reduced to the chosen columns when ``-c`` is given; ``-f value``
prints the cells separated by spaces, one row per line (for ``show``: one value per
line); ``-f csv`` a header row, then the rows.

>>> Output.of("value", ["id"], as_json=False).format
'value'
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

import typer
import yaml

from pcinet.core.errors import InvalidInput

FORMATS = ("table", "json", "yaml", "value", "csv")

FormatOption = Annotated[
    str | None,
    typer.Option(
        "-f",
        "--format",
        help="Output format: table (default), json, yaml, value or csv.",
        show_default=False,
    ),
]
ColumnOption = Annotated[
    list[str] | None,
    typer.Option(
        "-c",
        "--column",
        help="Only this column (repeatable): a table column or a key of the API's JSON.",
        show_default=False,
    ),
]

Row = Callable[[Any], Sequence[Any]]  # an item of the API's JSON to its table cells
Cell = Callable[[Any], str]


@dataclass(frozen=True, slots=True)
class Output:
    """How a command prints its answer: ``format`` (one of ``FORMATS``) and ``columns``."""

    format: str = "table"
    columns: tuple[str, ...] = ()

    @classmethod
    def of(cls, fmt: str | None, columns: Sequence[str] | None, *, as_json: bool) -> Output:
        """From the command's ``-f``, ``-c`` and ``--json``; bad input names the option."""
        if fmt is not None and fmt not in FORMATS:
            raise InvalidInput(
                f"-f/--format: {fmt!r} is not one of {', '.join(FORMATS)}", field="--format"
            )
        if as_json and fmt not in (None, "json"):
            raise InvalidInput(f"--json conflicts with -f {fmt}", field="--format")
        return cls("json" if as_json else fmt or "table", tuple(columns or ()))

    @property
    def structured(self) -> bool:
        """JSON or YAML: errors are printed as ``{"error": ...}`` on stdout too."""
        return self.format in ("json", "yaml")

    @property
    def custom(self) -> bool:
        """The command's own rendering applies: a table, all columns."""
        return self.format == "table" and not self.columns


def dump(data: Any, fmt: str) -> None:
    """``data`` as JSON (indented) or YAML (block style, keys in the API's order)."""
    if fmt == "yaml":
        sys.stdout.write(yaml.safe_dump(data, sort_keys=False, default_flow_style=False))
    else:
        sys.stdout.write(json.dumps(data, indent=2, sort_keys=False) + "\n")


def _find(name: str, columns: Sequence[str], keys: Sequence[str]) -> tuple[str, int | str]:
    """``name``'s header and where its value comes from: a table column's index, else an
    API key; neither is bad input that lists them."""
    lowered = name.lower()
    for index, column in enumerate(columns):
        if column.lower() == lowered:
            return column, index
    for key in keys:
        if key.lower() == lowered:
            return key, key
    known = ", ".join(dict.fromkeys([*columns, *keys]))
    raise InvalidInput(f"-c/--column: {name!r} is not a column; columns: {known}", field="--column")


def _keys(items: Sequence[Mapping[str, Any]]) -> list[str]:
    return list(dict.fromkeys(k for item in items for k in item))


def write_rows(fmt: str, headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """``value`` or ``csv`` rows of cells already turned into text."""
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(headers)
        writer.writerows(rows)
        sys.stdout.write(buffer.getvalue())
    else:
        sys.stdout.writelines(" ".join(row) + "\n" for row in rows)


def select_rows(
    out: Output,
    items: Sequence[Mapping[str, Any]],
    columns: Sequence[str],
    row: Row,
) -> tuple[list[str], list[list[Any]]]:
    """The chosen headers and, per item, their raw values (table columns from ``row``,
    other columns from the item's JSON)."""
    if not out.columns:
        return list(columns), [list(row(item)) for item in items]
    keys = _keys(items)
    found = [_find(name, columns, keys) for name in out.columns]
    rows = []
    for item in items:
        cells = row(item)
        rows.append([cells[src] if isinstance(src, int) else item.get(src) for _, src in found])
    return [header for header, _ in found], rows


def emit_list(
    out: Output,
    items: Sequence[Mapping[str, Any]],
    columns: Sequence[str],
    row: Row,
    *,
    cell: Cell,
    table: Callable[[Sequence[str], Sequence[Sequence[Any]]], None],
) -> None:
    """A list command's answer in ``out``'s format; ``table`` draws the table format."""
    if out.structured:
        if not out.columns:
            dump(list(items), out.format)
            return
        headers, rows = select_rows(out, items, columns, row)
        dump([dict(zip(headers, r, strict=True)) for r in rows], out.format)
        return
    headers, rows = select_rows(out, items, columns, row)
    if out.format == "table":
        table(headers, rows)
    else:
        write_rows(out.format, headers, [[cell(v) for v in r] for r in rows])


def emit_object(
    out: Output,
    data: Mapping[str, Any],
    *,
    cell: Cell,
    table: Callable[[Sequence[str], Sequence[Sequence[Any]]], None],
) -> None:
    """A show command's object, when not drawn by the command's own render: its properties
    (the chosen ones with ``-c``) as JSON/YAML, a property/value table, one value per line
    (``value``), or a header and one row (``csv``)."""
    keys = list(data)
    chosen = [_find(name, (), keys)[0] for name in out.columns] if out.columns else keys
    if out.structured:
        dump({k: data[k] for k in chosen}, out.format)
    elif out.format == "table":
        table(("property", "value"), [(k, data[k]) for k in chosen])
    elif out.format == "value":
        sys.stdout.writelines(cell(data[k]) + "\n" for k in chosen)
    else:
        write_rows("csv", chosen, [[cell(data[k]) for k in chosen]])
