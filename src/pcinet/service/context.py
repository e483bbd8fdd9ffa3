"""Who is calling: the project and role a bearer token stands for."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pcinet.service.errors import Forbidden

Role = Literal["member", "admin", "service"]
ADMIN_PROJECT = "admin"


@dataclass(frozen=True, slots=True)
class Caller:
    project_id: str
    role: Role

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def sees_provider(self) -> bool:
        """``provider:*`` attributes are shown to admins and agents only (as in Neutron)."""
        return self.role in ("admin", "service")

    def owns(self, project_id: str) -> bool:
        return self.is_admin or self.project_id == project_id

    def require(self, *roles: Role, action: str) -> None:
        if self.role not in roles:
            allowed = " or ".join(roles)
            raise Forbidden(f"{action} needs role {allowed}; this token has role {self.role}")


ADMIN = Caller(ADMIN_PROJECT, "admin")
