"""Settings of a pcinet controller, from ``PCINET_*`` environment variables or a config file.

``Settings.from_env`` reads, in increasing precedence: the defaults, a TOML or YAML config
file (``config_file`` or ``PCINET_CONFIG``) whose keys are the setting names in lowercase,
and the environment. An empty environment variable counts as unset. A bad value is
InvalidInput naming the variable or the file and key at fault.
"""

from __future__ import annotations

import math
import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast

import yaml

from pcinet.core.errors import InvalidInput
from pcinet.core.vlan import VlanRanges

Strategy = Literal["spread", "pack"]
STRATEGIES: tuple[Strategy, ...] = ("spread", "pack")

# Setting name -> environment variable.
ENV_VARS: Mapping[str, str] = {
    "database_url": "PCINET_DATABASE_URL",
    "admin_token": "PCINET_ADMIN_TOKEN",
    "network_vlan_ranges": "PCINET_NETWORK_VLAN_RANGES",
    "scheduler_strategy": "PCINET_SCHEDULER_STRATEGY",
    "host_heartbeat_timeout_s": "PCINET_HOST_HEARTBEAT_TIMEOUT",
    "ml2_conf": "PCINET_ML2_CONF",
}
# Config-file spellings that follow the environment variable rather than the setting name.
_FILE_ALIASES: Mapping[str, str] = {"host_heartbeat_timeout": "host_heartbeat_timeout_s"}
CONFIG_ENV = "PCINET_CONFIG"


def data_dir(environ: Mapping[str, str] = os.environ) -> Path:
    """``$XDG_DATA_HOME/pcinet``, else ``~/.local/share/pcinet`` (not created here)."""
    xdg = environ.get("XDG_DATA_HOME", "")
    if xdg and Path(xdg).is_absolute():
        return Path(xdg) / "pcinet"
    home = environ.get("HOME") or str(Path.home())
    return Path(home) / ".local" / "share" / "pcinet"


def default_database_url(environ: Mapping[str, str] = os.environ) -> str:
    """A SQLite file in the user's data directory; ``make_engine`` creates the directory."""
    return f"sqlite:///{data_dir(environ) / 'pcinet.db'}"


def _check_url(value: Any, name: str) -> str:
    # SQLAlchemy only when a URL is checked: `pcinet plan` and friends do not need it.
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    if not isinstance(value, str) or not value:
        raise InvalidInput(f"{name}: expected a database URL, got {value!r}", field=name)
    try:
        url = make_url(value)
    except ArgumentError:
        raise InvalidInput(f"{name}: {value!r} is not a database URL", field=name) from None
    if url.get_backend_name() not in ("sqlite", "postgresql", "postgres"):
        raise InvalidInput(
            f"{name}: {url.drivername!r} is not supported, use sqlite:/// or postgresql://",
            field=name,
        )
    return value


def _check_token(value: Any, name: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{name}: expected a non-empty string", field=name)
    return value


def _check_ranges(value: Any, name: str) -> str:
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        value = ",".join(value)
    if not isinstance(value, str):
        raise InvalidInput(f"{name}: expected a string, got {value!r}", field=name)
    VlanRanges.parse(value, field=name)
    return value


def _check_strategy(value: Any, name: str) -> Strategy:
    text = value.strip().lower() if isinstance(value, str) else value
    if text not in STRATEGIES:
        raise InvalidInput(f"{name}: {value!r} is not one of spread, pack", field=name)
    return cast(Strategy, text)


def _check_timeout(value: Any, name: str) -> float:
    if isinstance(value, bool):
        raise InvalidInput(f"{name}: expected a number of seconds, got {value!r}", field=name)
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise InvalidInput(
            f"{name}: expected a number of seconds, got {value!r}", field=name
        ) from None
    if not math.isfinite(seconds) or seconds <= 0:
        raise InvalidInput(f"{name}: expected a positive number, got {value!r}", field=name)
    return seconds


def _check_ml2_conf(value: Any, name: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{name}: expected the path of an ml2_conf.ini", field=name)
    from pcinet.inventory.ml2conf import read_network_vlan_ranges

    read_network_vlan_ranges(value)  # refused at start, naming the file and option
    return value


_CHECKS: Mapping[str, Callable[[Any, str], Any]] = {
    "database_url": _check_url,
    "admin_token": _check_token,
    "network_vlan_ranges": _check_ranges,
    "scheduler_strategy": _check_strategy,
    "host_heartbeat_timeout_s": _check_timeout,
    "ml2_conf": _check_ml2_conf,
}


@dataclass(frozen=True, slots=True)
class Settings:
    """Validated settings; constructing one directly validates too (errors name the field)."""

    database_url: str = field(default_factory=default_database_url)
    admin_token: str | None = field(default=None, repr=False)
    network_vlan_ranges: str = ""
    scheduler_strategy: Strategy = "spread"
    host_heartbeat_timeout_s: float = 120.0
    # Neutron's ml2_conf.ini: [ml2_type_vlan] network_vlan_ranges, instead of the setting.
    ml2_conf: str | None = None

    def __post_init__(self) -> None:
        for name, check in _CHECKS.items():
            object.__setattr__(self, name, check(getattr(self, name), name))
        if self.ml2_conf is not None and self.network_vlan_ranges:
            raise InvalidInput(
                f"network_vlan_ranges ({self.network_vlan_ranges!r}) and ml2_conf "
                f"({self.ml2_conf}) are both set: give the VLAN ranges in one place",
                field="network_vlan_ranges",
            )

    @property
    def effective_vlan_ranges(self) -> str:
        """``network_vlan_ranges``, or the ranges of ``ml2_conf`` when that is set."""
        if self.ml2_conf is None:
            return self.network_vlan_ranges
        from pcinet.inventory.ml2conf import read_network_vlan_ranges

        return read_network_vlan_ranges(self.ml2_conf)

    @property
    def vlan_ranges(self) -> VlanRanges:
        return VlanRanges.parse(self.effective_vlan_ranges)

    @classmethod
    def from_env(
        cls,
        environ: Mapping[str, str] = os.environ,
        config_file: str | os.PathLike[str] | None = None,
    ) -> Settings:
        values: dict[str, Any] = {}
        path = config_file if config_file is not None else environ.get(CONFIG_ENV) or None
        if path is not None:
            values.update(load_config_file(Path(path)))
        for name, var in ENV_VARS.items():
            raw = environ.get(var, "")
            if raw:
                values[name] = _CHECKS[name](raw, var)
        if "database_url" not in values:
            values["database_url"] = default_database_url(environ)
        return cls(**values)


def load_config_file(path: Path) -> dict[str, Any]:
    """Read and validate a config file: ``*.toml``, ``*.yaml`` or ``*.yml``.

    Keys are setting names (``database_url``, ...; ``host_heartbeat_timeout`` is accepted for
    ``host_heartbeat_timeout_s``); an unknown key is an error, so a typo is not ignored.
    """
    where = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(f"{where}: cannot read config file: {exc.strerror}") from None
    suffix = path.suffix.lower()
    try:
        if suffix == ".toml":
            data: Any = tomllib.loads(text)
        elif suffix in (".yaml", ".yml"):
            data = yaml.safe_load(text) or {}
        else:
            raise InvalidInput(f"{where}: config file must end in .toml, .yaml or .yml")
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        raise InvalidInput(f"{where}: not valid {suffix[1:].upper()}: {exc}") from None
    if not isinstance(data, dict):
        raise InvalidInput(f"{where}: expected a mapping of settings at the top level")
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = _FILE_ALIASES.get(str(key), str(key))
        if name not in _CHECKS:
            known = ", ".join(ENV_VARS)
            raise InvalidInput(
                f"{where}: {key}: unknown setting (known: {known})", field=f"{where}: {key}"
            )
        out[name] = _CHECKS[name](value, f"{where}: {key}")
    return out
