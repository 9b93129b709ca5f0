"""The first-run questions about the artist's rights, and saving the answers as `[rights]`.

`rights_for_run` is what a migration calls once: with `[rights]` in the settings (or any
PINDAH_RIGHTS_* variable) it just reads them; without, an interactive run asks five short
questions and offers to save the answers, so they are asked only once; a non-interactive run
(a script, CI, a dry run) never waits for an answer and uses the safe defaults: AI training
prohibited, no name.

Saving appends a `[rights]` table to the config file in use (`--config`, PINDAH_CONFIG or the
default place), creating the file if needed. The text is checked to still be valid TOML before
it replaces the file, so a config is never left broken.
"""

from __future__ import annotations

import os
import tempfile
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from .config import default_config_path
from .errors import PindahError
from .rights import (
    DEFAULT_DATA_MINING,
    SECTION,
    Rights,
    has_rights_settings,
    load_rights,
)

Ask = Callable[..., Any]  # click.prompt's shape
Confirm = Callable[..., bool]  # click.confirm's shape


def rights_for_run(config: dict[str, Any], *, interactive: bool, config_path: Path | None = None,
                   ask: Ask = click.prompt, confirm: Confirm = click.confirm,
                   say: Callable[[str], None] = lambda text: click.echo(text, err=True)) -> Rights:
    """The rights for this run; may ask (see the module docstring). `config` is updated with
    the answers, so a second target in the same command does not ask again."""
    if has_rights_settings(config):
        return load_rights(config)
    if not interactive:
        return Rights.from_settings()
    answers = ask_rights(ask, confirm, say)
    config[SECTION] = answers
    rights = load_rights(config)  # the same checks as a written config gets
    path = config_path or config_file_in_use()
    if confirm(f"Save these answers to {path}, so you are not asked again?", default=True, err=True):
        save_rights(path, answers)
        say(f"Saved in {path} under [rights]; change them there at any time.")
    return rights


def ask_rights(ask: Ask, confirm: Confirm, say: Callable[[str], None]) -> dict[str, Any]:
    say("\nYour rights, written into every image pindah publishes (asked once).\n"
        "Press Enter to accept what is in [brackets].")
    creator = str(ask("Your name as the artist (Enter to leave it out)", default="", show_default=False,
                      err=True)).strip()
    notice = f"© {creator}. All rights reserved." if creator else ""
    answers: dict[str, Any] = {"creator": creator}
    answers["copyright"] = str(ask("Copyright notice", default=notice, show_default=bool(notice), err=True)).strip()
    answers["web_statement"] = str(ask("A web page with your terms, if you have one (Enter for none)",
                                       default="", show_default=False, value_proc=_url, err=True)).strip()
    optout = confirm("Say in every file that it may not be used to train AI?", default=True, err=True)
    answers["data_mining"] = DEFAULT_DATA_MINING if optout else "off"
    patterns = str(ask("Files you already protected (e.g. Glazed) that must never be re-encoded, as folder "
                       "names or patterns like *glazed*, comma-separated (Enter for none)",
                       default="", show_default=False, err=True))
    answers["protected"] = [p.strip() for p in patterns.split(",") if p.strip()]
    return answers


def _url(value: str) -> str:
    value = value.strip()
    if value and not value.lower().startswith(("https://", "http://")):
        raise click.BadParameter("give a full address starting with https:// (or press Enter for none)")
    return value


def config_file_in_use() -> Path:
    """The config file of this command: `pindah --config FILE`, PINDAH_CONFIG, or the default."""
    ctx = click.get_current_context(silent=True)
    named = ctx.find_root().params.get("config_path") if ctx is not None else None
    if named:
        return Path(named)
    return Path(os.environ["PINDAH_CONFIG"]) if os.environ.get("PINDAH_CONFIG") else default_config_path()


def save_rights(path: Path, answers: dict[str, Any]) -> None:
    """Append `[rights]` with `answers` to the TOML file at `path` (created if missing)."""
    try:
        old = path.read_text(encoding="utf-8") if path.exists() else ""
    except (OSError, UnicodeDecodeError) as exc:
        raise PindahError(f"cannot read {path} to save your answers ({exc})") from None
    lines = [f"[{SECTION}]", "# Written by pindah's first run; see config.example.toml for every key."]
    for key, value in answers.items():
        rendered = ("[" + ", ".join(toml_string(str(v)) for v in value) + "]") if isinstance(value, list) \
            else toml_string(str(value))
        lines.append(f"{key} = {rendered}")
    text = old + ("\n" if old and not old.endswith("\n") else "") + ("\n" if old else "") + "\n".join(lines) + "\n"
    try:
        parsed = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:  # e.g. the file already ends inside an open table array
        raise PindahError(f"your answers could not be added to {path} ({exc})",
                          "add a [rights] table yourself, as in config.example.toml") from None
    if parsed.get(SECTION) != answers:
        raise PindahError(f"your answers could not be added to {path} cleanly",
                          "add a [rights] table yourself, as in config.example.toml")
    tmp: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o777)  # keep the file's own permissions
        os.replace(tmp, path)
    except OSError as exc:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        raise PindahError(f"cannot save your answers in {path} ({exc.strerror or exc})",
                          "they are used for this run; add them to [rights] yourself to keep them") from None


def toml_string(value: str) -> str:
    """A TOML basic string: quotes, backslashes and every control character escaped."""
    out = ['"']
    for ch in value:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    return "".join(out) + '"'
