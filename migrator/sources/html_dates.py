"""Reading the date lines of Meta's HTML export in the account's language.

Instagram writes the HTML export in the language the account uses: `May 10, 2021, 11:39 PM`,
`5 авг 2014 г., 05:32`, `11 de nov de 2021 03:47`, `2021年5月10日 23:39`, `٥ أغسطس ٢٠١٤ ٥:٣٢ م` ...
Meta renders them from CLDR patterns (abbreviated month, no trailing period on it), so this
module builds one regular expression per CLDR pattern of every language Instagram offers, from
Babel's CLDR data, instead of a hand-made month table.

Speed matters (an export holds tens of thousands of date lines), so nothing here tries every
language for every post:

* the patterns of a language are compiled once per process (`_patterns_of`, cached);
* `DateLines.learn()` picks the export's language once, by votes over a sample of its date lines;
* `DateLines.parse()` caches, per *shape* of a line (its text with every digit set to 0), the
  pattern that read it, so each further post costs one dictionary look-up and one match.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, time
from functools import lru_cache
from typing import Iterable

from babel import Locale
from babel.dates import get_period_id, tokenize_pattern

# Languages Instagram offers (CLDR codes), most used first: the order breaks ties when two
# languages read the same line alike (Spanish and Portuguese "11 de nov de 2021").
LANGUAGES: tuple[str, ...] = (
    "en", "es", "pt", "id", "ru", "tr", "ar", "hi", "ja", "ko", "fr", "de", "it", "th", "vi",
    "zh_Hans", "zh_Hant", "zh_Hant_HK", "ms", "fil", "pl", "uk", "nl", "pt_PT", "es_MX", "el",
    "he", "bn", "mr", "ur", "ta", "te", "kn", "ml", "gu", "pa", "sv", "da", "nb", "fi", "cs",
    "sk", "hu", "ro", "hr", "sr", "sr_Latn", "bg", "af", "sw", "ar_EG",
)
# Thai accounts may see Buddhist-era years (2557 = 2014).
_BUDDHIST_OFFSET = {"th": 543}

# Bidi controls Meta leaves around Arabic and Hebrew text; they are not part of the date.
_BIDI = dict.fromkeys(map(ord, "\u200e\u200f\u061c\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"))
_SPACES = re.compile(r"\s+")
# Abbreviation marks Meta may drop: the period, and Devanagari's "॰" (Hindi "अग॰").
_MARKS = dict.fromkeys(map(ord, ".\u0970"))
_DIGIT = re.compile(r"\d")
# A date line has a time (hh:mm, hh.mm) and a four-digit year; latitude "-6.175392" has neither.
_TIME_SHAPE = re.compile(r"(?<![\d.,])\d{1,2}\s?[:.]\s?\d{2}(?![\d.,])")
_YEAR_SHAPE = re.compile(r"(?<!\d)\d{4}(?!\d)")
MAX_LINE = 80  # date lines are short; long text is a caption


@lru_cache(maxsize=1)
def _digit_table() -> dict[int, int]:
    """Every non-ASCII decimal digit (Arabic-Indic, Devanagari, Bengali, Thai, full-width ...)
    -> its ASCII digit, so all patterns only ever see 0-9."""
    table: dict[int, int] = {}
    for code in range(0x80, 0x20000):
        value = unicodedata.decimal(chr(code), None)
        if value is not None:
            table[code] = ord("0") + value
    table.update(_BIDI)
    return table


def normalise(text: str) -> str:
    """ASCII digits, no bidi marks, single ASCII spaces, case-folded."""
    return _SPACES.sub(" ", text.translate(_digit_table())).strip().casefold()


def looks_like_date_line(text: str) -> bool:
    """Cheap test for "this short text has a year and a time": it finds post boxes whatever
    the language, before the language is known."""
    if len(text) > MAX_LINE or not any(c.isdigit() for c in text):
        return False
    line = text.translate(_digit_table())
    return _TIME_SHAPE.search(line) is not None and _YEAR_SHAPE.search(line) is not None


@dataclass(frozen=True)
class DatePattern:
    """One CLDR pattern of one language, compiled to a regular expression."""

    language: str
    source: str  # the CLDR pattern, for messages and tests
    regex: re.Pattern[str]
    months: dict[str, int] = field(repr=False)
    periods: dict[str, str] = field(repr=False)  # normalised name -> CLDR period id

    def read(self, line: str) -> datetime | None:
        """A normalised line -> naive datetime (wall-clock time), or None."""
        m = self.regex.fullmatch(line)
        if m is None:
            return None
        groups = m.groupdict()
        month = int(groups["month"]) if groups.get("month") else self.months.get(_name(groups.get("mon")))
        if month is None:
            return None
        year = int(groups["year"])
        if year - _BUDDHIST_OFFSET.get(self.language, 0) >= 2000:
            year -= _BUDDHIST_OFFSET.get(self.language, 0)
        hour, minute = int(groups["hour"]), int(groups["minute"])
        period = self.periods.get(_name(groups.get("period"))) if groups.get("period") else None
        if groups.get("period") is not None:
            if period is None or not 0 <= hour <= 12:
                return None
            hour = _hour_in_period(self.language, hour, period)
            if hour is None:
                return None
        try:
            return datetime(year, month, int(groups["day"]), hour, minute)
        except ValueError:  # "Feb 30", "25:10": looked like a date, is not one
            return None


def _name(text: str | None) -> str:
    """A month or day-period name without spaces and abbreviation marks, for look-ups."""
    return _SPACES.sub("", (text or "").translate(_MARKS))


@lru_cache(maxsize=4096)
def _hour_in_period(language: str, hour: int, period: str) -> int | None:
    """A 12-hour clock hour read with its day period ("pm", "晚上", "오후") -> 0..23."""
    low = hour % 12
    if period in ("am", "pm"):
        return low + (12 if period == "pm" else 0)
    for candidate in (low, low + 12):
        if get_period_id(time(candidate, 30), locale=language) == period:
            return candidate
    return None


# -- building the patterns -----------------------------------------------------------------
def _words(names: Iterable[str]) -> str:
    """An alternation of names, longest first; each also without its periods and spaces, as
    Meta drops them ("p. m." / "p.m." / "pm", "ago." / "ago")."""
    alts: set[str] = set()
    for name in names:
        text = normalise(name)
        for variant in (text, text.rstrip(".\u0970"), text.replace(". ", "."), _name(text)):
            if variant:
                alts.add(re.escape(variant).replace(r"\ ", r"\s?"))
    return "(?:" + "|".join(sorted(alts, key=len, reverse=True)) + ")"


def _raw_names(table: object, skip: tuple[str, ...] = ()) -> list[str]:
    """All names of a CLDR context/width/id table (months, day periods)."""
    names: list[str] = []
    for context in ("format", "stand-alone"):
        for width in ("abbreviated", "wide", "narrow"):
            for key, name in table.get(context, {}).get(width, {}).items():  # type: ignore[attr-defined]
                if key not in skip and not (width == "narrow" and isinstance(key, int)):
                    names.append(name)
    return names


def _month_names(locale: Locale) -> dict[str, int]:
    names: dict[str, int] = {}
    for context in ("format", "stand-alone"):
        for width in ("abbreviated", "wide"):
            for number, name in locale.months[context][width].items():
                names.setdefault(_name(normalise(name)), number)
    return names


def _period_names(locale: Locale) -> dict[str, str]:
    names: dict[str, str] = {}
    for context in ("format", "stand-alone"):
        for width in ("abbreviated", "wide", "narrow"):
            table = locale.day_periods.get(context, {}).get(width, {})
            for period in ("am", "pm", *sorted(set(table) - {"am", "pm"})):
                if period in table and period not in ("midnight", "noon"):
                    names.setdefault(_name(normalise(table[period])), period)
    return names


def _field_regex(char: str, count: int, months: str, periods: str) -> str:
    if char == "d":
        return r"(?P<day>\d{1,2})"
    if char in "ML":
        return r"(?P<month>\d{1,2})" if count <= 2 else rf"(?P<mon>{months})"
    if char in "yu":
        return r"(?P<year>\d{4})"
    if char in "hHkK":
        return r"(?P<hour>\d{1,2})"
    if char == "m":
        return r"(?P<minute>\d{2})"
    if char == "s":
        return r"\d{2}"
    if char in "abB":
        return rf"(?P<period>{periods})"
    return ""  # weekday, era, zone ...: Meta's date lines have none


def _literal_regex(text: str) -> str:
    """Spaces flexible, commas (Latin, Arabic) optional, other literals as written."""
    out = []
    for char in _SPACES.sub(" ", text.translate(_digit_table())).casefold():
        if char == " ":
            out.append(r"\s?")
        elif char in ",،":
            out.append("[,،]?")
        else:
            out.append(re.escape(char))
    return "".join(out)


def _compile(pattern: str, months: str, periods: str) -> str:
    parts: list[str] = []
    for kind, value in tokenize_pattern(pattern):
        if kind == "chars":
            parts.append(_literal_regex(value))
        else:
            char, count = value
            parts.append(_field_regex(char, count, months, periods))
    return "".join(parts)


def _pattern_text(value: object) -> str:
    return getattr(value, "pattern", value)  # type: ignore[return-value]


@lru_cache(maxsize=None)
def _patterns_of(language: str) -> tuple[DatePattern, ...]:
    """Every date-and-time pattern Meta may use in `language`, compiled once per process."""
    locale = Locale.parse(language)
    skeletons = locale.datetime_skeletons
    dates = {_pattern_text(skeletons["yMMMd"]), locale.date_formats["medium"].pattern,
             locale.date_formats["long"].pattern}
    times = {locale.time_formats["short"].pattern, _pattern_text(skeletons["hm"]),
             _pattern_text(skeletons["Hm"]), "h:mm a", "H:mm"}
    joins = {_pattern_text(locale.datetime_formats[w]) for w in ("medium", "short")} | {"{1} {0}"}
    month_names, period_names = _month_names(locale), _period_names(locale)
    months = _words(_raw_names(locale.months))
    periods = _words(_raw_names(locale.day_periods, skip=("midnight", "noon")))
    seen: dict[str, DatePattern] = {}
    for join in sorted(joins):
        for date in sorted(dates):
            for clock in sorted(times):
                source = join.replace("{1}", date).replace("{0}", clock)
                parts = {"{1}": _compile(date, months, periods), "{0}": _compile(clock, months, periods)}
                whole = "".join(parts.get(piece) or _compile(piece, months, periods)
                                for piece in re.split(r"(\{[01]\})", join) if piece)
                if whole not in seen:
                    seen[whole] = DatePattern(language, source, re.compile(whole), month_names, period_names)
    return tuple(seen.values())


# -- reading an export's date lines ------------------------------------------------------------
class DateLines:
    """The date reader of one export: learns its language once, then caches per line shape."""

    def __init__(self, languages: Iterable[str] = LANGUAGES) -> None:
        self.languages = list(languages)
        self.language: str | None = None  # the export's language, once learnt
        self._by_shape: dict[str, DatePattern | None] = {}

    def learn(self, lines: Iterable[str], sample: int = 64) -> str | None:
        """Choose the export's language: the one that reads most of the sample's shapes."""
        by_shape: dict[str, str] = {}
        for line in lines:
            text = normalise(line)
            by_shape.setdefault(_DIGIT.sub("0", text), text)
            if len(by_shape) >= sample:
                break
        shapes = list(by_shape.values())
        best, best_votes = None, 0
        for language in self.languages:
            votes = sum(any(p.regex.fullmatch(t) for p in _patterns_of(language)) for t in shapes)
            if votes > best_votes:
                best, best_votes = language, votes
            if best_votes == len(shapes):
                break  # nothing can beat a language that reads every line
        if best is not None:
            self.language = best
            self.languages.remove(best)
            self.languages.insert(0, best)
        return best

    def parse(self, line: str) -> datetime | None:
        """A date line as a naive wall-clock datetime (minute precision), or None."""
        text = normalise(line)
        shape = _DIGIT.sub("0", text)
        if shape not in self._by_shape:
            self._by_shape[shape] = self._find(text)
        pattern = self._by_shape[shape]
        return pattern.read(text) if pattern is not None else None

    def _find(self, text: str) -> DatePattern | None:
        for language in self.languages:
            for pattern in _patterns_of(language):
                if pattern.regex.fullmatch(text):
                    return pattern
        return None


def parse_date_line(line: str, languages: Iterable[str] = LANGUAGES) -> datetime | None:
    """One date line on its own (no export context): convenient for tests and one-offs."""
    return DateLines(languages).parse(line)

