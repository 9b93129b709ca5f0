"""Date lines as Meta writes them in the account's language, built from CLDR data (Babel).

Meta renders an HTML export's date line from the language's CLDR patterns: the `yMMMd`
skeleton for the date (abbreviated month, written without its trailing period: `авг`, not
`авг.`), the short time in the language's own clock (or the 12/24-hour skeleton `hm`/`Hm`),
joined by the language's medium date-time pattern (`{1}, {0}`, `{1} {0}` ...), in the
language's own digits (Arabic-Indic, Devanagari, Bengali ...).
"""

from __future__ import annotations

from datetime import datetime

from babel import Locale
from babel.dates import format_datetime, tokenize_pattern

# Where each numbering system's digit zero sits; Babel's dates are always written in 0-9.
_ZEROS = {"arab": 0x660, "arabext": 0x6F0, "deva": 0x966, "beng": 0x9E6, "thai": 0xE50}

# language -> (what the fixtures call it, script), at least 15 languages in every script
# Instagram is offered in.
LANGUAGES: dict[str, str] = {
    "en": "Latin", "ru": "Cyrillic", "pt": "Latin", "es": "Latin", "id": "Latin", "fr": "Latin",
    "de": "Latin", "tr": "Latin", "pl": "Latin", "hr": "Latin", "vi": "Latin", "uk": "Cyrillic",
    "el": "Greek", "ar": "Arabic", "ar_EG": "Arabic (Arabic-Indic digits)", "he": "Hebrew",
    "hi": "Devanagari", "mr": "Devanagari (Devanagari digits)", "bn": "Bengali (Bengali digits)",
    "th": "Thai", "ja": "CJK", "zh_Hans": "CJK", "zh_Hant": "CJK", "ko": "Korean",
}


def _pattern(value: object) -> str:
    return getattr(value, "pattern", value)  # type: ignore[return-value]


def _month_without_period(pattern: str, locale: Locale, month: int) -> str:
    """Put the abbreviated month in as a quoted literal, without its trailing period."""
    out: list[str] = []
    chars = ""  # literal text is gathered, then quoted once: '' inside quotes is a quote mark
    for kind, value in tokenize_pattern(pattern):
        if kind == "field" and value[0] in "ML" and value[1] == 3:
            context = "format" if value[0] == "M" else "stand-alone"
            kind, value = "chars", locale.months[context]["abbreviated"][month].rstrip(".")
        if kind == "chars":
            chars += value
        else:
            out.append(_quoted(chars) + value[0] * value[1])
            chars = ""
    return "".join(out) + _quoted(chars)


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'" if text else ""


def localised_date_line(moment: datetime, language: str, clock: str | None = None) -> str:
    """`moment` (naive wall-clock) as Meta's date line in `language`; `clock` "12"/"24" picks
    the 12- or 24-hour skeleton, None the language's own short time."""
    locale = Locale.parse(language)
    date = _month_without_period(_pattern(locale.datetime_skeletons["yMMMd"]), locale, moment.month)
    time = {"12": _pattern(locale.datetime_skeletons["hm"]), "24": _pattern(locale.datetime_skeletons["Hm"]),
            None: locale.time_formats["short"].pattern}[clock]
    join = _pattern(locale.datetime_formats["medium"])
    text = format_datetime(moment, join.replace("{1}", date).replace("{0}", time), locale=locale)
    zero = _ZEROS.get(locale.default_numbering_system if hasattr(locale, "default_numbering_system") else "latn")
    if zero is not None:
        text = text.translate({ord("0") + d: zero + d for d in range(10)})
    return text
