"""The host's vCPUs, memory and NUMA cells from sysfs, and Nova's reserved amounts."""

from __future__ import annotations

from pathlib import Path

import pytest

from pcinet.core.errors import InvalidInput
from pcinet.core.host import HostCell
from pcinet.inventory.resources import (
    Reserved,
    parse_cpulist,
    read_host_resources,
)
from pcinet.inventory.treegen import HostLayout, NumaNodeLayout, write_sysfs_tree


@pytest.mark.parametrize(
    ("text", "cpus"),
    [("0", [0]), ("0-3", [0, 1, 2, 3]), ("0-1,8,10-11\n", [0, 1, 8, 10, 11]), ("", [])],
)
def test_cpulist(text: str, cpus: list[int]) -> None:
    assert parse_cpulist(text) == cpus


@pytest.mark.parametrize("text", ["a", "3-1", "1,,2", "-1"])
def test_bad_cpulist(text: str) -> None:
    with pytest.raises(ValueError):
        parse_cpulist(text)


def test_numa_nodes_become_cells_with_sockets(tmp_path: Path) -> None:
    layout = HostLayout(
        numa_nodes=(
            NumaNodeLayout(cpus=8, memory_mb=32768, socket=0),
            NumaNodeLayout(cpus=8, memory_mb=16384, socket=1),
        )
    )
    root = write_sysfs_tree(tmp_path, layout)
    assert (root / "devices/system/node/node1/cpulist").read_text() == "4-7,12-15\n"
    found = read_host_resources(root, machine=(1, 1))
    assert found.cells == (HostCell(0, 8, 32768, 0), HostCell(1, 8, 16384, 1))
    assert (found.vcpus, found.memory_mb, found.problems) == (16, 49152, ())


def test_without_numa_in_sysfs_the_whole_machine_is_one_host(tmp_path: Path) -> None:
    found = read_host_resources(tmp_path, machine=(12, 4096))
    assert (found.vcpus, found.memory_mb, found.cells, found.problems) == (12, 4096, (), ())
    real = read_host_resources(tmp_path)
    assert real.vcpus >= 1 and real.memory_mb > 0


def test_a_broken_node_is_reported_and_left_out(tmp_path: Path) -> None:
    nodes = (NumaNodeLayout(cpus=4, memory_mb=1024), NumaNodeLayout(cpus=4, memory_mb=1024))
    root = write_sysfs_tree(tmp_path, HostLayout(numa_nodes=nodes))
    (root / "devices/system/node/node1/meminfo").write_text("garbage\n")
    found = read_host_resources(root, machine=(99, 99))
    assert [c.id for c in found.cells] == [0]
    assert (found.vcpus, found.memory_mb) == (4, 1024)
    assert [p.path for p in found.problems] == [str(root / "devices/system/node/node1")]


def test_a_memory_only_node_has_no_vcpus(tmp_path: Path) -> None:
    root = write_sysfs_tree(tmp_path, HostLayout(numa_nodes=(NumaNodeLayout(4, 1024),)))
    node = root / "devices/system/node/node1"
    node.mkdir()
    (node / "cpulist").write_text("\n")
    (node / "meminfo").write_text("Node 1 MemTotal:  2097152 kB\n")
    found = read_host_resources(root)
    assert found.cells[1] == HostCell(1, 0, 2048, None)


def test_reserved_is_subtracted_from_the_totals() -> None:
    found = read_host_resources("/nonexistent", machine=(16, 65536))
    assert found.usable(Reserved(2, 4096)) == (14, 61440)
    assert found.usable(Reserved()) == (16, 65024)  # Nova's default: 512 MB
    with pytest.raises(InvalidInput, match="reserved_host_cpus: 17 is more than"):
        found.usable(Reserved(17, 0))
    with pytest.raises(InvalidInput, match="reserved_host_memory_mb"):
        found.usable(Reserved(0, 70000))
    with pytest.raises(InvalidInput, match="reserved_host_cpus: expected a non-negative"):
        Reserved(-1, 0)
