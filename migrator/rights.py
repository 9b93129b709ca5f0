"""The artist's rights and AI-training opt-out, carried inside every image pindah publishes.

This room reads the `[rights]` settings into a `Rights` value and turns it into what the media
pipeline's final save writes (`SaveExtras`, via `Rights.stamp()`):

* an XMP packet with the IPTC PLUS data-mining statement (`plus:DataMining`, default
  `DMI-PROHIBITED-AIMLTRAINING`, and `plus:OtherConstraints`, the reservation in words), the
  creator (`dc:creator`), the copyright notice (`dc:rights`), `xmpRights:Marked`,
  `xmpRights:WebStatement`, `xmpRights:UsageTerms` and `photoshop:Credit`;
* a tiny EXIF block with only Artist and Copyright. EXIF text is ASCII, so these are folded
  ("©" becomes "(c)", "é" becomes "e"); a name that can't be spelled in ASCII is left out of
  EXIF rather than mangled, since XMP carries it whole.

Nothing here decides which files get it or how: every published image gets the same stamp
(`migrator.stamp`), the first-run questions are `migrator.rights_setup`'s.

Settings: a key that is absent takes its default; a key set to "" leaves that field out. With no
`[rights]` at all the defaults apply: AI training prohibited, no name (see config.example.toml).
Reference: /work/shared/reference/cara-and-ai-optout.md §3.1 and §4.
"""

from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape

from PIL import Image

from .config import setting
from .errors import PindahError
from .imagefit import SaveExtras
from .stamp import Stamp

SECTION = "rights"
PLUS_VOCAB = "http://ns.useplus.org/ldf/vocab/"
DEFAULT_DATA_MINING = "DMI-PROHIBITED-AIMLTRAINING"

# IPTC PLUS "Data Mining" vocabulary -> the sentence pindah writes by default for it (None: no
# prohibition to explain). The two "SEE...RIGHTSEXPR" values point at rights-expression fields
# pindah does not write, so they are refused rather than left pointing at nothing.
DATA_MINING: dict[str, str | None] = {
    "DMI-PROHIBITED-AIMLTRAINING": "Not to be used to train AI or machine-learning models.",
    "DMI-PROHIBITED-GENAIMLTRAINING": "Not to be used to train generative AI models.",
    "DMI-PROHIBITED-EXCEPTSEARCHENGINEINDEXING": "No text and data mining, except indexing by search engines.",
    "DMI-PROHIBITED": "No text and data mining of any kind.",
    "DMI-PROHIBITED-SEECONSTRAINT": "Text and data mining only as stated in these constraints.",
    "DMI-ALLOWED": None,
    "DMI-UNSPECIFIED": None,
}
DATA_MINING_WORDS = {
    "DMI-PROHIBITED-AIMLTRAINING": "prohibited for AI/ML training",
    "DMI-PROHIBITED-GENAIMLTRAINING": "prohibited for generative AI/ML training",
    "DMI-PROHIBITED-EXCEPTSEARCHENGINEINDEXING": "prohibited except for search engine indexing",
    "DMI-PROHIBITED": "prohibited",
    "DMI-PROHIBITED-SEECONSTRAINT": "prohibited, see the other constraints",
    "DMI-PROHIBITED-SEEEMBEDDEDRIGHTSEXPR": "prohibited, see the embedded rights expression",
    "DMI-PROHIBITED-SEELINKEDRIGHTSEXPR": "prohibited, see the linked rights expression",
    "DMI-ALLOWED": "allowed",
    "DMI-UNSPECIFIED": "not specified",
}
OFF_WORDS = ("off", "no", "none", "false", "0")
# Art. 4(3) of the EU copyright directive is where a machine-readable reservation has legal force.
EU_RESERVATION = "Rights reserved under Art. 4(3) of Directive (EU) 2019/790 (text and data mining)."
MAX_FIELD = 2000  # characters: JPEG holds the whole packet in one 64 KB segment
KEYS = ("creator", "copyright", "web_statement", "data_mining", "reservation", "usage_terms", "credit",
        "protected")

_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_URL = re.compile(r"^https?://[^\s<>\"]+$", re.IGNORECASE)


@dataclass(frozen=True)
class Rights:
    """What every published image says about its maker and its use. "" means "leave out"."""

    creator: str = ""
    copyright: str = ""  # the notice, e.g. "© 2024 Ayu Sekar. All rights reserved."
    web_statement: str = ""  # URL of a page with the artist's terms
    data_mining: str | None = DEFAULT_DATA_MINING  # a PLUS code; None = no statement
    reservation: str = ""  # plus:OtherConstraints
    usage_terms: str = ""
    credit: str = ""
    protected: tuple[str, ...] = field(default=())  # globs of already protected (e.g. glazed) files

    @classmethod
    def from_settings(cls, **given: Any) -> "Rights":
        """Rights from the settings the artist gave; each one not given is derived as documented
        (`Rights.from_settings()` alone is the safe default: AI training prohibited, no name)."""
        creator = str(given.get("creator", ""))
        mining = given.get("data_mining", DEFAULT_DATA_MINING)
        sentence = DATA_MINING.get(mining) if mining else None
        derived = {
            "copyright": f"© {creator}. All rights reserved." if creator else "",
            "reservation": f"{sentence} {EU_RESERVATION}" if sentence else "",
            "usage_terms": "All rights reserved." + (f" {sentence}" if sentence else ""),
            "credit": creator,
        }
        return cls(**{**derived, **given})

    # -- what the files carry ----------------------------------------------------------------
    @property
    def data_mining_uri(self) -> str | None:
        return PLUS_VOCAB + self.data_mining if self.data_mining else None

    @property
    def is_empty(self) -> bool:
        return not any((self.creator, self.copyright, self.web_statement, self.data_mining,
                        self.reservation, self.usage_terms, self.credit))

    def xmp(self) -> bytes | None:
        """The XMP packet (UTF-8), or None when there is nothing to say."""
        return None if self.is_empty else build_xmp(self)

    def exif(self) -> bytes | None:
        """EXIF with Artist (0x013B) and Copyright (0x8298), ASCII-folded; None if neither.

        The four tags EXIF requires in every JPEG's IFD0 ride along (72 dpi, centred chroma:
        what a JPEG without them is read as anyway), so `exiftool -validate` finds nothing to
        say; they tell nothing about the artist, the place or the camera."""
        exif = Image.Exif()
        for tag, text in ((0x013B, self.creator), (0x8298, self.copyright)):
            folded = ascii_fold(text)
            if folded:
                exif[tag] = folded
        if not len(exif):
            return None
        exif.update({0x011A: 72.0, 0x011B: 72.0, 0x0128: 2, 0x0213: 1})  # X/YResolution, unit, positioning
        return exif.tobytes()

    def stamp(self) -> Stamp:
        return Stamp(SaveExtras(xmp=self.xmp(), exif=self.exif()), self.protected)


# -- settings -------------------------------------------------------------------------------------
def has_rights_settings(config: dict[str, Any]) -> bool:
    """Whether the artist has said anything about rights (a [rights] table or PINDAH_RIGHTS_*)."""
    return isinstance(config.get(SECTION), dict) or any(
        f"PINDAH_RIGHTS_{key.upper()}" in os.environ for key in KEYS)


def load_rights(config: dict[str, Any]) -> Rights:
    """`[rights]` (file, or PINDAH_RIGHTS_* in the environment) -> Rights; defaults if absent."""
    given: dict[str, Any] = {}
    for key in KEYS:
        raw = setting(config, SECTION, key, None)
        if raw is None:
            continue
        if key == "protected":
            given[key] = _patterns(raw)
        elif key == "data_mining":
            given[key] = parse_data_mining(raw)
        else:
            given[key] = _text(key, raw)
    if given.get("web_statement") and not _URL.match(given["web_statement"]):
        raise PindahError(f"[rights] web_statement {given['web_statement']!r} is not a web address",
                          "give a full URL starting with https://, or leave it empty")
    rights = Rights.from_settings(**given)
    if rights.data_mining == "DMI-PROHIBITED-SEECONSTRAINT" and not rights.reservation:
        # "See the constraints" must have constraints to point at.
        raise PindahError("[rights] data_mining = DMI-PROHIBITED-SEECONSTRAINT needs a reservation text",
                          "write the constraints in [rights] reservation")
    return rights


def parse_data_mining(raw: object) -> str | None:
    """A PLUS code from "DMI-PROHIBITED-AIMLTRAINING", its full URI, any case; None for off."""
    if raw is False:
        return None
    text = str(raw).strip()
    if text.lower() in OFF_WORDS:
        return None
    if not text:
        return DEFAULT_DATA_MINING
    code = text.removeprefix(PLUS_VOCAB).upper()
    if code in DATA_MINING:
        return code
    if code in DATA_MINING_WORDS:
        raise PindahError(f"[rights] data_mining {code} points at a rights expression pindah does not write",
                          "use DMI-PROHIBITED-SEECONSTRAINT with a reservation text instead")
    raise PindahError(f"[rights] data_mining {text!r} is not an IPTC data-mining value",
                      f"use one of {', '.join(DATA_MINING)}, or \"off\"")


def _text(key: str, raw: object) -> str:
    if not isinstance(raw, (str, int, float)) or isinstance(raw, bool):
        raise PindahError(f"[rights] {key} must be text", "put it in quotes in your config file")
    text = clean(str(raw))
    if len(text) > MAX_FIELD:
        raise PindahError(f"[rights] {key} is {len(text)} characters long",
                          f"keep it under {MAX_FIELD}: it is written into every image")
    return text


def _patterns(raw: object) -> tuple[str, ...]:
    items = raw if isinstance(raw, list) else str(raw).split(",")  # env: comma-separated
    return tuple(p for p in (str(item).strip() for item in items) if p)


# -- the XMP packet -------------------------------------------------------------------------------
NAMESPACES = {
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "dc": "http://purl.org/dc/elements/1.1/",
    "xmpRights": "http://ns.adobe.com/xap/1.0/rights/",
    "photoshop": "http://ns.adobe.com/photoshop/1.0/",
    "plus": "http://ns.useplus.org/ldf/xmp/1.0/",
}
_PADDING = ("\n" + " " * 99) * 10  # ~1 KB: lets an editor change the packet in place (XMP spec)


def clean(text: str) -> str:
    """Text XML can hold: no control characters (other than tab/newline), no lone surrogates."""
    return _XML_ILLEGAL.sub("", text.replace("\r\n", "\n").replace("\r", "\n")).strip()


def build_xmp(rights: Rights) -> bytes:
    """The packet. Every value is escaped; properties are elements so newlines survive."""
    def simple(name: str, value: str) -> str:
        return f"   <{name}>{escape(clean(value))}</{name}>\n" if value else ""

    def container(name: str, kind: str, value: str) -> str:
        if not value:
            return ""
        lang = ' xml:lang="x-default"' if kind == "Alt" else ""
        return (f"   <{name}>\n    <rdf:{kind}>\n     <rdf:li{lang}>{escape(clean(value))}</rdf:li>\n"
                f"    </rdf:{kind}>\n   </{name}>\n")

    declarations = "".join(f'\n    xmlns:{prefix}="{uri}"' for prefix, uri in NAMESPACES.items() if prefix != "rdf")
    body = (
        container("dc:creator", "Seq", rights.creator)
        + container("dc:rights", "Alt", rights.copyright)
        + simple("xmpRights:Marked", "True")
        + simple("xmpRights:WebStatement", rights.web_statement)
        + container("xmpRights:UsageTerms", "Alt", rights.usage_terms)
        + simple("photoshop:Credit", rights.credit)
        + simple("plus:DataMining", rights.data_mining_uri or "")
        + container("plus:OtherConstraints", "Alt", rights.reservation)
    )
    packet = (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="pindah">\n'
        f' <rdf:RDF xmlns:rdf="{NAMESPACES["rdf"]}">\n'
        f'  <rdf:Description rdf:about=""{declarations}>\n{body}  </rdf:Description>\n'
        " </rdf:RDF>\n</x:xmpmeta>" + _PADDING + '\n<?xpacket end="w"?>'
    )
    return packet.encode("utf-8")


# -- EXIF text --------------------------------------------------------------------------------------
_FOLD = str.maketrans({
    "©": "(c)", "℗": "(p)", "®": "(R)", "ß": "ss", "Æ": "AE", "æ": "ae", "Œ": "OE", "œ": "oe", "Ø": "O",
    "ø": "o", "Ł": "L", "ł": "l", "Đ": "D", "đ": "d", "Ð": "D", "ð": "d", "Þ": "Th", "þ": "th", "ı": "i",
    "‘": "'", "’": "'", "‚": "'", "“": '"', "”": '"', "„": '"', "«": '"', "»": '"', "–": "-", "—": "-",
    "‐": "-", "‑": "-", "…": "...", "·": "-", "•": "-", "\u00a0": " ", "\u202f": " ",
})


def ascii_fold(text: str) -> str | None:
    """`text` spelled in printable ASCII, or None if a letter or digit has no ASCII spelling
    (a name in another script is better left out of EXIF than turned into "???")."""
    out: list[str] = []
    for ch in unicodedata.normalize("NFKD", text.translate(_FOLD)):
        if " " <= ch <= "~":
            out.append(ch)
        elif ch in "\t\n":
            out.append(" ")
        elif unicodedata.category(ch)[0] in "LN":
            return None
        # marks (the accents NFKD split off), symbols and emoji are dropped
    folded = " ".join("".join(out).split())
    return folded or None
