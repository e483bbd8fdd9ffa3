"""A shortened ``pcinet bench stress``: real ``pcinet serve`` processes on one database
(SQLite too: several processes on one file), clients racing over HTTP, then the check.
The full run (4 replicas, 16 clients, 60 s on PostgreSQL) is in docs/reliability.md."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from pcinet.bench.stress import EXPECTED, run_stress
from pcinet.cli.main import app
from pcinet.store.hosts import upsert_host
from pcinet.store.uow import UnitOfWork


def test_a_short_stress_run_ends_consistent(db_url: str, tmp_path: Path) -> None:
    result = run_stress(db_url, replicas=2, clients=4, seconds=2.0, logs=tmp_path)
    assert result["violations"] == []
    assert result["unexpected"] == {}, result["unexpected_samples"]
    assert result["server_errors"] == 0 and result["client_errors"] == []
    assert result["ok"] is True
    # the run did race: creates succeeded and some were refused for want of room
    assert result["statuses"]["201"] > 10
    assert set(result["codes_409"]) <= {code for ok in EXPECTED.values() for _, code in ok}
    assert sum(result["codes_409"].values()) > 0


def test_stress_refuses_a_database_in_use(sessions: sessionmaker[Session]) -> None:
    with UnitOfWork(sessions) as session:
        upsert_host(session, "cn1", vcpus=1, memory_mb=1024)
    db_url = str(sessions.kw["bind"].url.render_as_string(hide_password=False))
    result = CliRunner().invoke(
        app, ["bench", "stress", "--database-url", db_url, "--seconds", "1", "--json"]
    )
    assert result.exit_code == 2
    assert json.loads(result.stdout)["error"]["field"] == "--database-url"
