"""Who is calling: the project and role a bearer token stands for."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pcinet.service.errors import Forbidden

Role = Literal["member", "admin", "service"]
ADMIN_PROJECT = "admin"


@dataclass(frozen=True, slots=True)
class Caller:
    """``host``: the one host a host-bound service token may act for (None: any host, or
    not a service token); ``token_id``: the token's non-secret id."""

    project_id: str
    role: Role
    host: str | None = None
    token_id: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def sees_provider(self) -> bool:
        """``provider:*`` attributes are shown to admins and agents only (as in Neutron)."""
        return self.role in ("admin", "service")

    @property
    def host_bound(self) -> bool:
        """A service token bound to one host: it sees only what is bound to that host."""
        return self.role == "service" and self.host is not None

    def owns(self, project_id: str) -> bool:
        """Admins own everything; a host-bound service token acts for its host, not for a
        project, so it owns nothing (even objects of the project it was minted in)."""
        return self.is_admin or (self.project_id == project_id and not self.host_bound)

    def acts_for_host(self, name: str) -> bool:
        """Whether the caller may act for host ``name`` (admins and unbound service tokens
        for every host; a host-bound service token for its own host only)."""
        return self.host is None or self.host == name

    def require_host(self, name: str, *, action: str) -> None:
        if not self.acts_for_host(name):
            raise Forbidden(f"{action} for host {name}: this token is bound to host {self.host}")

    def require(self, *roles: Role, action: str) -> None:
        if self.role not in roles:
            allowed = " or ".join(roles)
            raise Forbidden(f"{action} needs role {allowed}; this token has role {self.role}")


ADMIN = Caller(ADMIN_PROJECT, "admin")
