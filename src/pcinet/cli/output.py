"""One place for how the CLI prints results and errors, which exit codes it uses, and how
its Typer apps are made (``new_app``: ``-h`` is help everywhere)."""

from __future__ import annotations

import json
import sys
from typing import Any, NoReturn

import typer
from rich.console import Console, ConsoleDimensions
from rich.markup import escape

from pcinet.client import ApiError
from pcinet.core.errors import InvalidInput, NetworkNotServable, NoValidHost, PcinetError

EXIT_OK = 0
EXIT_NOT_FOUND = 1  # nothing fits (no valid host), or the server said no
EXIT_INVALID = 2  # bad input: the message names the file and field

# Click inherits these from the parent command, so the root app's setting reaches every
# sub-app; ``new_app`` sets it too, for an app invoked on its own (tests, other entry points).
CONTEXT_SETTINGS: dict[str, Any] = {"help_option_names": ["-h", "--help"]}

# Piped or redirected output is never wrapped: a table row stays one line however long.
UNWRAPPED_WIDTH = 1_000_000


class PipeConsole(Console):
    """A Rich console that wraps at the terminal's width on a terminal, and not at all when
    its output is piped or redirected (Rich would otherwise wrap at 80 columns, or at the
    width of the terminal the *input* comes from, splitting ids and MACs)."""

    def __init__(self, *, stderr: bool = False, width: int | None = None) -> None:
        super().__init__(stderr=stderr, width=width)
        # Rich fixes the width from $COLUMNS here; read it at print time instead (``size``),
        # and only on a terminal.
        self._width = width

    @property
    def size(self) -> ConsoleDimensions:
        dims = super().size
        if self._width is None and not self.is_terminal:
            return ConsoleDimensions(UNWRAPPED_WIDTH, dims.height)
        return dims

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:
        self._width, self._height = new_size


console = PipeConsole()
err_console = PipeConsole(stderr=True)


def new_app(**kwargs: Any) -> typer.Typer:
    """A Typer app (a command group) as every ``pcinet`` group is made: ``-h`` and
    ``--help`` are help, and without a command it prints its help."""
    kwargs.setdefault("no_args_is_help", True)
    return typer.Typer(context_settings=dict(CONTEXT_SETTINGS), **kwargs)


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
        # escape: messages quote config sections like "[pci] device_spec", not markup
        err_console.print(f"[bold red]error[/] [dim]({exc.code})[/]: {escape(exc.message)}")
    raise typer.Exit(exit_code_for(exc))
