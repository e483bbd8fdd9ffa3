"""A controller whose VLAN ranges come from ml2_conf.ini allocates tenant VLANs from them."""

from __future__ import annotations

from pathlib import Path

from tests.api.conftest import Start, error


def test_tenant_vlans_come_from_ml2_conf(start: Start, tmp_path: Path) -> None:
    ml2 = tmp_path / "ml2_conf.ini"
    ml2.write_text("[ml2_type_vlan]\n# one VLAN only\nnetwork_vlan_ranges = phyA:42:42\n")
    api = start(network_vlan_ranges="", ml2_conf=str(ml2))
    net = api.network("t1")
    assert (net["provider:physical_network"], net["provider:segmentation_id"]) == ("phyA", 42)
    err = error(api.post("/v1/networks", {"name": "t2"}), 503, "no_network_available")
    assert "phyA:42:42" in err["message"]
