"""``pcinet bench hardhost``: every hard case gets the answer its name promises, and the
hostile hosts end in budget refusals (the timings themselves are for docs/benchmarks.md)."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from pcinet.cli.main import app


def test_the_hard_cases_are_decided_as_named_and_hostile_hosts_hit_the_budget() -> None:
    result = CliRunner().invoke(app, ["bench", "hardhost", "--repeat", "1", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert len(out["cases"]) == 14
    for case in out["cases"]:
        name, outcome = case["case"], case["outcome"]
        if "(refused)" in name:
            assert outcome == "pci.together", case
        elif name.startswith("8 cells") and ("required" in name or "legacy" in name):
            # 4 cells hold 8 PFs at most, all of them needed whole: no VF left there
            assert outcome == "pci.numa", case
        else:
            assert outcome == "placed", case
        assert case["median_ms"] > 0
    assert out["host_budget_outcome"] == "search.budget_exceeded:1"
    assert (
        out["decision_budget_outcome"] == f"search.budget_exceeded:{out['decision_budget_hosts']}"
    )
    assert out["worst_median_ms"] == max(c["median_ms"] for c in out["cases"])
