"""The snapshot cache never holds a state that lacks committed usage or goes back in time,
whatever interleaves with a claim (regressions found in review, with forced interleavings)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from pcinet.config import Settings
from pcinet.core.errors import NoValidHost
from pcinet.service import cache as cache_module
from pcinet.service import hosts, servers
from pcinet.service.context import ADMIN
from pcinet.service.controller import Controller
from pcinet.store.models import host_table

FLAVOR = {"vcpus": 2, "memory_mb": 1024}


@pytest.fixture
def ctl(tmp_path: Path) -> Iterator[Controller]:
    controller = Controller.start(
        Settings(database_url=f"sqlite:///{tmp_path / 'db.sqlite'}"), refresh_interval_s=3600
    )
    try:
        hosts.report(controller, ADMIN, "h1", {"vcpus": 4, "memory_mb": 4096, "devices": []})
        yield controller
    finally:
        controller.close()


def _used(ctl: Controller) -> tuple[int, int]:
    with ctl.engine.connect() as conn:
        row = conn.execute(sa.select(host_table.c.vcpus, host_table.c.vcpus_used)).one()
    return row.vcpus, row.vcpus_used


def test_a_host_replaced_between_reservation_and_claim_keeps_the_claims_usage(
    ctl: Controller, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another request's failed claim (or a host report) re-reads the host after this
    request reserved on it: the claim still commits, and the cache must not believe a state
    without it is current (else the host is over-committed)."""
    claiming = ctl.cache.claiming

    def reread_first(reservation: Any) -> Any:
        ctl.cache.mark_dirty(reservation.host)
        ctl.cache.refresh()
        return claiming(reservation)

    monkeypatch.setattr(ctl.cache, "claiming", reread_first)
    servers.create(ctl, ADMIN, {"name": "a", "flavor": FLAVOR})
    monkeypatch.setattr(ctl.cache, "claiming", claiming)
    host = ctl.cache.snapshot.get("h1")
    assert host is not None and host.vcpus == 2
    servers.create(ctl, ADMIN, {"name": "b", "flavor": FLAVOR})
    with pytest.raises(NoValidHost, match="vCPUs"):
        servers.create(ctl, ADMIN, {"name": "c", "flavor": FLAVOR})
    assert _used(ctl) == (4, 4)


def test_a_slow_reread_never_puts_back_an_older_state(
    ctl: Controller, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A re-read of a host that read generation g while a delete moved it to g+1 (and a
    refresh moved the horizon past it) must not apply g: the host would look full for good."""
    server = servers.create(ctl, ADMIN, {"name": "s", "flavor": {"vcpus": 4, "memory_mb": 4096}})
    load_hosts = cache_module.load_hosts
    fired: list[bool] = []

    def slow(session: Any, where: Any) -> Any:
        records = load_hosts(session, where)
        if not fired:
            fired.append(True)
            servers.delete(ctl, ADMIN, server["id"])
            ctl.cache.refresh(heartbeats_too=True)
        return records

    monkeypatch.setattr(cache_module, "load_hosts", slow)
    ctl.cache.mark_dirty("h1")
    ctl.cache.refresh()
    monkeypatch.setattr(cache_module, "load_hosts", load_hosts)
    assert fired and _used(ctl) == (4, 0)
    host = ctl.cache.snapshot.get("h1")
    assert host is not None and host.vcpus == 4
    servers.create(ctl, ADMIN, {"name": "t", "flavor": {"vcpus": 4, "memory_mb": 4096}})


def test_a_claim_failing_on_the_database_leaves_no_phantom_reservation(
    ctl: Controller, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The claim fails (database error) and so does the re-read after it: the host stays
    marked and the next refresh drops the reservation that never committed."""
    place = servers.place

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise sa.exc.OperationalError("INSERT", {}, Exception("database is down"))

    refresh = ctl.cache.refresh

    def down(**kwargs: Any) -> int:
        raise sa.exc.OperationalError("SELECT", {}, Exception("database is down"))

    monkeypatch.setattr(servers, "place", broken)
    monkeypatch.setattr(ctl.cache, "refresh", down)
    with pytest.raises(sa.exc.OperationalError, match="INSERT"):  # the claim's own error
        servers.create(ctl, ADMIN, {"name": "a", "flavor": {"vcpus": 4, "memory_mb": 4096}})
    monkeypatch.setattr(servers, "place", place)
    monkeypatch.setattr(ctl.cache, "refresh", refresh)
    ctl.cache.refresh()
    servers.create(ctl, ADMIN, {"name": "b", "flavor": {"vcpus": 4, "memory_mb": 4096}})
    assert _used(ctl) == (4, 4)
