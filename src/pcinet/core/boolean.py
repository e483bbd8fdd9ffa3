"""The one vocabulary of booleans written as words: oslo.utils' ``bool_from_string``, which
Nova (device spec and alias flags) and Neutron (port flags) both use, and its one strict
parser."""

from __future__ import annotations

from pcinet.core.errors import InvalidInput

TRUE_WORDS = frozenset({"1", "t", "true", "on", "y", "yes"})
FALSE_WORDS = frozenset({"0", "f", "false", "off", "n", "no"})
_WORDS = ", ".join(sorted(TRUE_WORDS | FALSE_WORDS))


def bool_from_word(value: object, *, ints: bool = False) -> bool | None:
    """``value`` as a boolean: a bool, one of the words (any case, spaces around), or with
    ``ints`` an integer written the same way (``1``, ``0``); None when it is none of these."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) or (ints and isinstance(value, int)):
        text = str(value).strip().lower()
        if text in TRUE_WORDS:
            return True
        if text in FALSE_WORDS:
            return False
    return None


def strict_bool(
    value: object,
    *,
    field: str,
    error: type[InvalidInput] = InvalidInput,
    ints: bool = False,
    suffix: str = "",
) -> bool:
    """oslo's strict ``bool_from_string``: ``value`` as a boolean (see ``bool_from_word``),
    else ``error`` naming ``field``: ``managed: 'maybe' is not a boolean (expected one of
    0, 1, f, ...)``; ``suffix`` ends the message."""
    parsed = bool_from_word(value, ints=ints)
    if parsed is None:
        message = f"{field}: {value!r} is not a boolean (expected one of {_WORDS}){suffix}"
        raise error(message, field=field)
    return parsed
