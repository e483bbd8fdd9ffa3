"""Service errors, with stable codes (their HTTP statuses are in ``pcinet.api.errors``)."""

from __future__ import annotations

from pcinet.core.errors import PcinetError


class NotFound(PcinetError):
    """No such resource, or one the caller may not see (the same answer, so that another
    project's resources do not leak)."""

    code = "not_found"


class Unauthorized(PcinetError):
    """No bearer token, or an unknown one."""

    code = "unauthorized"


class Forbidden(PcinetError):
    """The caller's role may not do this."""

    code = "forbidden"


class NoNetworkAvailable(PcinetError):
    """No tenant VLAN is left in ``network_vlan_ranges`` (Neutron's NoNetworkAvailable)."""

    code = "no_network_available"


class NetworkInUse(PcinetError):
    """The network still has ports."""

    code = "network_in_use"


class InvalidRequest(PcinetError):
    """The body is malformed (not an object, wrong type, unknown or missing property)."""

    code = "invalid_request"
