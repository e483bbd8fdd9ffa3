"""OpenStack ini files read with oslo.config itself, so that comments, continuation lines,
repeated keys of multi-valued options and ``[DEFAULT]`` behave as in nova-compute and the
Neutron agents.

Each read uses a private ``ConfigOpts`` (never oslo's global ``CONF``), no command line, no
environment and no default search paths: only the file named. Options other than the ones
registered are ignored, as the services ignore each other's options. Every error is
InvalidInput naming the file (and the option when one is at fault).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from oslo_config import cfg

from pcinet.core.errors import InvalidInput


def load(path: str | os.PathLike[str], groups: Mapping[str, Sequence[Any]]) -> Any:
    """Read ``path`` with the options of ``groups`` (group name -> oslo Opts, ``DEFAULT``
    for the default group) registered; return the loaded ``ConfigOpts``."""
    where = os.fspath(path)
    conf = cfg.ConfigOpts()
    for group, opts in groups.items():
        conf.register_opts(list(opts), group=None if group == "DEFAULT" else group)
    if not os.path.isfile(where):
        raise InvalidInput(f"{where}: no such file", field=where)
    try:
        conf(
            args=[],
            project="pcinet",
            prog="pcinet",
            default_config_files=[where],
            default_config_dirs=[],
            use_env=False,
        )
    except cfg.ConfigFileParseError as exc:
        raise InvalidInput(f"{where}: not a valid ini file: {exc.msg}", field=where) from None
    except (cfg.Error, OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"{where}: cannot read: {exc}", field=where) from None
    return conf


def option(conf: Any, path: str | os.PathLike[str], group: str, name: str) -> Any:
    """The value of ``[group] name``; InvalidInput naming file and option if oslo refuses it."""
    try:
        section = conf if group == "DEFAULT" else conf[group]
        return section[name]
    except (cfg.Error, ValueError) as exc:
        raise InvalidInput(
            f"{os.fspath(path)}: [{group}] {name}: {exc}", field=f"[{group}] {name}"
        ) from None


def non_negative_int(value: str | None, path: str | os.PathLike[str], label: str) -> int | None:
    """An integer option kept as text so that a bad value gets a message naming it."""
    if value is None:
        return None
    text = value.strip()
    try:
        number = int(text)
    except ValueError:
        raise InvalidInput(
            f"{os.fspath(path)}: {label}: {text!r} is not an integer", field=label
        ) from None
    if number < 0:
        raise InvalidInput(f"{os.fspath(path)}: {label}: {number} is negative", field=label)
    return number
