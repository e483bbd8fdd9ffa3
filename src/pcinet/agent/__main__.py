"""``python -m pcinet.agent run|vfs|discover ...``: the agent's commands alone, the same as
``pcinet agent ...`` without loading the rest of the CLI (it starts in a fraction of the
time; the demo and the tests start their agents this way)."""

from pcinet.cli.agent import agent_app

agent_app(prog_name="pcinet agent")
