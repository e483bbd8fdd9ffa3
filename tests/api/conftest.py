"""Scenario tests of the REST API over real HTTP, on SQLite and PostgreSQL.

Every test gets a fresh database (``db_url``, both backends) and its own real server
(``pcinet.api.server.background``: uvicorn in a thread), and talks to it with
``httpx.Client``. The helpers here keep the scenarios short:

- ``adapter`` / ``host_report``: a host's inventory report with SR-IOV adapters (a PF and
  its VFs) cabled to physnets, tagged by a Nova device spec naming each PF's address;
- ``Api``: one token's client, with ``network`` / ``port`` / ``server`` / ``report_host``
  helpers that assert the status code, and ``error`` to assert an error body;
- the ``start`` fixture starts a server with settings overrides (a tiny VLAN range, a short
  heartbeat timeout), ``api`` is the admin client of a default server.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from typing import Any

import httpx
import pytest

from pcinet.api.server import background
from pcinet.config import Settings

ADMIN_TOKEN = "api-test-admin-token"
VLAN_RANGES = "phy1:100:199,phy2:200:299"
PF_PRODUCT = "1572"
VF_PRODUCT = "154c"
INTEL = "8086"
GPU_VENDOR = "10de"
GPU_PRODUCT = "20b5"
FLAVOR = {"vcpus": 1, "memory_mb": 512}


# -- host reports -----------------------------------------------------------------------


def pf_address(bus: str) -> str:
    return f"0000:{bus}:00.0"


def vf_address(bus: str, index: int) -> str:
    """VF ``index`` of the adapter on ``bus`` (``0000:<bus>:02.<i>``, 8 functions a slot)."""
    return f"0000:{bus}:{2 + index // 8:02x}.{index % 8}"


def adapter(bus: str, vfs: int, *, numa_node: int = 0) -> list[dict[str, Any]]:
    """A PF on ``bus`` and its ``vfs`` VFs, as a host reports them."""
    pf = pf_address(bus)
    return [
        {
            "address": pf,
            "vendor_id": INTEL,
            "product_id": PF_PRODUCT,
            "dev_type": "type-PF",
            "numa_node": numa_node,
            "devname": f"ens{bus}f0",
        },
        *(
            {
                "address": vf_address(bus, i),
                "vendor_id": INTEL,
                "product_id": VF_PRODUCT,
                "dev_type": "type-VF",
                "parent_address": pf,
                "numa_node": numa_node,
            }
            for i in range(vfs)
        ),
    ]


def gpu(address: str = "0000:d8:00.0", *, numa_node: int = 0) -> dict[str, Any]:
    return {
        "address": address,
        "vendor_id": GPU_VENDOR,
        "product_id": GPU_PRODUCT,
        "dev_type": "type-PCI",
        "numa_node": numa_node,
    }


def host_report(
    adapters: Sequence[tuple[str, str | None]] = (("3b", "phy1"), ("af", "phy2")),
    *,
    vfs: int = 8,
    vcpus: int = 64,
    memory_mb: int = 262144,
    gpus: Sequence[dict[str, Any]] = (),
    trusted: Sequence[str] = (),
) -> dict[str, Any]:
    """An inventory report: one adapter per ``(bus, physnet)`` with ``vfs`` VFs, tagged by a
    device spec naming the PF's address (which matches its VFs too; a physnet of None makes
    the adapter assignable without one; ``trusted`` lists the physnets whose VFs are
    trusted), plus ``gpus`` matched by vendor and product."""
    devices: list[dict[str, Any]] = []
    spec: list[dict[str, Any]] = []
    for bus, physnet in adapters:
        devices += adapter(bus, vfs)
        entry: dict[str, Any] = {"address": pf_address(bus)}
        if physnet is not None:
            entry["physical_network"] = physnet
        if physnet in trusted:
            entry["trusted"] = "true"
        spec.append(entry)
    if gpus:
        devices += gpus
        spec.append({"vendor_id": GPU_VENDOR, "product_id": GPU_PRODUCT})
    return {
        "vcpus": vcpus,
        "memory_mb": memory_mb,
        "numa_cells": [{"id": 0, "vcpus": vcpus, "memory_mb": memory_mb}],
        "device_spec": spec,
        "devices": devices,
    }


# -- the client -------------------------------------------------------------------------


def expect(response: httpx.Response, status: int) -> Any:
    """The JSON body of ``response`` after asserting its status (None for 204)."""
    assert response.status_code == status, (
        f"{response.request.method} {response.request.url.path}: expected {status}, got "
        f"{response.status_code}: {response.text}"
    )
    return None if status == 204 else response.json()


def error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The ``error`` object of ``response`` after asserting its status and code."""
    body = expect(response, status)
    assert set(body) == {"error"}, body
    err: dict[str, Any] = body["error"]
    assert err["code"] == code, err
    assert isinstance(err["message"], str) and err["message"], err
    return err


class Api:
    """One bearer token's HTTP client of a running server."""

    def __init__(self, url: str, token: str | None, stack: ExitStack) -> None:
        self.url = url
        self.token = token
        self._stack = stack
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.http = stack.enter_context(httpx.Client(base_url=url, headers=headers, timeout=30))

    def as_token(self, token: str | None) -> Api:
        """Another client of the same server, with ``token`` (or none)."""
        return Api(self.url, token, self._stack)

    # raw requests
    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.http.get(path, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> httpx.Response:
        return self.http.post(path, json=body, **kw)

    def put(self, path: str, body: Any = None, **kw: Any) -> httpx.Response:
        return self.http.put(path, json=body, **kw)

    def delete(self, path: str, **kw: Any) -> httpx.Response:
        return self.http.delete(path, **kw)

    # helpers that assert the status
    def token_for(self, project_id: str, role: str = "member") -> Api:
        """Issue a token (this client must be admin) and return its client."""
        body = expect(self.post("/v1/tokens", {"project_id": project_id, "role": role}), 201)
        assert body["project_id"] == project_id and body["role"] == role
        return self.as_token(body["token"])

    def report_host(self, name: str, report: dict[str, Any], status: int = 201) -> Any:
        return expect(self.put(f"/v1/hosts/{name}", report), status)

    def host(self, name: str) -> Any:
        return expect(self.get(f"/v1/hosts/{name}"), 200)

    def devices(self, name: str) -> dict[str, dict[str, Any]]:
        """The host's devices by address."""
        return {d["address"]: d for d in self.host(name)["devices"]}

    def vf_state(self, host: str) -> dict[str, dict[str, Any]]:
        """The host's VF state rows by PCI address."""
        body = expect(self.get(f"/v1/hosts/{host}/vf-state"), 200)
        assert body["host"] == host
        return {row["pci_address"]: row for row in body["vfs"]}

    def network(self, name: str, **fields: Any) -> Any:
        """Create a network (201 expected); ``fields`` may use Neutron's names, e.g.
        ``**{"provider:network_type": "flat", ...}``."""
        return expect(self.post("/v1/networks", {"name": name, **fields}), 201)

    def vlan_network(self, name: str, physnet: str, vlan: int | None = None, **fields: Any) -> Any:
        body: dict[str, Any] = {
            "provider:network_type": "vlan",
            "provider:physical_network": physnet,
        }
        if vlan is not None:
            body["provider:segmentation_id"] = vlan
        return self.network(name, **body, **fields)

    def port(self, network_id: str, vnic_type: str = "direct", **fields: Any) -> Any:
        """Create a port (201 expected)."""
        body = {"network_id": network_id, "binding:vnic_type": vnic_type, **fields}
        return expect(self.post("/v1/ports", body), 201)

    def boot_response(
        self, ports: Sequence[str], *, name: str = "vm", flavor: dict[str, Any] | None = None
    ) -> httpx.Response:
        body = {"name": name, "flavor": flavor or FLAVOR, "ports": list(ports)}
        return self.post("/v1/servers", body)

    def boot(
        self, ports: Sequence[str], *, name: str = "vm", flavor: dict[str, Any] | None = None
    ) -> Any:
        """Boot a server (201 expected) and return its view."""
        return expect(self.boot_response(ports, name=name, flavor=flavor), 201)

    def boot_on(self, network_id: str, *, vnic_type: str = "direct", name: str = "vm") -> Any:
        """Create a port on the network and boot a server with it."""
        port = self.port(network_id, vnic_type)
        return self.boot([port["id"]], name=name)

    def port_status(self, port_id: str, status: str) -> Any:
        return expect(self.put(f"/v1/ports/{port_id}/status", {"status": status}), 200)


Start = Callable[..., Api]


@pytest.fixture
def start(db_url: str) -> Iterator[Start]:
    """``start(**settings_overrides)`` serves the test's database and returns the admin
    client; everything stops when the test ends."""
    with ExitStack() as stack:

        def _start(**overrides: Any) -> Api:
            values: dict[str, Any] = {
                "database_url": db_url,
                "admin_token": ADMIN_TOKEN,
                "network_vlan_ranges": VLAN_RANGES,
                **overrides,
            }
            url = stack.enter_context(background(Settings(**values)))
            return Api(url, ADMIN_TOKEN, stack)

        yield _start


@pytest.fixture
def api(start: Start) -> Api:
    """The admin client of a server with the default settings."""
    return start()
