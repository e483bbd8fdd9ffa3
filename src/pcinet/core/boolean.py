"""The one vocabulary of booleans written as words: oslo.utils' ``bool_from_string``, which
Nova (device spec and alias flags) and Neutron (port flags) both use."""

from __future__ import annotations

TRUE_WORDS = frozenset({"1", "t", "true", "on", "y", "yes"})
FALSE_WORDS = frozenset({"0", "f", "false", "off", "n", "no"})


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
