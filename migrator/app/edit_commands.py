"""`pindah select` and `pindah alt-text`: the app's choices, from the command line, as CSV.

    pindah select EXPORT --csv posts.csv        write every post: id, date, kind, publish, caption
    pindah select EXPORT --from posts.csv       read it back (publish = yes/no, caption as edited)
    pindah select EXPORT --leave-out ID --keep ID
    pindah alt-text EXPORT --csv images.csv     every image: id, file, alt text (empty = none)
    pindah alt-text EXPORT --from images.csv

The choices go to the same file the app writes (`edits.py`) and are used by `pindah migrate`.
A file with a line that makes no sense changes nothing.
"""

from __future__ import annotations

import csv
import io
import sys
from pathlib import Path
from typing import Any

import click

from ..cli_support import parse_include
from ..config import html_timezone, setting
from ..engine import export_fingerprint
from ..errors import PindahError
from ..model import MediaType, iso_utc
from ..sources import read_export
from .edits import Edits, load_edits, media_key, save_edits

POST_COLUMNS = ["id", "date", "kind", "publish", "caption"]
ALT_COLUMNS = ["image", "file", "alt_text"]
_YES, _NO = {"yes", "y", "1", "true", "x"}, {"no", "n", "0", "false", ""}


def _open(config: dict[str, Any], export: tuple[Path, ...]) -> Any:
    kinds = parse_include(setting(config, "source", "include", ""))
    return read_export(export, kinds, html_timezone=html_timezone(config))


def _write_csv(path: Path, columns: list[str], rows: list[list[str]]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    writer.writerows(rows)
    try:
        path.write_text(buffer.getvalue(), encoding="utf-8-sig")  # the BOM lets spreadsheets see UTF-8
    except OSError as exc:
        raise PindahError(f"cannot write {path} ({exc.strerror or exc})") from None


def _read_csv(path: Path, columns: list[str]) -> list[tuple[int, dict[str, str]]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise PindahError(f"cannot read {path} ({getattr(exc, 'strerror', None) or exc})",
                          "save it as CSV (UTF-8) and try again") from None
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in columns if c not in (reader.fieldnames or [])]
    if missing:
        raise PindahError(f"{path} has no column {', '.join(missing)}", "start from the file pindah wrote with --csv")
    return [(n + 2, row) for n, row in enumerate(reader)]


def _refuse(path: Path, problems: list[str]) -> None:
    for problem in problems:
        click.echo(f"{path}: {problem}", err=True)
    click.echo("Nothing was changed: fix these lines, then run the command again.", err=True)
    sys.exit(2)


@click.command()
@click.argument("export", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--csv", "csv_out", type=click.Path(path_type=Path), help="Write every post to this CSV file.")
@click.option("--from", "csv_in", type=click.Path(path_type=Path), help="Read choices back from this CSV file.")
@click.option("--leave-out", multiple=True, metavar="ID", help="Do not publish this post.")
@click.option("--keep", multiple=True, metavar="ID", help="Publish this post again (undo --leave-out).")
@click.pass_obj
def select_command(config: dict[str, Any], export: tuple[Path, ...], csv_out: Path | None, csv_in: Path | None,
                   leave_out: tuple[str, ...], keep: tuple[str, ...]) -> None:
    """Choose which posts to publish and edit their captions (the same choices as in `pindah app`)."""
    with _open(config or {}, export) as exp:
        fingerprint = export_fingerprint(exp)
        edits = load_edits(fingerprint)
        posts = {p.id: p for p in exp.posts}
        if csv_in:
            _select_from(csv_in, posts, edits)
        for ident in (*leave_out, *keep):
            if ident not in posts:
                raise PindahError(f"no post {ident!r} in this export", "see `pindah select EXPORT --csv FILE`")
        edits.excluded |= set(leave_out)
        edits.excluded -= set(keep)
        if csv_in or leave_out or keep:
            save_edits(fingerprint, edits)
        if csv_out:
            rows = [[p.id, iso_utc(p.taken_at), p.kind.value, "no" if p.id in edits.excluded else "yes",
                     edits.captions.get(p.id, p.caption)] for p in exp.posts]
            _write_csv(csv_out, POST_COLUMNS, rows)
            click.echo(f"Wrote {len(rows)} posts to {csv_out}. Change 'publish' or 'caption', then "
                       f"run `pindah select EXPORT --from {csv_out}`.")
        chosen = len(posts) - len(edits.excluded & posts.keys())
        click.echo(f"{chosen} of {len(posts)} posts will be published; {len(edits.captions)} caption(s) edited.")


def _select_from(path: Path, posts: dict[str, Any], edits: Edits) -> None:
    problems, excluded, captions = [], set(), {}
    for line, row in _read_csv(path, POST_COLUMNS):
        ident, publish = (row.get("id") or "").strip(), (row.get("publish") or "").strip().lower()
        if ident not in posts:
            problems.append(f"line {line}: no post {ident!r} in this export")
        elif publish not in _YES | _NO:
            problems.append(f"line {line}: publish should be yes or no, not {publish!r}")
        else:
            if publish in _NO:
                excluded.add(ident)
            captions[ident] = row.get("caption") or ""
    if problems:
        _refuse(path, problems)
    edits.excluded = (edits.excluded - set(captions)) | excluded
    for ident, text in captions.items():
        edits.set_caption(posts[ident], text)


@click.command("alt-text")
@click.argument("export", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--csv", "csv_out", type=click.Path(path_type=Path), help="Write every image to this CSV file.")
@click.option("--from", "csv_in", type=click.Path(path_type=Path), help="Read alt texts back from this CSV file.")
@click.pass_obj
def alt_text_command(config: dict[str, Any], export: tuple[Path, ...], csv_out: Path | None,
                     csv_in: Path | None) -> None:
    """Write descriptions (alt text) for your images, as a CSV file (the same as in `pindah app`)."""
    with _open(config or {}, export) as exp:
        fingerprint = export_fingerprint(exp)
        edits = load_edits(fingerprint)
        images = {media_key(p.id, i): (p, i, m) for p in exp.posts for i, m in enumerate(p.media)
                  if m.type is MediaType.IMAGE}
        if csv_in:
            problems, given = [], {}
            for line, row in _read_csv(csv_in, ALT_COLUMNS):
                key = (row.get("image") or "").strip()
                if key not in images:
                    problems.append(f"line {line}: no image {key!r} in this export")
                else:
                    given[key] = row.get("alt_text") or ""
            if problems:
                _refuse(csv_in, problems)
            for key, text in given.items():
                post, index, media = images[key]
                if text.strip() != (media.alt_text or "").strip() or key in edits.alt:
                    edits.set_alt(post.id, index, text)
            save_edits(fingerprint, edits)
        if csv_out:
            rows = [[key, media.path, edits.alt.get(key, media.alt_text or "")]
                    for key, (_, _, media) in images.items()]
            _write_csv(csv_out, ALT_COLUMNS, rows)
            click.echo(f"Wrote {len(rows)} images to {csv_out}. Fill in 'alt_text', then run "
                       f"`pindah alt-text EXPORT --from {csv_out}`.")
        without = sum(1 for key, (_, _, m) in images.items() if not (edits.alt.get(key) or m.alt_text or "").strip())
        click.echo(f"{without} of {len(images)} images have no description.")
