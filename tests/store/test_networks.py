"""Segments and ports: what the database refuses by itself, and the errors it becomes."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from pcinet.core.network import NetworkType, Segment
from pcinet.core.vlan import VlanRanges
from pcinet.store import networks, ports
from pcinet.store.errors import MacAddressInUse, PortInUse, SegmentInUse
from pcinet.store.models import Segment as SegmentRow
from pcinet.store.servers import add_server
from pcinet.store.uow import UnitOfWork

VLAN, FLAT, VXLAN = NetworkType.VLAN, NetworkType.FLAT, NetworkType.VXLAN


def _add(sessions: sessionmaker[Session], *segments: Segment, project: str = "p1") -> str:
    with UnitOfWork(sessions) as session:
        return networks.add_network(session, name="net", project_id=project, segments=segments).id


def test_a_vlan_belongs_to_one_segment_at_the_database_level(
    sessions: sessionmaker[Session],
) -> None:
    net = _add(sessions, Segment(VLAN, "phy1", 100))
    with pytest.raises(sa.exc.IntegrityError), UnitOfWork(sessions) as session:
        session.add(
            SegmentRow(
                id="s2",
                network_id=net,
                position=1,
                network_type="vlan",
                physical_network="phy1",
                segmentation_id=100,
            )
        )


@pytest.mark.parametrize(
    ("first", "second", "message"),
    [
        (Segment(VLAN, "phy1", 100), Segment(VLAN, "phy1", 100), "VLAN 100 on physnet phy1"),
        (Segment(FLAT, "phy1", None), Segment(FLAT, "phy1", None), "flat network"),
        (Segment(VXLAN, None, 7), Segment(VXLAN, None, 7), "vxlan id 7"),
    ],
)
def test_a_taken_segment_is_segment_in_use(
    sessions: sessionmaker[Session], first: Segment, second: Segment, message: str
) -> None:
    owner = _add(sessions, first)
    with pytest.raises(SegmentInUse, match=message) as info:
        _add(sessions, Segment(VLAN, "phy2", 5), second)
    assert info.value.code == "vlan_in_use"
    assert owner in info.value.message
    with UnitOfWork(sessions, readonly=True) as session:
        assert [n.id for n in networks.list_networks(session)] == [owner]
        assert networks.used_vlans(session, "phy2") == set()


@pytest.mark.parametrize(
    "segments",
    [
        (Segment(VLAN, "phy1", 100), Segment(VLAN, "phy2", 100)),  # same VLAN, other physnet
        (Segment(VLAN, "phy1", 100), Segment(FLAT, "phy1", None)),  # flat next to a VLAN
        (Segment(VLAN, "phy1", None), Segment(VLAN, "phy1", None)),  # not allocated yet
        (Segment(VXLAN, None, 7), Segment(NetworkType.GENEVE, None, 7)),  # other overlay type
    ],
)
def test_segments_that_do_not_share_a_wire_coexist(
    sessions: sessionmaker[Session], segments: tuple[Segment, Segment]
) -> None:
    for segment in segments:
        _add(sessions, segment)


def test_free_vlan_and_core_view(sessions: sessionmaker[Session]) -> None:
    net = _add(sessions, Segment(VLAN, "phy1", 100), Segment(VLAN, "phy2", 7))
    _add(sessions, Segment(VLAN, "phy1", 101))
    ranges = VlanRanges.parse("phy1:100:102,phy2:7:8")
    with UnitOfWork(sessions, readonly=True) as session:
        assert networks.free_vlan(session, ranges) == ("phy1", 102)
        assert networks.free_vlan(session, VlanRanges.parse("phy1:100:101")) is None
        row = networks.get_network(session, net)
        assert row is not None
        core = networks.core_network(row, networks.segments_of(session, [net])[net])
    assert core.physnets == frozenset({"phy1", "phy2"})
    assert core.segment_for_physnet("phy2") == Segment(VLAN, "phy2", 7)


def test_list_networks_visible_to_a_project(sessions: sessionmaker[Session]) -> None:
    mine = _add(sessions, Segment(VXLAN, None, 1), project="p1")
    _add(sessions, Segment(VXLAN, None, 2), project="p2")
    with UnitOfWork(sessions) as session:
        shared = networks.add_network(
            session,
            name="pub",
            project_id="admin",
            shared=True,
            segments=[Segment(FLAT, "phy1", None)],
        ).id
    with UnitOfWork(sessions, readonly=True) as session:
        assert [n.id for n in networks.list_networks(session, visible_to="p1")] == [mine, shared]


def test_ports_mac_per_network_binding_and_network_delete(
    sessions: sessionmaker[Session],
) -> None:
    net1, net2 = _add(sessions, Segment(VXLAN, None, 1)), _add(sessions, Segment(VXLAN, None, 2))
    mac = "fa:16:3e:00:00:01"
    with UnitOfWork(sessions) as session:
        port = ports.add_port(
            session, project_id="p1", network_id=net1, mac_address=mac, vnic_type="direct"
        )
        ports.add_port(session, project_id="p1", network_id=net2, mac_address=mac)
        port_id = port.id
    with pytest.raises(MacAddressInUse), UnitOfWork(sessions) as session:
        ports.add_port(session, project_id="p1", network_id=net1, mac_address=mac)
    with UnitOfWork(sessions) as session:
        vm1 = add_server(
            session, project_id="p1", name="a", status="BUILD", vcpus=1, memory_mb=1, flavor={}
        ).id
        vm2 = add_server(
            session, project_id="p1", name="b", status="BUILD", vcpus=1, memory_mb=1, flavor={}
        ).id
        ports.bind_port(
            session,
            port_id,
            server_id=vm1,
            binding={"binding_host_id": "h1", "pci_address": "0000:01:10.0"},
        )
    with UnitOfWork(sessions, readonly=True) as session:
        bound = ports.get_port(session, port_id)
        assert bound is not None
        assert (bound.device_id, bound.binding_host_id) == (vm1, "h1")
    with pytest.raises(PortInUse), UnitOfWork(sessions) as session:
        ports.bind_port(session, port_id, server_id=vm2, binding={})
    with pytest.raises(sa.exc.IntegrityError), UnitOfWork(sessions) as session:
        networks.delete_network(session, net1)
    with UnitOfWork(sessions) as session:
        [unbound] = ports.unbind_ports(session, vm1)
        assert (unbound.device_id, unbound.pci_address, unbound.status) == (None, None, "DOWN")
        assert ports.delete_port(session, port_id)
        assert networks.delete_network(session, net1)
    with UnitOfWork(sessions, readonly=True) as session:
        assert [p.network_id for p in ports.list_ports(session)] == [net2]
        assert session.scalar(sa.select(sa.func.count()).select_from(SegmentRow)) == 1


def test_regression_a_vlan_clash_whose_holder_is_gone_is_segment_in_use(
    sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found by ``pcinet bench stress`` (PostgreSQL, 4 replicas): the insert clashed with a
    network created at the same moment, which was deleted before the clash was looked up;
    the raw IntegrityError was a 500. Simulated: the lookup finds no holder."""
    _add(sessions, Segment(VLAN, "phy1", 100))
    monkeypatch.setattr(networks, "segment_owner", lambda _session, _segment: None)
    with pytest.raises(SegmentInUse, match="at the same moment"):
        _add(sessions, Segment(VLAN, "phy1", 100))
