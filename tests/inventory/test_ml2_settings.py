"""``pcinet serve`` takes its VLAN ranges from Neutron's ml2_conf.ini (``--ml2-conf`` or
``PCINET_ML2_CONF``), beside ``PCINET_NETWORK_VLAN_RANGES`` but never together with it."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from pcinet.cli.main import app
from pcinet.config import Settings
from pcinet.core.errors import InvalidInput

ML2 = "[ml2_type_vlan]\nnetwork_vlan_ranges = phy1:100:101,\n  phy2:7:7\n"


@pytest.fixture
def ml2(tmp_path: Path) -> Path:
    path = tmp_path / "ml2_conf.ini"
    path.write_text(ML2)
    return path


def test_ranges_from_the_environment_or_the_config_file(tmp_path: Path, ml2: Path) -> None:
    settings = Settings.from_env({"HOME": str(tmp_path), "PCINET_ML2_CONF": str(ml2)})
    assert settings.effective_vlan_ranges == "phy1:100:101,phy2:7:7"
    assert list(settings.vlan_ranges) == [("phy1", 100), ("phy1", 101), ("phy2", 7)]
    toml = tmp_path / "pcinet.toml"
    toml.write_text(f'ml2_conf = "{ml2}"\n')
    assert Settings.from_env({"HOME": str(tmp_path)}, config_file=toml).ml2_conf == str(ml2)


def test_both_places_at_once_are_refused(tmp_path: Path, ml2: Path) -> None:
    env = {"HOME": str(tmp_path), "PCINET_ML2_CONF": str(ml2)}
    with pytest.raises(InvalidInput, match="are both set"):
        Settings.from_env({**env, "PCINET_NETWORK_VLAN_RANGES": "phy1"})


def test_a_bad_ml2_conf_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.ini"
    bad.write_text("[ml2_type_vlan]\nnetwork_vlan_ranges = phy1:300:200\n")
    with pytest.raises(InvalidInput, match=r"bad.ini: \[ml2_type_vlan\] network_vlan_ranges"):
        Settings.from_env({"HOME": str(tmp_path), "PCINET_ML2_CONF": str(bad)})


@pytest.mark.parametrize(
    ("env", "args", "message"),
    [
        ({}, ["--ml2-conf", "/nonexistent/ml2.ini"], "/nonexistent/ml2.ini: no such file"),
        ({"PCINET_NETWORK_VLAN_RANGES": "phy1"}, ["--ml2-conf", "ML2"], "are both set"),
    ],
)
def test_serve_refuses_bad_ml2_conf_with_exit_2(
    tmp_path: Path, ml2: Path, env: dict[str, str], args: list[str], message: str
) -> None:
    args = [str(ml2) if a == "ML2" else a for a in args]
    result = CliRunner().invoke(
        app, ["serve", "--port", "1", *args], env={"HOME": str(tmp_path), **env}
    )
    assert result.exit_code == 2
    assert message in " ".join(result.stderr.split())
