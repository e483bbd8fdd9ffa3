"""Discovery on generated sysfs trees: every NIC model, both layouts, and odd trees."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from pcinet.core.nics import CX5, CX6, E810, MODELS, X710, NicModel
from pcinet.core.pci import DevType, Inventory
from pcinet.inventory.sysfs import Discovery, discover
from pcinet.inventory.treegen import (
    GpuLayout,
    HostLayout,
    NicLayout,
    simple_layout,
    write_sysfs_tree,
)


def _tree(tmp_path: Path, layout: HostLayout) -> Path:
    return write_sysfs_tree(tmp_path / "sys", layout)


def _dev(root: Path, address: str) -> Path:
    return root / "bus" / "pci" / "devices" / address


def _problems(found: Discovery) -> list[str]:
    return [str(p) for p in found.problems]


@pytest.mark.parametrize("model", list(MODELS.values()), ids=list(MODELS))
def test_every_nic_model_is_discovered_with_pfs_vfs_and_indexes(
    tmp_path: Path, model: NicModel
) -> None:
    root = _tree(
        tmp_path, HostLayout(nics=(NicLayout(model, "0000:5e:00.0", numvfs=5, numa_node=1),))
    )
    found = discover(root)
    assert found.problems == ()
    by = found.by_address()
    pfs = [d for d in found.devices if d.dev_type is DevType.PF]
    assert [p.address for p in pfs] == [f"0000:5e:00.{port}" for port in range(model.ports)]
    for port, pf in enumerate(pfs):
        assert (pf.vendor_id, pf.product_id) == (model.vendor_id, model.pf_product_id)
        assert pf.driver == model.driver
        assert pf.netdev == f"enp94s0f{port}"
        assert pf.sriov_totalvfs == model.max_vfs and pf.sriov_numvfs == 5
        assert pf.pcie_root == "pci0000:5d/0000:5d:00.0"
        assert pf.numa_node == 1 and pf.class_code == "0x020000"
        for index in range(5):
            vf = by[model.vf_address(pf.address, index)]
            assert vf.dev_type is DevType.VF
            assert (vf.parent_address, vf.vf_index) == (pf.address, index)
            assert vf.product_id == model.vf_product_id
            assert vf.netdev == f"enp94s0f{port}v{index}" and vf.driver == model.vf_driver
            assert vf.mac is not None and vf.operstate == "up"
            assert vf.pcie_root == pf.pcie_root
    assert len([d for d in found.devices if d.dev_type is DevType.VF]) == 5 * model.ports


def test_e810_vfs_past_the_end_of_the_bus_continue_on_the_next_one(tmp_path: Path) -> None:
    root = _tree(tmp_path, HostLayout(nics=(NicLayout(E810, "0000:51:00.0", numvfs=128),)))
    found = discover(root)
    by = found.by_address()
    last = by["0000:52:00.7"]  # VF 127 of the second port
    assert (last.parent_address, last.vf_index) == ("0000:51:00.1", 127)
    assert last.pcie_root == "pci0000:50/0000:50:00.0"
    assert sum(d.dev_type is DevType.VF for d in found.devices) == 256


def test_vfio_bound_vfs_have_no_netdev_nor_mac(tmp_path: Path) -> None:
    layout = HostLayout(nics=(NicLayout(X710, "0000:3b:00.0", numvfs=4, vfio_vfs=(1, 3)),))
    found = discover(_tree(tmp_path, layout))
    vfs = [d for d in found.devices if d.parent_address == "0000:3b:00.0"]
    assert [(d.vf_index, d.driver, d.netdev, d.mac) for d in vfs] == [
        (0, "iavf", "enp59s0f0v0", vfs[0].mac),
        (1, "vfio-pci", None, None),
        (2, "iavf", "enp59s0f0v2", vfs[2].mac),
        (3, "vfio-pci", None, None),
    ]
    assert vfs[0].mac != vfs[2].mac


def test_plain_directories_are_read_like_links_but_have_no_pcie_root(tmp_path: Path) -> None:
    layout = simple_layout(CX5, X710, numvfs=3)
    linked = discover(_tree(tmp_path / "a", layout))
    plain = discover(_tree(tmp_path / "b", HostLayout(layout.nics, symlinks=False)))
    assert not (tmp_path / "b" / "sys" / "devices" / "pci0000:3a").exists()
    assert plain.problems == ()

    def facts(found: Discovery) -> list[tuple[object, ...]]:
        return [
            (d.address, d.dev_type, d.parent_address, d.vf_index, d.netdev) for d in found.devices
        ]

    assert facts(plain) == facts(linked)
    assert {d.pcie_root for d in plain.devices} == {None}
    assert None not in {d.pcie_root for d in linked.devices}


def test_several_nics_numa_nodes_and_a_gpu(tmp_path: Path) -> None:
    layout = simple_layout(E810, X710, CX5, CX6, numvfs=2, numa_nodes=2, gpus=1)
    found = discover(_tree(tmp_path, layout))
    assert found.problems == ()
    pfs = {d.address: d for d in found.devices if d.dev_type is DevType.PF}
    assert {pfs[f"0000:{b:02x}:00.0"].numa_node for b in (0x3B, 0x7B)} == {0}
    assert {pfs[f"0000:{b:02x}:00.0"].numa_node for b in (0x5B, 0x9B)} == {1}
    gpu = found.by_address()["0000:bb:00.0"]
    assert (gpu.dev_type, gpu.vendor_id, gpu.product_id) == (DevType.PCI, "10de", "20b5")
    assert (gpu.class_code, gpu.driver, gpu.netdev) == ("0x030200", "vfio-pci", None)
    bridge = found.by_address()["0000:ba:00.0"]  # the GPU's root port, itself a device
    assert (bridge.dev_type, bridge.pcie_root) == (DevType.PCI, "pci0000:ba")
    assert gpu.pcie_root == "pci0000:ba/0000:ba:00.0"


def test_a_gpu_and_a_nic_under_one_root_port_share_pcie_root(tmp_path: Path) -> None:
    layout = HostLayout(
        nics=(NicLayout(CX6, "0000:5e:00.0", numvfs=1, root_port="0000:5d:02.0"),),
        gpus=(GpuLayout("0000:5f:00.0", root_port="0000:5d:02.0"),),
    )
    found = discover(_tree(tmp_path, layout)).by_address()
    assert found["0000:5e:00.0"].pcie_root == found["0000:5f:00.0"].pcie_root
    assert found["0000:5f:00.0"].pcie_root == "pci0000:5d/0000:5d:02.0"


def test_hosts_written_with_different_serials_have_different_macs(tmp_path: Path) -> None:
    nics = (NicLayout(E810, "0000:3b:00.0", numvfs=3), NicLayout(X710, "0000:5e:00.0", numvfs=2))

    def macs(serial: int) -> list[str | None]:
        found = discover(_tree(tmp_path / str(serial), HostLayout(nics, serial=serial)))
        return [d.mac for d in found.devices if d.dev_type is not DevType.PCI]

    default = macs(0)
    assert default[0] == "3c:fd:fe:3b:00:00"  # serial 0: the MACs as always
    assert macs(0) == default  # one serial, one set of MACs (cloned hosts)
    every = [mac for serial in (0, 1, 31, 32, 255) for mac in macs(serial)]
    assert None not in every and len(set(every)) == len(every)
    with pytest.raises(ValueError, match=r"serial: 256 is not in 0\.\.255"):
        _tree(tmp_path / "bad", HostLayout(nics, serial=256))


def test_rewriting_a_tree_raises_the_vf_count(tmp_path: Path) -> None:
    root = _tree(tmp_path, HostLayout(nics=(NicLayout(X710, "0000:3b:00.0", numvfs=2),)))
    assert len(discover(root).devices) == 1 + 2 + 4
    _tree(tmp_path, HostLayout(nics=(NicLayout(X710, "0000:3b:00.0", numvfs=6),)))
    assert len(discover(root).devices) == 1 + 2 + 12


def test_the_generator_never_writes_over_a_foreign_directory(tmp_path: Path) -> None:
    (tmp_path / "precious").write_text("keep me")
    with pytest.raises(FileExistsError, match="not a tree written by pcinet"):
        write_sysfs_tree(tmp_path, HostLayout())
    assert (tmp_path / "precious").read_text() == "keep me"


@pytest.mark.parametrize(
    ("nic", "message"),
    [
        (NicLayout(X710, "0000:3b:00.0", numvfs=65), "0..64 VFs"),
        (NicLayout(X710, "0000:3b:00.0", ports=3), "1..2 ports"),
    ],
)
def test_impossible_layouts_are_refused(tmp_path: Path, nic: NicLayout, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        write_sysfs_tree(tmp_path, HostLayout(nics=(nic,)))


# Odd and partial trees: each is reported with its path, the rest is still discovered.

PF, VF0, VF1 = "0000:3b:00.0", "0000:3b:02.0", "0000:3b:02.1"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return _tree(tmp_path, HostLayout(nics=(NicLayout(X710, PF, numvfs=2, ports=1),)))


def test_a_device_without_vendor_is_skipped_and_reported(root: Path) -> None:
    (_dev(root, VF1) / "vendor").unlink()
    found = discover(root)
    assert VF1 not in found.by_address() and VF0 in found.by_address()
    assert _problems(found) == [
        f"{_dev(root, VF1)}/vendor: missing; device skipped",
        f"{_dev(root, PF)}/virtfn1: VF {VF1} was not found",
    ]


@pytest.mark.parametrize("garbage", ["0xzzzz", "", "0x123456", "\xff"])
def test_garbage_ids_skip_the_device(root: Path, garbage: str) -> None:
    (_dev(root, VF0) / "device").write_text(garbage, encoding="latin-1")
    found = discover(root)
    assert VF0 not in found.by_address()
    assert any(p.path == f"{_dev(root, VF0)}/device" for p in found.problems)


@pytest.mark.parametrize(
    ("text", "problem"), [("-1", False), ("1", False), ("two", True), ("-7", True)]
)
def test_numa_node_garbage_is_reported_and_read_as_unknown(
    root: Path, text: str, problem: bool
) -> None:
    (_dev(root, PF) / "numa_node").write_text(text + "\n")
    found = discover(root)
    expected = int(text) if text == "1" else None
    assert found.by_address()[PF].numa_node == expected
    assert [p.path for p in found.problems] == ([f"{_dev(root, PF)}/numa_node"] if problem else [])


def test_an_unreadable_file_is_reported_not_raised(root: Path) -> None:
    # A directory where a file belongs: unreadable even for root (os.chmod is not).
    for name in ("numa_node", "sriov_numvfs"):
        (_dev(root, PF) / name).unlink()
        (_dev(root, PF) / name).mkdir()
    found = discover(root)
    pf = found.by_address()[PF]
    assert (pf.numa_node, pf.sriov_numvfs, pf.dev_type) == (None, None, DevType.PF)
    assert sorted(p.path for p in found.problems) == [
        f"{_dev(root, PF)}/numa_node",
        f"{_dev(root, PF)}/sriov_numvfs",
    ]
    assert all("cannot read" in p.message for p in found.problems)


def test_a_dangling_entry_is_skipped(root: Path) -> None:
    os.symlink("../../../devices/pci0000:00/0000:00:1f.6", _dev(root, "0000:00:1f.6"))
    found = discover(root)
    assert "0000:00:1f.6" not in found.by_address()
    assert _problems(found) == [
        f"{_dev(root, '0000:00:1f.6')}: dangling or not a directory; device skipped"
    ]


def test_a_vf_whose_pf_is_gone_is_skipped(root: Path) -> None:
    _dev(root, PF).unlink()
    found = discover(root)
    assert [d.address for d in found.devices] == ["0000:3a:00.0"]
    assert _problems(found) == [
        f"{_dev(root, vf)}/physfn: its PF {PF} was not found; VF skipped" for vf in (VF0, VF1)
    ]


def test_a_vf_its_pf_does_not_list_is_skipped(root: Path) -> None:
    (_dev(root, PF) / "virtfn1").unlink()
    found = discover(root)
    assert VF1 not in found.by_address()
    assert (
        f"{_dev(root, VF1)}/physfn: PF {PF} has 0 virtfn links to this VF, not 1; VF skipped"
        in _problems(found)
    )


def test_vfs_past_sriov_numvfs_are_skipped_while_the_kernel_changes_them(root: Path) -> None:
    (_dev(root, PF) / "sriov_numvfs").write_text("1\n")
    found = discover(root)
    assert [d.address for d in found.devices if d.dev_type is DevType.VF] == [VF0]
    assert _problems(found) == [
        f"{_dev(root, PF)}/sriov_numvfs: 1 VFs enabled but 2 virtfn links (VFs being added or "
        "removed); only VFs below sriov_numvfs are reported",
        f"{_dev(root, VF1)}: VF 1 of {PF} is past its sriov_numvfs (1); VF skipped",
    ]


def test_a_pf_whose_vf_count_cannot_be_read_is_still_a_pf(root: Path) -> None:
    (_dev(root, PF) / "sriov_totalvfs").write_text("lots\n")
    found = discover(root)
    # Its virtfn links show the SR-IOV capability: still a PF, its VFs still its VFs.
    assert found.by_address()[PF].dev_type is DevType.PF
    assert found.by_address()[VF0].parent_address == PF
    assert (
        f"{_dev(root, PF)}/sriov_totalvfs: 'lots' is not an integer; read as unknown"
        in _problems(found)
    )


def test_garbage_mac_and_names_are_reported(root: Path) -> None:
    (_dev(root, PF) / "net" / "enp59s0f0" / "address").write_text("not-a-mac\n")
    (root / "bus" / "pci" / "devices" / "junk").mkdir()
    found = discover(root)
    assert found.by_address()[PF].mac is None
    assert found.by_address()[PF].netdev == "enp59s0f0"
    assert sorted(_problems(found)) == [
        f"{_dev(root, PF)}/net/enp59s0f0/address: 'not-a-mac' is not a MAC address",
        f"{root}/bus/pci/devices/junk: not a PCI address; skipped",
    ]


def _second_netdev(root: Path, name: str, mac: str, ports: tuple[int, int] | None) -> Path:
    """Give the PF a second interface ``name`` (a two-port function, as a ConnectX-3's);
    ``ports``: the ``dev_port`` of its first interface and of the new one."""
    net = _dev(root, PF) / "net"
    (net / name).mkdir()
    (net / name / "address").write_text(mac + "\n")
    (net / name / "operstate").write_text("down\n")
    if ports is not None:
        (net / "enp59s0f0" / "dev_port").write_text(f"{ports[0]}\n")
        (net / name / "dev_port").write_text(f"{ports[1]}\n")
    return net


@pytest.mark.parametrize(
    ("ports", "first"),
    [
        ((0, 1), "enp59s0f0"),  # the lowest dev_port, not the first name
        ((1, 0), "aa-port2"),
        (None, "aa-port2"),  # no dev_port: names decide
    ],
)
def test_a_device_with_several_netdevs_reports_the_lowest_dev_port(
    root: Path, ports: tuple[int, int] | None, first: str
) -> None:
    net = _second_netdev(root, "aa-port2", "3c:fd:fe:3b:00:99", ports)
    found = discover(root)
    pf = found.by_address()[PF]
    assert pf.netdev == first
    assert pf.netdevs == (first, ({"enp59s0f0", "aa-port2"} - {first}).pop())
    # the MAC and link state are the chosen interface's
    mac = (net / first / "address").read_text().strip()
    assert (pf.mac, pf.operstate) == (mac, "down" if first == "aa-port2" else "up")
    assert found.by_netdev()["aa-port2"] is pf and found.by_netdev()["enp59s0f0"] is pf
    assert pf.to_dict()["netdevs"] == list(pf.netdevs)
    assert found.problems == ()
    # the same tree read again gives the same answer
    assert discover(root).by_address()[PF] == pf


def test_an_unreadable_dev_port_is_reported_and_sorts_last(root: Path) -> None:
    net = _second_netdev(root, "aa-port2", "3c:fd:fe:3b:00:99", (0, 1))
    (net / "enp59s0f0" / "dev_port").write_text("zero\n")
    found = discover(root)
    assert found.by_address()[PF].netdevs == ("aa-port2", "enp59s0f0")
    assert _problems(found) == [
        f"{net}/enp59s0f0/dev_port: 'zero' is not an integer; read as unknown"
    ]


def test_a_missing_bus_directory_is_one_problem(tmp_path: Path) -> None:
    found = discover(tmp_path)
    assert found.devices == ()
    assert [p.path for p in found.problems] == [f"{tmp_path}/bus/pci/devices"]


def test_every_file_of_a_device_missing_in_turn_never_crashes(root: Path, tmp_path: Path) -> None:
    names = sorted(os.listdir(_dev(root, PF)))
    for name in names:
        copy = tmp_path / f"copy-{name}"
        shutil.copytree(root, copy, symlinks=True)
        target = _dev(copy, PF) / name
        if target.is_symlink() or target.is_file():
            target.unlink()
        else:
            shutil.rmtree(target)
        found = discover(copy)
        assert "0000:3a:00.0" in found.by_address(), name
        # Whatever is left is a consistent report (a VF's parent is a PF, or absent).
        Inventory([d.to_pci_device() for d in found.devices])
