"""Neutron ports, and the PCI request a port makes of the scheduler.

This is "option 2" of the January 2014 thread: the network tells the scheduler what the
port needs. A port whose vnic type needs a device asks for one device on any physnet of
its network (Nova takes only the first segment's), trusted when the port's
``binding:profile`` says so, a PF for ``direct-physical`` and a VF otherwise. A port on an
overlay network asks for a device explicitly tagged ``physical_network: null`` (Nova also
accepts untagged devices there).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from pcinet.core.boolean import strict_bool
from pcinet.core.errors import InvalidInput, InvalidPort, NetworkNotServable
from pcinet.core.network import Network, describe_physnets
from pcinet.core.pci import DevType
from pcinet.core.request import DeviceMatcher, NumaPolicy, PciRequest, RequestKind
from pcinet.core.schema import PortFile, check_keys


class VnicType(StrEnum):
    NORMAL = "normal"
    DIRECT = "direct"
    MACVTAP = "macvtap"
    DIRECT_PHYSICAL = "direct-physical"
    VIRTIO_FORWARDER = "virtio-forwarder"
    REMOTE_MANAGED = "remote-managed"
    VDPA = "vdpa"
    BAREMETAL = "baremetal"


PCI_VNIC_TYPES: frozenset[VnicType] = frozenset(
    {
        VnicType.DIRECT,
        VnicType.MACVTAP,
        VnicType.DIRECT_PHYSICAL,
        VnicType.VIRTIO_FORWARDER,
        VnicType.REMOTE_MANAGED,
        VnicType.VDPA,
    }
)

_MAC_RE = re.compile(r"^[0-9a-f]{2}([:-])[0-9a-f]{2}(?:\1[0-9a-f]{2}){4}$", re.IGNORECASE)

_EMPTY: Mapping[str, Any] = MappingProxyType({})


def normalize_mac(value: Any, *, field: str, error: type[InvalidInput] = InvalidPort) -> str:
    """A unicast MAC address (``:`` or ``-`` separated) as ``aa:bb:cc:dd:ee:ff``.

    Multicast, broadcast and all-zero addresses are refused: a VF cannot take them, and
    finding out when the host programs the VF would be too late.
    """
    if not isinstance(value, str) or _MAC_RE.match(value.strip()) is None:
        raise error(f"{field}: {value!r} is not a MAC address like aa:bb:cc:dd:ee:ff", field=field)
    mac = value.strip().lower().replace("-", ":")
    if int(mac[:2], 16) & 1:
        raise error(f"{field}: {mac} is a multicast address, not a unicast one", field=field)
    if mac == "00:00:00:00:00:00":
        raise error(f"{field}: {mac} is not a usable address", field=field)
    return mac


@dataclass(frozen=True, slots=True)
class Port:
    """A port as the scheduler and binding need it.

    ``network`` names the port's network (its name or id, as the caller resolves it).
    ``profile`` is ``binding:profile``, kept read-only; its ``trusted`` key, when present,
    must be a boolean or a strict boolean string.
    """

    network: str
    vnic_type: VnicType = VnicType.NORMAL
    profile: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    mac_address: str | None = None
    port_security_enabled: bool = True
    admin_state_up: bool = True
    numa_affinity_policy: NumaPolicy | None = None
    id: str | None = None
    name: str | None = None

    def __post_init__(self) -> None:
        if type(self.vnic_type) is not VnicType:
            # A plain string passes ``needs_device`` but not the matchers' identity checks:
            # a direct-physical port would silently ask for a VF.
            try:
                object.__setattr__(self, "vnic_type", VnicType(self.vnic_type))
            except ValueError:
                valid = ", ".join(v.value for v in VnicType)
                raise InvalidPort(
                    f"binding:vnic_type: {self.vnic_type!r} is not one of {valid}",
                    field="binding:vnic_type",
                ) from None
        if not isinstance(self.profile, MappingProxyType):
            object.__setattr__(self, "profile", MappingProxyType(dict(self.profile)))
        if "trusted" in self.profile:
            strict_bool(self.profile["trusted"], field="binding:profile.trusted", error=InvalidPort)

    @property
    def trusted(self) -> bool:
        """``binding:profile.trusted``; absent means untrusted."""
        if "trusted" not in self.profile:
            return False
        return strict_bool(
            self.profile["trusted"], field="binding:profile.trusted", error=InvalidPort
        )

    @property
    def needs_device(self) -> bool:
        return self.vnic_type in PCI_VNIC_TYPES

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, where: str = "port") -> Port:
        """Build a port from a Neutron-shaped object; errors name ``where.<property>``.

        ``network`` or ``network_id`` (one of them) is required. ``name`` and ``id`` are
        kept; ``description``, ``project_id`` and ``tenant_id`` are accepted and ignored.
        """

        def fail(key: str, reason: str) -> InvalidPort:
            return InvalidPort(f"{where}.{key}: {reason}", field=f"{where}.{key}")

        if not isinstance(data, Mapping):
            raise InvalidPort(f"{where}: expected an object, got {data!r}", field=where)
        check_keys(data, PortFile, where, error=InvalidPort, unknown="unknown port property")
        if "network" in data and "network_id" in data:
            raise fail("network_id", "give network or network_id, not both")
        net_key = "network_id" if "network_id" in data else "network"
        network = data.get(net_key)
        if not isinstance(network, str) or not network.strip():
            raise fail(net_key, f"expected a non-empty string, got {network!r}")

        raw_vnic = data.get("binding:vnic_type")
        try:
            vnic = VnicType.NORMAL if raw_vnic is None else VnicType(raw_vnic)
        except ValueError:
            valid = ", ".join(v.value for v in VnicType)
            raise fail("binding:vnic_type", f"{raw_vnic!r} is not one of {valid}") from None

        profile = data.get("binding:profile")
        if profile is None:
            profile = {}
        if not isinstance(profile, Mapping):
            raise fail("binding:profile", f"expected an object, got {profile!r}")
        if "trusted" in profile:
            strict_bool(
                profile["trusted"], field=f"{where}.binding:profile.trusted", error=InvalidPort
            )

        mac = data.get("mac_address")
        if mac is not None:
            mac = normalize_mac(mac, field=f"{where}.mac_address")

        flags = {
            key: strict_bool(data[key], field=f"{where}.{key}", error=InvalidPort)
            if key in data
            else True
            for key in ("port_security_enabled", "admin_state_up")
        }

        raw_policy = data.get("numa_affinity_policy")
        try:
            policy = None if raw_policy is None else NumaPolicy(raw_policy)
        except ValueError:
            valid = ", ".join(p.value for p in NumaPolicy)
            raise fail("numa_affinity_policy", f"{raw_policy!r} is not one of {valid}") from None

        for key in ("id", "name"):
            if data.get(key) is not None and not isinstance(data[key], str):
                raise fail(key, f"expected a string, got {data[key]!r}")

        return cls(
            network=network,
            vnic_type=vnic,
            profile=MappingProxyType(dict(profile)),
            mac_address=mac,
            port_security_enabled=flags["port_security_enabled"],
            admin_state_up=flags["admin_state_up"],
            numa_affinity_policy=policy,
            id=data.get("id"),
            name=data.get("name"),
        )


def port_matcher(port: Port, network: Network) -> DeviceMatcher:
    """The device ``port`` can use on ``network`` (whatever its vnic type)."""
    if port.vnic_type is VnicType.DIRECT_PHYSICAL:
        dev_types = frozenset({DevType.PF})
    else:
        # A VF request never takes a PF: that would block all the PF's VFs.
        dev_types = frozenset({DevType.VF, DevType.PCI})
    return DeviceMatcher(
        dev_types=dev_types,
        physnets=network.physnets,
        # An untrusted port may take a trusted VF, as in Nova.
        trusted=True if port.trusted else None,
        remote_managed=port.vnic_type is VnicType.REMOTE_MANAGED,
    )


def port_request(
    index: int,
    port: Port,
    network: Network,
    *,
    numa_policy: NumaPolicy = NumaPolicy.LEGACY,
    servable_physnets: AbstractSet[str | None] | None = None,
) -> PciRequest | None:
    """The request for port number ``index`` of a server, or None if it needs no device.

    ``numa_policy`` applies unless the port sets its own ``numa_affinity_policy``.
    ``servable_physnets``, when given, holds the ``physical_network`` tag values present on
    any assignable device of the cloud (None: an explicit null). A port none of whose
    network's physnets is among them raises NetworkNotServable instead of leaving the
    scheduler to answer "no valid host".
    """
    if port.vnic_type not in PCI_VNIC_TYPES:
        return None
    physnets = network.physnets
    if servable_physnets is not None and not physnets & servable_physnets:
        names = sorted(p for p in physnets if p is not None)
        wanted = " or ".join(names + (["null"] if None in physnets else []))
        raise NetworkNotServable(
            f"port {index}: network {network.name!r} ({describe_physnets(physnets)}) cannot be "
            f"served: no device in the cloud is tagged with physical_network {wanted}",
            field=f"ports[{index}].network",
        )
    return PciRequest(
        kind=RequestKind.PORT,
        source=str(index),
        count=1,
        alternatives=(port_matcher(port, network),),
        numa_policy=port.numa_affinity_policy or numa_policy,
    )


def server_requests(
    alias_requests: Sequence[PciRequest],
    ports: Sequence[tuple[Port, Network]],
    *,
    numa_policy: NumaPolicy | None = None,
    servable_physnets: AbstractSet[str | None] | None = None,
) -> tuple[PciRequest, ...]:
    """All PCI requests of a server: the alias requests as given, then one per port that
    needs a device, in port order, each with ``source`` = its position in ``ports``.

    ``numa_policy`` is the flavor's ``hw:pci_numa_affinity_policy``; it applies to port
    requests whose port sets none (default: legacy).
    """
    requests = list(alias_requests)
    for index, (port, network) in enumerate(ports):
        request = port_request(
            index,
            port,
            network,
            numa_policy=numa_policy or NumaPolicy.LEGACY,
            servable_physnets=servable_physnets,
        )
        if request is not None:
            requests.append(request)
    return tuple(requests)
