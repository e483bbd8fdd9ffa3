"""Text that can be stored: UTF-8 encodable (no lone surrogates) and without NUL, which
PostgreSQL refuses in text and JSON and SQLite cannot encode; and free-form JSON walked for
the same, with a bound on its depth and size."""

from __future__ import annotations

import json
from typing import Annotated, Any

from pydantic import AfterValidator, StringConstraints
from pydantic_core import PydanticCustomError

from pcinet.service.inputs.limits import MAX_DEPTH, MAX_DESCRIPTION, MAX_NAME


def unstorable(text: str) -> str | None:
    """Why ``text`` cannot be stored, or None."""
    if "\x00" in text:
        return "contains a NUL character"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "is not valid Unicode (a lone surrogate, e.g. \\ud800)"
    return None


def _bad(path: str, reason: str) -> PydanticCustomError:
    return PydanticCustomError("invalid_text", "{reason}", {"path": path, "reason": reason})


def storable(text: str) -> str:
    reason = unstorable(text)
    if reason is not None:
        raise _bad("", reason)
    return text


def check_json(value: Any, *, max_bytes: int, limit_name: str) -> Any:
    """``value`` (parsed JSON) if every key and string in it is storable, it nests at most
    ``MAX_DEPTH`` deep and it takes at most ``max_bytes`` as JSON; the error's ``path`` names
    the part at fault (``.note[1]``)."""
    stack: list[tuple[Any, str, int]] = [(value, "", 0)]
    while stack:
        item, path, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise _bad(path, f"nests deeper than {MAX_DEPTH} levels")
        if isinstance(item, str):
            reason = unstorable(item)
            if reason is not None:
                raise _bad(path, reason)
        elif isinstance(item, dict):
            for key, inner in item.items():
                reason = unstorable(key)
                if reason is not None:
                    raise _bad(path, f"a key {reason}")
                stack.append((inner, f"{path}.{key}", depth + 1))
        elif isinstance(item, list):
            stack.extend((inner, f"{path}[{i}]", depth + 1) for i, inner in enumerate(item))
    size = len(json.dumps(value, separators=(",", ":")).encode("utf-8"))
    if size > max_bytes:
        raise _bad("", f"takes {size} bytes as JSON, more than the {limit_name} limit {max_bytes}")
    return value


Name = Annotated[str, StringConstraints(max_length=MAX_NAME), AfterValidator(storable)]
Description = Annotated[
    str, StringConstraints(max_length=MAX_DESCRIPTION), AfterValidator(storable)
]
NonEmptyName = Annotated[
    str, StringConstraints(min_length=1, max_length=MAX_NAME), AfterValidator(storable)
]


def limit_error(reason: str, path: str = "") -> PydanticCustomError:
    """A breached limit, as the same error kind as unstorable text (``path`` as there)."""
    return _bad(path, reason)
