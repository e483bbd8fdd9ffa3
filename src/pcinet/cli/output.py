"""One place for how the CLI prints results and errors, and which exit codes it uses."""

from __future__ import annotations

import json
import sys
from typing import Any, NoReturn

import typer
from rich.console import Console

from pcinet.client import ApiError
from pcinet.core.errors import InvalidInput, NetworkNotServable, NoValidHost, PcinetError

EXIT_OK = 0
EXIT_NOT_FOUND = 1  # nothing fits (no valid host), or the server said no
EXIT_INVALID = 2  # bad input: the message names the file and field

console = Console()
err_console = Console(stderr=True)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=False) + "\n")


def exit_code_for(exc: PcinetError) -> int:
    if isinstance(exc, ApiError):  # the controller's answer: 400 is bad input, else "no"
        return EXIT_INVALID if exc.status == 400 else EXIT_NOT_FOUND
    if isinstance(exc, InvalidInput | NetworkNotServable):
        return EXIT_INVALID
    if isinstance(exc, NoValidHost):
        return EXIT_NOT_FOUND
    return EXIT_NOT_FOUND


def fail(exc: PcinetError, *, as_json: bool) -> NoReturn:
    if as_json:
        print_json({"error": exc.to_dict()})
    else:
        err_console.print(f"[bold red]error[/] [dim]({exc.code})[/]: {exc.message}")
    raise typer.Exit(exit_code_for(exc))
