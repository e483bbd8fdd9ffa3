"""Real host agents for the demo: per host, a generated sysfs tree (two Intel X710 ports,
eight VFs each), the operator's nova.conf, a state directory, and a ``pcinet agent run``
process with the fake VF driver, authenticated by a service token bound to its host.

``start`` launches them; ``wait_registered`` waits for their first inventory reports;
``vf_table`` reads each host's VFs back as ``pcinet agent vfs`` does; ``stop`` sends
SIGTERM and waits. Each agent's log is ``<workdir>/agents/<host>.log``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from pcinet.agent.fake import FakeDriver
from pcinet.agent.listing import list_vfs
from pcinet.agent.state import AgentState
from pcinet.client import ApiError, Client
from pcinet.core.errors import PcinetError
from pcinet.core.nics import X710
from pcinet.demo.cloud import ADAPTERS, VFS_PER_PF
from pcinet.inventory.treegen import HostLayout, NicLayout, NumaNodeLayout, write_sysfs_tree

INTERVAL_S = 0.2
WAIT_S = 30.0


class AgentsFailed(PcinetError):
    code = "agents_failed"


def nova_conf() -> str:
    """The operator's nova.conf: the demo's device specs, one by PF netdev, one by PF
    address (each also selects the PF's VFs); nothing reserved for the host itself."""
    by_name, by_address = ADAPTERS
    return (
        "[DEFAULT]\nreserved_host_cpus = 0\nreserved_host_memory_mb = 0\n\n[pci]\n"
        f'device_spec = {{"devname": "{by_name.devname}", '
        f'"physical_network": "{by_name.physnet}"}}\n'
        f'device_spec = {{"address": "{by_address.pf_address}", '
        f'"physical_network": "{by_address.physnet}"}}\n'
    )


def layout(serial: int = 0) -> HostLayout:
    """The demo host: each adapter one X710 port (``ens1f0``, ``ens2f0``), 8 VFs, two NUMA
    nodes of 16 CPUs and 32 GB; ``serial`` sets its MACs apart from other hosts'."""
    nics = tuple(
        NicLayout(
            X710,
            a.pf_address,
            numvfs=VFS_PER_PF,
            numa_node=a.numa_node,
            ports=1,
            ifname=a.devname[:-1],
        )
        for a in ADAPTERS
    )
    nodes = tuple(NumaNodeLayout(cpus=16, memory_mb=32768, socket=n) for n in range(2))
    return HostLayout(nics, (), nodes, serial=serial)


class DemoAgents:
    def __init__(
        self, workdir: Path, url: str, tokens: Mapping[str, str], interval: float = INTERVAL_S
    ) -> None:
        self.root = workdir / "agents"
        self.root.mkdir(parents=True, exist_ok=True)
        self.url, self.tokens, self.interval = url, dict(tokens), interval
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self._logs: list[IO[bytes]] = []

    def state_dir(self, host: str) -> Path:
        return self.root / host / "state"

    def start(self) -> None:
        """Start every agent at once (they report their hosts in whatever order they
        start). The hosts are alike but for their MACs (as real NICs, each host's own: a
        ``direct-physical`` port takes its PF's, unique per network): each has its own sysfs
        tree and state directory (its fake VFs); they share one nova.conf, read only."""
        conf = self.root / "nova.conf"
        conf.write_text(nova_conf())
        for serial, (host, token) in enumerate(self.tokens.items()):
            tree = write_sysfs_tree(self.root / host / "sys", layout(serial))
            self._start(host, token, tree, conf)

    def _start(self, host: str, token: str, tree: Path, conf: Path) -> None:
        log = open(self.root / f"{host}.log", "wb")  # noqa: SIM115 (closed in stop)
        self._logs.append(log)
        command = [
            sys.executable,
            "-m",
            "pcinet.agent",
            "run",
            "--host",
            host,
            "--url",
            self.url,
            "--sysfs-root",
            str(tree),
            "--state-dir",
            str(self.state_dir(host)),
            "--vf-driver",
            "fake",
            "--nova-conf",
            str(conf),
            "--interval",
            str(self.interval),
        ]
        env = {**os.environ, "PCINET_TOKEN": token}
        self.processes[host] = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, env=env
        )

    def _check_alive(self) -> None:
        for host, process in self.processes.items():
            if process.poll() is not None:
                tail = (self.root / f"{host}.log").read_text(errors="replace")[-800:]
                raise AgentsFailed(f"the agent of {host} exited ({process.returncode}): {tail}")

    def wait(self, what: str, done: Callable[[], bool], timeout: float = WAIT_S) -> None:
        """Poll ``done`` until true; AgentsFailed naming ``what`` after ``timeout``."""
        deadline = time.monotonic() + timeout
        while not done():
            self._check_alive()
            if time.monotonic() > deadline:
                raise AgentsFailed(f"the host agents did not {what} within {timeout:.0f} s")
            time.sleep(0.05)

    @staticmethod
    def _registered(client: Client, host: str) -> bool:
        try:
            return bool(client.get_host(host)["devices"])
        except ApiError as exc:
            if exc.code == "not_found":
                return False
            raise

    def wait_registered(self, client: Client) -> None:
        self.wait(
            "report their hosts", lambda: all(self._registered(client, h) for h in self.tokens)
        )

    def vf_table(self, host: str) -> list[dict[str, Any]]:
        """The host's VFs as its driver reads them back, with the owning port."""
        state = AgentState.load(self.state_dir(host), create=False)
        vfs, _ = list_vfs(FakeDriver(self.state_dir(host)), state)
        return vfs

    def stop(self) -> dict[str, int | None]:
        """SIGTERM every agent and wait for it; each one's exit code (None: killed)."""
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        codes: dict[str, int | None] = {}
        for host, process in self.processes.items():
            try:
                codes[host] = process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
                codes[host] = None
        for log in self._logs:
            log.close()
        return codes


def programmed(table: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [dict(v) for v in table if v.get("port_id")]
