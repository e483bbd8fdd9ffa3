"""PCI requests: what one server needs, as the scheduler sees it.

A server's needs become an ordered tuple of ``PciRequest``: first one per alias entry of
the flavor's ``pci_passthrough:alias`` (in order), then one per port whose vnic type needs a
device (in port order). Each request asks for ``count`` distinct devices, each of which must
satisfy at least one of its ``alternatives`` (a ``DeviceMatcher``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pcinet.core.boolean import bool_from_word
from pcinet.core.pci import DevType


class NumaPolicy(StrEnum):
    REQUIRED = "required"
    LEGACY = "legacy"
    PREFERRED = "preferred"
    SOCKET = "socket"


class RequestKind(StrEnum):
    ALIAS = "alias"
    PORT = "port"


def tag_is_true(value: Any) -> bool:
    """Lenient truth of a tag value as operators write it (``true``, ``"True"``, ``"yes"``):
    anything else, including unclear values, is false."""
    return bool_from_word(value) is True


# Sentinel meaning "the device has no such tag" (different from a tag whose value is None).
MISSING: Any = object()


@dataclass(frozen=True, slots=True)
class DeviceMatcher:
    """One acceptable kind of device. ``None`` fields do not constrain.

    - ``dev_types``: the device must be of one of these types.
    - ``physnets``: the device's ``physical_network`` tag must be present and in this set;
      ``None`` in the set stands for an explicit ``physical_network: null`` (overlay).
    - ``trusted``: when True the device's ``trusted`` tag must be true; when None, any.
    - ``remote_managed``: the device's ``remote_managed`` tag (absent = false) must equal it.
    """

    dev_types: frozenset[DevType]
    vendor_id: str | None = None
    product_id: str | None = None
    physnets: frozenset[str | None] | None = None
    trusted: bool | None = None
    remote_managed: bool | None = None
    resource_class: str | None = None
    traits: frozenset[str] = frozenset()

    def matches(
        self,
        dev_type: DevType,
        vendor_id: str,
        product_id: str,
        tags: Mapping[str, Any],
    ) -> bool:
        if dev_type not in self.dev_types:
            return False
        if self.vendor_id is not None and vendor_id != self.vendor_id:
            return False
        if self.product_id is not None and product_id != self.product_id:
            return False
        if self.physnets is not None:
            physnet = tags.get("physical_network", MISSING)
            if physnet is MISSING or physnet not in self.physnets:
                return False
        if self.trusted and not tag_is_true(tags.get("trusted")):
            return False
        if self.remote_managed is not None and (
            tag_is_true(tags.get("remote_managed")) != self.remote_managed
        ):
            return False
        if self.resource_class is not None:
            rc = tags.get("resource_class")
            if not isinstance(rc, str) or rc.upper() != self.resource_class.upper():
                return False
        if self.traits:
            have = tags.get("traits")
            names = {t.strip().upper() for t in have.split(",")} if isinstance(have, str) else set()
            if not {t.upper() for t in self.traits} <= names:
                return False
        return True

    def describe(self) -> str:
        """Operator words for the device this matcher wants, e.g. ``trusted VF on physnet phy1``."""
        kinds = sorted(self.dev_types, key=("type-VF", "type-PF", "type-PCI").index)
        noun = "/".join(
            {"type-VF": "VF", "type-PF": "PF", "type-PCI": "PCI device"}[t] for t in kinds
        )
        if self.dev_types == frozenset({DevType.VF, DevType.PCI}):
            noun = "VF"
        words = []
        if self.trusted:
            words.append("trusted")
        if self.remote_managed:
            words.append("remote-managed")
        words.append(noun)
        if self.vendor_id is not None or self.product_id is not None:
            words.append(f"{self.vendor_id or '*'}:{self.product_id or '*'}")
        if self.physnets is not None:
            names = sorted(p for p in self.physnets if p is not None)
            parts = []
            if names:
                parts.append("physnet " + " or ".join(names))
            if None in self.physnets:
                parts.append("overlay networks (physical_network null)")
            words.append(("on " if names else "for ") + " or ".join(parts))
        return " ".join(words)


@dataclass(frozen=True, slots=True)
class PciRequest:
    """``count`` distinct devices, each matching one of ``alternatives``.

    ``source`` names where it came from: the alias name for alias requests, the port's
    index (as a string) for port requests. ``numa_policy`` applies only when the guest
    has a NUMA topology.
    """

    kind: RequestKind
    source: str
    count: int
    alternatives: tuple[DeviceMatcher, ...]
    numa_policy: NumaPolicy = NumaPolicy.LEGACY

    def matches(
        self, dev_type: DevType, vendor_id: str, product_id: str, tags: Mapping[str, Any]
    ) -> bool:
        return any(m.matches(dev_type, vendor_id, product_id, tags) for m in self.alternatives)

    def describe(self) -> str:
        what = " or ".join(dict.fromkeys(m.describe() for m in self.alternatives))
        if self.kind is RequestKind.ALIAS:
            return f"{what} (alias {self.source})"
        return what
