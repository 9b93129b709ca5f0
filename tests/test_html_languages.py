"""HTML exports in the account's language: every post read exactly, in every script.

Fixtures are written the way Meta renders date lines (CLDR patterns, abbreviated month without
its period, the language's own digits), see `tests/exportbuilder/html_dates.py`; the strings
seen in real exports are checked on their own, typed in by hand.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from pindah.migrator.config import html_timezone
from pindah.migrator.errors import InputError, NoPostsError, PindahError
from pindah.migrator.model import Post, PostKind
from pindah.migrator.sources import read_export
from pindah.migrator.sources import html_dates
from pindah.migrator.sources.html import times_note
from pindah.migrator.sources.html_dates import DateLines, parse_date_line
from pindah.migrator.summary import summarise
from tests.exportbuilder.html import write_html_export
from tests.exportbuilder.html_dates import LANGUAGES, localised_date_line
from tests.exportbuilder.spec import SynthMedia, SynthPost

ALL_KINDS = frozenset(PostKind)


def at(year: int, month: int, day: int, hour: int, minute: int, second: int = 0) -> int:
    return int(datetime(year, month, day, hour, minute, second, tzinfo=timezone.utc).timestamp())


def row(post: Post) -> dict:
    """A post as `expected_row` shapes it, subtitles included where a video has them."""
    return {
        "kind": post.kind.value,
        "taken_at": post.as_dict()["taken_at"],
        "caption": post.caption,
        "media": [{"path": m.path, "type": m.type.value, "missing": m.missing,
                   **({"subtitles": [s.path for s in m.subtitles]} if m.subtitles else {})}
                  for m in post.media],
    }


def year_of_posts() -> list[SynthPost]:
    """One post a month (every month name), at the hours where 12/24-hour clocks differ, with
    captions padded by whitespace, a carousel and videos carrying subtitle links."""
    hours = (0, 11, 12, 23)
    posts = []
    for month in range(1, 13):
        caption = ("\n.\nBlek paints the harbour #mural\n" if month % 3 == 0
                   else f"  month {month} @budi.santoso  " if month % 3 == 1 else f"month {month}")
        media = [SynthMedia()]
        if month == 2:
            media = [SynthMedia(), SynthMedia("mp4", subtitles=(None,)), SynthMedia("webp")]
        elif month == 7:
            media = [SynthMedia("mp4", subtitles=("en", "id"))]
        posts.append(SynthPost(at(2021 if month < 7 else 2024, month, 9 + month, hours[month % 4], 7 + month, 41),
                               caption, media))
    return posts


# -- every language, both clocks, post by post ------------------------------------------------
@pytest.mark.parametrize("clock", [None, "12", "24"])
@pytest.mark.parametrize("language", list(LANGUAGES))
def test_every_post_of_a_localised_export_reads_exactly(tmp_path: Path, language: str, clock: str | None) -> None:
    posts = year_of_posts()
    expected = write_html_export(tmp_path, posts, "2025", language=language, clock=clock)
    with read_export([tmp_path], ALL_KINDS) as export:
        got = [row(p) for p in export.posts]
        notes = [str(p) for p in export.problems]
    assert got == sorted(expected, key=lambda r: r["taken_at"])  # caption, minute, media, subtitles
    assert len(notes) == 1 and "post times come from the HTML pages" in notes[0]


def test_the_fixtures_cover_at_least_fifteen_languages_in_every_script_instagram_offers() -> None:
    scripts = {script.split(" ")[0] for script in LANGUAGES.values()}
    assert len(LANGUAGES) >= 15
    assert {"Latin", "Cyrillic", "Greek", "Arabic", "Hebrew", "Devanagari", "Thai", "CJK", "Korean"} <= scripts


@pytest.mark.parametrize(("line", "expected"), [
    ("May 10, 2021, 11:39 PM", "2021-05-10 23:39"),  # English, 2022 markup
    ("Sep 23, 2024 10:10 pm", "2024-09-23 22:10"),  # English, 2024-25 markup
    ("Oct 09, 2025 6:50 pm", "2025-10-09 18:50"),
    ("Aug 17, 2025 11:23\u202fam", "2025-08-17 11:23"),
    ("5 авг 2014 г., 05:32", "2014-08-05 05:32"),  # Russian, as reported
    ("11 de nov de 2021 03:47", "2021-11-11 03:47"),  # Portuguese, as reported
    ("11 de nov. de 2021 15:47", "2021-11-11 15:47"),  # with the period CLDR writes
    ("17 août 2025 11:23", "2025-08-17 11:23"),
    ("5 ago 2014, 17:32", "2014-08-05 17:32"),
    ("11 nov 2021, 3:47 p. m.", "2021-11-11 15:47"),
    ("5 Agu 2014 17.32", "2014-08-05 17:32"),  # Indonesian: a dot between hours and minutes
    ("5 Αυγ 2014, 5:32 μ.μ.", "2014-08-05 17:32"),
    ("٥ أغسطس ٢٠١٤، ٥:٣٢ م", "2014-08-05 17:32"),  # Arabic-Indic digits
    ("5 באוג׳ 2014, 17:32", "2014-08-05 17:32"),
    ("5 अग॰ 2014, 5:32 pm", "2014-08-05 17:32"),
    ("५ ऑग, २०१४, ५:३२ PM", "2014-08-05 17:32"),  # Marathi, Devanagari digits
    ("5 ส.ค. 2557 05:32", "2014-08-05 05:32"),  # Thai, Buddhist-era year
    ("2021年5月10日 23:39", "2021-05-10 23:39"),
    ("2021年5月10日 午後11:39", "2021-05-10 23:39"),
    ("2014年8月5日 晚上10:32", "2014-08-05 22:32"),
    ("2014年8月5日 凌晨1:05", "2014-08-05 01:05"),
    ("2021년 5월 10일 오후 11:39", "2021-05-10 23:39"),
    ("Feb 30, 2021 3:07 PM", None),
    ("Aug 17, 2025 13:23 pm", None),
    ("Mitte Juli 2014 um 10:15", None),
])
def test_date_lines_seen_in_real_exports_are_read_to_the_minute(line: str, expected: str | None) -> None:
    moment = parse_date_line(line)
    assert (moment.strftime("%Y-%m-%d %H:%M") if moment else None) == expected


def test_the_language_is_learnt_once_per_export_and_each_line_shape_is_looked_up_once(monkeypatch) -> None:
    lines = [localised_date_line(datetime(2015 + n % 10, 1 + n % 12, 1 + n % 28, n % 24, n % 60), "hr")
             for n in range(2000)]
    dates = DateLines()
    assert dates.learn(lines) == "hr"  # "lip" is June in Croatian, July in Polish
    searches = []
    real_find = DateLines._find
    monkeypatch.setattr(DateLines, "_find", lambda self, text: searches.append(text) or real_find(self, text))
    read = [dates.parse(line) for line in lines]
    assert all(read) and read[0] == datetime(2015, 1, 1, 0, 0)
    assert read[5].month == 6 and "lip" in lines[5]
    assert len(searches) == len({html_dates._DIGIT.sub("0", html_dates.normalise(x)) for x in lines}) < 100


def test_a_caption_that_is_a_date_in_the_export_language_is_not_taken_for_the_time(tmp_path: Path) -> None:
    posts = [SynthPost(at(2022, 3, 4, 5, 6), "5 авг 2014 г., 05:32"), SynthPost(at(2022, 3, 5, 5, 6), "x")]
    write_html_export(tmp_path, posts, "2025", language="ru")
    with read_export([tmp_path]) as export:
        assert [(p.caption, p.taken_at.strftime("%Y-%m-%d %H:%M")) for p in export.posts] == [
            ("5 авг 2014 г., 05:32", "2022-03-04 05:06"), ("x", "2022-03-05 05:06")]


# -- time zone ------------------------------------------------------------------------------
def test_html_times_are_read_in_the_configured_zone_and_inspect_says_so(tmp_path: Path) -> None:
    jakarta = ZoneInfo("Asia/Jakarta")
    posts = [SynthPost(at(2024, 7, 7, 12, 15, 2), "Pagi di Monas"), SynthPost(at(2024, 12, 31, 20, 0), "late")]
    write_html_export(tmp_path, posts, "2025", language="id", zone=jakarta)  # pages show Jakarta time
    with read_export([tmp_path], html_timezone=jakarta) as export:
        assert [p.taken_at for p in export.posts] == [datetime(2024, 7, 7, 12, 15, tzinfo=timezone.utc),
                                                      datetime(2024, 12, 31, 20, 0, tzinfo=timezone.utc)]
        summary = summarise(export, ["posts"])
    assert summary.problem_examples == [f"export: {times_note(jakarta, 'id')}"]
    assert "Asia/Jakarta time" in summary.problem_examples[0] and "from the HTML pages" in summary.problem_examples[0]


def test_utc_is_the_default_zone_and_the_note_tells_how_to_change_it(tmp_path: Path) -> None:
    write_html_export(tmp_path, [SynthPost(at(2024, 7, 7, 12, 15), "x")], "2025")
    with read_export([tmp_path]) as export:
        assert export.posts[0].taken_at == datetime(2024, 7, 7, 12, 15, tzinfo=timezone.utc)
        assert "[source] html_timezone" in str(export.problems[0])


@pytest.mark.parametrize(("value", "offset_hours"), [
    (None, 0), ("UTC", 0), ("Asia/Jakarta", 7), ("+07:00", 7), ("-0330", -3.5), ("America/Sao_Paulo", -3)])
def test_the_html_timezone_setting_takes_zone_names_and_offsets(value: str | None, offset_hours: float) -> None:
    config = {"source": {"html_timezone": value}} if value else {}
    zone = html_timezone(config)
    assert zone.utcoffset(datetime(2024, 7, 1)).total_seconds() == offset_hours * 3600


def test_an_unknown_html_timezone_is_refused_in_one_line() -> None:
    with pytest.raises(PindahError, match="html_timezone 'Mars/Olympus' is not a time zone"):
        html_timezone({"source": {"html_timezone": "Mars/Olympus"}})


# -- no posts: the advice matches the cause ---------------------------------------------------------
def test_an_export_whose_posts_all_failed_says_so_and_why_not_request_all_time(tmp_path: Path) -> None:
    page = tmp_path / "your_instagram_activity/media/posts_1.html"
    page.parent.mkdir(parents=True)
    boxes = "".join(f'<div class="pam _3-95 _2ph- _a6-g uiBoxWhite noborder"><div class="_3-95 _a6-p">'
                    f'<img src="media/other/{n}.jpg" /></div><div class="_3-94 _a6-o">Frühling {2020 + n} 10:1{n}</div></div>'
                    for n in range(3))
    page.write_text(f"<html><body>{boxes}</body></html>", "utf-8")
    with pytest.raises(InputError) as caught:
        read_export([tmp_path])
    message = str(caught.value)
    assert not isinstance(caught.value, NoPostsError)
    assert "with 3 post(s), but pindah could read none of them" in message
    assert "has a date pindah cannot read ('Frühling 2020 10:10')" in message and "2 more" in message
    assert "All time" not in message + (caught.value.hint or "")


def test_an_export_that_really_holds_no_posts_keeps_the_all_time_advice(tmp_path: Path) -> None:
    page = tmp_path / "your_instagram_activity/media/posts_1.html"
    page.parent.mkdir(parents=True)
    page.write_text("<html><body><div>No posts yet</div></body></html>", "utf-8")
    with pytest.raises(NoPostsError) as caught:
        read_export([tmp_path])
    assert "holds no posts" in str(caught.value) and "All time" in caught.value.hint
