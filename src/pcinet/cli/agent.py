"""``pcinet agent``: the host agent's commands.

Each command lives in its own module (``agent_discover``, ``agent_run``, ...), which
registers itself on ``agent_app``; this module only gathers them.
"""

from __future__ import annotations

from pcinet.cli.output import new_app

agent_app = new_app(
    help="The host agent: discover devices, program VFs, report to the controller.",
    no_args_is_help=True,
)

# The commands register themselves on agent_app when imported.
from pcinet.cli import agent_discover, agent_run, agent_vfs  # noqa: E402, F401
