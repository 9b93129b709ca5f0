"""`pindah fetch-profile`: download an artist's own public profile with instaloader.

For artists who cannot get Meta's "Download your information" export (or want their alt text,
which only instaloader data carries), this saves the profile as an instaloader folder under
`DIR/<username>/`, which `pindah inspect` and the migration then read like any export.

instaloader does the talking to Instagram: its pacing, 429 back-off and resume files are
what keep a long download polite and restartable. This module only configures it, logs in
when asked (the password is prompted for, handed to instaloader and dropped; it is never
printed or stored), and turns instaloader's exceptions into one line an artist can act on.
"""

from __future__ import annotations

import os
import re
import shlex
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import click
import requests

from .errors import PindahError
from .model import PostKind
from .sources import read_export

if TYPE_CHECKING:
    import instaloader

_USERNAME = re.compile(r"[A-Za-z0-9._]{1,30}")
_PROFILE_URL = re.compile(r"(?:https?://)?(?:www\.)?instagram\.com/([^/?#]+)", re.IGNORECASE)

Notice = Callable[[str], None]


def normalise_username(text: str) -> str:
    """`@Rina.Wulandari_`, `instagram.com/rina.wulandari_/` -> `rina.wulandari_`."""
    value = text.strip()
    match = _PROFILE_URL.match(value)
    if match:
        value = match.group(1)
    value = value.removeprefix("@")
    if not _USERNAME.fullmatch(value):
        raise PindahError(f"{text!r} is not an Instagram username",
                          "give the name after instagram.com/, e.g. rina.wulandari_")
    return value.lower()


def fetch_profile(username: str, dest_dir: Path | str, *, login: str | None = None,
                  session_file: Path | str | None = None, include_stories: bool = False,
                  password_prompt: Callable[[str], str] | None = None,
                  notice: Notice | None = None, problems: list[str] | None = None,
                  max_connection_attempts: int = 3) -> Path:
    """Download `username` into `dest_dir/<username>/` and return that folder.

    `notice` hears about long waits (Instagram's rate limits); `problems` collects what
    instaloader could not download (a post, a video) while the rest went on. Fatal problems
    raise `PindahError`. Running it again continues an interrupted download and skips files
    already there.
    """
    import instaloader  # late: it is big, and only this command needs it

    name = normalise_username(username)
    # A login may be a username, e-mail or phone number: only tidy it, never reject it.
    login = login.strip().removeprefix("@") if login and login.strip() else None
    if include_stories and not login:
        raise PindahError("Instagram shows stories only to logged-in accounts",
                          "add --login YOUR_INSTAGRAM_NAME, or leave out --stories")
    if session_file and not login:
        raise PindahError("--session-file needs --login with the name of the account it belongs to")
    dest = Path(dest_dir).expanduser()
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PindahError(f"cannot create the folder {dest} ({exc.strerror or exc})",
                          "choose a folder you can write to") from None

    loader = instaloader.Instaloader(
        # instaloader fills in {target}; braces in the artist's own path must stay literal.
        dirname_pattern=str(dest).replace("{", "{{").replace("}", "}}") + os.sep + "{target}",
        save_metadata=True, compress_json=True, download_comments=False, download_geotags=False,
        quiet=True, max_connection_attempts=max_connection_attempts,
        rate_controller=_polite_rate_controller(notice),
    )
    collected = problems if problems is not None else []

    def record(msg: object, repeat_at_end: bool = True) -> None:
        # instaloader prints non-fatal errors (a post it could not get) straight to stderr and
        # goes on; keep them for the summary instead. The others are its retry chatter.
        if repeat_at_end:
            text = str(msg).strip()
            collected.append(text.splitlines()[0][:200] if text else "unknown error")

    loader.context.error = record  # type: ignore[method-assign]
    try:
        if login:
            _log_in(loader, login, session_file, password_prompt or _ask_password, notice)
        profile = loader.check_profile_id(name)
        loader.download_profiles({profile}, profile_pic=True, posts=True, stories=include_stories,
                                 raise_errors=True)
        return dest / profile.username
    except KeyboardInterrupt:
        raise PindahError("download interrupted",
                          f"what was downloaded is kept in {dest}; run the same command again to continue") from None
    except (instaloader.InstaloaderException, instaloader.AbortDownloadException,
            requests.RequestException) as exc:
        raise explain(exc, name, login) from None
    except OSError as exc:
        raise PindahError(f"could not write into {dest} ({exc.strerror or exc})",
                          "check the disk has space and the folder is writable") from None
    finally:
        loader.close()


def _ask_password(login: str) -> str:
    return click.prompt(f"Instagram password for @{login} (not shown, not stored)", hide_input=True,
                        err=True)


def _log_in(loader: "instaloader.Instaloader", login: str, session_file: Path | str | None,
            prompt: Callable[[str], str], notice: Notice | None) -> None:
    """Log in from a session file (given, or the one instaloader saved for `login` before),
    else with a password asked for once and forgotten right after."""
    import instaloader
    from instaloader.instaloader import get_default_session_filename

    saved = Path(get_default_session_filename(login))
    path = Path(session_file).expanduser() if session_file else (saved if saved.is_file() else None)
    if path is not None:
        try:
            # A session file is a pickle (instaloader's format): only ever load the artist's own.
            loader.load_session_from_file(login, str(path))
        except FileNotFoundError:
            raise PindahError(f"session file {path} does not exist",
                              "create one with `instaloader --login NAME`, or leave out --session-file") from None
        except Exception as exc:  # noqa: BLE001 - unpickling can fail in many ways
            raise PindahError(f"{path} is not an instaloader session file ({type(exc).__name__})",
                              "create a new one with `instaloader --login NAME`") from None
        if notice and session_file is None:
            notice(f"using the instaloader session saved for @{login} in {path}")
        return
    password = prompt(login)
    try:
        loader.login(login, password)
    except instaloader.TwoFactorAuthRequiredException:
        code = click.prompt("Instagram two-factor code", err=True)
        try:
            loader.two_factor_login(code)
        except instaloader.InstaloaderException as exc:
            raise explain(exc, login, login, secret=password) from None
    except (instaloader.InstaloaderException, requests.RequestException) as exc:
        raise explain(exc, login, login, secret=password) from None
    finally:
        del password


def _polite_rate_controller(
        notice: Notice | None) -> Callable[["instaloader.InstaloaderContext"], "instaloader.RateController"]:
    """instaloader's own rate controller, telling the artist why nothing seems to happen."""
    import instaloader

    class PoliteRateController(instaloader.RateController):
        announced_until = 0.0  # monotonic end of the last announced pause: say each pause once

        def sleep(self, secs: float) -> None:
            if notice is not None and secs > 15 and time.monotonic() + secs > self.announced_until + 60:
                self.announced_until = time.monotonic() + secs
                until = datetime.now() + timedelta(seconds=secs)
                notice(f"Instagram asks for a pause: waiting {round(secs / 60) or 1} min (until {until:%H:%M}); "
                       "stopping now is fine, run the same command again later")
            time.sleep(secs)

    return PoliteRateController


def explain(exc: BaseException, name: str, login: str | None, *, secret: str | None = None) -> PindahError:
    """One-line, actionable wording for what instaloader (or the network) raised."""
    import instaloader as il

    detail = _first_line(exc)
    if secret:
        detail = detail.replace(secret, "***")
    if isinstance(exc, il.BadCredentialsException):
        return PindahError(f"Instagram did not accept the {'code' if '2FA' in detail else 'password'} for @{login}",
                           "check it and run the command again")
    if isinstance(exc, il.LoginException):
        return PindahError(f"Instagram refused to log in @{login}: {detail.removeprefix('Login error: ')}",
                           "log in once in a browser (answer any security check there), then try again")
    if _is_rate_limit(exc):
        return PindahError("Instagram is limiting requests from this connection (HTTP 429)",
                           "wait a few hours and run the same command again; what was downloaded is kept")
    if isinstance(exc, il.LoginRequiredException) and login:
        return PindahError(f"Instagram asked @{login} to log in again while downloading @{name}",
                           "log in once in a browser, then run the same command again")
    retry = "check your internet connection and run the same command again; what was downloaded is kept"
    # First match wins: the more specific instaloader exceptions come before their bases.
    rules: list[tuple[bool, str, str]] = [
        (isinstance(exc, il.ProfileNotExistsException), f"Instagram has no profile named @{name}",
         "check the spelling: it is the name after instagram.com/"),
        (isinstance(exc, il.PrivateProfileNotFollowedException), f"@{name} is private and @{login} does not follow it",
         "follow it from that account first, or use Meta's 'Download your information' export"),
        (isinstance(exc, il.LoginRequiredException),
         f"@{name} is private, or Instagram shows it only to logged-in accounts",
         "run again with --login YOUR_INSTAGRAM_NAME (an account that can see it)"),
        (isinstance(exc, il.AbortDownloadException), f"Instagram stopped the download ({detail})",
         "open Instagram in a browser, answer any security check, wait a few hours, then run again"),
        (isinstance(exc, il.BadResponseException),
         f"Instagram answered in a way this instaloader does not understand ({detail})",
         "update it (pip install -U instaloader) and try again"),
        (_caused_by(exc, requests.ConnectionError), "could not reach Instagram", retry),
        (isinstance(exc, (il.ConnectionException, requests.RequestException)),
         f"could not download from Instagram ({detail})", retry),
    ]
    for matches, message, hint in rules:
        if matches:
            return PindahError(message, hint)
    return PindahError(f"instaloader could not download @{name} ({detail})",
                       "run the same command again; if it keeps failing, try instaloader itself")


def _chain(exc: BaseException | None) -> list[BaseException]:
    """The exception and what it wraps: instaloader re-raises network failures as its own."""
    found: list[BaseException] = []
    while exc is not None and len(found) < 6:
        found.append(exc)
        exc = exc.__cause__ or exc.__context__
    return found


def _caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    return any(isinstance(e, kind) for e in _chain(exc))


def _is_rate_limit(exc: BaseException) -> bool:
    import instaloader as il

    # Page requests report a 429 only in their message, as a plain ConnectionException.
    return any(isinstance(e, il.TooManyRequestsException) or re.search(r"\b429\b", str(e)) for e in _chain(exc))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:200]


def describe_dump(folder: Path) -> str:
    """`12 posts, 2 reels, 1 profile photo (31 files, 2 missing)`: what the folder now holds,
    counted by the same reader that will migrate it."""
    try:
        with read_export([folder], kinds=set(PostKind)) as export:
            kinds = Counter(post.kind for post in export.posts)
            missing = sum(m.missing for post in export.posts for m in post.media)
    except PindahError:
        return "nothing readable yet"
    words = {PostKind.POST: "post", PostKind.REEL: "reel", PostKind.STORY: "story",
             PostKind.PROFILE_PHOTO: "profile photo"}
    parts = [_plural(kinds[kind], word) for kind, word in words.items() if kinds[kind]]
    files = sum(1 for p in folder.rglob("*") if p.is_file())
    extra = f", {missing} media missing" if missing else ""
    return f"{', '.join(parts) or 'no posts'} ({files} files{extra})"


def _plural(count: int, word: str) -> str:
    if count == 1:
        return f"1 {word}"
    return f"{count} {'stories' if word == 'story' else word + 's'}"


@click.command("fetch-profile")
@click.argument("username")
@click.argument("dest", metavar="DIR", type=click.Path(file_okay=False, path_type=Path))
@click.option("--login", metavar="NAME", help="Log in as this Instagram account (needed for private profiles "
              "and stories). The password is asked for and never stored.")
@click.option("--session-file", type=click.Path(dir_okay=False, path_type=Path),
              help="Use a session saved by `instaloader --login NAME` instead of a password.")
@click.option("--stories", is_flag=True, help="Also download the current stories (needs --login).")
def fetch_profile_command(username: str, dest: Path, login: str | None, session_file: Path | None,
                          stories: bool) -> None:
    """Download the Instagram profile USERNAME into DIR/USERNAME with instaloader.

    Use it when Meta's 'Download your information' export is not at hand, or to get the alt
    text only this route has. Only download profiles that are yours. A large profile takes a
    while: instaloader waits between requests so Instagram does not block you. Stopped or
    failed half-way? Run the same command again to continue.
    """
    def notice(text: str) -> None:
        click.echo(text, err=True)

    problems: list[str] = []
    # PindahErrors leave through the CLI group as one line with their exit code.
    folder = fetch_profile(username, dest, login=login, session_file=session_file,
                           include_stories=stories, notice=notice, problems=problems)
    if problems:
        click.echo(f"{_plural(len(problems), 'item')} could not be downloaded (first: {problems[0]}); "
                   "run the same command again to retry them", err=True)
    click.echo(f"Downloaded @{folder.name} into {folder}: {describe_dump(folder)}. "
               f"Next: pindah inspect {shlex.quote(str(folder))}")
