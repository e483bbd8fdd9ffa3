"""Domain errors.

Every error carries a stable ``code`` (never renamed once published: the API and the CLI
print it) and, where one input property is at fault, the ``field`` naming it. The mapping
from these errors to HTTP statuses lives in one place (``pcinet.api.errors``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar


class PcinetError(Exception):
    """Base of all pcinet domain errors."""

    code: ClassVar[str] = "pcinet_error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def to_dict(self) -> dict[str, object]:
        body: dict[str, object] = {"code": self.code, "message": self.message}
        if self.field is not None:
            body["field"] = self.field
        return body


class InvalidInput(PcinetError):
    """Input that is malformed; the message names the property."""

    code = "invalid_input"


class InvalidAddress(InvalidInput):
    code = "invalid_pci_address"


class InvalidDevice(InvalidInput):
    code = "invalid_device"


class InvalidDeviceSpec(InvalidInput):
    code = "invalid_device_spec"


class InvalidAlias(InvalidInput):
    code = "invalid_alias"


class InvalidFlavor(InvalidInput):
    code = "invalid_flavor"


class InvalidNetwork(InvalidInput):
    code = "invalid_network"


class InvalidPort(InvalidInput):
    code = "invalid_port"


class NetworkNotServable(PcinetError):
    """A port needs a device, but no device anywhere is tagged with any physnet of its network.

    This is a configuration problem, reported as such instead of a silent "no valid host".
    """

    code = "network_not_servable"


class DeviceUnavailable(PcinetError):
    """A claim named a device that is not free (allocated, or blocked by the PF/VF rules)."""

    code = "device_unavailable"


class ConsistencyError(PcinetError):
    """Internal consistency broken: e.g. a bound device cannot reach the port's network.

    With scheduling done right this never happens; when it does it is a bug or a race,
    never a user error.
    """

    code = "binding_inconsistent"


class NoValidHost(PcinetError):
    """No host can take the request. ``hosts`` maps host name to the reason it was rejected
    (possibly only a sample of ``hosts_total`` rejected hosts); ``groups`` counts hosts by
    reason message; ``reasons`` lists the same groups keyed by reason code:
    ``{"code", "message", "count"}``, largest first."""

    code = "no_valid_host"

    def __init__(
        self,
        message: str,
        *,
        hosts: Mapping[str, str] | None = None,
        groups: Mapping[str, int] | None = None,
        reasons: Sequence[tuple[str, str, int]] = (),
        hosts_total: int | None = None,
    ) -> None:
        super().__init__(message)
        self.hosts = dict(hosts or {})
        self.groups = dict(groups or {})
        self.reasons = list(reasons)
        self.hosts_total = len(self.hosts) if hosts_total is None else hosts_total

    def to_dict(self) -> dict[str, object]:
        body = super().to_dict()
        body["hosts"] = self.hosts
        body["hosts_total"] = self.hosts_total
        body["groups"] = self.groups
        body["reasons"] = [
            {"code": code, "message": message, "count": count}
            for code, message, count in self.reasons
        ]
        return body
