"""Initial schema: hosts, devices, servers, allocations, aliases, networks, segments, ports,
VF states and tokens.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.String(length=32)
NAME = sa.String(length=255)
ADDRESS = sa.String(length=16)


def _time(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _partial(name: str, table: str, columns: list[str], where: str) -> None:
    op.create_index(
        name,
        table,
        columns,
        unique=True,
        sqlite_where=sa.text(where),
        postgresql_where=sa.text(where),
    )


def upgrade() -> None:
    op.create_table(
        "hosts",
        sa.Column("id", ID, nullable=False),
        sa.Column("name", NAME, nullable=False),
        sa.Column("vcpus", sa.Integer(), nullable=False),
        sa.Column("memory_mb", sa.Integer(), nullable=False),
        sa.Column("numa_cells", sa.JSON(), nullable=False),
        sa.Column("device_spec", sa.JSON(), nullable=True),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        _time("heartbeat_at", nullable=True),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("change_seq", sa.BigInteger(), nullable=False),
        sa.Column("vcpus_used", sa.Integer(), nullable=False),
        sa.Column("memory_used_mb", sa.Integer(), nullable=False),
        sa.Column("cells_used", sa.JSON(), nullable=False),
        _time("created_at"),
        _time("updated_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hosts")),
        sa.UniqueConstraint("name", name=op.f("uq_hosts_name")),
    )
    op.create_index(op.f("ix_hosts_change_seq"), "hosts", ["change_seq"])
    op.create_table(
        "devices",
        sa.Column("id", ID, nullable=False),
        sa.Column("host_id", ID, nullable=False),
        sa.Column("address", ADDRESS, nullable=False),
        sa.Column("vendor_id", sa.String(length=4), nullable=False),
        sa.Column("product_id", sa.String(length=4), nullable=False),
        sa.Column("dev_type", sa.String(length=16), nullable=False),
        sa.Column("parent_address", ADDRESS, nullable=True),
        sa.Column("numa_node", sa.Integer(), nullable=True),
        sa.Column("devname", NAME, nullable=True),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["host_id"], ["hosts.id"], name=op.f("fk_devices_host_id_hosts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_devices")),
        sa.UniqueConstraint("host_id", "address", name=op.f("uq_devices_host_id_address")),
        sa.UniqueConstraint("id", "host_id", name=op.f("uq_devices_id_host_id")),
    )
    op.create_index(
        op.f("ix_devices_host_id_parent_address"), "devices", ["host_id", "parent_address"]
    )
    op.create_table(
        "servers",
        sa.Column("id", ID, nullable=False),
        sa.Column("project_id", NAME, nullable=False),
        sa.Column("name", NAME, nullable=False),
        sa.Column("host_id", ID, nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("vcpus", sa.Integer(), nullable=False),
        sa.Column("memory_mb", sa.Integer(), nullable=False),
        sa.Column("flavor", sa.JSON(), nullable=False),
        sa.Column("cells", sa.JSON(), nullable=False),
        _time("created_at"),
        sa.ForeignKeyConstraint(["host_id"], ["hosts.id"], name=op.f("fk_servers_host_id_hosts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_servers")),
    )
    op.create_index(op.f("ix_servers_host_id"), "servers", ["host_id"])
    op.create_index(op.f("ix_servers_project_id"), "servers", ["project_id"])
    op.create_table(
        "allocations",
        sa.Column("device_id", ID, nullable=False),
        sa.Column("host_id", ID, nullable=False),
        sa.Column("server_id", ID, nullable=False),
        sa.Column("request_index", sa.Integer(), nullable=False),
        _time("created_at"),
        sa.ForeignKeyConstraint(
            ["device_id", "host_id"],
            ["devices.id", "devices.host_id"],
            name=op.f("fk_allocations_device_id_host_id_devices"),
        ),
        sa.ForeignKeyConstraint(
            ["server_id"], ["servers.id"], name=op.f("fk_allocations_server_id_servers")
        ),
        sa.PrimaryKeyConstraint("device_id", name=op.f("pk_allocations")),
    )
    op.create_index(op.f("ix_allocations_host_id"), "allocations", ["host_id"])
    op.create_index(op.f("ix_allocations_server_id"), "allocations", ["server_id"])
    op.create_table(
        "aliases",
        sa.Column("position", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("name", NAME, nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("position", name=op.f("pk_aliases")),
    )
    op.create_table(
        "networks",
        sa.Column("id", ID, nullable=False),
        sa.Column("name", NAME, nullable=False),
        sa.Column("project_id", NAME, nullable=False),
        sa.Column("shared", sa.Boolean(), nullable=False),
        sa.Column("admin_state_up", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        _time("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_networks")),
    )
    op.create_index(op.f("ix_networks_project_id"), "networks", ["project_id"])
    op.create_table(
        "segments",
        sa.Column("id", ID, nullable=False),
        sa.Column("network_id", ID, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("network_type", sa.String(length=16), nullable=False),
        sa.Column("physical_network", NAME, nullable=True),
        sa.Column("segmentation_id", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["network_id"],
            ["networks.id"],
            name=op.f("fk_segments_network_id_networks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_segments")),
        sa.UniqueConstraint("network_id", "position", name=op.f("uq_segments_network_id_position")),
    )
    _partial("uq_segments_flat_physnet", "segments", ["physical_network"], "network_type = 'flat'")
    _partial(
        "uq_segments_vlan",
        "segments",
        ["physical_network", "segmentation_id"],
        "network_type = 'vlan'",
    )
    _partial(
        "uq_segments_overlay",
        "segments",
        ["network_type", "segmentation_id"],
        "physical_network IS NULL",
    )
    op.create_table(
        "ports",
        sa.Column("id", ID, nullable=False),
        sa.Column("project_id", NAME, nullable=False),
        sa.Column("network_id", ID, nullable=False),
        sa.Column("name", NAME, nullable=False),
        sa.Column("mac_address", sa.String(length=17), nullable=False),
        sa.Column("vnic_type", sa.String(length=32), nullable=False),
        sa.Column("profile", sa.JSON(), nullable=False),
        sa.Column("port_security_enabled", sa.Boolean(), nullable=False),
        sa.Column("admin_state_up", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("device_id", ID, nullable=True),
        sa.Column("binding_host_id", NAME, nullable=True),
        sa.Column("binding_vif_type", sa.String(length=32), nullable=True),
        sa.Column("binding_vif_details", sa.JSON(), nullable=True),
        sa.Column("binding_profile", sa.JSON(), nullable=True),
        sa.Column("segment_id", ID, nullable=True),
        sa.Column("pci_address", ADDRESS, nullable=True),
        sa.Column("min_tx_rate", sa.Integer(), nullable=True),
        sa.Column("max_tx_rate", sa.Integer(), nullable=True),
        _time("created_at"),
        _time("updated_at"),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["servers.id"],
            name=op.f("fk_ports_device_id_servers"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["network_id"], ["networks.id"], name=op.f("fk_ports_network_id_networks")
        ),
        sa.ForeignKeyConstraint(
            ["segment_id"], ["segments.id"], name=op.f("fk_ports_segment_id_segments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ports")),
        sa.UniqueConstraint(
            "network_id", "mac_address", name=op.f("uq_ports_network_id_mac_address")
        ),
    )
    op.create_index(op.f("ix_ports_device_id"), "ports", ["device_id"])
    op.create_index(op.f("ix_ports_project_id"), "ports", ["project_id"])
    op.create_table(
        "vf_states",
        sa.Column("host_id", ID, nullable=False),
        sa.Column("pci_address", ADDRESS, nullable=False),
        sa.Column("port_id", ID, nullable=True),
        sa.Column("desired", sa.JSON(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("applied_generation", sa.Integer(), nullable=True),
        sa.Column("reported_status", sa.String(length=32), nullable=True),
        sa.Column("reported_error", sa.Text(), nullable=True),
        _time("updated_at"),
        sa.ForeignKeyConstraint(
            ["host_id"], ["hosts.id"], name=op.f("fk_vf_states_host_id_hosts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("host_id", "pci_address", name=op.f("pk_vf_states")),
    )
    op.create_index(op.f("ix_vf_states_port_id"), "vf_states", ["port_id"])
    op.create_table(
        "tokens",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("project_id", NAME, nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        _time("created_at"),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_tokens")),
    )


def downgrade() -> None:
    for table in (
        "tokens",
        "vf_states",
        "ports",
        "segments",
        "networks",
        "aliases",
        "allocations",
        "servers",
        "devices",
        "hosts",
    ):
        op.drop_table(table)
