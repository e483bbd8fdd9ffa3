"""Neutron networks and their segments (structure only).

A network is one or more segments. Neutron shows a single-segment network with the
``provider:*`` properties on the network object and a multi-segment one with a
``segments`` list; ``Network.from_dict`` accepts either form, never both.

Which device can reach a network is decided by physnet: a flat or vlan segment lives on
its ``provider:physical_network``; an overlay segment (vxlan, geneve, gre) has none, and
is reached through devices explicitly tagged ``physical_network: null``. Allocating
tenant VLANs from ``network_vlan_ranges`` is a service concern, not this module's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pcinet.core.errors import InvalidNetwork
from pcinet.core.schema import NetworkFile, SegmentFile, check_keys

NETWORK_TYPE = "provider:network_type"
PHYSICAL_NETWORK = "provider:physical_network"
SEGMENTATION_ID = "provider:segmentation_id"
PROVIDER_KEYS = (NETWORK_TYPE, PHYSICAL_NETWORK, SEGMENTATION_ID)


class NetworkType(StrEnum):
    FLAT = "flat"
    VLAN = "vlan"
    VXLAN = "vxlan"
    GENEVE = "geneve"
    GRE = "gre"


OVERLAY_TYPES: frozenset[NetworkType] = frozenset(
    {NetworkType.VXLAN, NetworkType.GENEVE, NetworkType.GRE}
)

# Valid segmentation ids per type (inclusive), and what operators call them.
_ID_RANGES: Mapping[NetworkType, tuple[str, int, int]] = {
    NetworkType.VLAN: ("VLAN", 1, 4094),
    NetworkType.VXLAN: ("VNI", 1, 2**24 - 1),
    NetworkType.GENEVE: ("VNI", 1, 2**24 - 1),
    NetworkType.GRE: ("GRE key", 1, 2**32 - 1),
}


def _fail(where: str, key: str, reason: str) -> InvalidNetwork:
    name = f"{where}.{key}" if key else where
    return InvalidNetwork(f"{name}: {reason}", field=name)


@dataclass(frozen=True, slots=True)
class Segment:
    """One segment: ``physical_network`` is None exactly for overlay types; a vlan segment's
    ``segmentation_id`` is None only while the service has not allocated it yet."""

    network_type: NetworkType
    physical_network: str | None
    segmentation_id: int | None

    @property
    def is_overlay(self) -> bool:
        return self.network_type in OVERLAY_TYPES

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], *, where: str, allow_unset_vlan: bool = False
    ) -> Segment:
        """Build a segment from the three ``provider:*`` keys; errors name ``where.<key>``.

        >>> seg = Segment.from_dict({"provider:network_type": "vlan",
        ...     "provider:physical_network": "phy1", "provider:segmentation_id": 100}, where="s")
        >>> (seg.physical_network, seg.segmentation_id)
        ('phy1', 100)
        """
        if not isinstance(data, Mapping):
            raise _fail(where, "", f"expected an object, got {data!r}")
        check_keys(
            data, SegmentFile, where, error=InvalidNetwork, unknown="unknown segment property"
        )
        raw_type = data[NETWORK_TYPE]
        if raw_type is None:  # as good as missing
            raise _fail(where, NETWORK_TYPE, "required property is missing")
        try:
            net_type = NetworkType(raw_type)
        except ValueError:
            valid = ", ".join(t.value for t in NetworkType)
            raise _fail(where, NETWORK_TYPE, f"{raw_type!r} is not one of {valid}") from None
        physnet = data.get(PHYSICAL_NETWORK)
        seg_id = data.get(SEGMENTATION_ID)
        if net_type in OVERLAY_TYPES:
            if physnet is not None:
                raise _fail(
                    where, PHYSICAL_NETWORK, f"a {net_type} segment has no physical network"
                )
        elif not isinstance(physnet, str) or not physnet.strip():
            raise _fail(
                where,
                PHYSICAL_NETWORK,
                f"a {net_type} segment needs a physical network (a non-empty string), "
                f"got {physnet!r}",
            )
        if net_type is NetworkType.FLAT:
            if seg_id is not None:
                raise _fail(where, SEGMENTATION_ID, "a flat segment has no segmentation id")
        elif seg_id is None:
            if net_type is NetworkType.VLAN and not allow_unset_vlan:
                raise _fail(where, SEGMENTATION_ID, "a vlan segment needs a VLAN id (1-4094)")
        else:
            label, low, high = _ID_RANGES[net_type]
            if not isinstance(seg_id, int) or isinstance(seg_id, bool):
                raise _fail(where, SEGMENTATION_ID, f"expected an integer, got {seg_id!r}")
            if not low <= seg_id <= high:
                raise _fail(where, SEGMENTATION_ID, f"{label} {seg_id} is outside {low}-{high}")
        return cls(net_type, physnet, seg_id)

    def to_dict(self) -> dict[str, Any]:
        """The three ``provider:*`` keys, as Neutron shows them (absent values as null)."""
        return {
            NETWORK_TYPE: self.network_type.value,
            PHYSICAL_NETWORK: self.physical_network,
            SEGMENTATION_ID: self.segmentation_id,
        }


def _clash_key(segment: Segment) -> tuple[NetworkType, str | None, int | None] | None:
    """Two segments with the same key would carry the same traffic on the same wire."""
    if segment.network_type is NetworkType.FLAT or segment.segmentation_id is not None:
        return (segment.network_type, segment.physical_network, segment.segmentation_id)
    return None


def _clash_reason(segment: Segment, other: str) -> str:
    if segment.network_type is NetworkType.FLAT:
        return f"physnet {segment.physical_network} already has a flat segment ({other})"
    if segment.network_type is NetworkType.VLAN:
        return (
            f"VLAN {segment.segmentation_id} on physnet {segment.physical_network} "
            f"is already used by {other}"
        )
    return f"{segment.network_type} id {segment.segmentation_id} is already used by {other}"


@dataclass(frozen=True, slots=True)
class Network:
    """A named network of one or more segments; ``id`` is Neutron's, when known."""

    name: str
    segments: tuple[Segment, ...]
    id: str | None = None

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], *, where: str = "network", allow_unset_vlan: bool = False
    ) -> Network:
        """Build a network from a Neutron-shaped object; errors name ``where.<property>``.

        Either the ``provider:*`` keys (one segment) or ``segments`` (a non-empty list of
        objects with those keys), not both. ``allow_unset_vlan`` lets vlan segments come
        without a VLAN id, for the service to allocate one.
        """
        if not isinstance(data, Mapping):
            raise _fail(where, "", f"expected an object, got {data!r}")
        check_keys(
            data,
            NetworkFile,
            where,
            error=InvalidNetwork,
            unknown="unknown network property",
            required=False,  # a missing name is named below, with what was given
        )
        name = data.get("name")
        if not isinstance(name, str) or not name.strip():
            raise _fail(where, "name", f"expected a non-empty string, got {name!r}")
        net_id = data.get("id")
        if net_id is not None and (not isinstance(net_id, str) or not net_id):
            raise _fail(where, "id", f"expected a non-empty string, got {net_id!r}")

        provider = {k: data[k] for k in PROVIDER_KEYS if k in data}
        if "segments" in data and provider:
            raise _fail(
                where, "segments", "cannot be combined with provider:* properties on the network"
            )
        if "segments" in data:
            raw = data["segments"]
            if not isinstance(raw, list | tuple) or not raw:
                raise _fail(where, "segments", "expected a non-empty list of segments")
            segments = tuple(
                Segment.from_dict(
                    s, where=f"{where}.segments[{i}]", allow_unset_vlan=allow_unset_vlan
                )
                for i, s in enumerate(raw)
            )
            seg_where = [f"{where}.segments[{i}]" for i in range(len(segments))]
        elif provider:
            segments = (
                Segment.from_dict(provider, where=where, allow_unset_vlan=allow_unset_vlan),
            )
            seg_where = [where]
        else:
            raise _fail(
                where, NETWORK_TYPE, "a network needs provider:network_type or a segments list"
            )

        seen: dict[tuple[NetworkType, str | None, int | None], int] = {}
        for i, segment in enumerate(segments):
            key = _clash_key(segment)
            if key is None:
                continue
            if key in seen:
                other = f"segments[{seen[key]}]"
                field = SEGMENTATION_ID if segment.segmentation_id is not None else PHYSICAL_NETWORK
                raise _fail(seg_where[i], field, _clash_reason(segment, other))
            seen[key] = i
        return cls(name=name, segments=segments, id=net_id)

    def to_dict(self) -> dict[str, Any]:
        """Neutron's shape: ``provider:*`` for one segment, ``segments`` for several."""
        out: dict[str, Any] = {"name": self.name}
        if self.id is not None:
            out["id"] = self.id
        if len(self.segments) == 1:
            out.update(self.segments[0].to_dict())
        else:
            out["segments"] = [s.to_dict() for s in self.segments]
        return out

    @property
    def physnets(self) -> frozenset[str | None]:
        """The physnet of each flat/vlan segment, and None for each overlay segment."""
        return frozenset(s.physical_network for s in self.segments)

    def segment_for_physnet(self, physnet: str | None) -> Segment | None:
        """The first segment on ``physnet`` (None: the first overlay segment), if any."""
        for segment in self.segments:
            if segment.physical_network == physnet:
                return segment
        return None


def describe_physnets(physnets: frozenset[str | None]) -> str:
    """Operator words for a network's physnets: ``physnet phy1``, ``physnets phy1, phy2``,
    ``overlay``, ``physnet phy1 and overlay``."""
    names = sorted(p for p in physnets if p is not None)
    parts = []
    if names:
        parts.append(("physnet " if len(names) == 1 else "physnets ") + ", ".join(names))
    if None in physnets:
        parts.append("overlay")
    return " and ".join(parts) or "no segment"
