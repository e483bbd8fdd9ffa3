"""The host as sysfs shows it, for the agent's loop: the inventory report (built by
``pcinet.inventory.report``) and every VF with a PF netdev, read anew on every pass so that
VFs that appear (``sriov_numvfs`` raised) or disappear are seen without a restart."""

from __future__ import annotations

import os

from pcinet.agent.driver import VfRef
from pcinet.agent.loop import HostScan
from pcinet.core.pci import DevType
from pcinet.inventory.agentconf import AgentConfig
from pcinet.inventory.report import host_report
from pcinet.inventory.resources import read_host_resources
from pcinet.inventory.sysfs import Discovery, discover


def host_vfs(discovery: Discovery) -> tuple[dict[str, VfRef], dict[str, str]]:
    """Every VF whose PF has a netdev (the driver programs VFs through it), and the MAC of
    each VF that has a netdev itself."""
    devices = discovery.by_address()
    vfs: dict[str, VfRef] = {}
    macs: dict[str, str] = {}
    for device in discovery.devices:
        if device.dev_type is not DevType.VF or device.vf_index is None:
            continue
        pf = devices.get(device.parent_address or "")
        if pf is None or pf.netdev is None:
            continue
        vfs[device.address] = VfRef(device.address, pf.netdev, device.vf_index)
        if device.mac:
            macs[device.address] = device.mac
    return vfs, macs


class SysfsScanner:
    """``scan()`` reads sysfs under ``root`` and builds the report for ``host``."""

    def __init__(self, host: str, root: str | os.PathLike[str], config: AgentConfig) -> None:
        self.host, self.root, self.config = host, root, config

    def __call__(self) -> HostScan:
        discovery = discover(self.root)
        resources = read_host_resources(self.root)
        report = host_report(self.host, discovery, resources, self.config)
        vfs, macs = host_vfs(discovery)
        problems = tuple(str(p) for p in (*discovery.problems, *resources.problems))
        return HostScan(report, vfs, macs, problems)
