"""Size limits on input, in one place, and a JSON reader that keeps to them.

Every limit is documented (docs/file-formats.md) and breaking one is an ``InvalidInput``
naming the field: input is refused, never truncated.

- ``MAX_DEPTH``: objects and lists nested at most this deep.
- ``MAX_INT``: integers (anywhere: amounts, tags, profiles) at most this large in magnitude,
  i.e. 64-bit; amounts such as vCPUs and memory have tighter bounds of their own.
- ``MAX_STRING``: characters in one string.
- Floats must be finite (``NaN`` and ``Infinity`` are not JSON).
- Strings must be valid Unicode (no lone surrogates: they cannot be printed or stored).
"""

from __future__ import annotations

import json
import math
from typing import Any

from pcinet.core.errors import InvalidInput

MAX_DEPTH = 32
MAX_INT = 2**63 - 1
MAX_INT_DIGITS = len(str(MAX_INT))
MAX_STRING = 65536


def _is_surrogate_free(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def string_problem(text: str) -> str | None:
    """Why ``text`` is not acceptable input, or None."""
    if len(text) > MAX_STRING:
        return f"a string of {len(text)} characters is longer than the limit of {MAX_STRING}"
    if not _is_surrogate_free(text):
        return "not valid Unicode (a lone surrogate)"
    return None


def int_problem(value: int) -> str | None:
    if -MAX_INT <= value <= MAX_INT:
        return None
    return f"an integer of {value.bit_length()} bits is out of range (at most {MAX_INT})"


def check_value(value: Any, where: str, *, error: type[InvalidInput] = InvalidInput) -> None:
    """Refuse data that breaks a limit: too deep, an oversized number or string, a
    non-finite float, a non-string key, or a lone surrogate. Iterative, so depth is safe."""
    stack: list[tuple[Any, str, int]] = [(value, where, 0)]
    while stack:
        item, path, depth = stack.pop()
        problem: str | None = None
        if isinstance(item, bool) or item is None:
            continue
        if isinstance(item, str):
            problem = string_problem(item)
        elif isinstance(item, int):
            problem = int_problem(item)
        elif isinstance(item, float):
            problem = None if math.isfinite(item) else f"{item} is not a finite number"
        elif isinstance(item, dict | list | tuple):
            if depth >= MAX_DEPTH:
                problem = f"nested more than {MAX_DEPTH} levels deep"
            elif isinstance(item, dict):
                for key, child in item.items():
                    if not isinstance(key, str):
                        problem = f"key {key!r} is not a string"
                        break
                    key_problem = string_problem(key)
                    if key_problem:
                        problem = f"a key is {key_problem}"
                        break
                    stack.append((child, f"{path}.{key}" if path else key, depth + 1))
            else:
                stack.extend((c, f"{path}[{i}]", depth + 1) for i, c in enumerate(item))
        else:
            problem = f"a {type(item).__name__} is not a JSON value"
        if problem:
            raise error(f"{path}: {problem}", field=path or None)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise ValueError(f"an integer of {len(text.lstrip('-'))} digits is out of range")
    return int(text)


def load_json(text: str, where: str, *, error: type[InvalidInput] = InvalidInput) -> Any:
    """Parse JSON text within the limits above; errors name ``where``."""
    if len(text) > MAX_STRING:
        raise error(f"{where}: {string_problem(text)}", field=where)
    try:
        data = json.loads(text, parse_int=_bounded_int, parse_constant=_no_constant)
    except RecursionError:
        raise error(f"{where}: nested more than {MAX_DEPTH} levels deep", field=where) from None
    except ValueError as exc:  # JSONDecodeError is a ValueError
        raise error(f"{where}: not valid JSON: {exc}", field=where) from None
    check_value(data, where, error=error)
    return data
