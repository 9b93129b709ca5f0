"""Every target's settings are declared (Option) and read in one place: the config file's
[targets.NAME], or PINDAH_TARGETS_<NAME>_<KEY> in the environment, for every registered target."""

from __future__ import annotations

import inspect
import re
from typing import Any

import pytest
from click.testing import CliRunner

from pindah.adapters.contract import Adapter, Capabilities, Option, PindahError
from pindah.migrator import targets
from pindah.migrator.cli import cli

REGISTERED = targets.available()


def _location(cls: type[Adapter]) -> str | None:
    return cls.example.partition(":")[2] or None


def _sample(option: Option) -> tuple[str, Any]:
    """An environment text other than the default, and what the adapter must read from it."""
    if option.type is bool:
        return ("false", False) if option.default else ("true", True)
    if option.type in (int, float):
        value = option.type((option.default or 0) + 1)
        return str(value), value
    if option.type is list:
        return "id, en", ["id", "en"]
    text = str(option.default).upper() if option.default else f"sample-{option.key}"
    return text, text


CASES = [(name, option) for name, cls in REGISTERED.items() for option in cls.options]


def test_every_built_in_target_is_registered_and_declares_its_options() -> None:
    assert {"folder", "cara", "bluesky", "mastodon"} <= set(REGISTERED)
    assert all(REGISTERED[name].options for name in ("folder", "cara", "bluesky", "mastodon"))


@pytest.mark.parametrize("name, option", CASES, ids=[f"{n}.{o.key}" for n, o in CASES])
def test_every_declared_option_is_reachable_through_its_environment_name(
        name: str, option: Option, monkeypatch: pytest.MonkeyPatch) -> None:
    cls = REGISTERED[name]
    text, expected = _sample(option)
    env = option.env_name(name)
    assert env == f"PINDAH_TARGETS_{name.upper()}_{option.key.upper()}"
    monkeypatch.setenv(env, text)
    assert cls(_location(cls), {}).setting(option.key) == expected
    # The environment wins over the file; without either, the declared default.
    other = cls(_location(cls), {option.key: option.default})
    assert other.setting(option.key) == expected
    monkeypatch.delenv(env)
    assert cls(_location(cls), {}).setting(option.key) == option.default
    # The older documented form keeps working.
    monkeypatch.setenv(f"PINDAH_{name}_{option.key}".upper(), text)
    assert cls(_location(cls), {}).setting(option.key) == expected


@pytest.mark.parametrize("name", sorted(REGISTERED))
def test_every_setting_an_adapter_reads_is_declared(name: str) -> None:
    cls = REGISTERED[name]
    module = inspect.getmodule(cls)
    source = inspect.getsource(module)  # type: ignore[arg-type]
    read = set(re.findall(r"""\.setting\(\s*["'](\w+)["']""", source))
    read |= set(re.findall(r"""self\._(?:whole|number)\(\s*["'](\w+)["']""", source))
    assert read <= {o.key for o in cls.options}, f"{name} reads settings it does not declare"


def test_issue_11_the_bluesky_gallery_setting_works_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    bluesky = REGISTERED["bluesky"]
    assert bluesky("rina.example", {}).gallery is False
    monkeypatch.setenv("PINDAH_TARGETS_BLUESKY_GALLERY", "1")
    assert bluesky("rina.example", {}).gallery is True


def test_the_folder_site_and_the_cara_kit_take_their_settings_from_the_environment(
        monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("PINDAH_TARGETS_FOLDER_TITLE", "Sketchbook")
    assert REGISTERED["folder"](str(tmp_path), {"title": "From the file"}).title == "Sketchbook"
    monkeypatch.setenv("PINDAH_TARGETS_CARA_MAX_IMAGES_PER_POST", "6")
    assert REGISTERED["cara"](str(tmp_path), {}).caps.max_media_per_post == 6


def test_a_setting_that_is_not_of_its_type_is_one_clear_line(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("PINDAH_TARGETS_CARA_MAX_IMAGES_PER_POST", "lots")
    with pytest.raises(PindahError) as caught:
        REGISTERED["cara"](str(tmp_path), {})
    assert caught.value.one_line() == ("PINDAH_TARGETS_CARA_MAX_IMAGES_PER_POST = 'lots' is not a whole number. "
                                       "Compare it with config.example.toml.")
    with pytest.raises(PindahError, match=r"\[targets.bluesky\] gallery = 'maybe' is not true or false"):
        REGISTERED["bluesky"]("rina.example", {"gallery": "maybe"})


def test_pindah_targets_options_lists_every_option_with_its_environment_name_type_and_default() -> None:
    result = CliRunner().invoke(cli, ["targets", "--options"], terminal_width=200)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    for name, option in CASES:
        row = next((line for line in lines if option.env_name(name) in line), None)
        assert row is not None, option.env_name(name)
        assert option.key in row and f"({option.type.__name__}, default" in row
    assert "max_images_per_post" in result.output and "default 4)" in result.output
    assert "PINDAH_TARGETS" not in CliRunner().invoke(cli, ["targets"]).output


def test_an_undeclared_setting_of_a_third_party_target_still_reads_both_environment_names(
        monkeypatch: pytest.MonkeyPatch) -> None:
    class Plain(Adapter):
        name = "plain"
        capabilities = Capabilities()

    assert Plain(None, {"colour": "red"}).setting("colour") == "red"
    monkeypatch.setenv("PINDAH_PLAIN_COLOUR", "blue")
    assert Plain(None, {"colour": "red"}).setting("colour") == "blue"
    monkeypatch.setenv("PINDAH_TARGETS_PLAIN_COLOUR", "green")
    assert Plain(None, {"colour": "red"}).setting("colour") == "green"


def test_pindah_targets_shows_every_size_limit_exactly_as_the_platform_states_it():
    shown = CliRunner().invoke(cli, ["targets"], terminal_width=200)
    assert shown.exit_code == 0, shown.output
    assert "up to 2,000,000 bytes" in shown.output  # Bluesky's lexicon figure, not "1.90735 MB"
    assert "up to 16 MB" in shown.output  # Mastodon's 16 MiB, as Mastodon says it
    assert not re.search(r"\d\.\d{3,} MB", shown.output)
