"""``pcinet bench agent`` prints its JSON contract, and its passes do what they say."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from pcinet.cli.main import app


def test_bench_agent_json() -> None:
    result = CliRunner().invoke(
        app, ["bench", "agent", "--vfs", "70", "--steady-passes", "2", "--json"]
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["vfs"] == 70 and out["pfs"] == 2
    assert out["first_pass_changed"] == 70
    assert out["steady_pass_changed"] == 0
    assert out["change_pass_changed"] == 70 and out["restore_pass_changed"] == 70
    for key in ("first_pass_ms", "steady_pass_ms_p50", "change_pass_ms", "restore_pass_ms"):
        assert out[key] > 0
