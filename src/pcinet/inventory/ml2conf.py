"""Neutron's ``ml2_conf.ini`` ``[ml2_type_vlan] network_vlan_ranges``, read with oslo.config
(a list option: ``phy1:100:199,phy2``; the key given once, values over continuation lines
allowed). ``pcinet serve --ml2-conf FILE`` (or ``PCINET_ML2_CONF``) takes its VLAN ranges
from here."""

from __future__ import annotations

import os

from oslo_config import cfg

from pcinet.core.vlan import VlanRanges
from pcinet.inventory import inifile

GROUP = "ml2_type_vlan"


def read_network_vlan_ranges(path: str | os.PathLike[str]) -> str:
    """The ranges as Neutron's comma-separated text, validated; errors name file and option."""
    where = os.fspath(path)
    conf = inifile.load(where, {GROUP: [cfg.ListOpt("network_vlan_ranges", default=[])]})
    entries = inifile.option(conf, where, GROUP, "network_vlan_ranges")
    text = ",".join(e.strip() for e in entries if e.strip())
    VlanRanges.parse(text, field=f"{where}: [{GROUP}] network_vlan_ranges")
    return text
