"""The host's inventory, read as it is: PCI devices in sysfs (``sysfs``), vCPUs, memory and
NUMA cells (``resources``), the operator's nova.conf / sriov_agent.ini / ml2_conf.ini
(``novaconf``, ``sriovconf``, ``ml2conf``), which devices they select (``selection``) and
the report to the controller (``report``). ``treegen`` writes realistic sysfs trees for
tests, the demo and the simulator.

Everything here only reads, under an injectable root (``/sys`` by default), and reports a
malformed entry as a ``Problem`` instead of failing.
"""
