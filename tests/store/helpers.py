"""Small builders shared by the store tests."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from pcinet.core.host import HostCell
from pcinet.core.pci import DevType, PciDevice
from pcinet.store import hosts
from pcinet.store.claims import NewServer
from pcinet.store.host_records import HostRecord
from pcinet.store.models import Allocation, Server
from pcinet.store.uow import UnitOfWork

PF = "0000:01:00.0"
VFS = [f"0000:01:10.{i}" for i in range(4)]
GPU = "0000:02:00.0"
CELLS = (HostCell(0, 16, 32768, 0), HostCell(1, 16, 32768, 1))


def pf(address: str = PF, physnet: str = "phy1") -> PciDevice:
    return PciDevice.from_dict(
        {
            "address": address,
            "vendor_id": "8086",
            "product_id": "1572",
            "dev_type": DevType.PF.value,
            "numa_node": 0,
            "tags": {"physical_network": physnet},
        }
    )


def vf(address: str, parent: str = PF, physnet: str = "phy1") -> PciDevice:
    return PciDevice.from_dict(
        {
            "address": address,
            "vendor_id": "8086",
            "product_id": "154c",
            "dev_type": DevType.VF.value,
            "parent_address": parent,
            "numa_node": 0,
            "tags": {"physical_network": physnet},
        }
    )


def gpu(address: str = GPU) -> PciDevice:
    return PciDevice.from_dict(
        {"address": address, "vendor_id": "10de", "product_id": "20b5", "dev_type": "type-PCI"}
    )


def default_devices() -> list[PciDevice]:
    return [pf(), *(vf(a) for a in VFS), gpu()]


def add_host(
    sessions: sessionmaker[Session], name: str, devices: list[PciDevice] | None = None
) -> HostRecord:
    with UnitOfWork(sessions) as session:
        hosts.upsert_host(
            session,
            name,
            vcpus=32,
            memory_mb=65536,
            numa_cells=CELLS,
            devices=default_devices() if devices is None else devices,
        )
    return read_host(sessions, name)


def read_host(sessions: sessionmaker[Session], name: str) -> HostRecord:
    with UnitOfWork(sessions, readonly=True) as session:
        record = hosts.get_host(session, name)
    assert record is not None
    return record


def server(name: str = "vm") -> NewServer:
    return NewServer(project_id="p1", name=name, flavor={"vcpus": 2, "memory_mb": 2048})


def counts(sessions: sessionmaker[Session]) -> tuple[int, int]:
    """(servers, allocations) in the database."""
    with UnitOfWork(sessions, readonly=True) as session:
        n_servers = session.scalar(select(func.count()).select_from(Server)) or 0
        n_allocs = session.scalar(select(func.count()).select_from(Allocation)) or 0
    return n_servers, n_allocs
