"""``pcinet agent run``'s start: files that disagree about a device are refused with exit 2
before any pass (with --once and as a loop), naming both files and the device; the
reserved amounts come from the flags over nova.conf, as for ``pcinet agent discover``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pcinet.cli.main import app
from pcinet.client import Client
from pcinet.config import Settings
from pcinet.core.nics import X710
from pcinet.inventory.treegen import HostLayout, NicLayout, NumaNodeLayout, write_sysfs_tree
from tests.live import ADMIN_TOKEN, VLAN_RANGES, LiveServer

runner = CliRunner()
# Nothing listens there: an agent that got as far as its first pass would fail with 1 (or,
# as a loop, keep retrying), never 2.
UNREACHABLE = "http://127.0.0.1:9"


@pytest.fixture
def host(tmp_path: Path) -> Path:
    layout = HostLayout(
        (NicLayout(X710, "0000:3b:00.0", numvfs=2, ports=1, ifname="ens1f"),),
        (),
        (NumaNodeLayout(cpus=8, memory_mb=16384),),
    )
    write_sysfs_tree(tmp_path / "sys", layout)
    return tmp_path


def conflicting(base: Path) -> list[str]:
    nova = base / "nova.conf"
    nova.write_text('[pci]\ndevice_spec = {"devname": "ens1f0", "physical_network": "phy1"}\n')
    sriov = base / "sriov_agent.ini"
    sriov.write_text("[sriov_nic]\nphysical_device_mappings = phy2:ens1f0\n")
    return ["--nova-conf", str(nova), "--sriov-agent-conf", str(sriov)]


def args(base: Path, *extra: str) -> list[str]:
    return [
        "--host",
        "cn1",
        "--sysfs-root",
        str(base / "sys"),
        "--state-dir",
        str(base / "state"),
        "--vf-driver",
        "fake",
        *extra,
    ]


def test_disagreeing_files_are_refused_before_the_first_pass(host: Path) -> None:
    files = conflicting(host)
    argv = ["agent", "run", "--once", "--json", "--url", UNREACHABLE, "--token", "t"]
    result = runner.invoke(app, [*argv, *args(host, *files)])
    assert result.exit_code == 2, result.output
    error = json.loads(result.stdout)["error"]
    assert error["code"] == "config_conflict"
    assert "device 0000:3b:00.0 (ens1f0)" in error["message"]
    assert f"{host / 'nova.conf'} [pci] device_spec" in error["message"]
    assert f"{host / 'sriov_agent.ini'} [sriov_nic] physical_device_mappings" in error["message"]
    assert not (host / "state").exists()  # refused before anything was set up


def test_the_loop_is_refused_too(host: Path) -> None:
    """Without --once: exit 2 at start rather than a loop whose every pass fails."""
    files = conflicting(host)
    command = [sys.executable, "-m", "pcinet.agent", "run", "--url", UNREACHABLE]
    done = subprocess.run(
        [*command, *args(host, *files)],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PCINET_TOKEN": "t"},
    )
    assert done.returncode == 2, done.stderr
    err = " ".join(done.stderr.split())
    assert "config_conflict" in err and "0000:3b:00.0" in err
    assert "nova.conf" in err and "sriov_agent.ini" in err


def test_a_reservation_larger_than_the_host_is_refused_at_start(host: Path) -> None:
    argv = ["agent", "run", "--once", "--url", UNREACHABLE, "--token", "t"]
    result = runner.invoke(app, [*argv, *args(host, "--reserved-host-cpus", "9")])
    assert result.exit_code == 2, result.output
    assert "reserved" in " ".join(result.stderr.split())


def test_reserved_flags_over_nova_conf(db_url: str, host: Path) -> None:
    nova = host / "nova.conf"
    nova.write_text(
        "[DEFAULT]\nreserved_host_cpus = 1\nreserved_host_memory_mb = 1024\n\n"
        '[pci]\ndevice_spec = {"devname": "ens1f0", "physical_network": "phy1"}\n'
    )
    settings = Settings(
        database_url=db_url, network_vlan_ranges=VLAN_RANGES, admin_token=ADMIN_TOKEN
    )
    with LiveServer(settings) as server, Client(server.url, ADMIN_TOKEN) as admin:
        token = admin.create_token("agents", "service", host="cn1")["token"]
        base = ["agent", "run", "--once", "--url", server.url, "--token", token]
        result = runner.invoke(app, [*base, *args(host, "--nova-conf", str(nova))])
        assert result.exit_code == 0, result.output
        seen = admin.get_host("cn1")
        assert (seen["vcpus"], seen["memory_mb"]) == (7, 16384 - 1024)
        flags = ["--reserved-host-cpus", "2", "--reserved-host-memory-mb", "0"]
        result = runner.invoke(app, [*base, *args(host, "--nova-conf", str(nova), *flags)])
        assert result.exit_code == 0, result.output
        seen = admin.get_host("cn1")
        assert (seen["vcpus"], seen["memory_mb"]) == (6, 16384)
