"""A catalog of common SR-IOV NIC models: PCI ids, VF limits and how VFs are numbered.

Shared by the sysfs tree generator (agent tests and the demo) and the simulator's cloud
generator, so that both build the same hardware.

VF numbering follows the SR-IOV capability: VF ``n`` (0-based) of a PF has the routing id
``pf_rid + first_vf_offset + n * vf_stride`` where a routing id is ``bus << 8 | devfn``.
Devices with several ports expose one PF per port at functions 0, 1, ...; each PF's VFs
follow the previous PF's, so the offset of PF ``k`` is ``first_offset + k * (max_vfs - 1)``
(stride 1). When the routing ids pass the end of the PF's bus the VFs continue on the next
bus, as the kernel numbers them with ARI.

>>> X710.vf_address("0000:3b:00.0", 0)
'0000:3b:02.0'
>>> E810.vf_address("0000:51:00.1", 0)
'0000:51:11.0'
"""

from __future__ import annotations

from dataclasses import dataclass

from pcinet.core.pci import PciAddress

NETWORK_CLASS = "0x020000"
DISPLAY_3D_CLASS = "0x030200"


@dataclass(frozen=True, slots=True)
class NicModel:
    """One adapter model: ``ports`` PFs, each with up to ``max_vfs`` VFs."""

    name: str
    vendor_id: str
    pf_product_id: str
    vf_product_id: str
    driver: str
    vf_driver: str
    ports: int
    max_vfs: int
    first_vf_offset: int
    speed_mbps: int

    def vf_offset(self, port: int) -> int:
        """The SR-IOV ``First VF Offset`` of the PF at function ``port``."""
        if not 0 <= port < self.ports:
            raise ValueError(f"{self.name} has ports 0..{self.ports - 1}, not {port}")
        return self.first_vf_offset + port * (self.max_vfs - 1)

    def vf_address(self, pf_address: str, vf_index: int) -> str:
        """The address of VF ``vf_index`` of the PF at ``pf_address``."""
        if not 0 <= vf_index < self.max_vfs:
            raise ValueError(f"{self.name} PFs have VFs 0..{self.max_vfs - 1}, not {vf_index}")
        pf = PciAddress.parse(pf_address)
        rid = (pf.bus << 8 | pf.slot << 3 | pf.func) + self.vf_offset(pf.func) + vf_index
        if rid > 0xFFFF:
            raise ValueError(f"VF {vf_index} of {pf_address} would be past bus ff")
        return str(PciAddress(pf.domain, rid >> 8, (rid >> 3) & 0x1F, rid & 0x7))


E810 = NicModel(
    name="Intel E810-XXVDA2",
    vendor_id="8086",
    pf_product_id="159b",
    vf_product_id="1889",
    driver="ice",
    vf_driver="iavf",
    ports=2,
    max_vfs=128,
    first_vf_offset=8,
    speed_mbps=25000,
)
X710 = NicModel(
    name="Intel X710-DA2",
    vendor_id="8086",
    pf_product_id="1572",
    vf_product_id="154c",
    driver="i40e",
    vf_driver="iavf",
    ports=2,
    max_vfs=64,
    first_vf_offset=16,
    speed_mbps=10000,
)
CX5 = NicModel(
    name="Mellanox ConnectX-5",
    vendor_id="15b3",
    pf_product_id="1017",
    vf_product_id="1018",
    driver="mlx5_core",
    vf_driver="mlx5_core",
    ports=2,
    max_vfs=127,
    first_vf_offset=2,
    speed_mbps=100000,
)
CX6 = NicModel(
    name="Mellanox ConnectX-6 Dx",
    vendor_id="15b3",
    pf_product_id="101d",
    vf_product_id="101e",
    driver="mlx5_core",
    vf_driver="mlx5_core",
    ports=2,
    max_vfs=127,
    first_vf_offset=2,
    speed_mbps=100000,
)

MODELS: dict[str, NicModel] = {"e810": E810, "x710": X710, "cx5": CX5, "cx6": CX6}


@dataclass(frozen=True, slots=True)
class GpuModel:
    name: str
    vendor_id: str
    product_id: str


A100 = GpuModel(name="NVIDIA A100 80GB PCIe", vendor_id="10de", product_id="20b5")
