"""``pcinet sim`` as scripts use it: the JSON contract, exit codes, the report, traces."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from pcinet.cli.main import app
from pcinet.core.errors import InvalidInput
from pcinet.sim.workload import parse_trace

runner = CliRunner()
CONTRACT = {
    "strategy",
    "requests",
    "placed",
    "rejected",
    "bind_failures",
    "retries",
    "decision_ms_p50",
    "decision_ms_p99",
}


def run(*args: str) -> tuple[int, Any]:
    result = runner.invoke(app, ["sim", *args])
    try:
        return result.exit_code, json.loads(result.stdout)
    except json.JSONDecodeError:
        return result.exit_code, result.output


@pytest.mark.parametrize("strategy", ["physnet-blind", "nova", "network-aware", "optimal"])
def test_json_has_the_contract_keys(strategy: str) -> None:
    code, out = run(
        "--strategy", strategy, "--hosts", "8", "--requests", "120", "--seed", "4", "--json"
    )
    assert code == 0, out
    assert set(out) >= CONTRACT
    assert out["strategy"] == strategy
    assert out["requests"] == 120
    assert out["placed"] + out["rejected"] == 120


@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (["--strategy", "greedy"], "--strategy"),
        (["--hosts", "0"], "--hosts"),
        (["--requests", "0"], "--requests"),
        (["--load", "0"], "--load"),
        (["--report", "x"], "--report"),
        (["--hosts", "many"], "--hosts"),
    ],
)
def test_bad_flags_exit_2_naming_the_flag(args: list[str], flag: str) -> None:
    code, out = run(*args, "--json")
    assert code == 2
    assert flag in json.dumps(out)


def test_compare_writes_plots_and_a_report(tmp_path: Path) -> None:
    report = tmp_path / "out"
    code, out = run(
        "--compare", "--hosts", "8", "--requests", "150", "--report", str(report), "--json"
    )
    assert code == 0, out
    names = [r["strategy"] for r in out["results"]]
    assert names == ["physnet-blind", "nova", "network-aware", "optimal"]
    for png in ("placed.png", "utilisation.png", "latency.png"):
        assert (report / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = (report / "report.md").read_text()
    assert "| network-aware |" in text and "optimal (upper bound)" in text
    saved = json.loads((report / "results.json").read_text())
    assert saved["results"] == out["results"][:3]


def test_report_into_a_file_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "file"
    target.write_text("x")
    code, out = run(
        "--compare", "--hosts", "4", "--requests", "20", "--report", str(target), "--json"
    )
    assert code == 2
    assert out["error"]["field"] == "report"
    assert target.read_text() == "x"


def trace(**server: Any) -> dict[str, Any]:
    base = {"at": 1.0, "leave": 5.0, "flavor": "small", "ports": [{"network": "prov-phy1"}]}
    return {"servers": [base, {**base, **server}]}


@pytest.mark.parametrize(
    ("server", "field"),
    [
        ({"flavor": "huge"}, "trace.servers[1].flavor"),
        ({"at": -1}, "trace.servers[1].at"),
        ({"leave": 0.5}, "trace.servers[1].leave"),
        ({"ports": [{"network": "nope"}]}, "trace.servers[1].ports[0].network"),
        (
            {"ports": [{"network": "prov-phy1", "vnic_type": "normal"}]},
            "trace.servers[1].ports[0].vnic_type",
        ),
        (
            {"ports": [{"network": "prov-phy1", "trusted": "yes"}]},
            "trace.servers[1].ports[0].trusted",
        ),
        ({"color": "red"}, "trace.servers[1].color"),
        # regressions: a list or an object as a name was a TypeError (unhashable)
        ({"flavor": ["small"]}, "trace.servers[1].flavor"),
        ({"ports": [{"network": {"a": 1}}]}, "trace.servers[1].ports[0].network"),
        (
            {"ports": [{"network": "prov-phy1", "vnic_type": []}]},
            "trace.servers[1].ports[0].vnic_type",
        ),
    ],
)
def test_trace_errors_name_the_field(server: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_trace(trace(**server))
    assert info.value.field == field


def test_a_trace_file_drives_the_simulation(tmp_path: Path) -> None:
    path = tmp_path / "trace.json"
    servers = [
        {
            "at": float(i),
            "leave": float(i) + 3,
            "flavor": "medium",
            "ports": [{"network": "multi-21"}],
        }
        for i in range(30)
    ]
    path.write_text(json.dumps({"servers": servers}))
    code, out = run("--trace", str(path), "--hosts", "8", "--strategy", "network-aware", "--json")
    assert code == 0, out
    assert out["requests"] == 30
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    code, out = run("--trace", str(bad), "--json")
    assert code == 2 and "--trace" in out["error"]["message"]


def test_bench_nova_without_novas_virtualenv_exits_2(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["bench", "nova", "--nova-python", str(tmp_path / "none" / "python"), "--json"]
    )
    assert result.exit_code == 2
    assert json.loads(result.stdout)["error"]["field"] == "nova-python"


def test_the_nova_report_plots_what_it_is_given(tmp_path: Path) -> None:
    from pcinet.sim.report import write_nova_report

    row = {"hosts": 10, "nova_ms_p50": 50.0, "pcinet_ms_p50": 0.2, "pcinet_ms_p99": 0.9}
    answers = {
        "pairs": 9,
        "feasible": 5,
        "nova_fn_first_segment": 2,
        "nova_fn_greedy": 1,
        "nova_false_positives": 1,
        "pcinet_false_negatives": 0,
        "pcinet_false_positives": 0,
    }
    written = write_nova_report(tmp_path / "r", {"timing": [row], "answers": answers})
    assert sorted(p.name for p in written) == [
        "bench-nova.json",
        "nova-answers.png",
        "nova-time.png",
    ]
    assert json.loads((tmp_path / "r" / "bench-nova.json").read_text())["answers"] == answers
