"""The CLI's habits, as the ``openstack`` client has them: ``-f table|json|yaml|value|csv``
and ``-c COLUMN`` on every show and list command, ``--json`` as ``-f json``, ``--version``,
``-h`` on every command, output that is not wrapped when piped, ports named in ``server
create`` and ``server show``, and "PCI address" where the device may be a PF."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from typer.main import get_command
from typer.testing import CliRunner

from pcinet import __version__
from pcinet.cli.main import app
from pcinet.client import Client
from pcinet.demo.cloud import host_report
from tests.live import ADMIN_TOKEN, LiveServer, live_settings

runner = CliRunner()


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    settings = live_settings(tmp_path_factory.mktemp("cli-conventions"))
    with LiveServer(settings) as server, Client(server.url, ADMIN_TOKEN) as client:
        client.put_host("cn1", host_report())
        net = client.create_network(
            {
                "name": "conv-net",
                "provider:network_type": "vlan",
                "provider:physical_network": "phy1",
            }
        )
        port = client.create_port(
            {"network_id": net["id"], "name": "conv-port", "binding:vnic_type": "direct"}
        )
        client.create_server("conv-vm", {"vcpus": 1, "memory_mb": 512}, [port["id"]])
        yield server.url


def run(url: str, *args: str) -> Any:
    return runner.invoke(app, list(args), env={"PCINET_URL": url, "PCINET_TOKEN": ADMIN_TOKEN})


def walk(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    yield path
    for name, sub in getattr(command, "commands", {}).items():
        yield from walk(sub, (*path, name))


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"pcinet {__version__}"


def test_dash_h_is_help_on_every_command() -> None:
    paths = list(walk(get_command(app)))
    assert ("server", "show") in paths and ("network", "list") in paths
    for path in paths:
        result = runner.invoke(app, [*path, "-h"])
        assert result.exit_code == 0, (path, result.output)
        assert "Usage:" in result.stdout, path


def test_value_and_csv_pick_columns_of_a_show(url: str) -> None:
    shown = json.loads(run(url, "network", "show", "conv-net", "--json").stdout)
    value = run(url, "network", "show", "conv-net", "-f", "value", "-c", "id", "-c", "NAME")
    assert value.exit_code == 0, value.output
    assert value.stdout.splitlines() == [shown["id"], "conv-net"]

    rows = list(
        csv.reader(io.StringIO(run(url, "network", "show", "conv-net", "-f", "csv").stdout))
    )
    assert rows[0] == list(shown)
    assert rows[1][rows[0].index("name")] == "conv-net"


def test_json_and_yaml_are_the_apis_objects(url: str) -> None:
    as_json = json.loads(run(url, "port", "list", "--json").stdout)
    as_f_json = json.loads(run(url, "port", "list", "-f", "json").stdout)
    as_yaml = yaml.safe_load(run(url, "port", "list", "-f", "yaml").stdout)
    assert as_json == as_f_json == as_yaml
    assert as_json[0]["name"] == "conv-port"

    picked = json.loads(
        run(url, "port", "list", "-f", "json", "-c", "name", "-c", "PCI address").stdout
    )
    assert picked == [{"name": "conv-port", "PCI address": as_json[0]["pci_slot"]}]


def test_table_columns_and_api_keys_mix_in_a_list(url: str) -> None:
    servers = json.loads(run(url, "server", "list", "--json").stdout)
    out = run(url, "server", "list", "-f", "value", "-c", "name", "-c", "host", "-c", "flavor")
    assert out.exit_code == 0, out.output
    name, host, flavor = out.stdout.strip().split(" ", 2)
    assert (name, host) == ("conv-vm", servers[0]["host"])
    assert json.loads(flavor) == servers[0]["flavor"]

    table = run(url, "server", "list", "-c", "PCI addresses")
    assert servers[0]["ports"][0]["pci_slot"] in table.stdout
    assert "conv-vm" not in table.stdout


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("-f", "xml"), "-f/--format: 'xml' is not one of table, json, yaml, value, csv"),
        (("-c", "nope"), "-c/--column: 'nope' is not a column"),
        (("--json", "-f", "yaml"), "--json conflicts with -f yaml"),
    ],
)
def test_bad_format_or_column_is_exit_2(url: str, args: tuple[str, ...], needle: str) -> None:
    for command in (("server", "list"), ("server", "show", "conv-vm")):
        result = run(url, *command, *args)
        assert result.exit_code == 2, result.output
        assert needle in result.output


def test_unknown_column_as_json_is_an_error_object(url: str) -> None:
    result = run(url, "network", "show", "conv-net", "-f", "json", "-c", "colour")
    assert result.exit_code == 2
    error: dict[str, Any] = json.loads(result.stdout)["error"]
    assert error["code"] == "invalid_input"
    assert error["field"] == "--column"


def test_piped_tables_are_not_wrapped(url: str) -> None:
    """CliRunner's output is not a terminal, as with a pipe: every row stays one line."""
    ports = json.loads(run(url, "port", "list", "--json").stdout)
    table = run(url, "port", "list").stdout
    row = next(line for line in table.splitlines() if ports[0]["id"] in line)
    assert len(row) > 80
    for value in (ports[0]["pci_slot"], "conv-net", "conv-port", "phy1"):
        assert value in row


def test_server_show_names_ports_and_says_pci_address(url: str) -> None:
    server = json.loads(run(url, "server", "show", "conv-vm", "--json").stdout)
    text = run(url, "server", "show", "conv-vm").stdout
    assert "PCI address" in text and "VF address" not in text
    row = next(line for line in text.splitlines() if "conv-port" in line)
    assert server["ports"][0]["id"] in row
    assert server["ports"][0]["pci_slot"] in row
