"""SIGKILL the controller 30 times (PostgreSQL; 10 on SQLite) at random points while
servers are created and deleted, restarting it each time (``pcinet.bench.crash``): every
answer a client got is a success or a clean error, every request whose answer was lost
happened whole or not at all, nothing the clients were told is lost, and the invariant
check is clean."""

from __future__ import annotations

from pcinet.bench.crash import run_crash

# 30 on PostgreSQL, the multi-replica store; fewer on SQLite, to keep make test short
# (``pcinet bench crash --kills N`` runs more on either).
KILLS = {"postgres": 30, "sqlite": 10}


def test_kills_mid_flight_lose_nothing(db_url: str, backend: str) -> None:
    kills = KILLS[backend]
    result = run_crash(db_url, kills=kills, clients=3, seed=7, min_s=0.05, max_s=0.5)
    assert result["unclean_answers"] == []
    assert result["mismatches"] == []
    assert result["violations"] == []
    assert result["ok"] is True
    answers = result["answers"]
    # the kills did land mid-flight, and the work went on between them
    assert (
        answers.get("create no answer (controller killed)", 0)
        + answers.get("delete no answer (controller killed)", 0)
        >= kills // 2
    )
    assert answers.get("create 201", 0) > 0 and answers.get("delete 204", 0) > 0
