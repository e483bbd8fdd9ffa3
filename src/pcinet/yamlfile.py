"""Reading an operator's YAML (or JSON) file as plain JSON-like data, within limits.

YAML can say far more than the files need, and some of it is hostile: an alias expands
without bound (a 780-byte file to 808 MB), 5,000 nested brackets overflow the stack, a
5,000-digit integer cannot be converted. So the loader accepts JSON-like data only:

- no anchors, aliases or merge keys (``&a``, ``*a``, ``<<``);
- only the tags of JSON data: strings, integers, floats, booleans, null, lists, mappings
  (so no ``!!binary``, ``!!set``, ``!!timestamp``; an unquoted date stays a string);
- the file is UTF-8 text of at most ``MAX_FILE_BYTES``;
- the limits of ``pcinet.core.limits`` on depth, numbers and strings.

Every refusal is an ``InvalidInput`` naming the file, the field and the line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from yaml.events import AliasEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from pcinet.core.errors import InvalidInput, PcinetError
from pcinet.core.limits import MAX_DEPTH, MAX_INT_DIGITS, check_value

MAX_FILE_BYTES = 64 * 2**20
_TAG = "tag:yaml.org,2002:"
_ALLOWED_TAGS = frozenset(_TAG + t for t in ("str", "int", "float", "bool", "null", "seq", "map"))


class _Refused(Exception):
    def __init__(self, path: str, problem: str, mark: Any) -> None:
        super().__init__(problem)
        self.path, self.problem, self.mark = path, problem, mark


class _JsonLikeLoader(yaml.SafeLoader):
    """A SafeLoader that composes JSON-like documents only, tracking the path it is at."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._path: list[str] = []

    def _where(self) -> str:
        return "".join(self._path).lstrip(".")

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        if isinstance(parent, MappingNode) and isinstance(index, ScalarNode):
            step = f".{index.value}"
        elif isinstance(parent, SequenceNode) and isinstance(index, int):
            step = f"[{index}]"
        else:  # the document's root, or a mapping's key
            step = ""
        self._path.append(step)
        try:
            if isinstance(event, AliasEvent) or getattr(event, "anchor", None):
                raise _Refused(
                    self._where(), "YAML anchors and aliases are not allowed", event.start_mark
                )
            if len(self._path) > MAX_DEPTH + 1:
                raise _Refused(
                    self._where(), f"nested more than {MAX_DEPTH} levels deep", event.start_mark
                )
            node = super().compose_node(parent, index)
            if node is not None:
                self._check(node)
            return node
        finally:
            self._path.pop()

    def _check(self, node: Node) -> None:
        if node.tag not in _ALLOWED_TAGS:
            tag = node.tag.replace(_TAG, "!!")
            raise _Refused(
                self._where(),
                f"the YAML tag {tag} is not allowed (only strings, numbers, booleans, null, "
                "lists and mappings)",
                node.start_mark,
            )
        if node.tag == _TAG + "int" and len(str(node.value)) > MAX_INT_DIGITS + 4:
            raise _Refused(
                self._where(),
                f"an integer of {len(str(node.value))} characters is out of range",
                node.start_mark,
            )


# Unquoted dates stay strings, as in JSON (and YAML 1.2's core schema).
_JsonLikeLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != _TAG + "timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def parse_yaml(text: str, name: str) -> Any:
    """The JSON-like data of YAML ``text``; errors are InvalidInput prefixed with ``name``."""
    loader = _JsonLikeLoader(text)
    try:
        data = loader.get_single_data()
    except _Refused as exc:
        where = f" at line {exc.mark.line + 1}, column {exc.mark.column + 1}" if exc.mark else ""
        field = exc.path or None
        prefix = f"{exc.path}: " if exc.path else ""
        raise InvalidInput(f"{name}: {prefix}{exc.problem}{where}", field=field) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise InvalidInput(f"{name}: not valid YAML{where}: {problem}") from None
    finally:
        loader.dispose()
    try:
        check_value(data, "")
    except PcinetError as exc:
        raise InvalidInput(f"{name}: {exc.message}", field=exc.field) from None
    return data


def read_yaml(path: str | Path) -> Any:
    """Read and parse a YAML or JSON file (see the module's limits)."""
    p = Path(path)
    try:
        with p.open("rb") as f:
            raw = f.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise InvalidInput(f"{p}: cannot read: {exc.strerror or exc}") from None
    if len(raw) > MAX_FILE_BYTES:
        raise InvalidInput(f"{p}: larger than the limit of {MAX_FILE_BYTES} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{p}: not UTF-8 text (byte {exc.start}: {exc.reason})") from None
    return parse_yaml(text, str(p))
