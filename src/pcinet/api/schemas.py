"""What the API answers, as pydantic models: they document ``/openapi.json`` (the views in
``pcinet.service.views`` build the JSON; the handlers do not re-validate it, which would
cost the placement path; the fuzz test checks that every answer matches its model)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class View(BaseModel):
    model_config = ConfigDict(populate_by_name=True)


class ErrorDetail(View):
    code: str = Field(description="a stable code, e.g. invalid_request, not_found")
    message: str = Field(description="what went wrong, naming the field (at most ~300 chars)")
    field: str | None = Field(None, description="the input property at fault")
    hosts: dict[str, str] | None = Field(None, description="no_valid_host: host -> reason")
    groups: dict[str, int] | None = Field(None, description="no_valid_host: reason -> hosts")


class ErrorBody(View):
    error: ErrorDetail


_WHEN = {
    400: "invalid input (invalid_request, or the core's invalid_* code), naming the field",
    401: "unauthorized: no bearer token, or an unknown one",
    403: "forbidden: the token's role may not do this",
    404: "not_found: no such resource, or another project's",
    409: "a conflict; the code says which (e.g. vlan_in_use, port_in_use, no_valid_host)",
    413: "request_too_large: the body is over the size limit",
    500: "binding_inconsistent: an internal consistency error (a bug, never a user error)",
    503: "database_unavailable (the database is unavailable or busy; retry after the "
    "Retry-After header's seconds), or no_network_available",
}
# Every operation reaches the database (the token lookup; /healthz reads the schema
# revision), so every one may answer 503 database_unavailable (``api.dbdown``).
_ALWAYS = (503,)


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses`` of an operation that may answer ``statuses`` with an error body,
    plus 503 ``database_unavailable``, which every operation may answer."""
    every = sorted({*statuses, *_ALWAYS})
    return {s: {"model": ErrorBody, "description": _WHEN[s]} for s in every}


def answers(status: int, model: Any, *error_statuses: int) -> dict[str, Any]:
    """Route keywords: success ``status`` with ``model`` documented (not re-validated: the
    views build the JSON) and the error statuses; 401 for every authenticated route."""
    return {
        "status_code": status,
        "response_model": None,
        "responses": {status: {"model": model}, **errors(*error_statuses)},
    }


class Health(View):
    status: Literal["ok"]
    schema_: str | None = Field(alias="schema")


class Segment(View):
    network_type: str = Field(alias="provider:network_type")
    physical_network: str | None = Field(alias="provider:physical_network")
    segmentation_id: int | None = Field(alias="provider:segmentation_id")


class NetworkView(View):
    """``provider:*`` (one segment) or ``segments`` are shown to admin and service only."""

    id: str
    name: str
    description: str
    project_id: str
    tenant_id: str
    shared: bool
    admin_state_up: bool
    status: str
    created_at: str | None
    network_type: str | None = Field(None, alias="provider:network_type")
    physical_network: str | None = Field(None, alias="provider:physical_network")
    segmentation_id: int | None = Field(None, alias="provider:segmentation_id")
    segments: list[Segment] | None = None


class PortView(View):
    id: str
    name: str
    description: str
    network_id: str
    project_id: str
    tenant_id: str
    mac_address: str
    vnic_type: str = Field(alias="binding:vnic_type")
    profile: dict[str, Any] = Field(alias="binding:profile")
    host_id: str = Field(alias="binding:host_id")
    vif_type: str = Field(alias="binding:vif_type")
    vif_details: dict[str, Any] = Field(alias="binding:vif_details")
    port_security_enabled: bool
    admin_state_up: bool
    status: Literal["DOWN", "BUILD", "ACTIVE", "ERROR"]
    status_reason: str | None
    device_id: str
    numa_affinity_policy: str | None
    min_tx_rate: int | None
    max_tx_rate: int | None
    pci_slot: str | None
    created_at: str | None
    updated_at: str | None


class ServerDevice(View):
    address: str
    dev_type: str
    request: int
    alias: str | None


class ServerView(View):
    id: str
    name: str
    description: str
    project_id: str
    tenant_id: str
    host: str | None
    status: str
    flavor: dict[str, Any]
    numa_cells: list[dict[str, Any]]
    created_at: str | None
    ports: list[PortView]
    pci_devices: list[ServerDevice]


class HostCell(View):
    id: int
    vcpus: int
    memory_mb: int
    socket: int | None
    vcpus_used: int
    memory_used_mb: int


class HostDevice(View):
    address: str
    vendor_id: str
    product_id: str
    dev_type: str
    parent_address: str | None
    numa_node: int | None
    devname: str | None
    tags: dict[str, Any]
    status: Literal["available", "allocated", "unavailable"]
    server_id: str | None
    reported_status: Literal["available", "allocated"] = Field(
        description="as the host reported it: allocated is in use outside pcinet"
    )


class UnselectedDevice(View):
    """A device no device spec selects that the host reports allocated."""

    address: str
    vendor_id: str
    product_id: str
    dev_type: str
    parent_address: str | None


class HostView(View):
    """``devices`` and ``unselected_allocated`` only in ``GET /v1/hosts/{name}`` and the
    report's answer."""

    name: str
    vcpus: int
    memory_mb: int
    vcpus_used: int
    memory_used_mb: int
    numa_cells: list[HostCell]
    disabled: bool
    alive: bool
    heartbeat_at: str | None
    generation: int
    device_count: int
    devices_free: int
    device_spec: list[Any] | None
    created_at: str | None
    updated_at: str | None
    devices: list[HostDevice] | None = None
    unselected_allocated: list[UnselectedDevice] | None = None


class VfStateRow(View):
    pci_address: str
    pf: str | None = Field(description="the PF's netdev, when known")
    vf_index: int | None = Field(description="the VF's index under its PF, when known")
    port_id: str | None
    action: Literal["apply", "restore"]
    desired: dict[str, Any]
    original: dict[str, Any] | None
    generation: int
    applied_generation: int | None
    reported_status: str | None
    reported_error: str | None
    updated_at: str | None


class VfStateView(View):
    host: str
    vfs: list[VfStateRow]


class TokenView(View):
    id: str = Field(description="not a secret: names the token in GET and DELETE")
    project_id: str
    role: Literal["member", "admin", "service"]
    host: str | None = Field(description="the one host a service token acts for")
    expires_at: str | None
    created_at: str | None
    configured: bool = Field(description="the token of PCINET_ADMIN_TOKEN")


class Token(TokenView):
    token: str = Field(description="shown only here")


class QuotaDefaults(View):
    quotas: dict[str, int] = Field(description="resource -> limit (-1: unlimited)")


class QuotaView(QuotaDefaults):
    project_id: str
    overrides: dict[str, int] = Field(description="the project's own limits")
    usage: dict[str, int]


class HostVerdict(View):
    host: str
    fits: bool
    score: float | None = Field(description="the weighers' score when it fits")
    reason: str | None = Field(description="why the host was rejected, when it does not fit")


class WhyNotView(View):
    host: str | None = Field(description="where the boot would go now; null if no host fits")
    devices: list[list[str]] = Field(description="per PCI request, the devices' addresses")
    hosts: list[HostVerdict] = Field(description="every host's verdict, by name")
