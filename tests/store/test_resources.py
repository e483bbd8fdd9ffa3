"""Tokens, aliases, VF states and servers."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from pcinet.store import aliases, servers, tokens, vf_states
from pcinet.store.uow import UnitOfWork
from tests.store.helpers import add_host


def test_tokens_are_stored_hashed(sessions: sessionmaker[Session]) -> None:
    with UnitOfWork(sessions) as session:
        token, issued = tokens.issue_token(session, "p1", "member")
        assert len(issued.id) == 32 and issued.id not in (token, issued.token_hash)
        tokens.put_token(session, "admin-secret", "admin", "member")
        tokens.put_token(session, "admin-secret", "admin", "admin")
    with UnitOfWork(sessions, readonly=True) as session:
        row = tokens.get_token(session, token)
        assert row is not None and (row.project_id, row.role) == ("p1", "member")
        assert row.token_hash != token and len(row.token_hash) == 64
        admin = tokens.get_token(session, "admin-secret")
        assert admin is not None and admin.role == "admin"
        assert tokens.get_token(session, "unknown") is None
    with pytest.raises(ValueError, match="role"), UnitOfWork(sessions) as session:
        tokens.put_token(session, "t", "p", "root")


def test_a_configured_admin_token_replaces_the_one_configured_before(
    sessions: sessionmaker[Session],
) -> None:
    with UnitOfWork(sessions) as session:
        assert tokens.put_configured_admin(session, "first", "admin") == 0
        minted, _ = tokens.issue_token(session, "admin", "admin")
    with UnitOfWork(sessions) as session:
        assert tokens.put_configured_admin(session, "first", "admin") == 0  # same: kept
        assert tokens.put_configured_admin(session, "second", "admin") == 1
    with UnitOfWork(sessions, readonly=True) as session:
        assert tokens.get_token(session, "first") is None
        second = tokens.get_token(session, "second")
        assert second is not None and second.configured and second.role == "admin"
        # tokens issued through the API are revoked one by one, not by rotation
        assert tokens.get_token(session, minted) is not None
        assert {t.id for t in tokens.list_tokens(session)} == {
            second.id,
            tokens.get_token(session, minted).id,  # type: ignore[union-attr]
        }
    with UnitOfWork(sessions) as session:
        assert tokens.delete_token(session, second.id) is not None
        assert tokens.delete_token(session, second.id) is None


def test_aliases_are_replaced_as_a_whole_list(sessions: sessionmaker[Session]) -> None:
    first = [
        {"name": "gpu", "vendor_id": "10de"},
        {"name": "nic", "product_id": "154c"},
        {"name": "gpu", "vendor_id": "1002"},
    ]
    with UnitOfWork(sessions) as session:
        aliases.replace_aliases(session, first)
    with UnitOfWork(sessions) as session:
        assert aliases.list_aliases(session) == first
        aliases.replace_aliases(session, first[1:2])
    with UnitOfWork(sessions, readonly=True) as session:
        assert aliases.list_aliases(session) == first[1:2]


def test_vf_state_apply_report_restore(sessions: sessionmaker[Session]) -> None:
    host = add_host(sessions, "h1")
    vf = {"host_id": host.id, "pci_address": "0000:01:10.0"}
    with UnitOfWork(sessions) as session:
        vf_states.set_desired(session, port_id="port1", desired={"vlan": 100}, **vf)
        state = vf_states.get_vf_state(session, **vf)
        assert state is not None and (state.action, state.generation) == ("apply", 1)
    with UnitOfWork(sessions) as session:
        assert vf_states.report(session, generation=0, status="applied", **vf) is not None
        done = vf_states.report(session, generation=1, status="applied", **vf)
        assert done is not None and (done.applied_generation, done.reported_status) == (
            1,
            "applied",
        )
        restore = vf_states.mark_restore(session, **vf)
        assert (restore.action, restore.generation, restore.port_id) == ("restore", 2, "port1")
        assert restore.reported_status is None
    with UnitOfWork(sessions) as session:
        [row] = vf_states.list_vf_states(session, host.id)
        assert row.desired == {}
        found = vf_states.vf_state_of_port(session, "port1")
        assert found is not None and found.pci_address == "0000:01:10.0"
        assert vf_states.forget(session, **vf)
        assert not vf_states.forget(session, **vf)


def test_servers_without_a_host(sessions: sessionmaker[Session]) -> None:
    host = add_host(sessions, "h1")
    with UnitOfWork(sessions) as session:
        row = servers.add_server(
            session,
            project_id="p1",
            name="vm",
            status="ERROR",
            vcpus=1,
            memory_mb=512,
            flavor={"vcpus": 1},
        )
        server_id = row.id
        servers.add_server(
            session, project_id="p2", name="vm", status="ERROR", vcpus=1, memory_mb=512, flavor={}
        )
    with UnitOfWork(sessions) as session:
        assert [s.id for s in servers.list_servers(session, project_id="p1")] == [server_id]
        assert len(servers.list_servers(session, name="vm")) == 2
        assert servers.list_servers(session, host_id=host.id) == []
        updated = servers.set_server_status(session, server_id, "DELETED")
        assert updated is not None and updated.status == "DELETED"
        assert servers.host_names(session, {host.id}) == {host.id: "h1"}
        assert servers.delete_server(session, server_id)
        assert not servers.delete_server(session, server_id)
        assert servers.get_server(session, server_id) is None
