"""Commands come from the contract, so the CLI names no target: login/logout/mark-posted for any
target, and extra commands an adapter contributes through `Adapter.commands()`."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from pindah.adapters.contract import Adapter, Capabilities
from pindah.migrator import account_commands, commands, marks
from tests.cli_support import pindah_group, with_target


@click.command("hello-gallery")
def hello_command() -> None:
    """Say hello (a command only the gallery target has)."""
    click.echo("hello from the gallery target")


@click.command("migrate")
def clashing_command() -> None:
    click.echo("this must never replace pindah's migrate")


class GalleryTarget(Adapter):
    """A third-party-like target that brings its own commands and needs a login."""

    name = "gallery"
    description = "a test gallery"
    example = "gallery:demo"
    capabilities = Capabilities()

    @classmethod
    def commands(cls) -> list[click.Command]:
        return [hello_command, clashing_command]

    def account(self) -> str:
        return "demo"

    def login(self, *, paste_token: bool = False, browser: bool = True) -> str:
        return f"Logged in to the gallery ({'token' if paste_token else 'browser' if browser else 'code'})."


@pytest.fixture(autouse=True)
def _registered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with_target(monkeypatch, tmp_path, GalleryTarget)
    monkeypatch.setattr(account_commands, "PROBLEMS", [])


def _cli() -> click.Group:
    return pindah_group(commands.register, marks.register, account_commands.register,
                        account_commands.add_adapter_commands)


def test_an_adapter_contributes_its_own_command_but_never_replaces_one_of_pindahs() -> None:
    group = _cli()
    result = CliRunner().invoke(group, ["hello-gallery"])
    assert result.exit_code == 0 and result.output == "hello from the gallery target\n"
    assert group.commands["migrate"] is commands.migrate_command
    listing = CliRunner().invoke(group, ["targets"])
    assert "the gallery target's command `migrate` is left out" in listing.output


def test_login_goes_through_the_targets_contract_with_its_options() -> None:
    result = CliRunner().invoke(_cli(), ["login", "gallery:demo", "--token"])
    assert result.exit_code == 0 and result.output == "Logged in to the gallery (token).\n"
    assert CliRunner().invoke(_cli(), ["login", "gallery:demo", "--no-browser"]).output == \
        "Logged in to the gallery (code).\n"


def test_a_target_without_a_login_says_so_and_succeeds(tmp_path: Path) -> None:
    result = CliRunner().invoke(_cli(), ["login", f"folder:{tmp_path}"])
    assert result.exit_code == 0 and result.output == "The folder target needs no login.\n"
    result = CliRunner().invoke(_cli(), ["logout", f"folder:{tmp_path}"])
    assert result.exit_code == 0 and "nothing to log out of" in result.output


def test_an_unknown_target_is_one_line_and_exit_2() -> None:
    result = CliRunner().invoke(_cli(), ["login", "myspace:me"])
    assert result.exit_code == 2 and "unknown target 'myspace'" in result.output


def test_marks_are_refused_for_a_target_that_publishes_by_itself(tmp_path: Path) -> None:
    result = CliRunner().invoke(_cli(), ["mark-posted", "--to", f"folder:{tmp_path}", "x"])
    assert result.exit_code == 2 and "folder publishes by itself" in result.output


def test_the_cli_module_names_no_target() -> None:
    source = (Path(__file__).parents[1] / "migrator" / "cli.py").read_text(encoding="utf-8")
    for name in ("mastodon", "bluesky", "cara", "folder"):
        assert f"adapters.{name}" not in source and f"{name}_" not in source


def test_bluesky_login_keeps_a_session_and_logout_revokes_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import responses

    from tests.bluesky_support import DID, HANDLE, PDS, _session_json

    password = "abcd-efgh-ijkl-mnop"
    monkeypatch.setenv("PINDAH_TARGETS_BLUESKY_PDS", PDS)
    monkeypatch.setenv("PINDAH_TARGETS_BLUESKY_APP_PASSWORD", password)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.get(f"{PDS}/xrpc/com.atproto.identity.resolveHandle", json={"did": DID})
        mock.get(f"{PDS}/xrpc/com.atproto.server.describeServer", json={})
        mock.post(f"{PDS}/xrpc/com.atproto.server.createSession", json=_session_json())
        mock.post(f"{PDS}/xrpc/com.atproto.server.deleteSession", json={})
        login = CliRunner().invoke(_cli(), ["login", f"bluesky:{HANDLE}"])
        assert login.exit_code == 0, login.output
        assert login.output == f"Logged in to Bluesky as @{HANDLE}. The session (never the password) is kept, " \
                               "readable only by you.\n"
        sessions = list((tmp_path / "state").rglob("*.json"))
        assert len(sessions) == 1 and password not in sessions[0].read_text()
        monkeypatch.delenv("PINDAH_TARGETS_BLUESKY_APP_PASSWORD")
        logout = CliRunner().invoke(_cli(), ["logout", f"bluesky:{HANDLE}"])
        assert logout.exit_code == 0 and logout.output.startswith(f"Logged out of Bluesky (@{HANDLE}).")
        assert any("deleteSession" in call.request.url for call in mock.calls)
        assert not sessions[0].exists()
        again = CliRunner().invoke(_cli(), ["logout", f"bluesky:{HANDLE}"])
        assert again.output == f"pindah had no saved login for @{HANDLE}.\n"
