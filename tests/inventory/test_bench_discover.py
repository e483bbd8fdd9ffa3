"""``pcinet bench discover --json``: its keys and counts (not its times)."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from pcinet.cli.main import app


def test_bench_discover_prints_counts_and_times() -> None:
    args = ["bench", "discover", "--pfs", "3", "--vfs-per-pf", "2", "--repeat", "2", "--json"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    # 3 PFs: one whole E810 (2 ports) and one port of a second; a root port per adapter
    assert (out["pfs"], out["vfs"], out["devices"], out["problems"]) == (3, 6, 11, 0)
    assert out["reported_devices"] == 9  # the root ports are no PF's, so not mapped
    for key in ("discover", "select_and_report"):
        assert set(out[key]) == {"min_ms", "median_ms", "p95_ms", "max_ms"}
        assert 0 < out[key]["min_ms"] <= out[key]["max_ms"]


def test_bench_discover_refuses_an_unknown_model() -> None:
    result = CliRunner().invoke(app, ["bench", "discover", "--model", "x999", "--json"])
    assert result.exit_code == 2
    assert "--model" in json.loads(result.stdout)["error"]["message"]
