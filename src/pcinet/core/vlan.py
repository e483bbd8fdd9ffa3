"""``network_vlan_ranges`` in Neutron's syntax: which VLANs of which physnet the service may use.

``"phy1:100:199,phy2,phy1:300:310"`` lists entries separated by commas. An entry is
``physnet:min:max`` (inclusive) or a bare ``physnet``, which here means the whole VLAN
space 1-4094. A physnet may appear in several entries; ranges may overlap. Empty entries
(a trailing comma) are ignored.

>>> ranges = VlanRanges.parse("phy1:100:101,phy2:7:7,phy1:100:102")
>>> ranges.physnets
('phy1', 'phy2')
>>> list(ranges)
[('phy1', 100), ('phy1', 101), ('phy1', 102), ('phy2', 7)]
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from pcinet.core.errors import InvalidInput

MIN_VLAN = 1
MAX_VLAN = 4094


def _vlan(text: str, entry: str, what: str, name: str) -> int:
    try:
        value = int(text.strip())
    except ValueError:
        raise InvalidInput(
            f"{name}: entry {entry!r}: {what} {text!r} is not an integer", field=name
        ) from None
    if not MIN_VLAN <= value <= MAX_VLAN:
        raise InvalidInput(
            f"{name}: entry {entry!r}: {what} {value} is outside {MIN_VLAN}-{MAX_VLAN}",
            field=name,
        )
    return value


def parse_vlan_ranges(
    text: str, *, field: str = "network_vlan_ranges"
) -> dict[str, list[tuple[int, int]]]:
    """Parse the Neutron syntax into ``{physnet: [(min, max), ...]}`` in the order given.

    Errors are InvalidInput naming ``field`` and the offending entry: a malformed entry,
    an empty physnet, a VLAN that is not an integer or outside 1-4094, min greater than max.
    """
    if not isinstance(text, str):
        raise InvalidInput(f"{field}: expected a string, got {text!r}", field=field)
    out: dict[str, list[tuple[int, int]]] = {}
    for raw in text.split(","):
        entry = raw.strip()
        if not entry:
            continue
        parts = entry.split(":")
        physnet = parts[0].strip()
        if not physnet:
            raise InvalidInput(f"{field}: entry {entry!r} has an empty physnet", field=field)
        if len(parts) == 1:
            out.setdefault(physnet, []).append((MIN_VLAN, MAX_VLAN))
            continue
        if len(parts) != 3:
            raise InvalidInput(
                f"{field}: entry {entry!r} is not of the form physnet or physnet:min:max",
                field=field,
            )
        low = _vlan(parts[1], entry, "minimum", field)
        high = _vlan(parts[2], entry, "maximum", field)
        if low > high:
            raise InvalidInput(
                f"{field}: entry {entry!r}: minimum {low} is greater than maximum {high}",
                field=field,
            )
        out.setdefault(physnet, []).append((low, high))
    return out


@dataclass(frozen=True, slots=True)
class VlanRanges:
    """Parsed ranges. Iteration yields every candidate ``(physnet, vlan)`` once, physnets in
    the order of their first entry and VLANs ascending: the order tenant networks take them."""

    ranges: Mapping[str, tuple[tuple[int, int], ...]] = field(
        default_factory=lambda: MappingProxyType({})
    )

    @classmethod
    def parse(cls, text: str, *, field: str = "network_vlan_ranges") -> VlanRanges:
        parsed = parse_vlan_ranges(text, field=field)
        return cls(MappingProxyType({k: tuple(v) for k, v in parsed.items()}))

    @property
    def physnets(self) -> tuple[str, ...]:
        return tuple(self.ranges)

    def only(self, physnet: str) -> VlanRanges:
        """The ranges of one physnet (empty if it has none)."""
        spans = self.ranges.get(physnet)
        return VlanRanges(MappingProxyType({physnet: spans} if spans else {}))

    def contains(self, physnet: str, vlan: int) -> bool:
        return any(low <= vlan <= high for low, high in self.ranges.get(physnet, ()))

    def vlans(self, physnet: str) -> Iterator[int]:
        """The VLANs of one physnet, ascending, each once (ranges may overlap)."""
        spans = sorted(self.ranges.get(physnet, ()))
        next_vlan = MIN_VLAN
        for low, high in spans:
            yield from range(max(low, next_vlan), high + 1)
            next_vlan = max(next_vlan, high + 1)

    def __iter__(self) -> Iterator[tuple[str, int]]:
        for physnet in self.ranges:
            for vlan in self.vlans(physnet):
                yield physnet, vlan
