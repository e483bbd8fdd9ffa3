"""The schema, as SQLAlchemy 2 typed declarative models (the Alembic migrations match it).

What the database itself guarantees (whatever the code above it does):
- a device is held by at most one consumer (``allocations.device_id`` is the primary key),
  and only by a consumer on the device's own host (composite FK to ``devices(id, host_id)``);
- an allocated device cannot be deleted, nor a server that still holds allocations
  (both FKs are RESTRICT), so no allocation ever dangles;
- one VLAN of a physnet belongs to at most one vlan segment, a physnet has at most one flat
  segment, and an overlay id is used by at most one segment of its type (partial unique
  indexes; a vlan segment whose VLAN is not allocated yet, NULL, is not constrained);
- a MAC address is unique within a network; a network with ports cannot be deleted;
- host names are unique.
What the service checks instead: the PF/VF rules (``claims.claim`` re-checks them in SQL
against existing allocations; ``hosts.upsert_host`` against what the host reports in use),
capacity, VLAN ranges, tenant isolation.

Ids are uuid4 hex strings made by the store; timestamps are timezone-aware UTC.
JSON object keys are strings, so ``hosts.cells_used`` is keyed by the cell id as a string.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ID = sa.String(32)
NAME = sa.String(255)
JSON = sa.JSON()
JSON_OR_NULL = sa.JSON(none_as_null=True)
OVERLAY_TYPES = ("vxlan", "geneve", "gre")


def new_id() -> str:
    return uuid.uuid4().hex


def utcnow() -> datetime:
    return datetime.now(UTC)


class UtcDateTime(sa.TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, on every backend (SQLite has no zone)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: the store keeps UTC-aware times")
        value = value.astimezone(UTC)
        return value if dialect.name == "postgresql" else value.replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING)


def _created() -> Mapped[datetime]:
    return mapped_column(UtcDateTime(), default=utcnow)


class Host(Base):
    """Totals as reported, usage as claimed. ``generation`` is bumped by every change to the
    host or its allocations (not by heartbeats); ``change_seq`` is the change-feed stamp of
    the last change (see ``store.changes``)."""

    __tablename__ = "hosts"
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(NAME, unique=True)
    vcpus: Mapped[int]
    memory_mb: Mapped[int]
    numa_cells: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    device_spec: Mapped[list[Any] | None] = mapped_column(JSON_OR_NULL)
    disabled: Mapped[bool] = mapped_column(default=False)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    generation: Mapped[int] = mapped_column(default=0)
    change_seq: Mapped[int] = mapped_column(sa.BigInteger, default=0, index=True)
    vcpus_used: Mapped[int] = mapped_column(default=0)
    memory_used_mb: Mapped[int] = mapped_column(default=0)
    cells_used: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The devices no device spec selects that the host reports ``allocated``, as
    # ``[{address, vendor_id, product_id, dev_type, parent_address}]`` by address: never
    # handed out, but they block their PF or VFs (see ``store.hosts``).
    unselected_allocated: Mapped[list[dict[str, Any]]] = mapped_column(
        JSON, server_default=sa.text("'[]'")
    )
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _created()


class Device(Base):
    """An assignable device of a host, with the tags its device spec gave it."""

    __tablename__ = "devices"
    __table_args__ = (
        sa.UniqueConstraint("host_id", "address"),
        sa.UniqueConstraint("id", "host_id"),
        sa.Index(None, "host_id", "parent_address"),
    )
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    host_id: Mapped[str] = mapped_column(ID, sa.ForeignKey("hosts.id", ondelete="CASCADE"))
    address: Mapped[str] = mapped_column(sa.String(16))
    vendor_id: Mapped[str] = mapped_column(sa.String(4))
    product_id: Mapped[str] = mapped_column(sa.String(4))
    dev_type: Mapped[str] = mapped_column(sa.String(16))
    parent_address: Mapped[str | None] = mapped_column(sa.String(16))
    numa_node: Mapped[int | None]
    devname: Mapped[str | None] = mapped_column(NAME)
    tags: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # For the host agent (reported by its inventory): the VF's index on its PF, the PCIe
    # root port (``pci0000:5d/0000:5d:00.0``), the netdev's MAC.
    vf_index: Mapped[int | None]
    pcie_root: Mapped[str | None] = mapped_column(sa.String(64))
    mac_address: Mapped[str | None] = mapped_column(sa.String(17))
    # The status the host reported: ``allocated`` is in use outside pcinet (never handed
    # out, blocks its PF or VFs); pcinet's own holds are ``allocations`` rows.
    reported_status: Mapped[str] = mapped_column(
        sa.String(16), default="available", server_default="available"
    )


class Server(Base):
    """``host_id`` is NULL once released; ``cells`` is ``[{host_cell, vcpus, memory_mb}]`` in
    guest cell order (what the claim took from each host cell)."""

    __tablename__ = "servers"
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    project_id: Mapped[str] = mapped_column(NAME, index=True)
    name: Mapped[str] = mapped_column(NAME)
    description: Mapped[str] = mapped_column(NAME, default="", server_default="")
    host_id: Mapped[str | None] = mapped_column(ID, sa.ForeignKey("hosts.id"), index=True)
    status: Mapped[str] = mapped_column(sa.String(16))
    vcpus: Mapped[int]
    memory_mb: Mapped[int]
    flavor: Mapped[dict[str, Any]] = mapped_column(JSON)
    cells: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = _created()


class Allocation(Base):
    __tablename__ = "allocations"
    __table_args__ = (
        sa.ForeignKeyConstraint(["device_id", "host_id"], ["devices.id", "devices.host_id"]),
    )
    device_id: Mapped[str] = mapped_column(ID, primary_key=True)
    host_id: Mapped[str] = mapped_column(ID, index=True)
    server_id: Mapped[str] = mapped_column(ID, sa.ForeignKey("servers.id"), index=True)
    request_index: Mapped[int]
    created_at: Mapped[datetime] = _created()


class Alias(Base):
    """One ``[pci] alias`` entry; the list is replaced as a whole, ``position`` keeps order."""

    __tablename__ = "aliases"
    position: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(NAME)
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)


class Network(Base):
    __tablename__ = "networks"
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(NAME)
    description: Mapped[str] = mapped_column(NAME, default="", server_default="")
    project_id: Mapped[str] = mapped_column(NAME, index=True)
    shared: Mapped[bool] = mapped_column(default=False)
    admin_state_up: Mapped[bool] = mapped_column(default=True)
    status: Mapped[str] = mapped_column(sa.String(16), default="ACTIVE")
    created_at: Mapped[datetime] = _created()


class Segment(Base):
    __tablename__ = "segments"
    __table_args__ = (
        sa.UniqueConstraint("network_id", "position"),
        sa.Index(
            "uq_segments_flat_physnet",
            "physical_network",
            unique=True,
            sqlite_where=sa.text("network_type = 'flat'"),
            postgresql_where=sa.text("network_type = 'flat'"),
        ),
        sa.Index(
            "uq_segments_vlan",
            "physical_network",
            "segmentation_id",
            unique=True,
            sqlite_where=sa.text("network_type = 'vlan'"),
            postgresql_where=sa.text("network_type = 'vlan'"),
        ),
        sa.Index(
            "uq_segments_overlay",
            "network_type",
            "segmentation_id",
            unique=True,
            sqlite_where=sa.text("physical_network IS NULL"),
            postgresql_where=sa.text("physical_network IS NULL"),
        ),
    )
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    network_id: Mapped[str] = mapped_column(ID, sa.ForeignKey("networks.id", ondelete="CASCADE"))
    position: Mapped[int]
    network_type: Mapped[str] = mapped_column(sa.String(16))
    physical_network: Mapped[str | None] = mapped_column(NAME)
    segmentation_id: Mapped[int | None] = mapped_column(sa.BigInteger)


class Port(Base):
    """Neutron's port. ``device_id`` is the server using it; ``binding_host_id`` is the host
    *name* (Neutron's ``binding:host_id``); rates are Mbps."""

    __tablename__ = "ports"
    __table_args__ = (sa.UniqueConstraint("network_id", "mac_address"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    project_id: Mapped[str] = mapped_column(NAME, index=True)
    network_id: Mapped[str] = mapped_column(ID, sa.ForeignKey("networks.id"))
    name: Mapped[str] = mapped_column(NAME, default="")
    description: Mapped[str] = mapped_column(NAME, default="", server_default="")
    mac_address: Mapped[str] = mapped_column(sa.String(17))
    # The port's own MAC while a direct-physical binding lends it its PF's (in
    # ``mac_address``); null otherwise. Reserved on the network like ``mac_address``.
    own_mac_address: Mapped[str | None] = mapped_column(sa.String(17))
    vnic_type: Mapped[str] = mapped_column(sa.String(32), default="normal")
    profile: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    port_security_enabled: Mapped[bool] = mapped_column(default=True)
    admin_state_up: Mapped[bool] = mapped_column(default=True)
    status: Mapped[str] = mapped_column(sa.String(16), default="DOWN")
    device_id: Mapped[str | None] = mapped_column(
        ID, sa.ForeignKey("servers.id", ondelete="SET NULL"), index=True
    )
    binding_host_id: Mapped[str | None] = mapped_column(NAME)
    binding_vif_type: Mapped[str | None] = mapped_column(sa.String(32))
    binding_vif_details: Mapped[dict[str, Any] | None] = mapped_column(JSON_OR_NULL)
    binding_profile: Mapped[dict[str, Any] | None] = mapped_column(JSON_OR_NULL)
    segment_id: Mapped[str | None] = mapped_column(ID, sa.ForeignKey("segments.id"))
    pci_address: Mapped[str | None] = mapped_column(sa.String(16))
    min_tx_rate: Mapped[int | None]
    max_tx_rate: Mapped[int | None]
    numa_affinity_policy: Mapped[str | None] = mapped_column(sa.String(16))
    # The port's position among its server's ports (the guest's NIC order).
    device_position: Mapped[int | None]
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _created()


class VfState(Base):
    """The desired state of one VF, for its host's agent. Keyed by the VF, not the port: a
    released VF keeps its row (``action`` restore) even when the port is deleted or bound
    elsewhere. ``generation`` counts changes of ``desired``/``action``; the agent reports the
    generation it applied and a status."""

    __tablename__ = "vf_states"
    host_id: Mapped[str] = mapped_column(
        ID, sa.ForeignKey("hosts.id", ondelete="CASCADE"), primary_key=True
    )
    pci_address: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    port_id: Mapped[str | None] = mapped_column(ID, index=True)
    desired: Mapped[dict[str, Any]] = mapped_column(JSON)
    action: Mapped[str] = mapped_column(sa.String(16))
    generation: Mapped[int] = mapped_column(default=1)
    applied_generation: Mapped[int | None]
    reported_status: Mapped[str | None] = mapped_column(sa.String(32))
    reported_error: Mapped[str | None] = mapped_column(sa.Text)
    # The VF's settings before the agent's first change, as it reported them: what a
    # restore goes back to (kept across re-allocations until the restore is done).
    original: Mapped[dict[str, Any] | None] = mapped_column(JSON_OR_NULL)
    updated_at: Mapped[datetime] = _created()


class Token(Base):
    """Bearer tokens, stored as the sha256 hex digest only (looked up by it). ``id`` names a
    token without revealing it; ``host`` binds a service token to one host; ``expires_at``
    NULL never expires; ``configured`` marks the ``PCINET_ADMIN_TOKEN`` of the settings, which
    the next configured one replaces."""

    __tablename__ = "tokens"
    token_hash: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    id: Mapped[str] = mapped_column(ID, unique=True, default=new_id)
    project_id: Mapped[str] = mapped_column(NAME)
    role: Mapped[str] = mapped_column(sa.String(16))
    host: Mapped[str | None] = mapped_column(NAME)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    configured: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = _created()


class Quota(Base):
    """A project's limit of one resource (``networks``, ``ports``, ``servers``, ``vfs``);
    the row of project ``""`` is the default of every project without its own."""

    __tablename__ = "quotas"
    project_id: Mapped[str] = mapped_column(NAME, primary_key=True)
    resource: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    hard_limit: Mapped[int] = mapped_column(sa.BigInteger)


# Core tables, for the statements of the hot paths (claims, change feed).
host_table = cast(sa.Table, Host.__table__)
device_table = cast(sa.Table, Device.__table__)
server_table = cast(sa.Table, Server.__table__)
allocation_table = cast(sa.Table, Allocation.__table__)
