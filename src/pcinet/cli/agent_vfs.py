"""``pcinet agent vfs``: the actual state of each VF, as the driver reads it back."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from pcinet.agent.driver import DRIVERS, open_driver
from pcinet.agent.listing import list_vfs
from pcinet.agent.state import AgentState
from pcinet.cli.agent import agent_app
from pcinet.cli.formats import ColumnOption, FormatOption, dump
from pcinet.cli.output import EXIT_NOT_FOUND, err_console, fail
from pcinet.cli.remote import JsonOption, output_of, show_rows
from pcinet.core.errors import InvalidInput, PcinetError

DEFAULT_STATE_DIR = Path("/var/lib/pcinet/agent")
StateDirOption = Annotated[
    Path,
    typer.Option("--state-dir", help="The agent's state directory (state file, fake VFs)."),
]
VfDriverOption = Annotated[
    str | None,
    typer.Option(
        "--vf-driver",
        help="netlink or fake (default: the one the agent ran with).",
        show_default=False,
    ),
]

COLUMNS = (
    "PCI address",
    "PF",
    "VF",
    "VLAN",
    "QoS",
    "proto",
    "MAC",
    "spoofchk",
    "trust",
    "link",
    "min rate",
    "max rate",
    "port",
)


def _row(v: dict[str, Any]) -> tuple[Any, ...]:
    return (
        v["address"],
        v["pf"],
        v["vf_index"],
        v["vlan"],
        v["qos"],
        v["proto"],
        v["mac"],
        v["spoofchk"],
        v["trust"],
        v["link_state"],
        v["min_tx_rate"],
        v["max_tx_rate"],
        v["port_id"],
    )


def check_driver(name: str | None, *, as_json: bool) -> None:
    if name is not None and name not in DRIVERS:
        fail(
            InvalidInput(
                f"--vf-driver: {name!r} is not one of {', '.join(DRIVERS)}", field="--vf-driver"
            ),
            as_json=as_json,
        )


@agent_app.command("vfs")
def vfs_command(
    *,
    state_dir: StateDirOption = DEFAULT_STATE_DIR,
    vf_driver: VfDriverOption = None,
    fmt: FormatOption = None,
    columns: ColumnOption = None,
    as_json: JsonOption = False,
) -> None:
    """Every VF the agent knows (from its last discovery), as the driver reads it back:
    VLAN, QoS, protocol, MAC, spoofchk, trust, link state, rates, and the owning port."""
    out = output_of(fmt, columns, as_json)
    check_driver(vf_driver, as_json=out.structured)
    try:
        state = AgentState.load(state_dir, create=False)
    except PcinetError as exc:
        fail(exc, as_json=out.structured)
    name = vf_driver or state.driver
    if name is None:
        fail(
            InvalidInput(
                f"--state-dir: {state_dir} holds no agent state (run pcinet agent run first)",
                field="--state-dir",
            ),
            as_json=out.structured,
        )
    driver = open_driver(name, str(state_dir))
    try:
        vfs, problems = list_vfs(driver, state)
    finally:
        driver.close()
    if out.structured and not out.columns:
        dump({"vfs": vfs, "problems": problems}, out.format)
    else:
        show_rows(vfs, COLUMNS, _row, out=out, compact=True)
        for problem in problems:
            err_console.print(f"[yellow]problem[/] {escape(problem)}")
    if problems and not vfs:
        raise typer.Exit(EXIT_NOT_FOUND)
