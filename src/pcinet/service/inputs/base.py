"""The base of request bodies, and pydantic's errors as ``InvalidRequest`` naming the field
the way the rest of the API does (``network.name``, ``server.ports[0]``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any, ClassVar, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError

from pcinet.service.errors import InvalidRequest
from pcinet.service.inputs.limits import MAX_ERROR_TEXT

_MESSAGES = {
    "extra_forbidden": "unknown property",
    "missing": "required property is missing",
    "bool_type": "expected true or false",
    "string_type": "expected a string",
    "int_type": "expected an integer",
    "dict_type": "expected a JSON object",
    "model_type": "expected a JSON object",
    "list_type": "expected a JSON list",
    "string_unicode": "is not valid Unicode (a lone surrogate, e.g. \\ud800)",
}


def _whole(value: Any) -> Any:
    # JSON has one number type: 2.0 is an integer to JSON Schema (and to the fuzzer).
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


Int = Annotated[int, BeforeValidator(_whole)]
"""A JSON integer (``2`` or ``2.0``; not ``"2"``, ``2.5`` or ``true``)."""


class Body(BaseModel):
    """A request body: JSON types exactly (``"yes"`` is not a boolean), no unknown keys.

    The models check the structure and the limits; the core checks what the values mean
    (a VLAN's range, a PCI address), so no check is written twice."""

    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=False)
    WHERE: ClassVar[str] = "body"

    def data(self) -> dict[str, Any]:
        """The body as sent (Neutron's key names), without the keys that were not sent."""
        return self.model_dump(by_alias=True, exclude_unset=True)


M = TypeVar("M", bound=BaseModel)


def excerpt(text: str, limit: int = MAX_ERROR_TEXT) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def field_name(where: str, loc: Sequence[Any]) -> str:
    """``network`` + ``("segments", 0, "provider:network_type")`` ->
    ``network.segments[0].provider:network_type``; a dict key that failed as a key
    (``[key]``) names the dict."""
    parts = list(loc)
    if "[key]" in parts:
        parts = parts[: parts.index("[key]") - 1]
    out = where
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out = f"{out}.{part}" if out else str(part)
    return excerpt(out)


def invalid_request(where: str, errors: Sequence[Mapping[str, Any]]) -> InvalidRequest:
    """The first of pydantic's ``errors`` as an InvalidRequest naming the field."""
    first: Mapping[str, Any] = errors[0] if errors else {"loc": (), "msg": "invalid"}
    field = field_name(where, first.get("loc", ()))
    ctx = first.get("ctx") or {}
    kind = str(first.get("type", ""))
    if kind == "invalid_text":
        field = excerpt(field + str(ctx.get("path", "")))
        reason = str(ctx.get("reason", "invalid"))
    elif kind in _MESSAGES:
        reason = _MESSAGES[kind]
    else:
        reason = str(first.get("msg", "invalid"))
    return InvalidRequest(excerpt(f"{field}: {reason}"), field=field or where)


def parse(model: type[M], body: Any) -> M:
    """``body`` as ``model`` (already one: as is); InvalidRequest naming the field."""
    if isinstance(body, model):
        return body
    where: str = getattr(model, "WHERE", "body")
    if isinstance(body, bytes | str):
        raise InvalidRequest(
            f"{where}: the body is not JSON (send a JSON object with Content-Type: "
            "application/json)",
            field=where,
        )
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        raise invalid_request(where, exc.errors()) from None
