"""Desired VF states, for each host's agent to apply.

Keyed by the VF (host, PCI address), so a restore survives the port being deleted or bound
elsewhere. Each change of ``desired``/``action`` bumps the row's ``generation``; the agent
reports the generation it applied, so a report about an older generation is recognisable.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from pcinet.store.models import Device, VfState, utcnow
from pcinet.store.uow import Executor, connection_of

APPLY = "apply"
RESTORE = "restore"


VF_TABLE = cast(sa.Table, VfState.__table__)
_VF = VF_TABLE


def apply_on_conflict(stmt: Any) -> Any:
    """An ``INSERT`` into ``vf_states`` (the PostgreSQL or SQLite dialect's) that, for a VF
    that has a row already, asks again: new port, desired state and action, generation + 1,
    the agent's last report cleared."""
    return stmt.on_conflict_do_update(
        index_elements=[_VF.c.host_id, _VF.c.pci_address],
        set_={
            "port_id": stmt.excluded.port_id,
            "desired": stmt.excluded.desired,
            "action": stmt.excluded.action,
            "generation": _VF.c.generation + 1,
            "reported_status": None,
            "reported_error": None,
            "updated_at": stmt.excluded.updated_at,
        },
    )


VF_COLUMNS = ("host_id", "pci_address", "port_id", "desired", "action", "generation", "updated_at")
_UPSERTS = {
    name: apply_on_conflict(
        module.insert(_VF).values(
            {c: sa.bindparam(f"x_{c}", type_=_VF.c[c].type) for c in VF_COLUMNS}
        )
    )
    for name, module in (("sqlite", sqlite), ("postgresql", postgresql))
}


def set_desired(
    session: Executor,
    *,
    host_id: str,
    pci_address: str,
    port_id: str,
    desired: Mapping[str, Any],
    now: datetime | None = None,
) -> None:
    """Ask the host to program the VF (``desired``: vlan, mac, spoofchk, trust, link_state,
    min_tx_rate, max_tx_rate). One statement (an upsert, no RETURNING): this is on the
    placement hot path; ``placements.place`` runs the same upsert as a CTE on PostgreSQL."""
    conn = connection_of(session)
    values = {
        "x_host_id": host_id,
        "x_pci_address": pci_address,
        "x_port_id": port_id,
        "x_desired": dict(desired),
        "x_action": APPLY,
        "x_generation": 1,
        "x_updated_at": now or utcnow(),
    }
    conn.execute(_UPSERTS[conn.dialect.name], values)


def mark_restore(session: Session, *, host_id: str, pci_address: str) -> VfState:
    """Ask the host to restore the VF's original settings (the agent saved them, and
    reported them: ``original``, kept)."""
    row = session.get(VfState, (host_id, pci_address))
    port_id = row.port_id if row is not None else None
    return _put(
        session,
        host_id=host_id,
        pci_address=pci_address,
        port_id=port_id,
        desired={},
        action=RESTORE,
    )


def _put(
    session: Session,
    *,
    host_id: str,
    pci_address: str,
    port_id: str | None,
    desired: dict[str, Any],
    action: str,
) -> VfState:
    row = session.get(VfState, (host_id, pci_address))
    if row is None:
        row = VfState(host_id=host_id, pci_address=pci_address, generation=0)
        session.add(row)
    row.port_id, row.desired, row.action = port_id, desired, action
    row.generation += 1
    row.reported_status = row.reported_error = None
    row.updated_at = utcnow()
    session.flush()
    return row


def get_vf_state(session: Session, host_id: str, pci_address: str) -> VfState | None:
    return session.get(VfState, (host_id, pci_address))


def list_vf_states(session: Session, host_id: str) -> list[VfState]:
    query = sa.select(VfState).where(VfState.host_id == host_id).order_by(VfState.pci_address)
    return list(session.scalars(query))


def vf_locations(session: Session, host_id: str) -> dict[str, tuple[str | None, int | None]]:
    """For each VF of the host: its PF's netdev (the PF's reported ``devname``) and its VF
    index (None while unknown)."""
    rows = session.execute(
        sa.select(Device.address, Device.parent_address, Device.devname, Device.vf_index).where(
            Device.host_id == host_id
        )
    ).all()
    devnames = {r.address: r.devname for r in rows}
    return {
        r.address: (devnames.get(r.parent_address), r.vf_index)
        for r in rows
        if r.parent_address is not None
    }


def vf_state_of_port(session: Session, port_id: str) -> VfState | None:
    """The VF a port is (or was last) bound to, preferring a pending apply."""
    query = sa.select(VfState).where(VfState.port_id == port_id)
    rows = sorted(session.scalars(query), key=lambda r: r.action != APPLY)
    return rows[0] if rows else None


def error_reasons(session: Session, ports: Iterable[Any]) -> dict[str, str]:
    """Why each ``ERROR`` port among ``ports`` is in error: the error its agent reported for
    the VF the port is bound to (that VF's apply, ``reported_error``). Read when a port is
    shown, so that placing a server writes nothing more; no query when no port is in
    ``ERROR``."""
    failed = {p.id: p.pci_address for p in ports if p.status == "ERROR"}
    out: dict[str, str] = {}
    ids = sorted(failed)
    for start in range(0, len(ids), _REASON_CHUNK):
        rows = session.execute(
            sa.select(VfState.port_id, VfState.pci_address, VfState.reported_error).where(
                VfState.port_id.in_(ids[start : start + _REASON_CHUNK]),
                VfState.action == APPLY,
                VfState.reported_status == "error",
            )
        )
        for port_id, address, error in rows:
            if error and port_id is not None and failed.get(port_id) == address:
                out[port_id] = error
    return out


# Port ids per query: far under SQLite's and PostgreSQL's bound-parameter limits.
_REASON_CHUNK = 500


def report(
    session: Session,
    *,
    host_id: str,
    pci_address: str,
    generation: int,
    status: str,
    error: str | None = None,
    original: Mapping[str, Any] | None = None,
) -> VfState | None:
    """Record what the agent applied; a report for an older generation is ignored (returns
    the row unchanged). None if there is no such VF state. ``original`` (the VF's settings
    before the agent's first change) is kept from the first report that gives it."""
    row = session.get(VfState, (host_id, pci_address))
    if row is None or generation != row.generation:
        return row
    row.applied_generation, row.reported_status, row.reported_error = generation, status, error
    if original is not None and row.original is None:
        row.original = dict(original)
    row.updated_at = utcnow()
    session.flush()
    return row


def forget(session: Session, *, host_id: str, pci_address: str) -> bool:
    """Drop a VF's row (e.g. once its restore is reported done)."""
    row = session.get(VfState, (host_id, pci_address))
    if row is None:
        return False
    session.delete(row)
    session.flush()
    return True
