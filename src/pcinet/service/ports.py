"""Ports: created on a network the caller can see, with a generated MAC when none is given;
attached to a server by ``servers.create``; their status moves DOWN -> BUILD -> ACTIVE as
the host's agent applies the VF state (``set_status``)."""

from __future__ import annotations

import secrets
from typing import Any

import sqlalchemy as sa

from pcinet.core.port import Port
from pcinet.service.context import Caller
from pcinet.service.controller import Controller
from pcinet.service.errors import Forbidden, InvalidRequest, NotFound
from pcinet.service.inputs.base import parse
from pcinet.service.inputs.ports import PortCreate, PortStatus
from pcinet.service.networks import _visible as visible_network
from pcinet.service.networks import project_of
from pcinet.service.quotas import limits_for
from pcinet.service.servers import refresh_server_status
from pcinet.service.views import port_view
from pcinet.store import ports as store_ports
from pcinet.store import vf_states
from pcinet.store.errors import MacAddressInUse
from pcinet.store.models import Port as PortRow
from pcinet.store.networks import get_network
from pcinet.store.quotas import enforce

MAC_PREFIX = "fa:16:3e"  # Neutron's default base_mac
MAC_ATTEMPTS = 16


def _random_mac() -> str:
    tail = secrets.token_bytes(3)
    return MAC_PREFIX + "".join(f":{b:02x}" for b in tail)


def create(ctl: Controller, caller: Caller, body: PortCreate | Any) -> dict[str, Any]:
    caller.require("admin", "member", action="creating a port")
    request = parse(PortCreate, body)
    project = project_of(request.project_id, request.tenant_id, "port")
    if project is not None and not caller.is_admin and project != caller.project_id:
        raise InvalidRequest(
            "port.project_id: only an admin may create a port for another project",
            field="port.project_id",
        )
    min_rate, max_rate = request.min_tx_rate, request.max_tx_rate
    if min_rate is not None and max_rate is not None and min_rate > max_rate:
        raise InvalidRequest(
            f"port.min_tx_rate: {min_rate} is above max_tx_rate {max_rate}",
            field="port.min_tx_rate",
        )
    core = Port.from_dict(
        {
            k: v
            for k, v in request.data().items()
            if k not in ("min_tx_rate", "max_tx_rate", "project_id", "tenant_id")
        },
        where="port",
    )
    name = request.name
    network_id = core.network
    fixed_mac = core.mac_address
    owner = project or caller.project_id
    limits = limits_for(ctl, owner)
    for attempt in range(MAC_ATTEMPTS):
        try:
            with ctl.unit() as session:
                network = visible_network(caller, get_network(session, network_id), network_id)
                row = store_ports.add_port(
                    session,
                    project_id=owner,
                    network_id=network.id,
                    mac_address=fixed_mac or _random_mac(),
                    name=name,
                    description=request.description,
                    vnic_type=core.vnic_type.value,
                    profile=dict(core.profile),
                    port_security_enabled=core.port_security_enabled,
                    admin_state_up=core.admin_state_up,
                    numa_affinity_policy=(
                        core.numa_affinity_policy.value if core.numa_affinity_policy else None
                    ),
                    min_tx_rate=min_rate,
                    max_tx_rate=max_rate,
                    status="DOWN",
                )
                enforce(session, owner, limits, ("ports",))
        except MacAddressInUse:
            if fixed_mac is not None or attempt == MAC_ATTEMPTS - 1:
                raise
            continue
        except sa.exc.IntegrityError:
            # The network was deleted (on another replica) after it was read: the port's
            # foreign key says so (found by ``pcinet bench stress``: a 500 before).
            with ctl.unit(readonly=True) as session:
                if get_network(session, network_id) is None:
                    raise NotFound(
                        f"network {network_id} not found", field="port.network_id"
                    ) from None
            raise
        ctl.ports.remember(store_ports.port_record(row))  # committed: a server may take it
        return port_view(row)
    raise AssertionError("unreachable")


def sees(caller: Caller, row: PortRow) -> bool:
    """Whether the caller may see the port: a member its project's, admins and unbound
    service tokens every port, a host-bound service token those bound to its host."""
    if caller.host_bound:
        return row.binding_host_id == caller.host
    return caller.owns(row.project_id) or caller.role == "service"


def owned(caller: Caller, row: PortRow | None, port_id: str) -> PortRow:
    """The port if the caller may see it (``sees``); else 404, as for a missing id."""
    if row is None or not sees(caller, row):
        raise NotFound(f"port {port_id} not found")
    return row


def get(ctl: Controller, caller: Caller, port_id: str) -> dict[str, Any]:
    with ctl.unit(readonly=True) as session:
        row = owned(caller, store_ports.get_port(session, port_id), port_id)
        return port_view(row, vf_states.error_reasons(session, [row]).get(row.id))


def list_ports(
    ctl: Controller,
    caller: Caller,
    *,
    network_id: str | None = None,
    device_id: str | None = None,
    name: str | None = None,
    status: str | None = None,
) -> list[dict[str, Any]]:
    everything = caller.is_admin or caller.role == "service"
    with ctl.unit(readonly=True) as session:
        rows = store_ports.list_ports(
            session,
            project_id=None if everything else caller.project_id,
            network_id=network_id,
            device_id=device_id,
            binding_host_id=caller.host if caller.host_bound else None,
        )
        rows = [
            r
            for r in rows
            if (name is None or r.name == name) and (status is None or r.status == status)
        ]
        reasons = vf_states.error_reasons(session, rows)
        return [port_view(r, reasons.get(r.id)) for r in rows]


def delete(ctl: Controller, caller: Caller, port_id: str) -> None:
    caller.require("admin", "member", action="deleting a port")
    ctl.ports.forget([port_id])
    with ctl.unit() as session:
        owned(caller, store_ports.get_port(session, port_id), port_id)
        if not store_ports.delete_port(session, port_id):  # PortInUse if a server uses it
            raise NotFound(f"port {port_id} not found")


def set_status(
    ctl: Controller, caller: Caller, port_id: str, body: PortStatus | Any
) -> dict[str, Any]:
    """The agent reports a port's status; the server's status follows its device ports."""
    caller.require("admin", "service", action="reporting port status")
    request = parse(PortStatus, body)
    status, error = request.status, request.error
    ctl.ports.forget([port_id])
    with ctl.unit() as session:
        state = vf_states.vf_state_of_port(session, port_id)
        if request.generation is not None and (
            state is None or state.generation != request.generation
        ):
            # The agent programmed an older desired state than the current one (or the VF
            # is no longer the port's): as a VF-state report of an older generation, it
            # changes nothing; the next pass reports the current one.
            row = store_ports.get_port(session, port_id)
            if row is None:
                raise NotFound(f"port {port_id} not found")
            owned_by_host(caller, row, port_id)
            return port_view(row, vf_states.error_reasons(session, [row]).get(row.id))
        if caller.host is not None:
            bound = store_ports.get_port(session, port_id)
            if bound is None:
                raise NotFound(f"port {port_id} not found")
            owned_by_host(caller, bound, port_id)
        row = store_ports.set_port_status(session, port_id, status)
        if row is None:
            raise NotFound(f"port {port_id} not found")
        if state is not None and state.action == vf_states.APPLY and status in ("ACTIVE", "ERROR"):
            vf_states.report(
                session,
                host_id=state.host_id,
                pci_address=state.pci_address,
                generation=state.generation,
                status="error" if status == "ERROR" else "applied",
                error=error,
            )
        if row.device_id is not None:
            refresh_server_status(session, row.device_id)
        return port_view(row, vf_states.error_reasons(session, [row]).get(row.id))


def owned_by_host(caller: Caller, port: PortRow, port_id: str) -> None:
    """A host-scoped service token reports only the ports bound to its host."""
    if caller.host is not None and port.binding_host_id != caller.host:
        raise Forbidden(
            f"reporting port status: port {port_id} is not bound to host {caller.host}, the "
            "host of this token"
        )
