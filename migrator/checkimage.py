"""`pindah check-image FILE...`: what an image file says about its maker, its use and its past.

For a file pindah wrote, or one downloaded back from a platform, to see what survived: the
rights and AI-training statement (IPTC PLUS data mining, creator, copyright, usage terms, ...,
read from the XMP packet), the EXIF Artist/Copyright, and whether the file gives away where it
was taken (GPS) or with what (camera and device fields), in EXIF or in XMP.

The XMP is parsed by the adapter toolkit's `read_xmp` (adapters/toolkit/xmp.py, which the
Cara kit also uses to show that its files carry the opt-out): the standard library's XML parser
after refusing any DTD, so a hostile file can't declare entities; nothing here decodes pixels.
"""

from __future__ import annotations

import io
import json
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

import click
from PIL import Image, ImageCms

from pindah.adapters.toolkit.xmp import read_xmp as toolkit_read_xmp

from . import sniff
from .imagefit import Refused, open_image
from .rights import DATA_MINING_WORDS, NAMESPACES, PLUS_VOCAB

EXIT_UNREADABLE = 2
_XMP_NS = {**NAMESPACES, "exif": "http://ns.adobe.com/exif/1.0/", "tiff": "http://ns.adobe.com/tiff/1.0/",
           "exifEX": "http://cipa.jp/exif/1.0/", "aux": "http://ns.adobe.com/exif/1.0/aux/"}
_GPS_IFD, _EXIF_IFD = 0x8825, 0x8769
_CAMERA_TAGS = {0x010F: "Make", 0x0110: "Model", 0x013C: "HostComputer"}
_CAMERA_EXIF_TAGS = {0xA430: "CameraOwnerName", 0xA431: "BodySerialNumber", 0xA432: "LensSpecification",
                     0xA433: "LensMake", 0xA434: "LensModel", 0xA435: "LensSerialNumber", 0x927C: "MakerNote"}
_CAMERA_XMP = ("tiff:Make", "tiff:Model", "exifEX:LensModel", "exifEX:BodySerialNumber", "aux:SerialNumber",
               "aux:Lens", "aux:LensModel")
_RIGHTS_XMP = {"creator": "dc:creator", "copyright": "dc:rights", "marked": "xmpRights:Marked",
               "web_statement": "xmpRights:WebStatement", "usage_terms": "xmpRights:UsageTerms",
               "credit": "photoshop:Credit", "data_mining": "plus:DataMining",
               "reservation": "plus:OtherConstraints"}


@dataclass
class ImageFacts:
    format: str
    width: int
    height: int
    colour_profile: str | None = None
    rights: dict[str, str] = field(default_factory=dict)  # creator, copyright, ... (see _RIGHTS_XMP)
    exif_artist: str | None = None
    exif_copyright: str | None = None
    gps: list[str] = field(default_factory=list)  # where the location is: "EXIF GPS", "XMP exif:GPS..."
    camera: list[str] = field(default_factory=list)  # camera/device fields present
    date_taken: bool = False
    orientation: int | None = None
    xmp_unreadable: bool = False

    @property
    def data_mining(self) -> str | None:
        """The PLUS code ("DMI-PROHIBITED-AIMLTRAINING"), or None when the file does not say."""
        value = self.rights.get("data_mining")
        return value.removeprefix(PLUS_VOCAB) if value else None


def inspect_image(data: bytes) -> ImageFacts:
    """Facts about an image's metadata. Raises OSError/ValueError for what isn't a readable image."""
    mime = sniff.mime_from_head(data[:sniff.HEAD_BYTES])
    if mime is None or sniff.type_of_mime(mime) != "image":
        raise ValueError("not an image pindah can read (JPEG, PNG, WebP, GIF, HEIC or AVIF)")
    try:
        with open_image(data) as img:  # the media pipeline's safe opener: known decoders only
            facts = ImageFacts(img.format or "?", img.width, img.height)
            facts.colour_profile = _profile_name(img.info.get("icc_profile"))
            exif = img.getexif()
            xmp = img.info.get("xmp") or img.info.get("XML:com.adobe.xmp")
    except Refused as refusal:
        raise ValueError(str(refusal)) from None
    _read_exif(exif, facts)
    if xmp:
        try:
            props = read_xmp(xmp if isinstance(xmp, bytes) else str(xmp).encode("utf-8"))
        except ValueError:
            facts.xmp_unreadable = True
            props = {}
        facts.rights = {name: "; ".join(props[prop]) for name, prop in _RIGHTS_XMP.items() if props.get(prop)}
        facts.gps += [f"XMP {p}" for p in props if p.startswith("exif:GPS") and p not in ("exif:GPSVersionID",)]
        facts.camera += [f"XMP {p}" for p in _CAMERA_XMP if props.get(p)]
        facts.date_taken = facts.date_taken or bool(props.get("exif:DateTimeOriginal"))
    return facts


def _read_exif(exif: Image.Exif, facts: ImageFacts) -> None:
    facts.exif_artist = _text(exif.get(0x013B))
    facts.exif_copyright = _text(exif.get(0x8298))
    facts.orientation = exif.get(0x0112)
    gps = exif.get_ifd(_GPS_IFD) if _GPS_IFD in exif else {}
    if gps or _GPS_IFD in exif:
        facts.gps.append("EXIF GPS" + (" (coordinates)" if 2 in gps or 4 in gps else ""))
    facts.camera += [f"EXIF {name}" for tag, name in _CAMERA_TAGS.items() if exif.get(tag)]
    sub = exif.get_ifd(_EXIF_IFD) if _EXIF_IFD in exif else {}
    facts.camera += [f"EXIF {name}" for tag, name in _CAMERA_EXIF_TAGS.items() if sub.get(tag)]
    facts.date_taken = bool(sub.get(0x9003) or exif.get(0x0132))


def read_xmp(packet: bytes) -> dict[str, list[str]]:
    """"prefix:Name" -> values of the properties check-image knows (see adapters/toolkit/xmp.py)."""
    return toolkit_read_xmp(packet, _XMP_NS)


def _text(value: object) -> str | None:
    if value is None:
        return None
    text = value.decode("ascii", "replace") if isinstance(value, bytes) else str(value)
    return text.strip("\0 ") or None


def _profile_name(icc: bytes | None) -> str | None:
    if not icc:
        return None
    try:
        return ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(icc))).strip() or "unnamed"
    except (ImageCms.PyCMSError, OSError, TypeError):
        return "unreadable"


# -- the command --------------------------------------------------------------------------------
def describe(facts: ImageFacts) -> list[tuple[str, str]]:
    """(label, words) lines for one file, in the order an artist would ask."""
    mining = facts.data_mining
    if mining:
        training = f"{DATA_MINING_WORDS.get(mining, 'unknown value')} (IPTC {mining})"
    else:
        training = "not stated in this file" + (" (its XMP could not be read)" if facts.xmp_unreadable else "")
    kind = {"WEBP": "WebP", "HEIF": "HEIF/HEIC"}.get(facts.format, facts.format)
    lines = [("format", f"{kind}, {facts.width}×{facts.height}"
              + (f", colour profile {facts.colour_profile}" if facts.colour_profile else ", no colour profile")),
             ("AI training", training)]
    words = {"creator": "creator", "copyright": "copyright", "web_statement": "rights page",
             "usage_terms": "usage terms", "reservation": "reservation", "credit": "credit"}
    lines += [(label, facts.rights[key]) for key, label in words.items() if facts.rights.get(key)]
    if not any(facts.rights.get(key) for key in words):
        lines.append(("rights", "none stated in XMP"))
    exif = [f'{label} "{value}"' for label, value in (("Artist", facts.exif_artist),
                                                      ("Copyright", facts.exif_copyright)) if value]
    lines.append(("EXIF rights", ", ".join(exif) if exif else "none"))
    lines.append(("GPS location", "PRESENT: " + ", ".join(facts.gps) if facts.gps else "none"))
    lines.append(("camera/device", "present: " + ", ".join(facts.camera) if facts.camera else "none"))
    lines.append(("date taken", "present" if facts.date_taken else "none"))
    if facts.orientation not in (None, 1):
        lines.append(("orientation", f"tag {facts.orientation}: some platforms will show it sideways"))
    return lines


@click.command("check-image")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the facts as JSON.")
def check_image_command(files: tuple[Path, ...], as_json: bool) -> None:
    """Show what an image file carries: rights, AI-training opt-out, GPS and camera data.

    Works on any JPEG, PNG or WebP, for example one downloaded back from a platform, to see
    what it kept of what pindah wrote.
    """
    unreadable = False
    found: list[dict[str, object]] = []
    for number, path in enumerate(files):
        try:
            facts = inspect_image(path.read_bytes())
        except OSError as exc:
            click.echo(f"{path}: cannot be read ({exc.strerror or exc})", err=True)
            unreadable = True
            continue
        except (ValueError, SyntaxError, EOFError) as exc:
            reason = (str(exc).splitlines() or [type(exc).__name__])[0][:160]
            click.echo(f"{path}: {reason}", err=True)
            unreadable = True
            continue
        if as_json:
            found.append({"file": str(path), **asdict(facts), "data_mining": facts.data_mining})
            continue
        click.echo(("\n" if number else "") + str(path))
        for label, words in describe(facts):
            click.echo(f"  {label:<14} {words}")
    if as_json:
        click.echo(json.dumps(found, ensure_ascii=False, indent=2))
    if unreadable:
        sys.exit(EXIT_UNREADABLE)
