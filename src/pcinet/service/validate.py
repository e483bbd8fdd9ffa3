"""Shape checks for request bodies that name the property at fault (400 invalid_request)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pcinet.service.errors import InvalidRequest


def body_object(body: Any, where: str, allowed: Iterable[str] | None = None) -> Mapping[str, Any]:
    """``body`` as a mapping; with ``allowed``, an unknown key is an error naming it."""
    if isinstance(body, bytes | str):  # FastAPI hands over what it could not parse
        raise InvalidRequest(
            f"{where}: the body is not JSON (send a JSON object with Content-Type: "
            "application/json)",
            field=where,
        )
    if not isinstance(body, Mapping):
        raise InvalidRequest(
            f"{where}: expected a JSON object, got {type(body).__name__}", field=where
        )
    if allowed is not None:
        unknown = sorted(str(k) for k in body if k not in set(allowed))
        if unknown:
            field = f"{where}.{unknown[0]}"
            raise InvalidRequest(f"{field}: unknown property", field=field)
    return body


def boolean(body: Mapping[str, Any], key: str, where: str, default: bool) -> bool:
    value = body.get(key, default)
    if not isinstance(value, bool):
        field = f"{where}.{key}"
        raise InvalidRequest(f"{field}: expected true or false, got {value!r}", field=field)
    return value


def string(body: Mapping[str, Any], key: str, where: str, default: str | None = None) -> str | None:
    value = body.get(key, default)
    if value is not None and (not isinstance(value, str) or len(value) > 255):
        field = f"{where}.{key}"
        raise InvalidRequest(
            f"{field}: expected a string of at most 255 characters, got {value!r}", field=field
        )
    return value


MAX_INT = 2**31 - 1  # what a database integer column holds


def optional_int(body: Mapping[str, Any], key: str, where: str, *, minimum: int = 0) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    field = f"{where}.{key}"
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise InvalidRequest(
            f"{field}: expected an integer >= {minimum}, got {value!r}", field=field
        )
    if value > MAX_INT:
        raise InvalidRequest(f"{field}: {value} is above {MAX_INT}", field=field)
    return value
