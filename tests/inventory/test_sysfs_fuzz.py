"""Discovery on randomly damaged trees: never an exception, every problem names a path under
the root, and what is reported is consistent (a VF's PF is reported and lists the VF at its
index), so the report is always one the controller accepts."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pcinet.core.nics import CX5, X710
from pcinet.core.pci import DevType, Inventory
from pcinet.inventory.sysfs import discover
from pcinet.inventory.treegen import GpuLayout, HostLayout, NicLayout, write_sysfs_tree

# Small, so that each example is quick (writing and removing a tree dominates): a PF with
# a netdev VF and a vfio VF, a second NIC's PF and VF, a GPU; their root ports.
LAYOUT = HostLayout(
    nics=(
        NicLayout(X710, "0000:3b:00.0", numvfs=2, ports=1, vfio_vfs=(1,)),
        NicLayout(CX5, "0000:5e:00.0", numvfs=1, ports=1),
    ),
    gpus=(GpuLayout("0000:d8:00.0"),),
    numa_nodes=(),
)
DAMAGES = ("delete", "garbage", "empty", "directory", "dangle", "binary")


def _targets(root: Path) -> list[Path]:
    """Every file and link of every device (the entries themselves too), in a stable order."""
    out: list[Path] = []
    base = root / "bus" / "pci" / "devices"
    for entry in sorted(base.iterdir()):
        out.append(entry)
        for dirpath, dirnames, filenames in os.walk(entry):
            for name in sorted(filenames + [d for d in dirnames if Path(dirpath, d).is_symlink()]):
                out.append(Path(dirpath) / name)
            dirnames[:] = sorted(d for d in dirnames if not Path(dirpath, d).is_symlink())
    return out


def _damage(path: Path, how: str, junk: str) -> None:
    if not (path.exists() or path.is_symlink()):
        return  # already gone with an earlier damage
    if path.is_symlink() or path.is_file():
        path.unlink()
    else:
        shutil.rmtree(path)
    if how == "garbage":
        path.write_text(junk)
    elif how == "empty":
        path.write_text("")
    elif how == "directory":
        path.mkdir()
    elif how == "dangle":
        os.symlink("../nowhere/0000:99:00.0", path)
    elif how == "binary":
        path.write_bytes(b"\xff\xfe\x00" + junk.encode())


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    damages=st.lists(
        st.tuples(st.integers(min_value=0), st.sampled_from(DAMAGES), st.text(max_size=12)),
        min_size=1,
        max_size=6,
    )
)
def test_damaged_trees_never_crash_and_stay_consistent(
    damages: list[tuple[int, str, str]],
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = write_sysfs_tree(Path(tmp) / "sys", LAYOUT)
        targets = _targets(root)
        for index, how, junk in damages:
            _damage(targets[index % len(targets)], how, junk)
        found = discover(root)
        for problem in found.problems:
            assert problem.path.startswith(str(root)), problem
        by = found.by_address()
        for device in found.devices:
            if device.dev_type is DevType.VF:
                pf = by[device.parent_address or ""]
                assert pf.dev_type is DevType.PF
                assert device.vf_index is not None
                assert os.readlink(
                    Path(root, "bus/pci/devices", pf.address, f"virtfn{device.vf_index}")
                ).endswith(device.address)
        Inventory([d.to_pci_device() for d in found.devices])  # the controller's rules hold
