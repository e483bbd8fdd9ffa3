"""``pcinet bench placement`` on a small cloud (SQLite, a temporary file): every create is
placed and held once, and ``port_reads`` tells the remembered ports from the read ones."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from pcinet.bench.placement import run_placement_bench
from pcinet.cli.main import app


@pytest.mark.parametrize(("cold", "reads"), [(False, {1, 2}), (True, {8})])
def test_every_create_is_placed_and_the_port_reads_are_counted(cold: bool, reads: set[int]) -> None:
    result = run_placement_bench(hosts=4, servers=8, vfs_per_pf=2, cold_ports=cold)
    assert (result["placed"], result["failed"], result["allocations"]) == (8, {}, 8)
    assert result["devices_held_twice"] == 0
    # Warm: only the first create on each of the two networks reads (the network).
    assert result["port_reads"] in reads


def test_the_command_prints_the_contract_keys_and_refuses_a_cloud_too_small() -> None:
    runner = CliRunner()
    args = ["bench", "placement", "--hosts", "2", "--servers", "4", "--vfs-per-pf", "2"]
    ok = runner.invoke(app, [*args, "--cold-ports", "--json"])
    assert ok.exit_code == 0, ok.output
    out = json.loads(ok.output)
    for key in ("servers", "placed", "placements_per_s", "p50_ms", "p99_ms", "conflicts"):
        assert key in out
    assert (out["placed"], out["port_reads"]) == (4, 4)
    too_many = runner.invoke(app, [*args[:-4], "--servers", "9", "--vfs-per-pf", "2", "--json"])
    assert too_many.exit_code != 0
    assert "servers" in too_many.output
