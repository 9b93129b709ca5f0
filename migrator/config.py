"""Settings: built-in defaults < config file < environment < command-line flags.

The config file is TOML (`config.example.toml` documents every key). Its place comes from
platformdirs (e.g. ~/.config/pindah/config.toml on Linux) unless `--config` or PINDAH_CONFIG
names another. A missing default file is fine; a named file that is missing or broken is an
error the artist is told about in one line.

`setting()` reads the core's sections ([source], [plan], [rights], ...). A target's section,
[targets.NAME], is read by the contract from the options each adapter declares
(`Adapter.options`, `resolve_options`): PINDAH_TARGETS_<NAME>_<KEY> in the environment.
"""

from __future__ import annotations

import os
import re
import tomllib
from datetime import timedelta, timezone, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import platformdirs

from .errors import PindahError

APP = "pindah"


def default_config_path() -> Path:
    return Path(platformdirs.user_config_dir(APP)) / "config.toml"


def load_config(path: Path | None = None) -> dict[str, Any]:
    """Read the config file; `{}` when none exists at the default place."""
    named = path or (Path(os.environ["PINDAH_CONFIG"]) if os.environ.get("PINDAH_CONFIG") else None)
    target = named or default_config_path()
    if not target.exists():
        if named:
            raise PindahError(f"config file {target} does not exist", "check the path given to --config or PINDAH_CONFIG")
        return {}
    try:
        with open(target, "rb") as fh:
            return tomllib.load(fh)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise PindahError(f"config file {target} is not valid TOML ({exc})", "fix it, or compare it with config.example.toml")
    except OSError as exc:
        raise PindahError(f"cannot read config file {target} ({exc.strerror})")


def setting(config: dict[str, Any], section: str, key: str, default: Any = None) -> Any:
    """`[section] key`, from the environment PINDAH_<SECTION>_<KEY> first, then the file."""
    env = os.environ.get(f"PINDAH_{section}_{key}".upper())
    if env is not None:
        return env
    value = config.get(section, {})
    return value.get(key, default) if isinstance(value, dict) else default



_OFFSET = re.compile(r"^(?:UTC|GMT)?([+-])(\d{1,2}):?(\d{2})?$", re.IGNORECASE)


def html_timezone(config: dict[str, Any]) -> tzinfo:
    """`[source] html_timezone`: the zone an HTML export's wall-clock times are read in.

    An IANA name ("Asia/Jakarta"), "UTC" (the default) or a fixed offset ("+07:00")."""
    name = str(setting(config, "source", "html_timezone", "UTC") or "UTC").strip()
    if name.upper() in ("UTC", "GMT", "Z"):
        return timezone.utc
    offset = _OFFSET.match(name)
    if offset and int(offset[2]) <= 14:
        sign = -1 if offset[1] == "-" else 1
        return timezone(sign * timedelta(hours=int(offset[2]), minutes=int(offset[3] or 0)))
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise PindahError(f"[source] html_timezone {name!r} is not a time zone pindah knows",
                          "use a name like 'Asia/Jakarta' or 'Europe/Lisbon', an offset like '+07:00', or 'UTC'") from None
