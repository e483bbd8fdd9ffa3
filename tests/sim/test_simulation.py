"""Small seeded simulations: what each strategy achieves on the same cloud and arrivals."""

from __future__ import annotations

from typing import Any

import pytest

from pcinet.sim.compare import build, optimal_summary
from pcinet.sim.run import simulate
from pcinet.sim.strategies import STRATEGIES

TIMING = {"decision_ms_p50", "decision_ms_p99", "wall_s", "solve_s"}


def untimed(summary: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in summary.items() if k not in TIMING}


@pytest.fixture(
    scope="module",
    params=[(3, False), (11, False), (6, True)],
    ids=["seed3", "seed11", "seed6-gpus"],
)
def runs(request: pytest.FixtureRequest) -> dict[str, dict[str, Any]]:
    seed, gpus = request.param
    setup = build(hosts=16, requests=700, seed=seed, gpus=gpus)
    out = {s: simulate(setup.cloud, setup.workload, s, seed=seed).summary() for s in STRATEGIES}
    out["optimal"] = optimal_summary(setup, time_limit_s=60)
    return out


def test_network_aware_never_fails_binding_and_places_at_least_as_many(
    runs: dict[str, dict[str, Any]],
) -> None:
    aware = runs["network-aware"]
    assert aware["bind_failures"] == 0
    assert aware["claim_failures"] == 0
    assert aware["retries"] == 0
    assert aware["placed"] >= runs["nova"]["placed"]
    assert aware["placed"] >= runs["physnet-blind"]["placed"]


def test_the_blind_strategy_fails_at_binding_and_retries(runs: dict[str, dict[str, Any]]) -> None:
    blind = runs["physnet-blind"]
    assert blind["bind_failures"] > 0
    assert 0 < blind["retries"] <= 2 * blind["requests"]
    assert runs["nova"]["bind_failures"] == 0


def test_optimal_bounds_every_strategy(runs: dict[str, dict[str, Any]]) -> None:
    bound = runs["optimal"]["placed"]
    assert bound <= runs["optimal"]["requests"]
    for name in STRATEGIES:
        assert runs[name]["placed"] <= bound, name


def test_counts_add_up(runs: dict[str, dict[str, Any]]) -> None:
    for summary in runs.values():
        assert summary["placed"] + summary["rejected"] == summary["requests"] == 700


def test_the_same_seed_gives_the_same_result() -> None:
    a = build(hosts=10, requests=300, seed=5)
    b = build(hosts=10, requests=300, seed=5)
    assert a.cloud == b.cloud
    assert a.workload == b.workload
    for name in STRATEGIES:
        first = simulate(a.cloud, a.workload, name, seed=5)
        second = simulate(b.cloud, b.workload, name, seed=5)
        assert untimed(first.summary()) == untimed(second.summary())
        assert [o.host for o in first.outcomes] == [o.host for o in second.outcomes]
    assert untimed(optimal_summary(a)) == untimed(optimal_summary(b))


def test_another_seed_gives_another_cloud_and_workload() -> None:
    a = build(hosts=24, requests=50, seed=5)
    b = build(hosts=24, requests=50, seed=6)
    assert a.cloud.layouts != b.cloud.layouts
    assert a.workload.servers != b.workload.servers


def test_utilisation_stays_within_capacity() -> None:
    setup = build(hosts=8, requests=400, seed=2, load=3.0)
    for name in STRATEGIES:
        result = simulate(setup.cloud, setup.workload, name, seed=2)
        for physnet, values in result.series.used.items():
            assert all(0.0 <= v <= 1.0 for v in values), (name, physnet)
        # the load does fill the cloud
        assert max(max(v) for v in result.series.used.values()) > 0.5
