"""``pcinet agent discover`` as operators' scripts use it: the JSON contract, selection by
specs and config files, problems reported with exit 0, bad or disagreeing config exit 2."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from pcinet.cli.main import app
from pcinet.core.nics import CX6, E810
from pcinet.inventory.treegen import HostLayout, NicLayout, write_sysfs_tree

CONTRACT = {
    "address",
    "vendor_id",
    "product_id",
    "dev_type",
    "parent_address",
    "vf_index",
    "numa_node",
    "netdev",
    "driver",
    "mac",
    "pcie_root",
    "tags",
}
runner = CliRunner()


def run(*args: str) -> tuple[int, Any, str]:
    result = runner.invoke(app, ["agent", "discover", *args])
    try:
        return result.exit_code, json.loads(result.stdout), result.stderr
    except json.JSONDecodeError:
        return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def root(tmp_path: Path) -> str:
    layout = HostLayout(
        nics=(
            NicLayout(E810, "0000:3b:00.0", numvfs=2, vfio_vfs=(1,), ifname="ens5f"),
            NicLayout(CX6, "0000:5e:00.0", numvfs=1, numa_node=None, ports=1, ifname="ens6f"),
        )
    )
    return str(write_sysfs_tree(tmp_path / "sys", layout))


def test_json_lists_every_device_with_the_contract_keys(root: str) -> None:
    code, out, _ = run("--sysfs-root", root, "--json")
    assert code == 0
    assert set(out) == {"devices", "problems", "host"} and out["problems"] == []
    for device in out["devices"]:
        assert set(device) >= CONTRACT
    by = {d["address"]: d for d in out["devices"]}
    assert by["0000:3b:01.1"] == {
        **by["0000:3b:01.1"],
        "vendor_id": "8086",
        "product_id": "1889",
        "dev_type": "type-VF",
        "parent_address": "0000:3b:00.0",
        "vf_index": 1,
        "numa_node": 0,
        "netdev": None,
        "driver": "vfio-pci",
        "mac": None,
        "pcie_root": "pci0000:3a/0000:3a:00.0",
        "tags": {},
    }
    cx6 = by["0000:5e:00.0"]
    assert (cx6["dev_type"], cx6["numa_node"], cx6["netdev"]) == ("type-PF", None, "ens6f0")
    assert (cx6["mac"], cx6["driver"]) == ("b8:59:9f:5e:00:00", "mlx5_core")
    assert by["0000:5e:00.2"]["vf_index"] == 0


def test_specs_and_config_select_with_tags(root: str, tmp_path: Path) -> None:
    sriov = tmp_path / "sriov_agent.ini"
    sriov.write_text(
        "[sriov_nic]\nphysical_device_mappings = phy2:ens6f0\nexclude_devices = ens6f0:\n"
    )
    code, out, _ = run(
        "--sysfs-root",
        root,
        "--device-spec",
        '{"address": "0000:3b:00.0", "physical_network": "phy1", "trusted": "true"}',
        "--sriov-agent-conf",
        str(sriov),
        "--json",
    )
    assert code == 0
    assert [(d["address"], d["tags"]) for d in out["devices"]] == [
        ("0000:3b:00.0", {"physical_network": "phy1", "trusted": "true"}),
        ("0000:3b:01.0", {"physical_network": "phy1", "trusted": "true"}),
        ("0000:3b:01.1", {"physical_network": "phy1", "trusted": "true"}),
        ("0000:5e:00.0", {"physical_network": "phy2"}),
        ("0000:5e:00.2", {"physical_network": "phy2"}),
    ]


def test_nova_conf_selects_like_nova(root: str, tmp_path: Path) -> None:
    nova = tmp_path / "nova.conf"
    nova.write_text('[pci]\ndevice_spec = {"vendor_id": "15b3", "product_id": "101e"}\n')
    code, out, _ = run("--sysfs-root", root, "--nova-conf", str(nova), "--json")
    assert code == 0
    assert [d["address"] for d in out["devices"]] == ["0000:5e:00.2"]


def test_problems_are_reported_and_the_rest_listed(root: str) -> None:
    Path(root, "bus/pci/devices/0000:3b:01.0/numa_node").write_text("junk\n")
    code, out, _ = run("--sysfs-root", root, "--json")
    assert code == 0
    assert out["problems"] == [
        {
            "path": f"{root}/bus/pci/devices/0000:3b:01.0/numa_node",
            "message": "'junk' is not an integer; read as unknown",
        }
    ]
    assert {d["address"]: d["numa_node"] for d in out["devices"]}["0000:3b:01.0"] is None
    code, text, err = run("--sysfs-root", root)
    assert code == 0 and "0000:3b:01.0" in text and "ens5f0v0" in text
    assert "skipped" in err and "numa_node" in err


def test_disagreeing_files_exit_2_naming_both_and_the_device(root: str, tmp_path: Path) -> None:
    nova = tmp_path / "nova.conf"
    nova.write_text('[pci]\ndevice_spec = {"devname": "ens5f0", "physical_network": "phy1"}\n')
    sriov = tmp_path / "sriov_agent.ini"
    sriov.write_text("[sriov_nic]\nphysical_device_mappings = phy3:ens5f0\n")
    args = ["--sysfs-root", root, "--nova-conf", str(nova), "--sriov-agent-conf", str(sriov)]
    code, out, _ = run(*args, "--json")
    assert code == 2
    assert out["error"]["code"] == "config_conflict"
    message = out["error"]["message"]
    assert "device 0000:3b:00.0 (ens5f0)" in message
    assert f"{nova} [pci] device_spec" in message
    assert f"{sriov} [sriov_nic] physical_device_mappings (phy3:ens5f0)" in message
    code, _, err = run(*args)
    assert code == 2 and "[sriov_nic]" in err.replace("\n", " ")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--device-spec", "{nope"], "--device-spec[0]: not valid JSON"),
        (["--device-spec", '{"vendor_id": "xyz"}'], "--device-spec[0].vendor_id"),
        (["--nova-conf", "/nonexistent/nova.conf"], "/nonexistent/nova.conf: no such file"),
    ],
)
def test_bad_input_exits_2(root: str, args: list[str], message: str) -> None:
    code, out, _ = run("--sysfs-root", root, *args, "--json")
    assert code == 2
    assert message in out["error"]["message"]


def test_columns_and_formats(root: str) -> None:
    result = runner.invoke(
        app, ["agent", "discover", "--sysfs-root", root, "-f", "value", "-c", "netdev"]
    )
    assert result.exit_code == 0
    assert "ens5f0v0" in result.stdout.split()


def test_host_resources_and_reserved_from_nova_conf_or_flags(root: str, tmp_path: Path) -> None:
    nova = tmp_path / "nova.conf"
    nova.write_text("[DEFAULT]\nreserved_host_cpus = 2\nreserved_host_memory_mb = 2048\n")
    code, out, _ = run("--sysfs-root", root, "--nova-conf", str(nova), "--json")
    assert code == 0
    assert out["devices"] == []  # a nova.conf without device_spec selects nothing
    assert out["host"] == {
        "vcpus": 16,
        "memory_mb": 65536,
        "numa_cells": [{"id": 0, "vcpus": 16, "memory_mb": 65536, "socket": None}],
        "reserved_host_cpus": 2,
        "reserved_host_memory_mb": 2048,
        "usable_vcpus": 14,
        "usable_memory_mb": 63488,
    }
    code, out, _ = run(
        "--sysfs-root", root, "--nova-conf", str(nova), "--reserved-host-cpus", "0", "--json"
    )
    assert (out["host"]["reserved_host_cpus"], out["host"]["usable_vcpus"]) == (0, 16)
    code, out, _ = run("--sysfs-root", root, "--reserved-host-cpus", "17", "--json")
    assert code == 2
    assert "reserved_host_cpus: 17 is more than the host's 16 vCPUs" in out["error"]["message"]
