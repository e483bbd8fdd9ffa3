"""Generated clouds: heterogeneous racks built from the shared NIC catalog."""

from __future__ import annotations

from collections import Counter

from pcinet.core.nics import MODELS
from pcinet.core.pci import DevType
from pcinet.sim.cloud import PROFILES, generate_cloud


def test_racks_differ_in_cabling_nics_and_vf_counts() -> None:
    cloud = generate_cloud(400, seed=7, gpus=True)
    layouts = {r.layout for r in cloud.racks}
    assert {layout.profile for layout in layouts} == set(PROFILES)
    assert len({layout.nic for layout in layouts}) == len(MODELS)
    assert {layout.vfs_per_pf for layout in layouts} == {8, 16}
    assert {layout.trusted for layout in layouts} == {True, False}
    assert any(layout.gpus for layout in layouts)
    assert sum(len(r.hosts) for r in cloud.racks) == len(cloud.hosts) == 400


def test_devices_follow_the_catalog_and_the_device_spec() -> None:
    cloud = generate_cloud(64, seed=3)
    for host, layout in zip(cloud.hosts, cloud.layouts, strict=True):
        model = MODELS[layout.nic]
        pfs = [d for d in host.devices if d.dev_type is DevType.PF]
        vfs = [d for d in host.devices if d.dev_type is DevType.VF]
        assert len(pfs) == sum(len(ports) for ports in PROFILES[layout.profile])
        assert len(vfs) == len(pfs) * layout.vfs_per_pf
        for pf in pfs:
            children = [v for v in vfs if v.parent_address == pf.address]
            assert [v.address for v in children] == [
                model.vf_address(pf.address, i) for i in range(layout.vfs_per_pf)
            ]
            # the spec names the PF: its VFs carry its physnet tag
            assert {v.tags["physical_network"] for v in children} == {pf.tags["physical_network"]}
        trusted = Counter(v.tags.get("trusted") for v in vfs)
        assert (trusted["true"] > 0) == layout.trusted
