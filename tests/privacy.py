"""Where a location and a secret could hide, and how to look for them.

Shared by the secrets run (tests/test_secrets.py) and the conformance suite
(tests/test_conformance.py): an export whose pictures and JSON carry known GPS coordinates
(EXIF, XMP, PNG text, WebP EXIF, an MP4 location atom), a search that reports every place a
coordinate or a secret was found, and the file-mode checks for state and credentials.
"""

from __future__ import annotations

import io
import os
import stat
import struct
import subprocess
import sys
import zlib
from pathlib import Path

from PIL import Image

from tests import figures
from tests.chaos_support import CHILD, VIDEO
from tests.exportbuilder.meta_json import write_meta_json
from tests.exportbuilder.spec import SynthMedia, SynthPost

LAT, LNG = -6.175392, 106.827153  # Monas, Jakarta: in the export JSON and in the pictures
GPS_TEXT = ["6.175392", "106.827153", "6.1753", "106.8271", "106,49", "6,10.52", "GPSLatitude", "GPSLongitude"]
T = 1_560_000_000


# -- the export: coordinates everywhere they can hide ------------------------------------------------
def _exif_gps() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif[0x0110] = "Phone 12 Pro"
    gps = exif.get_ifd(0x8825)
    gps.update({1: "S", 2: (6.0, 10.0, 31.41), 3: "E", 4: (106.0, 49.0, 37.75), 5: 0, 6: 12.0})
    return exif.tobytes()


XMP = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
       b'<rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" exif:GPSLatitude="6,10.5235S" '
       b'exif:GPSLongitude="106,49.6292E" exif:GPSAltitude="12">-6.175392,106.827153</rdf:Description>'
       b"</rdf:RDF></x:xmpmeta>")


def _picture(fmt: str, width: int, height: int) -> bytes:
    img = Image.new("RGB", (width, height), (width % 255, 90, height % 255))
    out = io.BytesIO()
    if fmt == "jpg":
        img.save(out, "JPEG", quality=90, exif=_exif_gps(), xmp=XMP)
    elif fmt == "webp":
        img.save(out, "WEBP", exif=_exif_gps(), xmp=XMP)
    elif fmt == "png":
        img.save(out, "PNG", exif=_exif_gps())
        data = out.getvalue()
        text = b"Comment\x00Taken at -6.175392, 106.827153"
        chunk = struct.pack(">I", len(text)) + b"tEXt" + text + struct.pack(">I", zlib.crc32(b"tEXt" + text))
        return data[:-12] + chunk + data[-12:]  # before IEND
    return out.getvalue()


def gps_export(root: Path) -> Path:
    posts = [SynthPost(T, "Monas at dawn #jakarta", [SynthMedia("jpg", width=40, height=30)], latitude=LAT, longitude=LNG),
             SynthPost(T + 3600, "PNG with a note", [SynthMedia("png", width=41, height=30)], latitude=LAT, longitude=LNG),
             SynthPost(T + 7200, "WebP from the phone", [SynthMedia("webp", width=42, height=30)], latitude=LAT, longitude=LNG),
             SynthPost(T + 9000, "Carousel, all located", [SynthMedia("jpg", width=43, height=30),
                                                           SynthMedia("jpg", width=44, height=30)], latitude=LAT, longitude=LNG)]
    write_meta_json(root, posts, media_content=lambda post, i, media: _picture(media.fmt, media.width, media.height))
    raw = b"".join(p.read_bytes() for p in root.rglob("*") if p.is_file())
    assert b"106.827153" in raw and b"GPSLatitude" in raw  # the export really carries them
    return root


def located_video() -> bytes:
    """The sample clip with its `udta` box replaced by one holding a `©xyz` location atom of the
    same size, so no offset moves."""
    data = bytearray(VIDEO.read_bytes())
    start = data.find(b"udta") - 4
    (size,) = struct.unpack_from(">I", data, start)
    where = b"+06.1753+106.8271/"
    xyz = struct.pack(">I", 12 + len(where)) + b"\xa9xyz" + struct.pack(">HH", len(where), 0x15C7) + where
    free = size - 8 - len(xyz)
    data[start:start + size] = struct.pack(">I", size) + b"udta" + xyz + struct.pack(">I", free) + b"free" + b"\0" * (free - 8)
    return bytes(data)


# -- searching ----------------------------------------------------------------------------------------
def hits(data: bytes, needles: list[str]) -> list[str]:
    return [n for n in needles if n.encode() in data]


def image_location(data: bytes) -> list[str]:
    """Location a picture still carries, read by Pillow (EXIF GPS IFD, XMP, PNG text)."""
    found = []
    try:
        with Image.open(io.BytesIO(data)) as img:
            exif = img.getexif()
            if 0x8825 in exif or exif.get_ifd(0x8825):
                found.append("EXIF GPS")
            if any(k in exif for k in (0x010F, 0x0110)):
                found.append("camera make/model")
            info = " ".join(str(v) for v in img.info.values() if isinstance(v, (str, bytes)))
            if "GPS" in info or "106.82" in info:
                found.append("text/XMP location")
    except Exception:  # noqa: BLE001 - not a picture: the byte search covers it
        pass
    return found


def files_under(*places: Path) -> list[Path]:
    return [f for place in places if place.exists()
            for f in ([place] if place.is_file() else place.rglob("*")) if f.is_file() and not f.is_symlink()]


class Search:
    """Collects every leak found, with where; `figures` gets the count."""

    def __init__(self) -> None:
        self.leaks: list[str] = []

    def text(self, where: str, data: bytes | str, needles: list[str]) -> None:
        raw = data.encode() if isinstance(data, str) else data
        self.leaks += [f"{where}: {n}" for n in hits(raw, needles)]

    def media(self, where: str, data: bytes) -> None:
        self.text(where, data, GPS_TEXT)
        self.leaks += [f"{where}: {what}" for what in image_location(data)]

    def done(self, request) -> None:
        figures.add(request, "secrets found", len(self.leaks))
        assert self.leaks == [], "\n".join(self.leaks[:40])


def private(path: Path, mode: int) -> str | None:
    got = stat.S_IMODE(path.stat().st_mode)
    return None if got == mode else f"{path}: {oct(got)}, not {oct(mode)}"


def check_state_modes(state: Path, cache: Path) -> list[str]:
    """Journals, locks, sessions and tokens 0600 in 0700 folders; the media cache too."""
    problems = []
    sensitive = [f for f in files_under(state) if f.suffix in (".sqlite", ".json", ".lock", ".sqlite-wal", ".sqlite-shm")
                 or f.name.endswith((".lock", "-wal", "-shm"))]
    assert sensitive, "no journal or credential file found"
    for f in sensitive + files_under(cache):
        problems += [p for p in (private(f, 0o600), private(f.parent, 0o700)) if p]
    return problems


def pindah(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """The real CLI under umask 000: private files must not rely on the artist's umask."""
    return subprocess.run([sys.executable, str(CHILD), *args], env=env, capture_output=True, text=True, timeout=300,
                          cwd=cwd, stdin=subprocess.DEVNULL, preexec_fn=lambda: os.umask(0))

