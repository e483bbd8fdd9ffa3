"""Run a command against a throw-away PostgreSQL database (``tests.pg``), for benchmarks.

    python -m tests.pgrun -- pcinet bench placement --hosts 1000 --servers 2000 \\
        --database-url '{url}' --json

Starts a server (unix socket, ``fsync=off``: numbers are for the controller, not the disk),
creates a fresh database, replaces ``{url}`` in the arguments with its SQLAlchemy URL, runs
the command and stops the server. Several commands: separate them with ``--`` again; each
gets its own fresh database on the same server. Exits with the first non-zero status.
"""

from __future__ import annotations

import subprocess
import sys

from tests.pg import PgServer


def _commands(argv: list[str]) -> list[list[str]]:
    commands: list[list[str]] = []
    for arg in argv:
        if arg == "--":
            commands.append([])
        elif commands:
            commands[-1].append(arg)
        else:
            raise SystemExit("usage: python -m tests.pgrun -- COMMAND... [-- COMMAND...]")
    return [c for c in commands if c]


def main(argv: list[str]) -> int:
    commands = _commands(argv)
    if not commands:
        raise SystemExit("usage: python -m tests.pgrun -- COMMAND... [-- COMMAND...]")
    server = PgServer()
    server.start()
    try:
        for n, command in enumerate(commands):
            name = f"bench_{n}"
            server.execute(f"CREATE DATABASE {name}")
            url = server.url(name)
            status = subprocess.run([a.replace("{url}", url) for a in command], check=False)
            server.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            if status.returncode:
                return status.returncode
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
