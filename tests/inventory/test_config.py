"""nova.conf, sriov_agent.ini and ml2_conf.ini read as the services read them (oslo.config):
repeated keys, JSON lists, comments, continuation lines; errors naming file and option;
files that disagree about a device refused."""

from __future__ import annotations

import textwrap
import warnings
from pathlib import Path

import pytest

from pcinet.core.errors import InvalidInput
from pcinet.core.nics import E810, X710
from pcinet.inventory.agentconf import ConfigConflict, load_agent_config, select_devices
from pcinet.inventory.ml2conf import read_network_vlan_ranges
from pcinet.inventory.novaconf import read_nova_conf
from pcinet.inventory.resources import Reserved
from pcinet.inventory.sriovconf import read_sriov_agent_conf
from pcinet.inventory.sysfs import Discovery, discover
from pcinet.inventory.treegen import HostLayout, NicLayout, write_sysfs_tree

NOVA_CONF = """\
[DEFAULT]
# the host keeps two cores and 4 GB
reserved_host_cpus = 2
reserved_host_memory_mb = 4096
my_ip = 10.0.0.5

[pci]
# VFs of the X710, on phy1 (a value over two lines)
device_spec = {"vendor_id": "8086", "product_id": "154c",
    "physical_network": "phy1", "trusted": "true"}
device_spec = [{"address": "0000:5b:00.0", "physical_network": "phy2"},
               {"devname": "enp59s0f1", "physical_network": null}]
#device_spec = {"vendor_id": "zzzz"}
alias = {"name": "gpu", "vendor_id": "10de", "product_id": "20b5", "device_type": "type-PCI"}
alias = [{"name": "vf", "vendor_id": "8086", "product_id": "154c", "device_type": "type-VF"}]

[libvirt]
virt_type = kvm
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def test_nova_conf_repeated_keys_lists_comments_and_continuations(tmp_path: Path) -> None:
    conf = read_nova_conf(write(tmp_path, "nova.conf", NOVA_CONF))
    assert [dict(o) for o in conf.device_spec] == [
        {"vendor_id": "8086", "product_id": "154c", "physical_network": "phy1", "trusted": "true"},
        {"address": "0000:5b:00.0", "physical_network": "phy2"},
        {"devname": "enp59s0f1", "physical_network": None},
    ]
    assert [dict(s.tags) for s in conf.specs] == [
        {"physical_network": "phy1", "trusted": "true"},
        {"physical_network": "phy2"},
        {"physical_network": None},
    ]
    assert sorted(conf.aliases) == ["gpu", "vf"]
    assert (conf.reserved_host_cpus, conf.reserved_host_memory_mb) == (2, 4096)


def test_nova_conf_without_pci_section_selects_nothing(tmp_path: Path) -> None:
    conf = read_nova_conf(write(tmp_path, "nova.conf", "[DEFAULT]\ndebug = true\n"))
    assert conf.specs == () and conf.aliases == {}
    assert (conf.reserved_host_cpus, conf.reserved_host_memory_mb) == (None, None)


def test_the_deprecated_passthrough_whitelist_is_still_read(tmp_path: Path) -> None:
    path = write(tmp_path, "nova.conf", '[pci]\npassthrough_whitelist = {"devname": "eth3"}\n')
    assert read_nova_conf(path).specs[0].devname == "eth3"


def test_reading_raises_no_warning_and_leaves_the_global_conf_alone(tmp_path: Path) -> None:
    from oslo_config import cfg

    path = write(tmp_path, "nova.conf", NOVA_CONF)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        read_nova_conf(path)
        read_nova_conf(path)  # twice: a private ConfigOpts each time, no duplicate options
    assert "pci" not in cfg.CONF


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '[pci]\ndevice_spec = {"vendor_id": "8086"}\ndevice_spec = {"vendor_id": 8086,\n',
            r"nova.conf: \[pci\] device_spec\[1\]: not valid JSON",
        ),
        (
            '[pci]\ndevice_spec = "8086"\n',
            r"nova.conf: \[pci\] device_spec\[0\]: expected a JSON object or list",
        ),
        (
            '[pci]\ndevice_spec = {"vendor_id": "fffff"}\n',
            r"nova.conf: \[pci\] device_spec\[0\].vendor_id: 'fffff' is greater than ffff",
        ),
        (
            '[pci]\ndevice_spec = [{}, {"address": "1:2:3:4"}]\n',
            r"nova.conf: \[pci\] device_spec\[0\]\[1\].address: '1:2:3:4' has more than 3",
        ),
        (
            '[pci]\nalias = {"name": "a", "device_type": "type-XX"}\n',
            r"nova.conf: \[pci\] alias\[0\].device_type",
        ),
        ("[pci]\nalias = {nope}\n", r"nova.conf: \[pci\] alias\[0\]: not valid JSON"),
        (
            "[DEFAULT]\nreserved_host_cpus = many\n",
            r"nova.conf: \[DEFAULT\] reserved_host_cpus: 'many' is not an integer",
        ),
        (
            "[DEFAULT]\nreserved_host_memory_mb = -5\n",
            r"nova.conf: \[DEFAULT\] reserved_host_memory_mb: -5 is negative",
        ),
        ("[pci]\nnot an assignment\n", r"nova.conf: not a valid ini file: .*not an assignment"),
        ("device_spec = {}\n", r"nova.conf: not a valid ini file"),
    ],
)
def test_bad_nova_conf_names_file_and_option(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        read_nova_conf(write(tmp_path, "nova.conf", text))


def test_a_missing_or_unreadable_file_is_invalid_input(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match=r"nope.conf: no such file"):
        read_nova_conf(tmp_path / "nope.conf")
    (tmp_path / "dir.conf").mkdir()
    with pytest.raises(InvalidInput, match=r"dir.conf: no such file"):
        read_sriov_agent_conf(tmp_path / "dir.conf")
    (tmp_path / "binary.conf").write_bytes(b"[pci]\ndevice_spec = \xff\xfe\n")
    with pytest.raises(InvalidInput, match=r"binary.conf: cannot read"):
        read_nova_conf(tmp_path / "binary.conf")


SRIOV = """\
[sriov_nic]
# two PFs on physnet2, one on physnet3
physical_device_mappings = physnet2:ens5f0, physnet2:ens5f1,
    physnet3:ens6f0
exclude_devices = ens5f0:0000:af:01.1;0000:af:01.2,ens6f0:
"""


def test_sriov_agent_ini_mappings_and_exclusions(tmp_path: Path) -> None:
    conf = read_sriov_agent_conf(write(tmp_path, "sriov_agent.ini", SRIOV))
    assert conf.mappings == (
        ("physnet2", "ens5f0"),
        ("physnet2", "ens5f1"),
        ("physnet3", "ens6f0"),
    )
    assert dict(conf.exclude) == {
        "ens5f0": frozenset({"0000:af:01.1", "0000:af:01.2"}),
        "ens6f0": frozenset(),
    }
    assert conf.device_spec() == [
        {"devname": "ens5f0", "physical_network": "physnet2"},
        {"devname": "ens5f1", "physical_network": "physnet2"},
        {"devname": "ens6f0", "physical_network": "physnet3"},
    ]


@pytest.mark.parametrize(
    ("mappings", "exclude", "message"),
    [
        ("physnet2", "", r"physical_device_mappings: 'physnet2' is not of the form"),
        ("physnet2:a:b", "", r"'physnet2:a:b' is not of the form physnet:netdev"),
        (":ens5f0", "", r"':ens5f0' is not of the form"),
        ("p1:ens5f0,p2:ens5f0", "", r"netdev ens5f0 is mapped twice \(to p1 and p2\)"),
        ("p1:ens5f0", "ens5f1:0000:af:01.1", r"exclude_devices: netdev ens5f1 is not in"),
        ("p1:ens5f0", "ens5f0:0000:af:01.1,ens5f0:", r"netdev ens5f0 is listed twice"),
        ("p1:ens5f0", "ens5f0", r"'ens5f0' is not of the form netdev:address"),
        ("p1:ens5f0", "ens5f0:0000:af:01.9", r"exclude_devices: '0000:af:01.9' is not a PCI"),
    ],
)
def test_bad_sriov_agent_ini_names_file_and_option(
    tmp_path: Path, mappings: str, exclude: str, message: str
) -> None:
    text = f"[sriov_nic]\nphysical_device_mappings = {mappings}\nexclude_devices = {exclude}\n"
    with pytest.raises(InvalidInput, match=r"sriov_agent.ini: \[sriov_nic\] .*" + message):
        read_sriov_agent_conf(write(tmp_path, "sriov_agent.ini", text))


def test_ml2_conf_network_vlan_ranges(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "ml2_conf.ini",
        "[ml2]\ntype_drivers = vlan\n[ml2_type_vlan]\n"
        "# provider ranges\nnetwork_vlan_ranges = phy1:100:199,\n    phy2\n",
    )
    assert read_network_vlan_ranges(path) == "phy1:100:199,phy2"
    bad = write(tmp_path, "bad.ini", "[ml2_type_vlan]\nnetwork_vlan_ranges = phy1:100:5000\n")
    with pytest.raises(InvalidInput, match=r"bad.ini: \[ml2_type_vlan\] network_vlan_ranges"):
        read_network_vlan_ranges(bad)


# -- selection: the files applied to a discovered host ----------------------------------


@pytest.fixture
def found(tmp_path: Path) -> Discovery:
    layout = HostLayout(
        nics=(
            NicLayout(E810, "0000:3b:00.0", numvfs=3, ifname="ens5f"),
            NicLayout(X710, "0000:5b:00.0", numvfs=2, numa_node=1, ifname="ens6f"),
        )
    )
    return discover(write_sysfs_tree(tmp_path / "sys", layout))


def test_sriov_mappings_select_pfs_and_vfs_minus_the_excluded(
    tmp_path: Path, found: Discovery
) -> None:
    sriov = write(
        tmp_path,
        "sriov_agent.ini",
        "[sriov_nic]\nphysical_device_mappings = physnet2:ens5f0,physnet3:ens6f1\n"
        "exclude_devices = ens5f0:0000:3b:01.1\n",
    )
    config = load_agent_config(sriov_agent_conf=sriov)
    picked = {s.device.address: dict(s.tags) for s in select_devices(found, config)}
    assert picked == {
        "0000:3b:00.0": {"physical_network": "physnet2"},
        "0000:3b:01.0": {"physical_network": "physnet2"},
        "0000:3b:01.2": {"physical_network": "physnet2"},
        "0000:5b:00.1": {"physical_network": "physnet3"},
        "0000:5b:0a.0": {"physical_network": "physnet3"},
        "0000:5b:0a.1": {"physical_network": "physnet3"},
    }


def test_nova_specs_come_first_and_agreeing_files_combine(tmp_path: Path, found: Discovery) -> None:
    nova = write(
        tmp_path,
        "nova.conf",
        '[pci]\ndevice_spec = {"devname": "ens5f0", "physical_network": "physnet2", '
        '"trusted": "true"}\ndevice_spec = {"vendor_id": "8086", "product_id": "154c", '
        '"physical_network": "physnet9"}\n',
    )
    sriov = write(
        tmp_path, "sriov_agent.ini", "[sriov_nic]\nphysical_device_mappings = physnet2:ens5f0\n"
    )
    config = load_agent_config(nova_conf=nova, sriov_agent_conf=sriov)
    picked = {s.device.address: dict(s.tags) for s in select_devices(found, config)}
    trusted = {"physical_network": "physnet2", "trusted": "true"}
    assert picked["0000:3b:00.0"] == trusted and picked["0000:3b:01.2"] == trusted
    assert picked["0000:5b:02.0"] == {"physical_network": "physnet9"}
    assert "0000:5b:00.0" not in picked  # a PF neither file selects
    assert config.reserved == Reserved()  # Nova's defaults: nothing set in nova.conf


@pytest.mark.parametrize(
    ("spec", "ours"),
    [
        ('{"devname": "ens5f0", "physical_network": "physnet7"}', '"physnet7"'),
        ('{"address": "0000:3b:00.0", "physical_network": null}', "null"),
        ('{"vendor_id": "8086", "product_id": "1889"}', "(none)"),
    ],
)
def test_files_that_disagree_about_a_device_are_refused(
    tmp_path: Path,
    found: Discovery,
    spec: str,
    ours: str,
) -> None:
    nova = write(tmp_path, "nova.conf", f"[pci]\ndevice_spec = {spec}\n")
    sriov = write(
        tmp_path, "sriov_agent.ini", "[sriov_nic]\nphysical_device_mappings = physnet2:ens5f0\n"
    )
    config = load_agent_config(nova_conf=nova, sriov_agent_conf=sriov)
    with pytest.raises(ConfigConflict) as caught:
        select_devices(found, config)
    message = caught.value.message
    assert f"is tagged physical_network {ours} by {nova} [pci] device_spec" in message
    assert f'and "physnet2" by {sriov} [sriov_nic] physical_device_mappings' in message
    assert message.startswith("device 0000:3b:0")


def test_flags_replace_nova_conf_specs_and_set_reserved(tmp_path: Path, found: Discovery) -> None:
    nova = write(tmp_path, "nova.conf", NOVA_CONF)
    config = load_agent_config(
        nova_conf=nova,
        device_specs=['[{"address": "0000:3b:00.1", "physical_network": "phyX"}]'],
        reserved_host_memory_mb=1024,
    )
    picked = {s.device.address for s in select_devices(found, config)}
    assert picked == {"0000:3b:00.1", "0000:3b:11.0", "0000:3b:11.1", "0000:3b:11.2"}
    assert config.reserved == Reserved(2, 1024)  # cpus from nova.conf, memory from the flag
    assert sorted(config.aliases) == ["gpu", "vf"]
    with pytest.raises(InvalidInput, match=r"--device-spec\[1\]: not valid JSON"):
        load_agent_config(device_specs=["{}", "{"])


def test_without_any_spec_source_every_device_is_listed_untagged(found: Discovery) -> None:
    config = load_agent_config()
    assert not config.selective
    assert [s.device.address for s in select_devices(found, config)] == [
        d.address for d in found.devices
    ]
