"""Reading an image's XMP packet: the rights and AI-training statement a file carries.

`read_xmp` parses a packet with the standard library's XML parser after refusing any DTD, so a
hostile file can't declare entities. `data_mining_of` is what an adapter that shows the artist
their files (the Cara kit) uses to say which ones carry the opt-out: it opens only JPEG, PNG
and WebP headers and never decodes pixels. The core's `pindah check-image` reads more
(`pindah.migrator.checkimage`) with the same parser.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Mapping

from PIL import Image

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
PLUS = "http://ns.useplus.org/ldf/xmp/1.0/"
PLUS_VOCAB = "http://ns.useplus.org/ldf/vocab/"
_RDF = "{%s}" % RDF
_CONTAINERS = (_RDF + "Alt", _RDF + "Seq", _RDF + "Bag")


def read_xmp(packet: bytes, namespaces: Mapping[str, str]) -> dict[str, list[str]]:
    """"prefix:Name" -> values, for every property of every rdf:Description (attributes, simple
    elements, resources and the items of Alt/Seq/Bag; the x-default item of an Alt first).
    `namespaces`: prefix -> URI of the properties wanted; others are left out."""
    head = packet[:4096].lower()
    if b"<!doctype" in head or b"<!entity" in packet.lower():
        raise ValueError("XMP packets never declare a DTD")
    try:
        root = ET.fromstring(packet.strip(b"\0 \n\r\t"))
    except ET.ParseError as exc:
        raise ValueError(f"XMP is not well-formed ({exc})") from None
    prefixes = {uri: prefix for prefix, uri in namespaces.items()}
    out: dict[str, list[str]] = {}

    def name(tag: str) -> str | None:
        match = re.match(r"^\{(.*)\}(.*)$", tag)
        return f"{prefixes[match[1]]}:{match[2]}" if match and match[1] in prefixes else None

    for desc in root.iter(_RDF + "Description"):
        for attr, value in desc.attrib.items():
            if (key := name(attr)) and not key.startswith("rdf:"):
                out.setdefault(key, []).append(value)
        for prop in desc:
            key = name(prop.tag)
            if key is None:
                continue
            items = [li for box in prop if box.tag in _CONTAINERS for li in box]
            items.sort(key=lambda li: li.get("{http://www.w3.org/XML/1998/namespace}lang") != "x-default")
            values = [li.text or "" for li in items] if items else \
                [prop.get(_RDF + "resource") or (prop.text or "").strip()]
            out.setdefault(key, []).extend(v for v in values if v)
    return out


def data_mining_of(path: Path) -> str | None:
    """The IPTC PLUS data-mining code ("DMI-PROHIBITED-AIMLTRAINING") a JPEG, PNG or WebP file
    states, or None when it states none or can't be read."""
    try:
        with Image.open(path, formats=("JPEG", "PNG", "WEBP")) as img:
            packet = img.info.get("xmp") or img.info.get("XML:com.adobe.xmp")
        if not packet:
            return None
        props = read_xmp(packet if isinstance(packet, bytes) else str(packet).encode("utf-8"),
                         {"rdf": RDF, "plus": PLUS})
    except (OSError, ValueError, Image.DecompressionBombError):
        return None
    values = props.get("plus:DataMining")
    return values[0].removeprefix(PLUS_VOCAB) if values else None
