"""``pcinet plan`` and ``pcinet devspec match`` as operators' scripts use them: exit codes,
JSON keys, and errors that name the file and the field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from pcinet.cli.main import app

SEED = Path(__file__).parents[2] / "examples" / "seed"
runner = CliRunner()


def run(*args: str) -> tuple[int, Any]:
    result = runner.invoke(app, list(args))
    try:
        return result.exit_code, json.loads(result.stdout)
    except json.JSONDecodeError:
        return result.exit_code, result.stdout + result.stderr


def write(tmp_path: Path, name: str, data: Any) -> str:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data))
    return str(path)


def seed_cloud() -> dict[str, Any]:
    return yaml.safe_load((SEED / "cloud.yaml").read_text())


def test_seed_plan_places_on_the_host_that_can_reach_both_networks() -> None:
    code, out = run("plan", str(SEED / "cloud.yaml"), str(SEED / "request.yaml"), "--json")
    assert code == 0
    assert out["host"] == "cn2"
    port0, port1 = out["ports"]
    assert port0 == {
        **port0,
        "index": 0,
        "network": "net1",
        "physical_network": "phy1",
        "segmentation_id": 100,
        "binding:vif_type": "hw_veb",
        "binding:vif_details": {"port_filter": False, "connectivity": "l2", "vlan": "100"},
    }
    assert port0["address"].startswith("0000:3b:")
    # the multi-segment network is served by the phy2 segment: only phy2 VFs are trusted
    assert (port1["physical_network"], port1["segmentation_id"]) == ("phy2", 301)
    assert port1["binding:profile"]["trusted"] is True
    assert out["aliases"] == [{"alias": "gpu", "addresses": ["0000:d8:00.0"]}]
    assert set(out["rejected"]) == {"cn1", "cn3"}
    assert "no free VF on physnet phy1" in out["rejected"]["cn1"]
    assert "not enough free memory" in out["rejected"]["cn3"]


def test_no_valid_host_exits_1_with_every_hosts_reason(tmp_path: Path) -> None:
    request = {
        "flavor": {"vcpus": 1, "memory_mb": 512},
        "ports": [
            {"network": "net1", "binding:vnic_type": "direct-physical"},
            {"network": "net1", "binding:vnic_type": "direct"},
        ],
    }
    cloud = seed_cloud()
    cloud["hosts"] = cloud["hosts"][:1]
    code, out = run(
        "plan", write(tmp_path, "c.yaml", cloud), write(tmp_path, "r.yaml", request), "--json"
    )
    assert code == 1
    assert out["error"]["code"] == "no_valid_host"
    assert set(out["error"]["hosts"]) == {"cn1"}
    assert "1 host:" in out["error"]["message"]


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (
            lambda c: c["hosts"][1]["devices"][0].update(address="0000:zz:00.0"),
            "hosts[1].devices[0].address",
        ),
        (lambda c: c["hosts"][0].update(vcpus=-1), "hosts[0].vcpus"),
        (lambda c: c["device_spec"][0].update(address="0000:3b:00.9"), "device_spec[0].address"),
        (lambda c: c["alias"][0].update(device_type="type-GPU"), "alias[0].device_type"),
        (
            lambda c: c["networks"][0].update({"provider:segmentation_id": 5000}),
            "networks[0].provider:segmentation_id",
        ),
        (lambda c: c.update(colour="blue"), "colour"),
        (
            lambda c: [d.update(status="allocated") for d in c["hosts"][1]["devices"][:2]],
            "hosts[1].devices",
        ),
    ],
)
def test_invalid_cloud_exits_2_naming_file_and_field(
    tmp_path: Path, mutate: Any, field: str
) -> None:
    cloud = seed_cloud()
    mutate(cloud)
    path = write(tmp_path, "cloud.yaml", cloud)
    code, out = run("plan", path, str(SEED / "request.yaml"), "--json")
    assert code == 2
    assert out["error"]["message"].startswith(f"{path}: {field}")


def test_invalid_request_names_the_port(tmp_path: Path) -> None:
    request = {
        "flavor": {"vcpus": 1, "memory_mb": 512},
        "ports": [{"network": "nope", "binding:vnic_type": "direct"}],
    }
    code, out = run("plan", str(SEED / "cloud.yaml"), write(tmp_path, "r.yaml", request), "--json")
    assert code == 2
    assert "ports[0].network" in out["error"]["message"]


def test_network_no_device_can_serve_is_a_clear_error_not_no_host(tmp_path: Path) -> None:
    cloud = seed_cloud()
    cloud["networks"].append(
        {
            "name": "net9",
            "provider:network_type": "vlan",
            "provider:physical_network": "phy9",
            "provider:segmentation_id": 900,
        }
    )
    request = {
        "flavor": {"vcpus": 1, "memory_mb": 512},
        "ports": [{"network": "net9", "binding:vnic_type": "direct"}],
    }
    code, out = run(
        "plan", write(tmp_path, "c.yaml", cloud), write(tmp_path, "r.yaml", request), "--json"
    )
    assert code == 2
    assert out["error"]["code"] == "network_not_servable"
    assert "phy9" in out["error"]["message"]


def test_unreadable_yaml_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("hosts: [\n")
    code, out = run("plan", str(bad), str(SEED / "request.yaml"), "--json")
    assert code == 2
    assert "not valid YAML" in out["error"]["message"]


def test_plan_without_json_prints_a_table() -> None:
    result = runner.invoke(app, ["plan", str(SEED / "cloud.yaml"), str(SEED / "request.yaml")])
    assert result.exit_code == 0
    assert "placed on" in result.stdout and "cn2" in result.stdout


def test_devspec_match_first_spec_wins_and_pf_address_matches_its_vfs(tmp_path: Path) -> None:
    devices = seed_cloud()["hosts"][1]["devices"]
    path = write(tmp_path, "devices.yaml", devices)
    code, out = run(
        "devspec",
        "match",
        '{"address": "0000:3b:00.0", "physical_network": "phy1"}',
        '{"vendor_id": "8086", "physical_network": "other"}',
        "--devices",
        path,
        "--json",
    )
    assert code == 0
    by_addr = {m["address"]: m for m in out["matches"]}
    assert by_addr["0000:3b:02.1"] == {
        "address": "0000:3b:02.1",
        "spec": 0,
        "tags": {"physical_network": "phy1"},
    }
    assert by_addr["0000:af:02.0"]["spec"] == 1
    assert "0000:d8:00.0" not in by_addr  # the GPU matches neither spec


def test_devspec_match_invalid_spec_exits_2_naming_property(tmp_path: Path) -> None:
    path = write(tmp_path, "devices.yaml", [])
    code, out = run("devspec", "match", '{"vendor_id": "12345"}', "--devices", path, "--json")
    assert code == 2
    assert "vendor_id" in out["error"]["message"]
