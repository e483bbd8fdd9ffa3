"""Atomic file replacement: a reader sees the old content or the new, never a mix."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def write_json(path: Path, data: Any, *, durable: bool = True) -> None:
    """Write ``data`` as JSON to a temporary file beside ``path``, fsync it (``durable``),
    rename it over ``path`` and fsync the directory, so that a crash at any point leaves
    the old file or the new one."""
    _replace(path, json.dumps(data, sort_keys=True, separators=(",", ":")), durable=durable)


def _replace(path: Path, text: str, *, durable: bool) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as out:
        out.write(text)
        if durable:
            out.flush()
            os.fsync(out.fileno())
    os.replace(tmp, path)
    if durable:
        fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_lines(path: Path, lines: list[str], *, durable: bool = True) -> None:
    """``write_json``'s atomic replacement, for a file of text lines."""
    _replace(path, "".join(line + "\n" for line in lines), durable=durable)
