"""What a picture file carries besides its pixels, and getting rid of it without re-encoding.

The media pipeline's container room: it never decodes pixels (that is `imagefit`'s), it walks
the file's structure:
- JPEG segments, PNG chunks and WebP chunks are labelled against an allow-list: pixels, the colour
  profile and what decoding needs are kept; EXIF, XMP, comments, thumbnails, maker notes, C2PA,
  private chunks and data after the image's end (motion-photo videos, MPO side pictures with
  their own EXIF) are named, and unknown is never kept (`scan`);
- `repack` rebuilds a file from its kept parts, bytes untouched, plus `SaveExtras`: the lossless
  route, so an already fitting file suffers no generational loss and a Glazed file is not
  recompressed;
- `leaks` is the post-save check every output passes before it is kept: its container is walked
  again and must hold nothing but pixels, the ICC profile and what `SaveExtras` put there on
  purpose; GPS and camera tags are refused even there;
- `metadata_kinds` / `removed_action` put what was removed into words for the artist.
"""

from __future__ import annotations

import io
import re
import zlib
from collections.abc import Callable, Iterator

from PIL import Image

from .imagefit import JPEG, PILLOW_FORMATS, PNG, WEBP, SaveExtras, tiff_exif

_GPS_IFD, _EXIF_IFD = 0x8825, 0x8769
_CAMERA_TAGS = (0x010F, 0x0110)  # Make, Model
_CAMERA_EXIF_TAGS = (0xA430, 0xA431, 0xA432, 0xA433, 0xA434, 0xA435)  # owner, serials, lens

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_KEEP = {b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"iCCP", b"sBIT",
             b"bKGD", b"pHYs", b"cICP", b"mDCV", b"cLLI", b"mDCv", b"cLLi", b"acTL", b"fcTL", b"fdAT"}
_WEBP_KEEP = {b"VP8 ", b"VP8L", b"VP8X", b"ALPH", b"ANIM", b"ANMF", b"ICCP"}
_JPEG_KEEP = set(range(0xC0, 0xD0)) | set(range(0xDA, 0xE0))  # frames, tables, scans, DRI
_JPEG_NEXT_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7]")  # in scan data: not stuffing, not RSTn
_XMP_PREFIXES = (b"http://ns.adobe.com/xap/1.0/", b"http://ns.adobe.com/xmp/extension/")
_OTHER = "other embedded data"  # maker notes, C2PA, private chunks: unknown is never kept


# -- container walking (what is kept, what is dropped) ---------------------------------------
def _jpeg_parts(data: bytes) -> Iterator[tuple[str | None, bytes]]:
    """(label, bytes) for each part of a JPEG; label None means "image, keep". ValueError if the
    structure is broken or ends early."""
    if not data.startswith(b"\xff\xd8"):
        raise ValueError("not a JPEG")
    yield None, data[:2]
    pos, n = 2, len(data)
    while True:
        if pos >= n or data[pos] != 0xFF:
            raise ValueError("JPEG structure is broken or ends early")
        while pos < n and data[pos] == 0xFF:  # fill bytes
            pos += 1
        if pos >= n:
            raise ValueError("JPEG ends early")
        marker = data[pos]
        pos += 1
        if marker == 0xD9:
            yield None, b"\xff\xd9"
            if pos < n:
                yield "hidden data after the picture", data[pos:]
            return
        if pos + 2 > n:
            raise ValueError("JPEG ends early")
        end = pos + int.from_bytes(data[pos:pos + 2], "big")
        if end > n or end < pos + 2:
            raise ValueError("JPEG ends early")
        yield _jpeg_label(marker, data[pos + 2:end]), bytes((0xFF, marker)) + data[pos:end]
        pos = end
        if marker == 0xDA:  # entropy-coded scan data runs up to the next real marker
            found = _JPEG_NEXT_MARKER.search(data, pos)
            if found is None:
                raise ValueError("JPEG ends early")
            yield None, data[pos:found.start()]
            pos = found.start()


def _jpeg_label(marker: int, payload: bytes) -> str | None:
    if marker in _JPEG_KEEP:
        return None
    if marker == 0xE0 and payload.startswith(b"JFIF\0"):
        # A JFIF thumbnail can show the picture before it was cropped: keep only a bare header.
        return None if payload[12:14] in (b"\0\0", b"") else "embedded thumbnail"
    if marker == 0xE2 and payload.startswith(b"ICC_PROFILE\0"):
        return None
    if marker == 0xEE and payload.startswith(b"Adobe"):
        return None  # colour transform flag, needed to decode CMYK/YCCK correctly
    if marker == 0xE1:
        return "EXIF" if payload.startswith(b"Exif\0") else "XMP" if payload.startswith(_XMP_PREFIXES) else _OTHER
    if marker == 0xE2 and payload.startswith(b"MPF\0"):
        return "extra pictures"  # index of the depth/HDR/side images appended after the end
    return {0xFE: "comment", 0xED: "IPTC", 0xE0: "embedded thumbnail"}.get(marker, _OTHER)


def _png_parts(data: bytes) -> Iterator[tuple[str | None, bytes]]:
    if not data.startswith(_PNG_SIGNATURE):
        raise ValueError("not a PNG")
    yield None, data[:8]
    pos, n = 8, len(data)
    while True:
        if pos + 12 > n:
            raise ValueError("PNG ends early")
        kind, end = data[pos + 4:pos + 8], pos + 12 + int.from_bytes(data[pos:pos + 4], "big")
        if end > n:
            raise ValueError("PNG ends early")
        # A damaged chunk must not be copied byte for byte (strict decoders refuse the file):
        # failing the walk sends the picture down the re-encode route instead.
        if zlib.crc32(data[pos + 4:end - 4]) != int.from_bytes(data[end - 4:end], "big"):
            raise ValueError("PNG chunk with a bad checksum")
        label = None
        if kind not in _PNG_KEEP:
            is_xmp = kind == b"iTXt" and data[pos + 8:pos + 26] == b"XML:com.adobe.xmp\0"
            label = {b"eXIf": "EXIF", b"tEXt": "text notes", b"zTXt": "text notes",
                     b"iTXt": "XMP" if is_xmp else "text notes"}.get(kind, _OTHER)
        yield label, data[pos:end]
        pos = end
        if kind == b"IEND":
            if pos < n:
                yield "hidden data after the picture", data[pos:]
            return


def _webp_parts(data: bytes) -> Iterator[tuple[str | None, bytes]]:
    """The chunks after the 12-byte RIFF header (which `repack` rebuilds)."""
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        raise ValueError("not a WebP")
    riff_end = 8 + int.from_bytes(data[4:8], "little")
    if riff_end > len(data):
        raise ValueError("WebP ends early")
    pos = 12
    while pos < riff_end:
        size = int.from_bytes(data[pos + 4:pos + 8], "little")
        if pos + 8 + size > riff_end:
            raise ValueError("WebP ends early")
        end = min(pos + 8 + size + (size & 1), riff_end)  # the last pad byte is often missing
        kind = data[pos:pos + 4]
        label = None if kind in _WEBP_KEEP else {b"EXIF": "EXIF", b"XMP ": "XMP"}.get(kind, _OTHER)
        yield label, data[pos:end]
        pos = end
    if riff_end < len(data):
        yield "hidden data after the picture", data[riff_end:]


_WALKERS: dict[str, Callable[[bytes], Iterator[tuple[str | None, bytes]]]] = {
    JPEG: _jpeg_parts, PNG: _png_parts, WEBP: _webp_parts}


def scan(data: bytes, mime: str | None) -> list[str] | None:
    """Labels of everything that is not image data; None if the format can't be walked."""
    walker = _WALKERS.get(mime or "")
    try:
        return None if walker is None else [label for label, _ in walker(data) if label]
    except ValueError:
        return None


# -- repacking without re-encoding ------------------------------------------------------------
def repack(data: bytes, mime: str, extras: SaveExtras) -> bytes | None:
    """The file with only image parts kept (plus `extras`), bytes untouched; None if impossible."""
    try:
        kept = [part for label, part in _WALKERS[mime](data) if label is None]
    except ValueError:
        return None
    if mime == JPEG:
        at = 2 if len(kept) > 1 and kept[1][4:9] == b"JFIF\0" else 1  # APP0 JFIF must stay first
        added = [_jpeg_segment(0xE1, b"Exif\0\0" + tiff_exif(extras.exif))] if extras.exif else []
        added += [_jpeg_segment(0xE1, _XMP_PREFIXES[0] + b"\0" + extras.xmp)] if extras.xmp else []
        return b"".join(kept[:at] + added + kept[at:]) if all(added) else None
    if mime == PNG:
        at = next(i for i, part in enumerate(kept) if part[4:8] in (b"acTL", b"fcTL", b"IDAT", b"IEND"))
        added = [_png_chunk(b"eXIf", tiff_exif(extras.exif))] if extras.exif else []
        added += [_png_chunk(b"iTXt", b"XML:com.adobe.xmp\0\0\0\0\0" + extras.xmp)] if extras.xmp else []
        return b"".join(kept[:at] + added + kept[at:])
    return _webp_repack(kept, extras)


def _webp_repack(kept: list[bytes], extras: SaveExtras) -> bytes | None:
    """A WebP from its kept chunks plus `extras`, pixels untouched.

    EXIF and XMP need the extended format: its VP8X header says which chunks follow (flags
    0x08 EXIF, 0x04 XMP) and they go after the image data. A simple file (one VP8/VP8L chunk)
    gets a VP8X built from its bitstream's size, so adding the artist's rights never costs a
    re-encode (which would also damage a Glazed picture)."""
    flags = (0x08 if extras.exif else 0) | (0x04 if extras.xmp else 0)
    # A chunk's odd size is followed by a pad byte, often missing at the end of a file: restore
    # it, or a chunk appended after it would start one byte early.
    kept = [part + b"\0" if len(part) & 1 else part for part in kept]
    if kept and kept[0][:4] == b"VP8X":
        kept = [kept[0][:8] + bytes(((kept[0][8] & ~0x0C) | flags,)) + kept[0][9:]] + kept[1:]
    elif flags:
        header = _vp8x_for(kept, flags)
        if header is None:
            return None  # not a plain still picture we can read: the caller re-encodes
        kept = [header] + kept
    if extras.exif:
        kept.append(_webp_chunk(b"EXIF", tiff_exif(extras.exif)))
    if extras.xmp:
        kept.append(_webp_chunk(b"XMP ", extras.xmp))
    body = b"WEBP" + b"".join(kept)
    return b"RIFF" + len(body).to_bytes(4, "little") + body


def _vp8x_for(kept: list[bytes], flags: int) -> bytes | None:
    """The VP8X chunk (with `flags`) for a simple WebP whose one chunk is VP8 or VP8L, or None."""
    if len(kept) != 1:
        return None
    kind, data, alpha = kept[0][:4], kept[0][8:], 0
    if kind == b"VP8 " and len(data) >= 10 and data[3:6] == b"\x9d\x01\x2a":
        width = int.from_bytes(data[6:8], "little") & 0x3FFF  # the top 2 bits are a scale hint
        height = int.from_bytes(data[8:10], "little") & 0x3FFF
    elif kind == b"VP8L" and len(data) >= 5 and data[0] == 0x2F:
        bits = int.from_bytes(data[1:5], "little")
        width, height = (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
        alpha = 0x10 if bits >> 28 & 1 else 0
    else:
        return None
    if not width or not height:
        return None
    payload = bytes((alpha | flags, 0, 0, 0)) + (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    return _webp_chunk(b"VP8X", payload)


def _webp_chunk(kind: bytes, payload: bytes) -> bytes:
    return kind + len(payload).to_bytes(4, "little") + payload + (b"\0" if len(payload) & 1 else b"")


def _jpeg_segment(marker: int, payload: bytes) -> bytes:
    if len(payload) + 2 > 0xFFFF:
        return b""  # too big for one segment: the caller falls back to re-encoding
    return bytes((0xFF, marker)) + (len(payload) + 2).to_bytes(2, "big") + payload


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return len(payload).to_bytes(4, "big") + kind + payload + zlib.crc32(kind + payload).to_bytes(4, "big")


# -- the post-save check and the words for what was removed ----------------------------------
def leaks(data: bytes, mime: str, extras: SaveExtras) -> str | None:
    """Re-read an output: what it carries besides pixels, colour profile and `extras`, or None.
    GPS and camera tags are refused even inside `extras`."""
    allowed = ({"EXIF"} if extras.exif else set()) | ({"XMP"} if extras.xmp else set())
    labels = scan(data, mime)
    if labels is None and mime in _WALKERS:
        return "unreadable structure"
    found = set(labels or ())
    if labels is None:  # HEIF/AVIF: Pillow reports what the container carries
        with Image.open(io.BytesIO(data), formats=PILLOW_FORMATS) as out:
            found |= {"EXIF"} if out.info.get("exif") and out.getexif() else set()
            found |= {"XMP"} if out.info.get("xmp") else set()
            found |= {"comment"} if out.info.get("comment") else set()
    exif = Image.Exif()
    if extras.exif:
        exif.load(b"Exif\0\0" + tiff_exif(extras.exif))
    if found - allowed or _GPS_IFD in exif or any(t in exif for t in _CAMERA_TAGS):
        return ", ".join(sorted(found - allowed)) or "GPS/camera EXIF"
    return None


def metadata_kinds(exif: Image.Exif, img: Image.Image, labels: list[str]) -> list[str]:
    """What personal data the source carries, in words, for the "metadata removed" action."""
    kinds: list[str] = []
    sub = exif.get_ifd(_EXIF_IFD) if _EXIF_IFD in exif else {}
    if _GPS_IFD in exif:
        kinds.append("GPS location")
    if any(t in exif for t in _CAMERA_TAGS) or any(t in sub for t in _CAMERA_EXIF_TAGS):
        kinds.append("camera")
    if 0x0132 in exif or 0x9003 in sub:
        kinds.append("date taken")
    if set(exif) - {0x0112} and not kinds:
        kinds.append("EXIF")  # an orientation tag alone is reported as "rotated upright"
    if img.info.get("xmp") or img.info.get("XML:com.adobe.xmp"):
        kinds.append("XMP")
    if img.info.get("comment"):
        kinds.append("comment")
    kinds += [label for label in labels if label != "EXIF"]
    return list(dict.fromkeys(kinds))


def removed_action(kinds: list[str]) -> list[str]:
    return [f"metadata removed ({', '.join(kinds)})"] if kinds else []
