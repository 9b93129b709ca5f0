"""What an MP4/QuickTime file says about itself: duration and picture size, read from the
`moov` box headers only (a 300 MB video costs a few small reads). Used by the media pipeline
to refuse videos longer than a target takes, and by adapters that must declare a video's size.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Mp4Info:
    seconds: float | None
    width: int | None
    height: int | None


def mp4_info(path: Path, *, max_scan: int = 64 << 20) -> Mp4Info:
    """Duration (mvhd) and display size (first tkhd with one) of an MP4; None where unknown.

    Reads box headers only, seeking over media data, so a 300 MB file costs a few reads."""
    seconds: float | None = None
    width = height = None
    try:
        with open(path, "rb") as fh:
            size = fh.seek(0, 2)
            moov = _find_box(fh, 0, size, b"moov")
            if moov is None:
                return Mp4Info(None, None, None)
            start, end = moov
            if end - start > max_scan:
                return Mp4Info(None, None, None)
            fh.seek(start)
            body = fh.read(end - start)
    except OSError:
        return Mp4Info(None, None, None)
    for kind, payload in _boxes(body):
        if kind == b"mvhd" and payload:  # full box: version, flags, times, timescale, duration
            if payload[0] == 1 and len(payload) >= 32:
                timescale, duration = struct.unpack(">IQ", payload[20:32])
            elif len(payload) >= 20:
                timescale, duration = struct.unpack(">II", payload[12:20])
            else:
                continue
            seconds = duration / timescale if timescale else None
        elif kind == b"tkhd" and payload and width is None:
            offset = 88 if payload[0] == 1 else 76  # width, height: 16.16 fixed, after the matrix
            if len(payload) >= offset + 8:
                w, h = struct.unpack(">II", payload[offset:offset + 8])
                if w >> 16 and h >> 16:  # audio tracks have no picture size
                    width, height = w >> 16, h >> 16
    return Mp4Info(seconds, width, height)


def _box_header(header: bytes, position: int, end: int) -> tuple[int, bytes, int]:
    """(length, type, body offset) of the box whose first 8-16 bytes are `header`: a length of 1
    means a 64-bit size follows, 0 means "to the end of the enclosing box"."""
    length, kind = struct.unpack(">I4s", header[:8])
    body = position + 8
    if length == 1 and len(header) >= 16:
        length, body = struct.unpack(">Q", header[8:16])[0], position + 16
    elif length == 0:
        length = end - position
    return length, kind, body


def _find_box(fh: Any, start: int, end: int, wanted: bytes) -> tuple[int, int] | None:
    position = start
    while position + 8 <= end:
        fh.seek(position)
        header = fh.read(16)
        if len(header) < 8:
            return None
        length, kind, body = _box_header(header, position, end)
        if length < 8:
            return None
        if kind == wanted:
            return body, min(position + length, end)
        position += length
    return None


def _boxes(data: bytes) -> list[tuple[bytes, bytes]]:
    """Boxes of a container, depth first, as (type, payload) pairs: moov → trak → tkhd."""
    found: list[tuple[bytes, bytes]] = []
    position = 0
    while position + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[position:position + 8])
        header = 8
        if length == 1 and position + 16 <= len(data):
            length, header = struct.unpack(">Q", data[position + 8:position + 16])[0], 16
        elif length == 0:
            length = len(data) - position
        if length < header:
            break
        payload = data[position + header:position + length]
        found.append((kind, payload))
        if kind in (b"trak", b"mdia", b"minf"):
            found.extend(_boxes(payload))
        position += length
    return found


# Boxes that only group other boxes: user data can sit inside any of them.
_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"edts", b"dinf", b"stbl"}
# Where phones keep location (©xyz, com.apple.quicktime.location.ISO6709), make, model and
# software: user-data and metadata boxes. Nothing in them is needed to play the video.
_PRIVATE = {b"udta", b"meta"}


def strip_user_data(path: Path) -> int:
    """Blank out user-data/metadata boxes in place: renamed `free` and zero-filled (same size, so
    every offset in the file stays valid and players skip them). Returns how many were blanked."""
    blanked = 0
    try:
        with open(path, "r+b") as fh:
            size = fh.seek(0, 2)
            stack = [(0, size, 0)]
            while stack:
                start, end, depth = stack.pop()
                position = start
                while position + 8 <= end and depth < 8:
                    fh.seek(position)
                    header = fh.read(16)
                    length, kind, body = _box_header(header, position, end)
                    if length < 8 or position + length > end:
                        break
                    if kind in _PRIVATE and depth > 0:  # inside moov/trak/...: never the top level
                        fh.seek(position + 4)
                        fh.write(b"free")
                        fh.seek(body)
                        remaining = position + length - body
                        while remaining > 0:  # zero the contents too: renaming alone keeps the bytes
                            chunk = min(remaining, 1 << 16)
                            fh.write(bytes(chunk))
                            remaining -= chunk
                        blanked += 1
                    elif kind in _CONTAINERS:
                        stack.append((body, position + length, depth + 1))
                    position += length
    except OSError:
        return blanked
    return blanked
