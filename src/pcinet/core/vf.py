"""A VF's settings as the kernel holds them (``ip link set <pf> vf N ...``), and the
differences between two of them, grouped as netlink programs them.

The settings are a ``VfConfig``; the controller's ``desired`` object (the VF-state feed)
becomes one with ``VfConfig.from_desired``. ``changes(actual, wanted)`` lists the groups to
program: a VLAN is sent with its QoS and protocol, and the two tx rates always together,
because netlink zeroes the one a request leaves out.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from pcinet.core.errors import InvalidInput
from pcinet.core.schema import check_keys

PROTOS = ("802.1Q", "802.1ad")
LINK_STATES = ("auto", "enable", "disable")
ZERO_MAC = "00:00:00:00:00:00"
MAX_VLAN = 4095
MAX_QOS = 7
MAX_RATE = 0xFFFFFFFF
_MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")

# The groups one netlink attribute programs, in the order they are sent.
GROUPS: dict[str, tuple[str, ...]] = {
    "mac": ("mac",),
    "vlan": ("vlan", "qos", "proto"),
    "rate": ("min_tx_rate", "max_tx_rate"),
    "spoofchk": ("spoofchk",),
    "trust": ("trust",),
    "link_state": ("link_state",),
}


@dataclass(frozen=True, slots=True)
class VfConfig:
    """One VF's settings. Rates are Mbps, 0 = no limit. ``spoofchk``/``trust`` are None when
    the driver of the device does not report them."""

    vlan: int = 0
    qos: int = 0
    proto: str = "802.1Q"
    mac: str = ZERO_MAC
    spoofchk: bool | None = True
    trust: bool | None = False
    link_state: str = "auto"
    min_tx_rate: int = 0
    max_tx_rate: int = 0

    def __post_init__(self) -> None:
        _check_int("vlan", self.vlan, MAX_VLAN)
        _check_int("qos", self.qos, MAX_QOS)
        _check_int("min_tx_rate", self.min_tx_rate, MAX_RATE)
        _check_int("max_tx_rate", self.max_tx_rate, MAX_RATE)
        if self.proto not in PROTOS:
            raise InvalidInput(
                f"proto: {self.proto!r} is not one of {', '.join(PROTOS)}", field="proto"
            )
        if self.link_state not in LINK_STATES:
            raise InvalidInput(
                f"link_state: {self.link_state!r} is not one of {', '.join(LINK_STATES)}",
                field="link_state",
            )
        if not isinstance(self.mac, str) or not _MAC.match(self.mac):
            raise InvalidInput(f"mac: {self.mac!r} is not a MAC address", field="mac")
        for name in ("spoofchk", "trust"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, bool):
                raise InvalidInput(f"{name}: expected true or false, got {value!r}", field=name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "vlan": self.vlan,
            "qos": self.qos,
            "proto": self.proto,
            "mac": self.mac,
            "spoofchk": self.spoofchk,
            "trust": self.trust,
            "link_state": self.link_state,
            "min_tx_rate": self.min_tx_rate,
            "max_tx_rate": self.max_tx_rate,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str = "vf") -> VfConfig:
        """From ``to_dict``'s shape; every key optional (the defaults are a fresh VF's)."""
        check_keys(data, cls, where, error=InvalidInput, unknown="unknown VF setting")
        values = dict(data)
        if isinstance(values.get("mac"), str):
            values["mac"] = values["mac"].lower()
        try:
            return cls(**values)
        except InvalidInput as exc:
            raise InvalidInput(f"{where}.{exc.message}", field=f"{where}.{exc.field}") from None

    @classmethod
    def from_desired(cls, desired: Mapping[str, Any], where: str = "desired") -> VfConfig:
        """The controller's desired state: null VLAN and rates mean 0 (none), a missing
        ``qos``/``proto`` means 0 and 802.1Q."""
        values = {k: v for k, v in desired.items() if v is not None}
        for key in ("spoofchk", "trust"):
            if key in desired and desired[key] is None:
                values[key] = cls.__dataclass_fields__[key].default
        return cls.from_dict(values, where)


def _check_int(name: str, value: object, maximum: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= maximum:
        raise InvalidInput(f"{name}: expected an integer 0-{maximum}, got {value!r}", field=name)


def changes(actual: VfConfig, wanted: VfConfig) -> dict[str, dict[str, Any]]:
    """The groups to program to turn ``actual`` into ``wanted``: group name -> every setting
    of that group, as wanted (a VLAN with its QoS and protocol, both rates together)."""
    out: dict[str, dict[str, Any]] = {}
    for group, names in GROUPS.items():
        if any(getattr(actual, n) != getattr(wanted, n) for n in names):
            out[group] = {n: getattr(wanted, n) for n in names}
    return out


def with_changes(config: VfConfig, groups: Mapping[str, Mapping[str, Any]]) -> VfConfig:
    """``config`` with the settings of ``groups`` (what ``changes`` returned) applied."""
    values: dict[str, Any] = {}
    for group in groups.values():
        values.update(group)
    return replace(config, **values)


def differences(actual: VfConfig, wanted: VfConfig) -> list[str]:
    """``name=actual (wanted W)`` for each setting that differs, for error messages."""
    return [
        f"{f.name}={getattr(actual, f.name)} (wanted {getattr(wanted, f.name)})"
        for f in fields(VfConfig)
        if getattr(actual, f.name) != getattr(wanted, f.name)
    ]
