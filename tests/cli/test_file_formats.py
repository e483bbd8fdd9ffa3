"""The file formats are declared once: ``pcinet plan --schema``, docs/file-formats.md and
the loader all come from ``pcinet.fileschema``; likely mistakes are warnings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from pcinet.cli.main import app
from pcinet.cloudfile import parse_cloud, parse_host, parse_request
from pcinet.core.errors import InvalidDevice, InvalidFlavor, InvalidInput, InvalidPort
from pcinet.filedocs import DOC, embedded, render
from pcinet.fileschema import CloudFile, RequestFile

ROOT = Path(__file__).parents[2]
SEED = ROOT / "examples" / "seed"
runner = CliRunner()


def seed(name: str) -> Any:
    return yaml.safe_load((SEED / f"{name}.yaml").read_text())


def test_docs_file_formats_is_generated_from_the_schema() -> None:
    assert DOC == ROOT / "docs" / "file-formats.md"
    assert embedded(DOC.read_text(encoding="utf-8")) == render(), (
        "docs/file-formats.md is out of date: run python -m pcinet.filedocs --write"
    )


@pytest.mark.parametrize(("name", "model"), [("cloud", CloudFile), ("request", RequestFile)])
def test_plan_schema_prints_the_json_schema(name: str, model: Any) -> None:
    result = runner.invoke(app, ["plan", "--schema", name])
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert schema == {**model.model_json_schema(by_alias=True), "$schema": schema["$schema"]}
    assert schema["additionalProperties"] is False


def test_plan_schema_of_an_unknown_format_is_exit_2() -> None:
    result = runner.invoke(app, ["plan", "--schema", "flavor"])
    assert result.exit_code == 2
    assert "--schema" in json.loads(result.stdout)["error"]["message"]


def test_plan_without_files_is_exit_2() -> None:
    assert runner.invoke(app, ["plan"]).exit_code == 2


def test_the_seed_examples_follow_the_schema() -> None:
    CloudFile.model_validate(seed("cloud"))
    RequestFile.model_validate(seed("request"))


@pytest.mark.parametrize(
    ("mutate", "error", "field", "words"),
    [
        (lambda c: c["hosts"][0].update(cpus=4), InvalidInput, "hosts[0].cpus", "unknown"),
        (lambda c: c["hosts"][0].pop("vcpus"), InvalidInput, "hosts[0].vcpus", "missing"),
        (lambda c: c["hosts"][0].update(vcpus=2**40), InvalidInput, "hosts[0].vcpus", "above"),
        (lambda c: c["hosts"][0].update(vcpus="4"), InvalidInput, "hosts[0].vcpus", "integer"),
        (lambda c: c["hosts"][0].update(disabled="no"), InvalidInput, "hosts[0].disabled", "true"),
        (
            lambda c: c["hosts"][0]["devices"][1].update(dev_type="type-XX"),
            InvalidDevice,
            "hosts[0].devices[1].dev_type",
            "not one of",
        ),
        (
            lambda c: c["hosts"][0]["devices"][1].update(colour=1),
            InvalidDevice,
            "hosts[0].devices[1].colour",
            "unknown",
        ),
        (lambda c: c.update(hosts={}), InvalidInput, "hosts", "expected a list"),
    ],
)
def test_shape_errors_name_the_field_and_the_kind_of_object(
    mutate: Any, error: type[Exception], field: str, words: str
) -> None:
    cloud = seed("cloud")
    mutate(cloud)
    with pytest.raises(error) as caught:
        parse_cloud(cloud)
    assert isinstance(caught.value, InvalidInput)
    assert caught.value.field == field
    assert caught.value.message.startswith(f"{field}: ") and words in caught.value.message


def test_request_shape_errors_are_flavor_and_port_errors() -> None:
    networks = parse_cloud(seed("cloud")).networks
    request = seed("request")
    request["flavor"]["vcpus"] = 0
    with pytest.raises(InvalidFlavor, match=r"^flavor.vcpus: expected an integer >= 1, got 0"):
        parse_request(request, networks)
    request = seed("request")
    request["ports"][0]["binding:vnic_type"] = "sideways"
    with pytest.raises(InvalidPort, match=r"^ports\[0\].binding:vnic_type: 'sideways'"):
        parse_request(request, networks)


def test_a_host_report_keeps_its_name_in_errors() -> None:
    """The REST API's host reports go through the same schema (``parse_host``)."""
    report = seed("cloud")["hosts"][0]
    report["devices"][0]["numa_node"] = -1
    with pytest.raises(InvalidDevice) as caught:
        parse_host(report, "host", None)
    assert caught.value.field == "host.devices[0].numa_node"


def plan(tmp_path: Path, cloud: Any, request: Any, *extra: str) -> Any:
    paths = []
    for name, doc in (("c.yaml", cloud), ("r.yaml", request)):
        (tmp_path / name).write_text(yaml.safe_dump(doc))
        paths.append(str(tmp_path / name))
    return runner.invoke(app, ["plan", *paths, *extra])


def test_likely_mistakes_are_warnings_on_stderr_and_in_json(tmp_path: Path) -> None:
    cloud, request = seed("cloud"), seed("request")
    cloud["device_spec"][0]["address"] = "0000:3b:*.*"  # the PF, and its VFs by address
    cloud["device_spec"].append({"vendor_id": "1234", "physcial_network": "phy9"})
    request["flavor"]["extra_specs"]["hw:watchdog_action"] = "reset"
    result = plan(tmp_path, cloud, request, "--json")
    assert result.exit_code == 0
    warnings = json.loads(result.stdout)["warnings"]
    c, r = tmp_path / "c.yaml", tmp_path / "r.yaml"
    assert warnings[0] == (
        f"{c}: device_spec[3].physcial_network: not a key Nova knows (kept as a tag); "
        "did you mean physical_network?"
    )
    assert warnings[1].startswith(f"{c}: device_spec[0]: selects both PFs and VFs on 3 hosts")
    assert (
        warnings[2] == f"{r}: flavor.extra_specs.hw:watchdog_action: pcinet ignores this extra spec"
    )
    assert len(warnings) == 3
    text = plan(tmp_path, cloud, request)
    assert text.exit_code == 0
    assert "warning" in text.stderr and "physcial_network" in text.stderr


def test_the_pf_address_idiom_and_the_seed_give_no_warning(tmp_path: Path) -> None:
    result = plan(tmp_path, seed("cloud"), seed("request"), "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["warnings"] == []
    assert result.stderr == ""
