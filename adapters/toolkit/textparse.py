"""Text fixes and parsing shared by the readers: mojibake, hashtags, mentions, alt text."""

from __future__ import annotations

import re
from typing import Any

import regex

# Instagram hashtags: letters, marks, digits and underscores in any script (#jakarta, #日本, #café).
_HASHTAG = regex.compile(r"(?<![\p{L}\p{M}\p{N}_&#/])#([\p{L}\p{M}\p{N}_]*[\p{L}\p{M}][\p{L}\p{M}\p{N}_]*)")
# Instagram usernames: 1-30 of letters, digits, '.', '_'; not ending in '.'; not part of an e-mail.
MENTION = re.compile(r"(?<![\w.@])@([A-Za-z0-9_](?:[A-Za-z0-9_.]{0,28}[A-Za-z0-9_])?)")


def fix_mojibake(text: str) -> str:
    """Undo Meta's "UTF-8 bytes written as \\u00XX" encoding in one string.

    Must be applied exactly once per string (see `fix_mojibake_tree`): text that is already
    right either contains characters above U+00FF or is not valid UTF-8 as Latin-1 bytes, so it
    comes back unchanged.
    """
    if text.isascii():
        return text  # the vast majority (keys, URIs, numbers): nothing to undo
    try:
        return text.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text


def fix_mojibake_tree(value: Any) -> Any:
    """Apply `fix_mojibake` to every string and key of freshly parsed Meta JSON, once."""
    if isinstance(value, str):
        return value if value.isascii() else fix_mojibake(value)
    if isinstance(value, list):
        return [fix_mojibake_tree(v) for v in value]
    if isinstance(value, dict):
        return {(k if k.isascii() else fix_mojibake(k)): fix_mojibake_tree(v) for k, v in value.items()}
    return value


def unmojibake_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """`json.loads(..., object_pairs_hook=unmojibake_pairs)`: fixes every key and string of
    each object as it is parsed, so Meta JSON is decoded once, with no second walk over it."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if isinstance(value, str):
            if not value.isascii():
                value = fix_mojibake(value)
        elif isinstance(value, list):
            value = fix_strings_outside_objects(value)
        out[key if key.isascii() else fix_mojibake(key)] = value
    return out


def fix_strings_outside_objects(value: Any) -> Any:
    """Fix strings in (nested) lists but leave objects alone: the hook decoded those already,
    and decoding twice corrupts text such as a real "Â£12"."""
    if isinstance(value, str):
        return value if value.isascii() else fix_mojibake(value)
    if isinstance(value, list):
        return [fix_strings_outside_objects(v) for v in value]
    return value


def hashtags(caption: str) -> tuple[str, ...]:
    """Hashtags in order of first appearance, without '#', duplicates removed."""
    return tuple(dict.fromkeys(_HASHTAG.findall(caption)))


def mentions(caption: str) -> tuple[str, ...]:
    """Instagram @usernames in order of first appearance, without '@'."""
    return tuple(dict.fromkeys(m.rstrip(".") for m in MENTION.findall(caption)))


# Instagram's automatic alt text has a few fixed shapes across the years.
_GENERATED_ALT = re.compile(
    r"^\s*(photo (shared )?by .+ on .+|image may contain\b|may be (an? )?(image|photo|illustration|"
    r"graphic|cartoon|art|closeup|text|meme|screenshot)|no photo description available|"
    r"no description available)",
    re.IGNORECASE,
)


def is_generated_alt(text: str) -> bool:
    """True when alt text looks like Instagram's automatic description, not the artist's own."""
    return bool(_GENERATED_ALT.match(text)) or "may be an image of" in text.lower()


# C0 controls but tab/newline, DEL and C1 controls: an export's file name or text holding them
# could drive the artist's terminal (ESC sequences; OSC 52 writes the clipboard).
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# Lone UTF-16 surrogates are valid JSON escapes but not text: they can't even be encoded.
_SURROGATES = re.compile(r"[\ud800-\udfff]")


def printable(text: str) -> str:
    """Safe to print on a terminal: control characters become U+FFFD."""
    return _CONTROLS.sub("\ufffd", _SURROGATES.sub("\ufffd", text))


def without_surrogates(text: str) -> str:
    try:
        # UTF-8 can't encode exactly the surrogates, and encoding (in C, with no pattern to
        # match) is twice as fast as looking for one: planning cleans every caption.
        text.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATES.sub("\ufffd", text)
    return text


def clean_text(text: str | None) -> str:
    """Normalise line endings and strip NULs; keep everything else the artist typed."""
    if not text:
        return ""
    if "\r" in text:  # one scan for what is nearly never there, rather than two replaces
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "\x00" in text:
        text = text.replace("\x00", "")
    return text if text.isascii() else without_surrogates(text)  # ASCII holds no surrogates
