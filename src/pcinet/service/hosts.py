"""Hosts: inventory reports, heartbeats, enable/disable, and reading them (admin; agents
with role ``service`` may report, heartbeat and read VF state; a service token bound to a
host only for that host, 403 for any other)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from pcinet.cloudfile import parse_host
from pcinet.core.vf import VfConfig
from pcinet.service.context import Caller
from pcinet.service.controller import Controller
from pcinet.service.errors import InvalidRequest, NotFound
from pcinet.service.inputs.base import parse
from pcinet.service.inputs.hosts import Disabled, HostReport, VfReport
from pcinet.service.servers import refresh_server_status
from pcinet.service.views import host_view, vf_state_view
from pcinet.store import hosts as store_hosts
from pcinet.store import ports as store_ports
from pcinet.store import vf_states
from pcinet.store.host_records import HostRecord
from pcinet.store.models import VfState, utcnow


def _view(ctl: Controller, record: HostRecord, *, devices: bool) -> dict[str, Any]:
    alive = not record.is_stale(utcnow(), ctl.settings.host_heartbeat_timeout_s)
    return host_view(record, alive=alive, devices=devices)


def report(
    ctl: Controller, caller: Caller, name: str, body: HostReport | Any
) -> tuple[dict[str, Any], bool]:
    """Create or replace a host's inventory; return its view and whether it is new."""
    caller.require("admin", "service", action="reporting a host")
    caller.require_host(name, action="reporting a host")
    data = parse(HostReport, body).data()
    if data.setdefault("name", name) != name:
        raise InvalidRequest(
            f"host.name: {data['name']!r} differs from the host in the path ({name!r})",
            field="host.name",
        )
    host = parse_host(data, "host", None)
    raw_spec = data.get("device_spec")
    with ctl.unit() as session:
        created = store_hosts.get_host(session, name) is None
        store_hosts.upsert_host(
            session,
            name,
            vcpus=host.vcpus,
            memory_mb=host.memory_mb,
            numa_cells=host.cells,
            devices=host.devices,
            device_spec=list(raw_spec) if raw_spec is not None else None,
            unselected=host.unselected,
        )
        record = store_hosts.get_host(session, name)
    assert record is not None
    ctl.cache.host_changed(name)
    return _view(ctl, record, devices=True), created


def list_hosts(
    ctl: Controller, caller: Caller, *, disabled: bool | None = None
) -> list[dict[str, Any]]:
    caller.require("admin", "service", action="listing hosts")
    with ctl.unit(readonly=True) as session:
        records = store_hosts.list_hosts(session)
    return [
        _view(ctl, r, devices=False)
        for r in records
        if (disabled is None or r.disabled == disabled) and caller.acts_for_host(r.name)
    ]


def get_host(ctl: Controller, caller: Caller, name: str) -> dict[str, Any]:
    caller.require("admin", "service", action="reading a host")
    caller.require_host(name, action="reading a host")
    with ctl.unit(readonly=True) as session:
        record = store_hosts.get_host(session, name)
    if record is None:
        raise NotFound(f"host {name} not found")
    return _view(ctl, record, devices=True)


def heartbeat(ctl: Controller, caller: Caller, name: str) -> None:
    caller.require("admin", "service", action="a heartbeat")
    caller.require_host(name, action="a heartbeat")
    with ctl.unit() as session:
        if not store_hosts.heartbeat(session, name):
            raise NotFound(f"host {name} not found")


def set_disabled(
    ctl: Controller, caller: Caller, name: str, body: Disabled | Any
) -> dict[str, Any]:
    caller.require("admin", action="enabling or disabling a host")
    disabled = parse(Disabled, body).disabled
    with ctl.unit() as session:
        if not store_hosts.set_disabled(session, name, disabled):
            raise NotFound(f"host {name} not found")
        record = store_hosts.get_host(session, name)
    assert record is not None
    ctl.cache.host_changed(name)
    return _view(ctl, record, devices=False)


def _host_id(ctl: Controller, name: str) -> str:
    with ctl.unit(readonly=True) as session:
        record = store_hosts.get_host(session, name)
    if record is None:
        raise NotFound(f"host {name} not found")
    return record.id


def vf_state(ctl: Controller, caller: Caller, name: str) -> dict[str, Any]:
    """The desired state of the host's VFs, for its agent."""
    caller.require("admin", "service", action="reading VF state")
    caller.require_host(name, action="reading VF state")
    host_id = _host_id(ctl, name)
    with ctl.unit(readonly=True) as session:
        rows = vf_states.list_vf_states(session, host_id)
        where = vf_states.vf_locations(session, host_id)
        vfs = []
        for row in rows:
            pf, index = where.get(row.pci_address, (None, None))
            vfs.append(vf_state_view(row, pf=pf, vf_index=index))
        return {"host": name, "vfs": vfs}


def report_vf(
    ctl: Controller, caller: Caller, name: str, address: str, body: VfReport | Any
) -> dict[str, Any] | None:
    """The agent applied (or restored, or failed) a VF's state of some generation. A report
    of an older generation changes nothing; ``restored`` of a restore removes the row
    (None is returned)."""
    caller.require("admin", "service", action="reporting VF state")
    caller.require_host(name, action="reporting VF state")
    request = parse(VfReport, body)
    generation, status, error = request.generation, request.status, request.error
    original = request.original
    if original is not None:
        original = VfConfig.from_dict(original, "body.original").to_dict()
    host_id = _host_id(ctl, name)
    with ctl.unit() as session:
        row = vf_states.report(
            session,
            host_id=host_id,
            pci_address=address,
            generation=generation,
            status=status,
            error=error,
            original=original,
        )
        if row is None:
            raise NotFound(f"host {name} has no VF state for {address}")
        if row.applied_generation != generation:  # an older generation: nothing changes
            return vf_state_view(row)
        if row.action == vf_states.RESTORE and status == "restored":
            vf_states.forget(session, host_id=host_id, pci_address=address)
            return None
        if row.action == vf_states.APPLY and row.port_id is not None:
            _port_follows(ctl, session, row, name, status)
        return vf_state_view(row)


def _port_follows(ctl: Controller, session: Session, row: VfState, host: str, status: str) -> None:
    """The port bound to the VF takes the agent's outcome: ``applied`` is ACTIVE (DOWN when
    the port is administratively down: its VF's link is disabled), ``error`` is ERROR; its
    server's status follows its device ports."""
    assert row.port_id is not None
    port = store_ports.get_port(session, row.port_id)
    if port is None or port.binding_host_id != host or port.pci_address != row.pci_address:
        return  # the port moved on (deleted, or bound elsewhere) since this apply
    if status == "error":
        new = "ERROR"
    else:
        new = "ACTIVE" if row.desired.get("link_state") != "disable" else "DOWN"
    if port.status != new:
        ctl.ports.forget([port.id])
        store_ports.set_port_status(session, port.id, new)
    if port.device_id is not None:
        refresh_server_status(session, port.device_id)
