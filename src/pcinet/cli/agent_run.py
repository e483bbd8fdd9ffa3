"""``pcinet agent run``: the host agent's loop (``pcinet.agent.loop``), or one pass."""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
from pathlib import Path
from typing import Annotated

import typer

from pcinet.agent.driver import open_driver
from pcinet.agent.loop import Agent
from pcinet.agent.state import AgentState
from pcinet.cli.agent import agent_app
from pcinet.cli.agent_discover import (
    NovaConfOption,
    ReservedCpusOption,
    ReservedMemoryOption,
    SriovConfOption,
    SysfsRootOption,
)
from pcinet.cli.agent_vfs import DEFAULT_STATE_DIR, StateDirOption, check_driver
from pcinet.cli.output import fail
from pcinet.cli.remote import TokenOption, UrlOption
from pcinet.client import DEFAULT_URL, ApiError, Client
from pcinet.core.errors import InvalidInput, PcinetError
from pcinet.inventory.sysfs import DEFAULT_ROOT


@agent_app.command("run")
def run_command(
    *,
    host: Annotated[str, typer.Option("--host", help="This host's name at the controller.")],
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    sysfs_root: SysfsRootOption = Path(DEFAULT_ROOT),
    state_dir: StateDirOption = DEFAULT_STATE_DIR,
    vf_driver: Annotated[
        str, typer.Option("--vf-driver", help="netlink (real VFs) or fake (state-dir files).")
    ] = "netlink",
    nova_conf: NovaConfOption = None,
    sriov_agent_conf: SriovConfOption = None,
    reserved_host_cpus: ReservedCpusOption = None,
    reserved_host_memory_mb: ReservedMemoryOption = None,
    interval: Annotated[
        float, typer.Option("--interval", min=0.05, help="Seconds between passes.")
    ] = 10.0,
    once: Annotated[bool, typer.Option("--once", help="One full pass, then exit.")] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="With --once: print the pass's summary as JSON.")
    ] = False,
) -> None:
    """Report this host's devices, heartbeat, program the VFs the controller asks for (only
    what differs), report each port's status; every --interval seconds until SIGTERM.

    Exit 0 after --once's pass or on SIGTERM; 1 when --once cannot reach the controller;
    2 for invalid options or configuration files, checked against the host's devices before
    the first pass (files that disagree about a device's physnet: ``config_conflict``).
    """
    from pcinet.agent.scan import SysfsScanner
    from pcinet.inventory.agentconf import load_agent_config

    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s"
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)  # not a line per request
    check_driver(vf_driver, as_json=as_json)
    if not token:
        fail(
            InvalidInput("--token: required (or PCINET_TOKEN): a service token for this host"),
            as_json=as_json,
        )
    try:
        config = load_agent_config(
            nova_conf=nova_conf,
            sriov_agent_conf=sriov_agent_conf,
            reserved_host_cpus=reserved_host_cpus,
            reserved_host_memory_mb=reserved_host_memory_mb,
        )
        scanner = SysfsScanner(host, sysfs_root, config)
        # A first scan applies the files to the devices: disagreeing files (ConfigConflict)
        # or a reservation larger than the host are refused here, before the loop starts,
        # rather than as a failure of every pass.
        scanner()
        state = AgentState.load(state_dir)
    except PcinetError as exc:
        fail(exc, as_json=as_json)
    driver = open_driver(vf_driver, str(state_dir))
    stop = threading.Event()
    try:
        with Client(url, token) as client:
            agent = Agent(
                client,
                host,
                driver,
                state,
                scanner,
                interval=interval,
            )
            if once:
                try:
                    summary = agent.run_pass()
                except ApiError as exc:
                    fail(exc, as_json=as_json)
                if as_json:
                    sys.stdout.write(json.dumps(summary, indent=2) + "\n")
                if summary["errors"] or summary["conflict"]:
                    logging.getLogger("pcinet.agent").warning("pass done with errors")
                return
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, lambda *_: stop.set())
            agent.run(stop)
    finally:
        driver.close()
