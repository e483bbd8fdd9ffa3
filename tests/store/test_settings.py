"""Settings from the environment and a config file (pcinet.config)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pcinet.config import Settings, default_database_url
from pcinet.core.errors import InvalidInput


def test_defaults_put_the_database_in_the_user_data_dir(tmp_path: Path) -> None:
    settings = Settings.from_env({"HOME": str(tmp_path)})
    assert settings.database_url == f"sqlite:///{tmp_path}/.local/share/pcinet/pcinet.db"
    assert (settings.admin_token, settings.network_vlan_ranges) == (None, "")
    assert (settings.scheduler_strategy, settings.host_heartbeat_timeout_s) == ("spread", 120)
    xdg = {"XDG_DATA_HOME": "/data", "HOME": "/home/x"}
    assert default_database_url(xdg) == "sqlite:////data/pcinet/pcinet.db"
    assert default_database_url({"XDG_DATA_HOME": "relative", "HOME": "/h"}).startswith(
        "sqlite:////h/.local/share/"
    )
    assert not (tmp_path / ".local").exists()  # created on demand by make_engine only


def test_environment_wins_over_the_config_file(tmp_path: Path) -> None:
    path = tmp_path / "pcinet.toml"
    path.write_text(
        'database_url = "postgresql://db/pcinet"\n'
        'network_vlan_ranges = ["phy1:100:199", "phy2"]\n'
        'scheduler_strategy = "pack"\n'
        "host_heartbeat_timeout = 30\n"
    )
    env = {
        "PCINET_CONFIG": str(path),
        "PCINET_SCHEDULER_STRATEGY": "Spread",
        "PCINET_ADMIN_TOKEN": "s3cret",
        "PCINET_DATABASE_URL": "",
    }
    settings = Settings.from_env(env)
    assert settings.database_url == "postgresql://db/pcinet"
    assert settings.network_vlan_ranges == "phy1:100:199,phy2"
    assert settings.vlan_ranges.physnets == ("phy1", "phy2")
    assert (settings.scheduler_strategy, settings.host_heartbeat_timeout_s) == ("spread", 30.0)
    assert settings.admin_token == "s3cret" and "s3cret" not in repr(settings)


def test_yaml_config_file_given_as_argument(tmp_path: Path) -> None:
    path = tmp_path / "pcinet.yaml"
    path.write_text("admin_token: abc\nhost_heartbeat_timeout_s: 2.5\n")
    settings = Settings.from_env({"HOME": str(tmp_path)}, config_file=path)
    assert (settings.admin_token, settings.host_heartbeat_timeout_s) == ("abc", 2.5)


@pytest.mark.parametrize(
    ("env", "field"),
    [
        ({"PCINET_HOST_HEARTBEAT_TIMEOUT": "soon"}, "PCINET_HOST_HEARTBEAT_TIMEOUT"),
        ({"PCINET_HOST_HEARTBEAT_TIMEOUT": "-1"}, "PCINET_HOST_HEARTBEAT_TIMEOUT"),
        ({"PCINET_SCHEDULER_STRATEGY": "random"}, "PCINET_SCHEDULER_STRATEGY"),
        ({"PCINET_NETWORK_VLAN_RANGES": "phy1:9:1"}, "PCINET_NETWORK_VLAN_RANGES"),
        ({"PCINET_DATABASE_URL": "mysql://x/y"}, "PCINET_DATABASE_URL"),
        ({"PCINET_DATABASE_URL": "not a url"}, "PCINET_DATABASE_URL"),
    ],
)
def test_bad_environment_values_name_the_variable(env: dict[str, str], field: str) -> None:
    with pytest.raises(InvalidInput) as info:
        Settings.from_env({"HOME": "/h", **env})
    assert info.value.field == field
    assert str(info.value).startswith(f"{field}: ")


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("c.toml", "databse_url = 'x'\n", "databse_url: unknown setting"),
        ("c.toml", "admin_token = 3\n", "admin_token: expected a non-empty string"),
        ("c.toml", "= broken", "not valid TOML"),
        ("c.yaml", "- a list\n", "expected a mapping"),
        ("c.ini", "a=1", "must end in .toml, .yaml or .yml"),
    ],
)
def test_bad_config_files_name_the_file_and_key(
    tmp_path: Path, name: str, text: str, message: str
) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(InvalidInput, match=message) as info:
        Settings.from_env({"HOME": "/h"}, config_file=path)
    assert str(path) in str(info.value)


def test_missing_config_file() -> None:
    with pytest.raises(InvalidInput, match="cannot read config file"):
        Settings.from_env({"PCINET_CONFIG": "/nonexistent/pcinet.toml"})
