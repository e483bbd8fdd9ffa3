"""Networks and their segments.

The database guarantees (partial unique indexes on ``segments``): a VLAN of a physnet
belongs to at most one vlan segment; a physnet has at most one flat segment; an overlay id
belongs to at most one segment of its type. ``add_network`` turns a violation into
SegmentInUse naming the segment and the network that has it. Whether a physnet or VLAN is
allowed at all (``network_vlan_ranges``, 1-4094) is the service's check.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from pcinet.core.network import Network as CoreNetwork
from pcinet.core.network import NetworkType
from pcinet.core.network import Segment as CoreSegment
from pcinet.core.vlan import VlanRanges
from pcinet.store.errors import SegmentInUse
from pcinet.store.models import Network, Segment, new_id, utcnow


def add_network(
    session: Session,
    *,
    name: str,
    project_id: str,
    segments: Sequence[CoreSegment],
    shared: bool = False,
    admin_state_up: bool = True,
    description: str = "",
) -> Network:
    """Insert a network and its segments (in order); SegmentInUse if one is taken."""
    network = Network(
        id=new_id(),
        name=name,
        project_id=project_id,
        shared=shared,
        admin_state_up=admin_state_up,
        description=description,
        status="ACTIVE",
        created_at=utcnow(),
    )
    rows = [
        Segment(
            id=new_id(),
            network_id=network.id,
            position=i,
            network_type=s.network_type.value,
            physical_network=s.physical_network,
            segmentation_id=s.segmentation_id,
        )
        for i, s in enumerate(segments)
    ]
    try:
        with session.begin_nested():
            session.add(network)
            session.add_all(rows)
    except sa.exc.IntegrityError as exc:
        for segment in segments:
            owner = segment_owner(session, segment)
            if owner is not None:
                raise SegmentInUse(_taken(segment, owner), field="segments") from None
        if "segments" in str(exc.orig):
            # Its holder was deleted since (found by ``pcinet bench stress``: a 500 before).
            raise SegmentInUse(
                "a segment of this network was taken by a network created at the same "
                "moment (and deleted since); try again",
                field="segments",
            ) from None
        raise
    return network


def _taken(segment: CoreSegment, owner: str) -> str:
    if segment.network_type is NetworkType.FLAT:
        return f"physnet {segment.physical_network} already has a flat network ({owner})"
    if segment.network_type is NetworkType.VLAN:
        return (
            f"VLAN {segment.segmentation_id} on physnet {segment.physical_network} "
            f"is in use by network {owner}"
        )
    return f"{segment.network_type} id {segment.segmentation_id} is in use by network {owner}"


def segment_owner(session: Session, segment: CoreSegment) -> str | None:
    """The id of the network holding the same wire as ``segment`` (see the module docstring),
    if any; None also for a vlan segment without a VLAN yet."""
    query = sa.select(Segment.network_id).where(Segment.network_type == segment.network_type)
    if segment.network_type is NetworkType.FLAT:
        query = query.where(Segment.physical_network == segment.physical_network)
    elif segment.segmentation_id is None:
        return None
    elif segment.network_type is NetworkType.VLAN:
        query = query.where(
            Segment.physical_network == segment.physical_network,
            Segment.segmentation_id == segment.segmentation_id,
        )
    else:
        query = query.where(
            Segment.physical_network.is_(None), Segment.segmentation_id == segment.segmentation_id
        )
    return session.scalars(query.limit(1)).first()


def used_vlans(session: Session, physnet: str) -> set[int]:
    query = sa.select(Segment.segmentation_id).where(
        Segment.network_type == NetworkType.VLAN.value,
        Segment.physical_network == physnet,
        Segment.segmentation_id.is_not(None),
    )
    return {int(v) for v in session.scalars(query) if v is not None}


def free_vlan(session: Session, ranges: VlanRanges) -> tuple[str, int] | None:
    """The first ``(physnet, vlan)`` of ``ranges`` that no segment uses, or None. Two
    transactions may pick the same one on PostgreSQL: the loser's insert is SegmentInUse."""
    for physnet in ranges.physnets:
        used = used_vlans(session, physnet)
        for vlan in ranges.vlans(physnet):
            if vlan not in used:
                return physnet, vlan
    return None


def free_overlay_id(session: Session, network_type: NetworkType, low: int, high: int) -> int | None:
    """The smallest id in ``low``-``high`` that no segment of ``network_type`` uses, or None
    (a race is SegmentInUse at insert, as for VLANs)."""
    query = (
        sa.select(Segment.segmentation_id)
        .where(
            Segment.network_type == network_type.value,
            Segment.segmentation_id.between(low, high),
        )
        .order_by(Segment.segmentation_id)
    )
    expected = low
    for used in session.scalars(query):
        if used is None or used < expected:
            continue
        if used > expected:
            return expected
        expected = used + 1
    return expected if expected <= high else None


def get_network(session: Session, network_id: str) -> Network | None:
    return session.get(Network, network_id)


def list_networks(
    session: Session, *, visible_to: str | None = None, name: str | None = None
) -> list[Network]:
    """Networks, oldest first; ``visible_to`` keeps that project's and the shared ones."""
    query = sa.select(Network).order_by(Network.created_at, Network.id)
    if visible_to is not None:
        query = query.where(sa.or_(Network.project_id == visible_to, Network.shared))
    if name is not None:
        query = query.where(Network.name == name)
    return list(session.scalars(query))


def segments_of(session: Session, network_ids: Sequence[str]) -> dict[str, list[Segment]]:
    """Network id -> its segment rows in order (every id given is a key)."""
    out: dict[str, list[Segment]] = {n: [] for n in network_ids}
    if network_ids:
        query = (
            sa.select(Segment)
            .where(Segment.network_id.in_(network_ids))
            .order_by(Segment.network_id, Segment.position)
        )
        for row in session.scalars(query):
            out[row.network_id].append(row)
    return out


def core_network(network: Network, segments: Sequence[Segment]) -> CoreNetwork:
    """The core's view of a stored network (what ports and binding work with)."""
    return CoreNetwork(
        name=network.name,
        id=network.id,
        segments=tuple(
            CoreSegment(NetworkType(s.network_type), s.physical_network, s.segmentation_id)
            for s in segments
        ),
    )


def delete_network(session: Session, network_id: str) -> bool:
    """Delete a network; its segments go with it (FK ON DELETE CASCADE). The database refuses
    (IntegrityError) while ports are on it: the service checks ``ports.list_ports`` first."""
    row = session.get(Network, network_id)
    if row is None:
        return False
    session.delete(row)
    session.flush()
    return True
