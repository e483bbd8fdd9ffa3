"""The Nova model's known gaps, each on one host (reference §4), against pcinet's answer."""

from __future__ import annotations

from pcinet.core.host import Host, HostCell
from pcinet.core.pci import DevType, PciDevice
from pcinet.scheduler import Snapshot, decide
from pcinet.sim.novamodel import consume_requests, support_requests
from pcinet.sim.server_requests import RequestBuilder
from pcinet.sim.state import CloudState
from pcinet.sim.workload import PortSpec, Server

PF = "0000:3b:00.0"


def nic(pf: str, physnet: str, vfs: int, **tags: str) -> list[PciDevice]:
    bus = pf[5:7]
    out = [
        PciDevice(
            pf, "8086", "1572", DevType.PF, numa_node=0, tags={"physical_network": physnet, **tags}
        )
    ]
    out += [
        PciDevice(
            f"0000:{bus}:02.{i}",
            "8086",
            "154c",
            DevType.VF,
            parent_address=pf,
            numa_node=0,
            tags={"physical_network": physnet, **tags},
        )
        for i in range(vfs)
    ]
    return out


def host(*devices: PciDevice) -> Host:
    return Host("h", 96, 393216, (HostCell(0, 48, 196608, 0), HostCell(1, 48, 196608, 1)), devices)


def answers(h: Host, *ports: PortSpec, flavor: str = "large") -> tuple[bool, bool, bool]:
    """(Nova's filter, Nova's claim, pcinet's decision) for one server on one host."""
    req = RequestBuilder().get(Server(0, 0.0, None, flavor, ports))
    runtime = CloudState([h]).hosts[0]
    nova_filter = support_requests(runtime, req.nova, ())
    nova_claim = consume_requests(runtime, req.nova, ()) is not None
    pcinet = decide(Snapshot([h]), req.pcinet, exhaustive=True).placement is not None
    return nova_filter, nova_claim, pcinet


def test_a_pf_with_its_own_vf_passes_novas_filter_and_fails_its_claim() -> None:
    h = host(*nic(PF, "phy1", 4))
    got = answers(h, PortSpec("prov-phy1", "direct-physical"), PortSpec("prov-phy1"))
    assert got == (True, False, False)


def test_novas_first_segment_rule_refuses_a_host_on_the_second_segment() -> None:
    # multi-31: segments on phy3 then phy1; the host has only phy1
    h = host(*nic(PF, "phy1", 4))
    assert answers(h, PortSpec("multi-31")) == (False, False, True)


def test_novas_greedy_order_gives_the_trusted_vf_to_the_untrusted_port() -> None:
    # untrusted VFs tagged trusted=false: both pools have as many keys, so discovery order
    # decides and the trusted VF's pool comes first
    h = host(
        *nic("0000:3b:00.0", "phy1", 1, trusted="true"),
        *nic("0000:5e:00.0", "phy1", 1, trusted="false"),
    )
    untrusted_first = (PortSpec("prov-phy1"), PortSpec("prov-phy1", trusted=True))
    assert answers(h, *untrusted_first) == (False, False, True)
    assert answers(h, *reversed(untrusted_first)) == (True, True, True)


def test_a_host_both_get_right() -> None:
    h = host(*nic(PF, "phy1", 4))
    assert answers(h, PortSpec("prov-phy1"), PortSpec("tenant-1")) == (True, True, True)
    assert answers(h, PortSpec("prov-phy2")) == (False, False, False)
