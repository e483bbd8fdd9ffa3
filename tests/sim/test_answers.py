"""pcinet's answers on small random hosts against an independent brute force, and the
comparison with Nova's own code when its virtualenv exists (``make bench-nova``)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from pcinet.sim import bruteforce
from pcinet.sim.novaanswers import _pcinet_answer, answers, random_host, random_shape
from pcinet.sim.novabench import timing
from pcinet.sim.novamodel import support_requests
from pcinet.sim.server_requests import RequestBuilder
from pcinet.sim.state import CloudState
from pcinet.sim.workload import Server

NOVA_PYTHON = Path(__file__).parents[2] / ".venv-nova" / "bin" / "python"


def test_pcinet_agrees_with_brute_force_on_random_small_hosts() -> None:
    rng = random.Random(20)
    builder = RequestBuilder()
    feasible = refused_by_model = 0
    for i in range(250):
        host, _ = random_host(rng, f"h{i}")
        flavor, ports = random_shape(rng)
        server = Server(0, 0.0, None, flavor, ports)
        truth = bruteforce.feasible(host, builder.get(server).pcinet.pci)
        assert _pcinet_answer(host, server, builder) == truth, (host, ports)
        feasible += truth
        runtime = CloudState([host]).hosts[0]
        refused_by_model += truth and not support_requests(runtime, builder.get(server).nova, ())
    # the sample has both answers, and Nova's semantics refuse some feasible pairs
    assert 50 < feasible < 200
    assert refused_by_model > 0


needs_nova = pytest.mark.skipif(
    not NOVA_PYTHON.exists(),
    reason="Nova's virtualenv .venv-nova is missing: `make bench-nova` creates it",
)


@needs_nova
def test_against_novas_own_code() -> None:
    got = answers(NOVA_PYTHON, hosts=60, seed=3)
    assert got["nova_version"].startswith("34.")
    assert got["pcinet_false_negatives"] == got["pcinet_false_positives"] == 0
    # the simulator's model of Nova answers as Nova does, pair by pair
    assert got["model_filter_agrees"] == got["model_claim_agrees"] == got["pairs"] == 180
    assert got["nova_false_negatives"] > 0
    assert got["nova_fn_first_segment"] + got["nova_fn_greedy"] == got["nova_false_negatives"]
    assert got["nova_false_positives"] > 0
    assert got["nova_claim_ok_but_infeasible"] == 0


@needs_nova
def test_timing_runs_both_on_the_same_cloud() -> None:
    got = timing(NOVA_PYTHON, 24, nova_decisions=3, pcinet_decisions=40)
    assert got["nova_decisions"] == 3 and got["pcinet_decisions"] == 40
    assert got["nova_ms_p50"] > 0 and got["pcinet_ms_p99"] > 0
    assert 0 < got["nova_placed"] <= 3
    assert 0 < got["pcinet_placed"] <= 40
