"""Store errors, with stable codes like every pcinet error."""

from __future__ import annotations

from pcinet.core.errors import PcinetError


class ConcurrentUpdate(PcinetError):
    """The host changed since the caller's view of it (its generation moved on, or the
    devices of the claim are no longer free in the database). Refresh and decide again."""

    code = "concurrent_update"


class DeviceInUse(PcinetError):
    """An inventory report would drop a device that a server holds."""

    code = "device_in_use"


class SegmentInUse(PcinetError):
    """A segment's VLAN (or flat physnet, or overlay id) belongs to another segment already."""

    code = "vlan_in_use"


class PortInUse(PcinetError):
    """The port is already used by another server."""

    code = "port_in_use"


class MacAddressInUse(PcinetError):
    """Another port of the network has this MAC address."""

    code = "mac_address_in_use"


class LentMacTaken(MacAddressInUse):
    """A port cannot take the MAC a ``direct-physical`` binding lends it (its PF's): another
    port of its network has that MAC, as its MAC or as its own MAC lent away. ``holder`` is
    that port's id when the store knows it; after a unique violation it does not, and with
    several ports lent a MAC not even which of them (``port_id`` None): read again."""

    def __init__(self, message: str, *, port_id: str | None, holder: str | None) -> None:
        super().__init__(message, field="ports")
        self.port_id, self.holder = port_id, holder
