"""A throw-away PostgreSQL server for tests: initdb into a temp dir, listen on a unix socket
only, ``fsync=off`` (tests only), stop with ``pg_ctl stop -m immediate``.

PostgreSQL refuses to run as root; as root, the server runs as the unprivileged system user
``pcinet-test`` (created with ``useradd --system`` when missing).
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg

TEST_USER = "pcinet-test"
START_TIMEOUT_S = 30.0
INSTALL_HINT = (
    "PostgreSQL server binaries (initdb, postgres, pg_ctl) were not found on PATH or under "
    "/usr/lib/postgresql/*/bin. Install them, e.g. `apt-get install postgresql`."
)


class PostgresNotFound(RuntimeError):
    pass


def find_bindir() -> Path:
    """The directory holding initdb, postgres and pg_ctl (PATH first, newest version next)."""
    found = shutil.which("initdb")
    if found is not None:
        bindir = Path(os.path.realpath(found)).parent
        if (bindir / "postgres").exists() and (bindir / "pg_ctl").exists():
            return bindir
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    if candidates:
        return Path(candidates[-1]).parent
    raise PostgresNotFound(INSTALL_HINT)


def _ensure_test_user() -> None:
    try:
        pwd.getpwnam(TEST_USER)
        return
    except KeyError:
        pass
    # Two xdist workers may race here: a failure is fine if the user exists afterwards.
    subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", TEST_USER],
        check=False,
        capture_output=True,
    )
    pwd.getpwnam(TEST_USER)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class PgServer:
    """One server; ``url(dbname)`` gives a SQLAlchemy URL over its unix socket."""

    def __init__(self) -> None:
        self.bindir = find_bindir()
        self.as_root = os.geteuid() == 0
        self.root = Path(tempfile.mkdtemp(prefix="pcinet-pg-"))
        self.datadir = self.root / "data"
        self.port = _free_port()
        self.log = self.root / "server.log"
        self._proc: subprocess.Popen[bytes] | None = None

    def _cmd(self, *args: str) -> list[str]:
        return ["runuser", "-u", TEST_USER, "--", *args] if self.as_root else list(args)

    def start(self) -> None:
        if self.as_root:
            _ensure_test_user()
            user = pwd.getpwnam(TEST_USER)
            os.chown(self.root, user.pw_uid, user.pw_gid)
        subprocess.run(
            self._cmd(
                str(self.bindir / "initdb"),
                "-D",
                str(self.datadir),
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
                "-E",
                "UTF8",
                "--locale=C",
            ),
            check=True,
            capture_output=True,
        )
        self._launch()

    def _launch(self) -> None:
        with self.log.open("ab") as log:
            self._proc = subprocess.Popen(
                self._cmd(
                    str(self.bindir / "postgres"),
                    "-D",
                    str(self.datadir),
                    "-k",
                    str(self.root),
                    "-p",
                    str(self.port),
                    "-c",
                    "listen_addresses=",
                    "-c",
                    "fsync=off",
                    "-c",
                    "synchronous_commit=off",
                    "-c",
                    "full_page_writes=off",
                    "-c",
                    "max_connections=200",
                ),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self._wait_ready()

    def halt(self) -> None:
        """Stop the server (``-m fast``: sessions are cut, what was committed is kept, as
        ``synchronous_commit=off`` would not survive ``immediate``), keeping its data: the
        database going away under its clients. ``resume`` starts it again."""
        self._pg_ctl_stop("fast")

    def resume(self) -> None:
        self._launch()

    def _pg_ctl_stop(self, mode: str = "immediate") -> None:
        if self._proc is not None and self._proc.poll() is None:
            subprocess.run(
                self._cmd(str(self.bindir / "pg_ctl"), "stop", "-D", str(self.datadir), "-m", mode),
                check=False,
                capture_output=True,
            )
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._proc = None

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            assert self._proc is not None
            if self._proc.poll() is not None:
                raise RuntimeError(f"postgres exited early:\n{self.log.read_text()}")
            try:
                with psycopg.connect(self.dsn("postgres"), connect_timeout=2):
                    return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(
                        f"postgres not ready after {START_TIMEOUT_S:.0f} s:\n{self.log.read_text()}"
                    ) from None
                time.sleep(0.05)

    def dsn(self, dbname: str) -> str:
        return f"host={self.root} port={self.port} user=postgres dbname={dbname}"

    def url(self, dbname: str) -> str:
        return f"postgresql+psycopg://postgres@/{dbname}?host={self.root}&port={self.port}"

    def execute(self, sql: str) -> None:
        """Run one statement outside a transaction (CREATE/DROP DATABASE) as superuser."""
        with psycopg.connect(self.dsn("postgres"), autocommit=True) as conn:
            conn.execute(sql.encode())

    def stop(self) -> None:
        self._pg_ctl_stop()
        with contextlib.suppress(OSError):
            shutil.rmtree(self.root)
