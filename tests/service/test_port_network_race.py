"""Regression (found by ``pcinet bench stress``, 4 replicas on PostgreSQL): a port created
on a network that another replica deleted after it was read was a 500 (the foreign key's
IntegrityError); it is 404 naming ``port.network_id``, with nothing written."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from pcinet.config import Settings
from pcinet.service import networks, ports
from pcinet.service.context import ADMIN, Caller
from pcinet.service.controller import Controller
from pcinet.service.errors import NotFound
from pcinet.store.models import Network, Port


def test_regression_a_port_on_a_network_deleted_meanwhile_is_404(
    db_url: str, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if backend == "sqlite":
        pytest.skip("SQLite writers run one at a time: the network cannot go meanwhile")
    ctl = Controller.start(Settings(database_url=db_url, network_vlan_ranges="phy1:100:199"))
    try:
        net = networks.create(ctl, ADMIN, {"name": "n", "shared": True})
        seen = ports.visible_network

        def read_then_lose(caller: Caller, row: Any, network_id: str) -> Any:
            visible = seen(caller, row, network_id)
            with ctl.engine.begin() as other:  # another replica deletes it now
                other.execute(sa.delete(Network).where(Network.id == network_id))
            return visible

        monkeypatch.setattr(ports, "visible_network", read_then_lose)
        with pytest.raises(NotFound) as info:
            ports.create(ctl, Caller("p1", "member"), {"network_id": net["id"]})
        assert info.value.field == "port.network_id"
        with ctl.engine.connect() as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(Port)).scalar() == 0
    finally:
        ctl.close()
