"""``pcinet bench scheduler``: its mix really asks for whole PFs and for servers too big for
any host, and the bench reports each kind of decision apart (the timings themselves are for
docs/benchmarks.md)."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from pcinet.bench.cloudgen import request_mix
from pcinet.cli.main import app
from pcinet.core.pci import DevType


def test_the_mix_asks_for_whole_pfs_and_for_servers_no_host_can_hold() -> None:
    """Regression: the mix built its direct-physical ports with a plain string, which the
    port matcher did not recognise: those ports asked for VFs."""
    mix = request_mix(1)
    pf_only = [
        r for r in mix if any(m.dev_types == {DevType.PF} for p in r.pci for m in p.alternatives)
    ]
    assert len(pf_only) >= 3
    assert max(r.vcpus for r in mix) > 64 and max(r.memory_mb for r in mix) > 262144
    assert any(g.vcpus > 32 for r in mix for g in r.guest_cells)


def test_the_bench_places_pfs_and_refuses_too_big_servers_from_the_index() -> None:
    result = CliRunner().invoke(
        app, ["bench", "scheduler", "--hosts", "40", "--decisions", "134", "--json"]
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["vfs"] == 40 * 128
    assert out["placed"] + out["refused"] == 134
    assert out["placed_pf_ports"] >= 3
    assert out["refused_compute"] == 6  # the mix's three too-big servers, twice each
    assert out["refused_compute_p99_ms"] > 0
    assert out["peak_rss_mb"] > 0 and out["rss_before_build_mb"] > 0
