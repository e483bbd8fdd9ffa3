"""A thin HTTP client for the pcinet REST API (``docs/api.md``), used by the CLI and the demo.

One method per endpoint. Bodies and answers are the API's JSON as plain dicts and lists,
unchanged. A non-2xx answer raises ``ApiError`` carrying the HTTP status and the server's
error object (``code``, ``message``, ``field`` and, for ``no_valid_host``, ``hosts`` and
``groups``); a request that never got an answer (refused, reset, timed out) raises
``ApiError`` with status 0 and code ``connection_failed``, naming the URL.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any, cast
from urllib.parse import quote

import httpx

from pcinet.core.errors import PcinetError

DEFAULT_URL = "http://127.0.0.1:8774"
CONNECTION_FAILED = "connection_failed"

# Codes for error answers that do not carry the API's error object (e.g. a proxy's 502).
_STATUS_CODES: Mapping[int, str] = {
    400: "invalid_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    422: "invalid_request",
}

Json = dict[str, Any]
FilterValue = str | int | bool | list[str] | None  # a list: the key repeated


class ApiError(PcinetError):
    """The server said no (``status`` >= 400), or could not be reached (``status`` 0).

    ``code`` is the server's stable error code (set per instance), ``body`` the server's
    error object as sent (``{"code", "message", ...}``).
    """

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        field: str | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message, field=field)
        vars(self)["code"] = code  # PcinetError.code is a class constant; ours is per answer
        self.status = status
        self.body: dict[str, Any] = dict(body) if body is not None else {}

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = dict(self.body)
        out.update(super().to_dict())
        return out

    @property
    def hosts(self) -> dict[str, str]:
        """For ``no_valid_host``: host name -> why it was rejected (a sample)."""
        hosts = self.body.get("hosts")
        return {str(k): str(v) for k, v in hosts.items()} if isinstance(hosts, dict) else {}

    @property
    def groups(self) -> dict[str, int]:
        """For ``no_valid_host``: reason -> number of hosts rejected for it."""
        groups = self.body.get("groups")
        if not isinstance(groups, dict):
            return {}
        return {str(k): int(v) for k, v in groups.items() if isinstance(v, int)}


def _seg(value: str) -> str:
    """One path segment, percent-encoded (``/`` included) so ids cannot change the route."""
    return quote(str(value), safe=":")


def _params(
    filters: Mapping[str, FilterValue],
) -> list[tuple[str, str | int | float | bool | None]]:
    out: list[tuple[str, str | int | float | bool | None]] = []
    for key, value in filters.items():
        for item in value if isinstance(value, list) else [value]:
            if item is None:
                continue
            out.append(
                (key, ("true" if item else "false") if isinstance(item, bool) else str(item))
            )
    return out


def error_from_response(response: httpx.Response) -> ApiError:
    """The ``ApiError`` for a non-2xx answer, from the API's error object when there is one."""
    status = response.status_code
    try:
        data: Any = response.json()
    except ValueError:
        data = None
    if isinstance(data, dict) and isinstance(data.get("error"), dict):
        body = cast(dict[str, Any], data["error"])
        code = str(body.get("code") or _STATUS_CODES.get(status, f"http_{status}"))
        message = str(body.get("message") or response.reason_phrase)
        field = body.get("field")
        return ApiError(
            status, code, message, field=field if isinstance(field, str) else None, body=body
        )
    code = _STATUS_CODES.get(status, f"http_{status}")
    if isinstance(data, dict) and "detail" in data:
        detail = data["detail"]
        text = detail if isinstance(detail, str) else json.dumps(detail)
    else:
        text = response.text.strip()[:500] or response.reason_phrase
    message = f"HTTP {status} from {response.request.method} {response.request.url}: {text}"
    return ApiError(status, code, message, body={"code": code, "message": message})


class Client:
    """Talks to one pcinet controller at ``url`` with a bearer ``token`` (None: no header,
    enough for ``health``). Use as a context manager, or call ``close()``."""

    def __init__(self, url: str, token: str | None, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/")
        headers = {"Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._http = httpx.Client(base_url=self.url, headers=headers, timeout=timeout)

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # -- transport ----------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: Mapping[str, FilterValue] | None = None,
    ) -> Any:
        """Send one request; the decoded JSON answer, or None for an empty one (204)."""
        try:
            response = self._http.request(
                method,
                path,
                json=body,
                params=_params(params or {}),
            )
        except httpx.TransportError as exc:
            reason = str(exc) or type(exc).__name__
            raise ApiError(
                0,
                CONNECTION_FAILED,
                f"cannot reach the pcinet controller at {self.url}: {reason}",
            ) from None
        if response.status_code >= 400:
            raise error_from_response(response)
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise ApiError(
                response.status_code,
                "invalid_response",
                f"{method} {self.url}{path}: the answer is not JSON",
            ) from None

    def _object(self, method: str, path: str, **kwargs: Any) -> Json:
        data = self.request(method, path, **kwargs)
        if not isinstance(data, dict):
            raise ApiError(
                0, "invalid_response", f"{method} {self.url}{path}: expected a JSON object"
            )
        return cast(Json, data)

    def _list(self, path: str, params: Mapping[str, FilterValue] | None = None) -> list[Json]:
        data = self.request("GET", path, params=params)
        if not isinstance(data, list):
            raise ApiError(0, "invalid_response", f"GET {self.url}{path}: expected a JSON list")
        return cast(list[Json], data)

    # -- health and tokens ----------------------------------------------------------------

    def health(self) -> Json:
        """``GET /healthz``: ``{"status": "ok", "schema": ...}`` (no token needed)."""
        return self._object("GET", "/healthz")

    def create_token(
        self,
        project_id: str,
        role: str = "member",
        *,
        host: str | None = None,
        expires_at: str | None = None,
        ttl_s: float | None = None,
    ) -> Json:
        """``POST /v1/tokens`` (admin): ``{"token", "id", "project_id", "role", "host",
        "expires_at", "created_at", "configured"}``."""
        body: dict[str, Any] = {"project_id": project_id, "role": role}
        optional = {"host": host, "expires_at": expires_at, "ttl_s": ttl_s}
        body.update({k: v for k, v in optional.items() if v is not None})
        return self._object("POST", "/v1/tokens", body=body)

    def list_tokens(self) -> list[Json]:
        """``GET /v1/tokens`` (admin): every token's view, never the secret."""
        return self._list("/v1/tokens")

    def delete_token(self, token_id: str) -> None:
        """``DELETE /v1/tokens/{id}`` (admin): revoke the token."""
        self.request("DELETE", f"/v1/tokens/{_seg(token_id)}")

    def get_quota(self, project_id: str | None) -> Json:
        """``GET /v1/quotas/{project_id}``, or ``GET /v1/quota-defaults`` for None."""
        path = "/v1/quota-defaults" if project_id is None else f"/v1/quotas/{_seg(project_id)}"
        return self._object("GET", path)

    def set_quota(self, project_id: str | None, limits: Mapping[str, int | None]) -> Json:
        """``PUT /v1/quotas/{project_id}`` (or the defaults for None), admin: each limit an
        integer >= 0, -1 for unlimited, None to remove it."""
        path = "/v1/quota-defaults" if project_id is None else f"/v1/quotas/{_seg(project_id)}"
        return self._object("PUT", path, body=dict(limits))

    # -- hosts ------------------------------------------------------------------------------

    def put_host(self, name: str, report: Mapping[str, Any]) -> Json:
        """``PUT /v1/hosts/{name}``: a host's inventory report; the host view."""
        return self._object("PUT", f"/v1/hosts/{_seg(name)}", body=dict(report))

    def list_hosts(self, **filters: FilterValue) -> list[Json]:
        """``GET /v1/hosts`` (filter: ``disabled``)."""
        return self._list("/v1/hosts", filters)

    def get_host(self, name: str) -> Json:
        """``GET /v1/hosts/{name}``: the host view with its ``devices``."""
        return self._object("GET", f"/v1/hosts/{_seg(name)}")

    def heartbeat(self, name: str) -> None:
        """``POST /v1/hosts/{name}/heartbeat``."""
        self.request("POST", f"/v1/hosts/{_seg(name)}/heartbeat")

    def set_host_disabled(self, name: str, disabled: bool) -> Json:
        """``PUT /v1/hosts/{name}/disabled`` (admin): the host view."""
        return self._object("PUT", f"/v1/hosts/{_seg(name)}/disabled", body={"disabled": disabled})

    def get_vf_state(self, name: str) -> Json:
        """``GET /v1/hosts/{name}/vf-state``: ``{"host", "vfs": [...]}``."""
        return self._object("GET", f"/v1/hosts/{_seg(name)}/vf-state")

    def report_vf_state(
        self,
        name: str,
        pci_address: str,
        generation: int,
        status: str,
        error: str | None = None,
        *,
        original: Mapping[str, Any] | None = None,
    ) -> Json | None:
        """``PUT /v1/hosts/{name}/vf-state/{pci_address}``: the VF's row, or None once a
        ``restored`` report removed it. ``original``: the VF's settings before the agent's
        first change."""
        body: Json = {"generation": generation, "status": status}
        if error is not None:
            body["error"] = error
        if original is not None:
            body["original"] = dict(original)
        data = self.request(
            "PUT", f"/v1/hosts/{_seg(name)}/vf-state/{_seg(pci_address)}", body=body
        )
        return cast(Json, data) if isinstance(data, dict) else None

    # -- aliases ----------------------------------------------------------------------------

    def set_aliases(self, aliases: Sequence[Mapping[str, Any]]) -> list[Json]:
        """``PUT /v1/pci/aliases`` (admin): replaces the list; the list."""
        data = self.request("PUT", "/v1/pci/aliases", body=[dict(a) for a in aliases])
        if not isinstance(data, list):
            raise ApiError(0, "invalid_response", "PUT /v1/pci/aliases: expected a JSON list")
        return cast(list[Json], data)

    def list_aliases(self) -> list[Json]:
        """``GET /v1/pci/aliases``."""
        return self._list("/v1/pci/aliases")

    # -- networks ---------------------------------------------------------------------------

    def create_network(self, body: Mapping[str, Any]) -> Json:
        """``POST /v1/networks``: the network view."""
        return self._object("POST", "/v1/networks", body=dict(body))

    def list_networks(self, **filters: FilterValue) -> list[Json]:
        """``GET /v1/networks`` (filters: ``name``, ``shared``, ``project_id``)."""
        return self._list("/v1/networks", filters)

    def get_network(self, network_id: str) -> Json:
        return self._object("GET", f"/v1/networks/{_seg(network_id)}")

    def delete_network(self, network_id: str) -> None:
        self.request("DELETE", f"/v1/networks/{_seg(network_id)}")

    # -- ports ------------------------------------------------------------------------------

    def create_port(self, body: Mapping[str, Any]) -> Json:
        """``POST /v1/ports``: the port view."""
        return self._object("POST", "/v1/ports", body=dict(body))

    def list_ports(self, **filters: FilterValue) -> list[Json]:
        """``GET /v1/ports`` (filters: ``network_id``, ``device_id``, ``name``, ``status``)."""
        return self._list("/v1/ports", filters)

    def get_port(self, port_id: str) -> Json:
        return self._object("GET", f"/v1/ports/{_seg(port_id)}")

    def delete_port(self, port_id: str) -> None:
        self.request("DELETE", f"/v1/ports/{_seg(port_id)}")

    def set_port_status(self, port_id: str, status: str, error: str | None = None) -> Json:
        """``PUT /v1/ports/{id}/status`` (service, admin): the port view."""
        body: Json = {"status": status}
        if error is not None:
            body["error"] = error
        return self._object("PUT", f"/v1/ports/{_seg(port_id)}/status", body=body)

    # -- servers ----------------------------------------------------------------------------

    def create_server(
        self, name: str, flavor: Mapping[str, Any], ports: Sequence[str] = ()
    ) -> Json:
        """``POST /v1/servers``: schedule, claim and bind in one go; the server view."""
        body = {"name": name, "flavor": dict(flavor), "ports": list(ports)}
        return self._object("POST", "/v1/servers", body=body)

    def list_servers(self, **filters: FilterValue) -> list[Json]:
        """``GET /v1/servers`` (filters: ``name``, ``status``, ``host``)."""
        return self._list("/v1/servers", filters)

    def get_capacity(self, **params: FilterValue) -> Json:
        """``GET /v1/capacity`` (``network``, ``vnic_type``, ``ports``, ``vcpus``,
        ``memory_mb``, ``extra_spec`` as a list of ``KEY=VALUE``, ``max_servers``)."""
        return self._object("GET", "/v1/capacity", params=params)

    def why_not(
        self,
        flavor: Mapping[str, Any],
        ports: Sequence[str] = (),
        networks: Sequence[Mapping[str, str]] = (),
    ) -> Json:
        """``POST /v1/why-not``: where a server with ``flavor``, the existing ``ports``
        (ids) and new ports ``networks`` (``{"network", "vnic_type"}``) would go, and every
        host's reason; nothing is claimed."""
        body = {"flavor": dict(flavor), "ports": list(ports), "networks": list(networks)}
        return self._object("POST", "/v1/why-not", body=body)

    def get_server(self, server_id: str) -> Json:
        return self._object("GET", f"/v1/servers/{_seg(server_id)}")

    def delete_server(self, server_id: str) -> None:
        self.request("DELETE", f"/v1/servers/{_seg(server_id)}")
