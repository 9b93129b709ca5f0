"""Subtitle files as targets take them: WebVTT, UTF-8.

Instagram keeps a video's subtitles as SubRip (`.srt`) files beside it (2024 on); browsers'
`<track>` and Bluesky's video captions take WebVTT (`text/vtt`) only. SubRip and WebVTT differ
in three ways that matter here: the `WEBVTT` header, a `.` instead of a `,` before the
milliseconds of each timing, and no numeric cue counters required (they are kept: WebVTT reads
them as cue identifiers). Text is decoded leniently (UTF-8 with or without BOM, else cp1252,
which old SubRip editors wrote) and written as UTF-8.
"""

from __future__ import annotations

import re

# "00:00:01,500 --> 00:00:03,000" (hours optional in WebVTT, always present in SubRip)
_TIMING = re.compile(
    r"^(\s*(?:\d+:)?\d{1,2}:\d{2})[,.](\d{1,3})(\s*-->\s*(?:\d+:)?\d{1,2}:\d{2})[,.](\d{1,3})(.*)$")


def decode_text(data: bytes) -> str:
    """Subtitle bytes as text: UTF-8 (BOM dropped), else cp1252; line ends normalised."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def srt_to_vtt(text: str) -> str:
    """A SubRip document as WebVTT (already-WebVTT text is returned normalised)."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff").split("\n")
    if lines and lines[0].startswith("WEBVTT"):
        return "\n".join(lines).rstrip("\n") + "\n"
    out = ["WEBVTT", ""]
    for line in lines:
        m = _TIMING.match(line)
        if m:
            start, start_ms, arrow, end_ms, rest = m.groups()
            end = arrow.split("-->")[1].strip()
            line = f"{start.strip()}.{start_ms.ljust(3, '0')} --> {end}.{end_ms.ljust(3, '0')}{rest}"
        elif "-->" in line:
            line = line.replace("-->", "->")  # a stray arrow in cue text would end the cue
        out.append(line)
    return "\n".join(out).rstrip("\n") + "\n"


def to_vtt(data: bytes, fmt: str) -> bytes:
    """Subtitle file bytes in `fmt` ("srt" or "vtt") -> WebVTT bytes (UTF-8)."""
    if fmt not in ("srt", "vtt"):
        raise ValueError(f"unknown subtitle format {fmt!r}")
    return srt_to_vtt(decode_text(data)).encode("utf-8")
