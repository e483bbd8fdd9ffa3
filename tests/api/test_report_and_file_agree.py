"""A host's inventory has one shape, whether an agent reports it (``PUT /v1/hosts/{name}``,
over HTTP) or a CLOUD file lists it (``pcinet plan``'s loader): hostile changes to a host,
one of its NUMA cells or one of its devices are refused by both, naming the same field
(``host.devices[1].numa_node`` and ``hosts[0].devices[1].numa_node``), or accepted by both.
The same holds for a flavor (``POST /v1/servers`` and a REQUEST file) and an alias entry
(``PUT /v1/pci/aliases`` and a CLOUD file's ``alias``).

Values stay clear of the API's storage limits (string lengths, NUL), which a file does not
have, and of ``disabled``, which is not part of a report.
A longer run: PCINET_AGREE_EXAMPLES=3000 pytest tests/api/test_report_and_file_agree.py"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import httpx
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from pcinet.cloudfile import load_cloud, load_request
from pcinet.core.errors import InvalidInput
from pcinet.core.schema import AliasFile, DeviceFile, FlavorFile, keys_of
from pcinet.fileschema import HostCellFile, HostFile
from tests.api.conftest import Api, host_report

DELETE = object()
TEXT = st.text(alphabet="abcdefxyz0123456789:.-_ ", max_size=14)
VALUES = st.one_of(
    st.just(DELETE),
    st.none(),
    st.booleans(),
    st.integers(-3, 70),
    st.sampled_from([2.5, -0.5, 2**31]),
    TEXT,
    st.sampled_from(["type-VF", "type-PF", "type-XX", "allocated", "0000:3b:00.0", "8086"]),
    st.lists(st.integers(0, 3), max_size=2),
    st.dictionaries(st.sampled_from(["physical_network", "x"]), TEXT | st.none(), max_size=2),
)


def _keys(shape: type, *skip: str) -> st.SearchStrategy[str]:
    declared = sorted(keys_of(shape) - set(skip))
    return st.sampled_from(declared) | st.sampled_from(["colour", "cpus", "numa"])


MUTATIONS = st.one_of(
    st.tuples(st.just(("devices",)), st.integers(0, 2), _keys(DeviceFile), VALUES),
    st.tuples(st.just(("numa_cells",)), st.just(0), _keys(HostCellFile), VALUES),
    st.tuples(st.just(()), st.none(), _keys(HostFile, "name", "disabled", "device_spec"), VALUES),
)


SETTINGS = settings(
    max_examples=50,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


def _in_file(path: Path, doc: Any, prefix: str, load: Any) -> str | None:
    """The field a loader's error names, without ``prefix``; None when it loads."""
    path.write_text(json.dumps(doc), encoding="utf-8")
    try:
        load(path)
    except InvalidInput as exc:
        assert exc.field is not None and exc.field.startswith(prefix), exc
        return exc.field.removeprefix(prefix)
    return None


def _agree(response: httpx.Response, prefix: str, in_file: str | None, mutation: Any) -> None:
    body = response.json()
    event(f"{response.status_code} {body['error']['code'] if 'error' in body else ''}")
    if response.status_code != 400:  # accepted (or refused for want of room: not input)
        assert in_file is None, (mutation, in_file, response.text)
        return
    field = response.json()["error"]["field"]
    assert field.startswith(prefix), field
    assert field.removeprefix(prefix) == in_file, (mutation, response.json()["error"])


@SETTINGS
@given(key=_keys(FlavorFile), value=VALUES)
def test_a_hostile_flavor_names_the_same_field_through_the_api_and_a_request_file(
    api: Api, tmp_path: Path, key: str, value: Any
) -> None:
    flavor: dict[str, Any] = {"vcpus": 1, "memory_mb": 512, "extra_specs": {"trait:x": "1"}}
    if value is DELETE:
        flavor.pop(key, None)
    else:
        flavor[key] = value
    in_file = _in_file(
        tmp_path / "request.yaml",
        {"flavor": flavor},
        "flavor",
        lambda p: load_request(p, {}),
    )
    response = api.post("/v1/servers", {"name": "vm", "flavor": flavor, "ports": []})
    _agree(response, "server.flavor", in_file, (key, value))


@SETTINGS
@given(key=_keys(AliasFile, "name"), value=VALUES)
def test_a_hostile_alias_names_the_same_field_through_the_api_and_a_cloud_file(
    api: Api, tmp_path: Path, key: str, value: Any
) -> None:
    alias: dict[str, Any] = {"name": "gpu", "vendor_id": "10de", "product_id": "20b5"}
    if value is DELETE:
        alias.pop(key, None)
    else:
        alias[key] = value
    in_file = _in_file(tmp_path / "cloud.yaml", {"alias": [alias]}, "alias", load_cloud)
    response = api.put("/v1/pci/aliases", [alias])
    _agree(response, "aliases", in_file, (key, value))


@settings(
    max_examples=int(os.environ.get("PCINET_AGREE_EXAMPLES", "150")),
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(mutation=MUTATIONS)
def test_a_hostile_report_names_the_same_field_through_the_api_and_a_cloud_file(
    api: Api, tmp_path: Path, mutation: tuple[tuple[str, ...], int | None, str, Any]
) -> None:
    path, index, key, value = mutation
    report = host_report([("3b", "phy1")], vfs=2)
    target: Any = report
    for part in path:
        target = target[part][index]
    if value is DELETE:
        target.pop(key, None)
    else:
        target[key] = value

    cloud = tmp_path / "cloud.yaml"
    cloud.write_text(json.dumps({"hosts": [{"name": "cn1", **report}]}), encoding="utf-8")
    try:
        load_cloud(cloud)
        in_file = None
    except InvalidInput as exc:
        assert exc.field is not None and exc.field.startswith("hosts[0]"), exc
        in_file = exc.field.removeprefix("hosts[0]")

    response = api.put("/v1/hosts/cn1", report)
    event(f"{response.status_code} {response.json().get('error', {}).get('code', '')}")
    if response.status_code < 300:
        assert in_file is None, (mutation, in_file)
        return
    assert response.status_code == 400, response.text
    field = response.json()["error"]["field"]
    assert field.startswith("host"), field
    assert field.removeprefix("host") == in_file, (mutation, response.json()["error"])


def test_openapi_documents_every_device_property_of_the_one_declaration(api: Api) -> None:
    schema = api.get("/openapi.json").json()["components"]["schemas"]["DeviceReport"]
    assert set(schema["properties"]) == keys_of(DeviceFile)
    assert schema["additionalProperties"] is False
    assert "VF's index" in schema["properties"]["vf_index"]["description"]
