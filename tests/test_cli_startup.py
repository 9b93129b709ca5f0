"""`pindah` starts fast: a command's module, and the heavy libraries only some commands use
(BeautifulSoup, Jinja2, Pillow, requests), load only when that command runs; `pindah --help`
still lists every command with its own short help."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from pindah.migrator.cli import COMMANDS, cli


def _modules_after(code: str) -> set[str]:
    """The modules a fresh interpreter holds after running `code`."""
    script = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return set(json.loads(done.stdout.splitlines()[-1]))


def _roots(modules: set[str]) -> set[str]:
    return {name.split(".")[0] for name in modules}


def _real_command(name: str) -> click.Command:
    module, _, attr = COMMANDS[name][0].partition(":")
    return getattr(importlib.import_module(module), attr)


def test_starting_pindah_loads_no_command_module_and_no_heavy_library() -> None:
    loaded = _modules_after("import pindah.migrator.cli")
    assert not {"bs4", "jinja2", "PIL", "requests", "rich", "babel"} & _roots(loaded)
    assert not {"pindah.migrator.commands", "pindah.migrator.checkimage", "pindah.migrator.fetch",
                "pindah.migrator.marks", "pindah.migrator.aftercare_commands"} & loaded


def test_the_migrate_command_loads_no_html_parser_template_engine_or_other_target() -> None:
    loaded = _modules_after("from pindah.migrator.cli import cli\n"
                            "from pindah.migrator.targets import make_target\n"
                            "cli.get_command(None, 'migrate')\n"
                            "make_target('bluesky:alice.example', {})")
    assert "pindah.migrator.commands" in loaded and "pindah.adapters.bluesky" in loaded
    assert not {"bs4", "jinja2", "soupsieve"} & _roots(loaded)
    assert not {"pindah.adapters.folder", "pindah.adapters.mastodon", "pindah.adapters.cara",
                "pindah.migrator.aftercare_commands"} & loaded


def test_a_folder_run_loads_neither_requests_nor_the_entry_points_nor_jinja_until_a_page_is_written(
        tmp_path) -> None:
    loaded = _modules_after("from pindah.migrator.targets import make_target\n"
                            f"make_target('folder:{tmp_path}', {{}})")
    assert "pindah.adapters.folder" in loaded
    assert not {"requests", "jinja2"} & _roots(loaded) and "importlib.metadata" not in loaded


def test_detecting_an_html_export_needs_no_html_parser(tmp_path) -> None:
    (tmp_path / "content").mkdir()
    (tmp_path / "content" / "posts_1.html").write_text("<html><body></body></html>", encoding="utf-8")
    loaded = _modules_after("from pindah.migrator.exportfs import ExportTree\n"
                            "from pindah.migrator.sources import detect\n"
                            f"assert detect(ExportTree.from_paths([{str(tmp_path)!r}])).layout == 'html'")
    assert "bs4" not in _roots(loaded)


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_the_help_table_says_what_each_command_says_itself(name: str) -> None:
    stand_in = click.Command(name, help=COMMANDS[name][1])
    for width in (30, 45, 80, 200):
        assert stand_in.get_short_help_str(width) == _real_command(name).get_short_help_str(width)


def test_help_lists_every_command_and_each_command_still_runs() -> None:
    listing = CliRunner().invoke(cli, ["--help"])
    assert listing.exit_code == 0
    lines = listing.output.split("Commands:\n", 1)[1].splitlines()
    assert [line.split()[0] for line in lines if line.strip()] == sorted(COMMANDS)
    for name in COMMANDS:
        result = CliRunner().invoke(cli, [name, "--help"])
        assert result.exit_code == 0 and result.output.startswith(f"Usage: cli {name} "), result.output


def test_an_adapters_command_is_found_listed_and_never_replaces_one_of_pindahs(
        monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    from pindah.migrator import account_commands
    from pindah.migrator.cli import _LazyGroup
    from tests.cli_support import with_target
    from tests.test_adapter_commands import GalleryTarget

    with_target(monkeypatch, tmp_path, GalleryTarget)
    monkeypatch.setattr(account_commands, "PROBLEMS", [])

    def fresh_pindah() -> click.Group:
        @click.group(cls=_LazyGroup)
        @click.pass_context
        def group(ctx: click.Context) -> None:
            ctx.obj = {}
        return group

    assert CliRunner().invoke(fresh_pindah(), ["hello-gallery"]).output == "hello from the gallery target\n"
    assert "hello-gallery  Say hello" in CliRunner().invoke(fresh_pindah(), ["--help"]).output
    group = fresh_pindah()
    listing = CliRunner().invoke(group, ["targets"])
    assert "the gallery target's command `migrate` is left out" in listing.output
    assert group.get_command(click.Context(group), "migrate") is _real_command("migrate")


def test_the_built_ins_said_to_add_commands_are_exactly_those_that_do() -> None:
    from pindah.migrator import targets

    offering = {name for name, cls in targets.available().items() if name in targets.BUILT_IN and cls.commands()}
    assert offering == set(targets.BUILT_IN_WITH_COMMANDS)


def test_listing_the_commands_loads_no_target_that_adds_none() -> None:
    loaded = _modules_after("from click.testing import CliRunner\n"
                            "from pindah.migrator.cli import cli\n"
                            "assert 'migrate' in CliRunner().invoke(cli, ['--help']).output")
    from pindah.migrator import targets

    assert not {path.partition(":")[0] for name, path in targets.BUILT_IN.items()
                if name not in targets.BUILT_IN_WITH_COMMANDS} & loaded
    assert not {"requests", "PIL", "jinja2", "bs4"} & _roots(loaded)


def test_a_third_party_adapter_adds_its_command_and_cannot_take_a_built_in_name(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.metadata as metadata

    from pindah.migrator import account_commands, targets
    from pindah.migrator.cli import _LazyGroup

    group_name = targets.GROUP
    plugins = [metadata.EntryPoint("gallery", "tests.test_adapter_commands:GalleryTarget", group_name),
               metadata.EntryPoint("folder", "tests.test_adapter_commands:GalleryTarget", group_name)]
    monkeypatch.setattr(metadata, "entry_points", lambda group: [ep for ep in plugins if ep.group == group])
    monkeypatch.setattr(targets, "_loaded", None)
    monkeypatch.setattr(targets, "_broken", [])
    monkeypatch.setattr(account_commands, "PROBLEMS", [])

    @click.group(cls=_LazyGroup)
    @click.pass_context
    def group(ctx: click.Context) -> None:
        ctx.obj = {}

    assert "hello-gallery  Say hello" in CliRunner().invoke(group, ["--help"]).output
    assert CliRunner().invoke(group, ["hello-gallery"]).output == "hello from the gallery target\n"
    assert targets.available()["folder"].__name__ == "FolderAdapter"
    assert [(b.name, b.reason) for b in targets.broken()] == [("folder", "a target of that name is already built in")]
