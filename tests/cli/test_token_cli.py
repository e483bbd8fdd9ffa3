"""``pcinet token create|list|delete`` against a live controller: host-bound and expiring
tokens, revocation, and bad ``--expires`` as exit 2."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from pcinet.cli import output
from pcinet.cli.main import app
from pcinet.client import Client
from pcinet.demo.cloud import host_report
from tests.live import ADMIN_TOKEN, LiveServer, live_settings

runner = CliRunner()


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    for console in (output.console, output.err_console):
        monkeypatch.setattr(console, "_width", 250)


def cli(url: str, *args: str, token: str = ADMIN_TOKEN) -> tuple[int, Any]:
    result = runner.invoke(app, list(args), env={"PCINET_URL": url, "PCINET_TOKEN": token})
    return result.exit_code, json.loads(result.stdout) if "--json" in args else result.stdout


def test_token_create_list_delete(tmp_path: Path) -> None:
    with LiveServer(live_settings(tmp_path)) as server:
        url = server.url
        code, agent = cli(url, "token", "create", "--project-id", "ops", "--host", "cn1",
                          "--expires", "12h", "--json")  # fmt: skip
        assert code == 0
        assert (agent["role"], agent["host"]) == ("service", "cn1")
        assert agent["expires_at"] is not None
        with Client(url, agent["token"]) as client:
            client.put_host("cn1", host_report())
        code, listed = cli(url, "token", "list", "--json")
        assert code == 0 and agent["id"] in {t["id"] for t in listed}
        assert "token" not in listed[0]
        code, text = cli(url, "token", "list")
        assert code == 0 and agent["id"] in text and "cn1" in text
        code, deleted = cli(url, "token", "delete", agent["id"], "--json")
        assert (code, deleted) == (0, {"id": agent["id"], "deleted": True})
        code, err = cli(url, "host", "list", "--json", token=agent["token"])
        assert code == 1 and err["error"]["code"] == "unauthorized"
        code, err = cli(url, "token", "delete", agent["id"], "--json")
        assert code == 1 and err["error"]["code"] == "not_found"
        code, err = cli(url, "token", "create", "--project-id", "p", "--expires", "soon", "--json")
        assert code == 2 and err["error"]["field"] == "--expires"
        code, err = cli(url, "token", "create", "--project-id", "p", "--expires",
                        "2001-01-01T00:00:00Z", "--json")  # fmt: skip
        assert code == 2 and err["error"]["field"] == "token.expires_at"


def test_quota_show_and_set(tmp_path: Path) -> None:
    with LiveServer(live_settings(tmp_path)) as server:
        url = server.url
        code, quota = cli(url, "quota", "set", "--default", "--servers", "5", "--json")
        assert code == 0 and quota["quotas"]["servers"] == 5
        code, quota = cli(url, "quota", "set", "p1", "--servers", "unlimited", "--vfs", "8",
                          "--json")  # fmt: skip
        assert code == 0
        assert quota["quotas"] == {"networks": -1, "ports": -1, "servers": -1, "vfs": 8}
        assert quota["overrides"] == {"servers": -1, "vfs": 8}
        code, quota = cli(url, "quota", "set", "p1", "--servers", "default", "--json")
        assert code == 0 and quota["quotas"]["servers"] == 5
        code, text = cli(url, "quota", "show", "p1")
        assert code == 0 and "vfs" in text and "project" in text and "default" in text
        code, err = cli(url, "quota", "set", "p1", "--servers", "many", "--json")
        assert code == 2 and err["error"]["field"] == "--servers"
        code, err = cli(url, "quota", "show", "p1", "--default", "--json")
        assert code == 2
        code, err = cli(url, "quota", "show", "p1", "--json", token="wrong")
        assert code == 1 and err["error"]["code"] == "unauthorized"
