"""Rights and AI-training opt-out inside every published image: JPEG, PNG and WebP round trips,
the [rights] settings and first-run questions, protected (Glazed) files, `pindah check-image`."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from PIL import Image, ImageCms

from pindah.adapters.contract import Capabilities
from pindah.migrator.checkimage import check_image_command, inspect_image
from pindah.migrator.errors import PindahError
from pindah.migrator.imagefit import SaveExtras
from pindah.migrator.model import Media
from pindah.migrator.rights import Rights, ascii_fold, load_rights
from pindah.migrator.rights_setup import rights_for_run, save_rights
from pindah.migrator.stamp import PASSED, REENCODED, Stamp
from tests.exportbuilder.memory import MemoryTree

pytestmark = pytest.mark.cara

FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}
NS = {"rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#", "dc": "http://purl.org/dc/elements/1.1/",
      "xmpRights": "http://ns.adobe.com/xap/1.0/rights/", "photoshop": "http://ns.adobe.com/photoshop/1.0/",
      "plus": "http://ns.useplus.org/ldf/xmp/1.0/"}
FULL = {"creator": "Ayu Sékar <&> \"Studio\"", "copyright": "© 2024 Ayu Sékar & friends. All rights reserved.",
        "web_statement": "https://ayu.example/terms?lang=en&v=2", "usage_terms": "Line one.\nLine two <b>",
        "reservation": "No TDM. Art. 4(3) DSM reserved.", "credit": "Ayu Sékar / Kopi Press"}




def colour_profile() -> bytes:
    """A real ICC profile (Pillow never makes one up on save, so "kept" means kept)."""
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


ICC = colour_profile()


def phone_photo() -> bytes:
    """A 160×90 JPEG stored sideways (orientation 6) with GPS, camera tags and an ICC profile.
    Upright it is 90×160 with a blue block in its top-left corner."""
    upright = Image.new("RGB", (90, 160), (230, 230, 220))
    upright.paste((0, 0, 255), (0, 0, 30, 30))
    stored = upright.transpose(Image.Transpose.ROTATE_90)  # what EXIF 6 turns back upright
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010F], exif[0x0110] = "PindahCam", "Model X"
    exif[0x8825] = {1: "N", 2: (48.0, 51.0, 29.0), 3: "E", 4: (2.0, 17.0, 40.0)}
    buf = io.BytesIO()
    stored.save(buf, "JPEG", quality=95, exif=exif.tobytes(), icc_profile=ICC)
    return buf.getvalue()


def prepare(data: bytes, accepted: str, tmp_path: Path, rights: Rights, path: str = "media/posts/1.jpg",
            **caps: object):
    limits = Capabilities(image_mime_types=frozenset({accepted}), **caps)  # type: ignore[arg-type]
    return rights.stamp().prepare(Media(path, MemoryTree({path: data})), limits, tmp_path / "cache")


def xmp_fields(packet: bytes) -> dict[str, str]:
    """The test's own reading of the packet, with nothing but xml.etree."""
    root = ET.fromstring(packet)
    desc = root.find(".//rdf:Description", NS)
    assert desc is not None

    def one(path: str) -> str | None:
        found = desc.find(path, NS)
        return None if found is None else found.text

    return {k: v for k, v in {
        "creator": one("dc:creator/rdf:Seq/rdf:li"), "copyright": one("dc:rights/rdf:Alt/rdf:li"),
        "marked": one("xmpRights:Marked"), "web_statement": one("xmpRights:WebStatement"),
        "usage_terms": one("xmpRights:UsageTerms/rdf:Alt/rdf:li"), "credit": one("photoshop:Credit"),
        "data_mining": one("plus:DataMining"), "reservation": one("plus:OtherConstraints/rdf:Alt/rdf:li"),
    }.items() if v is not None}


def expected_fields(rights: Rights) -> dict[str, str]:
    """What the packet must hold: every field that is set, nothing else."""
    return {k: v for k, v in _all_fields(rights).items() if v}


def _all_fields(rights: Rights) -> dict[str, str]:
    return {"creator": rights.creator, "copyright": rights.copyright, "marked": "True",
            "web_statement": rights.web_statement, "usage_terms": rights.usage_terms, "credit": rights.credit,
            "data_mining": f"http://ns.useplus.org/ldf/vocab/{rights.data_mining}",
            "reservation": rights.reservation}


def raw_xmp(img: Image.Image) -> bytes:
    xmp = img.info.get("xmp")
    assert xmp, "no XMP in the output"
    return xmp if isinstance(xmp, bytes) else xmp.encode("utf-8")


# -- round trips ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("mime", list(FORMATS))
def test_phone_photo_comes_out_upright_clean_and_carrying_every_field(tmp_path: Path, mime: str) -> None:
    rights = load_rights({"rights": FULL})
    result = prepare(phone_photo(), mime, tmp_path, rights)
    assert result.prepared is not None, result.skipped
    data = result.prepared.path.read_bytes()
    with Image.open(io.BytesIO(data)) as out:
        assert out.format == FORMATS[mime]
        exif = out.getexif()
        assert 0x8825 not in exif and 0x0112 not in exif  # no GPS, no orientation tag
        assert 0x010F not in exif and 0x0110 not in exif  # no camera
        assert exif[0x013B] == 'Ayu Sekar <&> "Studio"'  # ASCII-folded Artist
        assert exif[0x8298] == "(c) 2024 Ayu Sekar & friends. All rights reserved."
        assert out.info.get("icc_profile") == ICC  # byte-identical colour profile
        assert out.size == (90, 160)  # turned upright...
        rgb = out.convert("RGB")
        assert rgb.getpixel((5, 5))[2] > 200 and rgb.getpixel((80, 150))[2] < 240  # ...the right way
        packet = raw_xmp(out)
    assert xmp_fields(packet) == expected_fields(rights)
    assert b"PindahCam" not in data and b"GPS" not in packet


@pytest.mark.parametrize("mime", list(FORMATS))
def test_a_fitting_file_keeps_its_exact_pixels_and_gains_the_metadata(tmp_path: Path, mime: str) -> None:
    picture = Image.radial_gradient("L").convert("RGB").resize((64, 48))
    buf = io.BytesIO()
    picture.save(buf, FORMATS[mime], icc_profile=ICC, **({"quality": 80} if mime != "image/png" else {}))
    source = buf.getvalue()
    rights = load_rights({"rights": {"creator": "Ayu"}})
    result = prepare(source, mime, tmp_path, rights)
    assert result.prepared is not None and result.actions == []  # repacked, not re-encoded
    with Image.open(io.BytesIO(source)) as before, Image.open(result.prepared.path) as after:
        assert before.tobytes() == after.tobytes()
        assert after.info.get("icc_profile") == ICC
        assert xmp_fields(raw_xmp(after)) == expected_fields(rights)


def test_the_packet_escapes_and_cleans_what_the_artist_typed() -> None:
    rights = load_rights({"rights": {**FULL, "creator": "A\x00y\x07u </x:xmpmeta> ]]> &amp;"}})
    fields = xmp_fields(rights.xmp() or b"")
    assert fields["creator"] == "Ayu </x:xmpmeta> ]]> &amp;"
    assert fields["usage_terms"] == "Line one.\nLine two <b>"


def test_exiftool_reads_the_same_fields_and_validates_the_files(tmp_path: Path) -> None:
    exiftool = shutil.which("exiftool")
    if exiftool is None:
        pytest.skip("exiftool is not installed (apt-get install libimage-exiftool-perl)")
    rights = load_rights({"rights": FULL})
    for mime in FORMATS:
        result = prepare(phone_photo(), mime, tmp_path, rights)
        assert result.prepared is not None
        path = str(result.prepared.path)
        tags = json.loads(subprocess.run([exiftool, "-j", "-G1", "-a", path], capture_output=True, text=True,
                                         check=True).stdout)[0]
        assert tags["XMP-plus:DataMining"] == "http://ns.useplus.org/ldf/vocab/DMI-PROHIBITED-AIMLTRAINING" \
            or tags["XMP-plus:DataMining"] == "Prohibited for AI/ML training"  # ExifTool 13 decodes it
        assert tags["XMP-plus:OtherConstraints"] == rights.reservation
        assert tags["XMP-dc:Creator"] == rights.creator and tags["XMP-dc:Rights"] == rights.copyright
        assert tags["XMP-xmpRights:WebStatement"] == rights.web_statement
        assert tags["XMP-xmpRights:UsageTerms"] == rights.usage_terms
        assert tags["XMP-xmpRights:Marked"] is True and tags["XMP-photoshop:Credit"] == rights.credit
        assert tags["IFD0:Artist"] == 'Ayu Sekar <&> "Studio"'
        assert not [k for k in tags if k.startswith(("GPS:", "XMP-exif:GPS")) or k in ("IFD0:Make", "IFD0:Model")]
        assert "IFD0:Orientation" not in tags
        checked = subprocess.run([exiftool, "-validate", "-warning", "-a", path], capture_output=True, text=True).stdout
        assert "Validate                        : OK" in checked, (mime, checked)


# -- EXIF text ---------------------------------------------------------------------------------------
def test_ascii_folding_keeps_names_readable_and_never_writes_question_marks() -> None:
    assert ascii_fold("© 2024 Łukasz Żółć — Ærøskøbing") == "(c) 2024 Lukasz Zolc - AEroskobing"
    assert ascii_fold("Ayu 🎨 Sekar") == "Ayu Sekar"
    assert ascii_fold("佐藤 ゆい") is None  # no ASCII spelling: left out of EXIF, kept in XMP
    rights = load_rights({"rights": {"creator": "佐藤 ゆい", "copyright": "© 佐藤"}})
    assert rights.exif() is None and xmp_fields(rights.xmp() or b"")["creator"] == "佐藤 ゆい"


# -- settings ----------------------------------------------------------------------------------------
def test_without_settings_files_still_say_no_to_ai_training_but_name_nobody() -> None:
    rights = load_rights({})
    assert rights.data_mining == "DMI-PROHIBITED-AIMLTRAINING" and rights.creator == ""
    fields = xmp_fields(rights.xmp() or b"")
    assert "creator" not in fields and "copyright" not in fields
    assert fields["data_mining"].endswith("DMI-PROHIBITED-AIMLTRAINING") and "2019/790" in fields["reservation"]
    assert rights.exif() is None


@pytest.mark.parametrize("given, expected", [
    ("off", None), (False, None), ("dmi-prohibited-genaimltraining", "DMI-PROHIBITED-GENAIMLTRAINING"),
    ("http://ns.useplus.org/ldf/vocab/DMI-ALLOWED", "DMI-ALLOWED")])
def test_data_mining_takes_every_vocabulary_value_or_off(given: object, expected: str | None) -> None:
    rights = load_rights({"rights": {"data_mining": given}})
    assert rights.data_mining == expected
    fields = xmp_fields(rights.xmp() or b"")
    assert fields.get("data_mining", "").endswith(expected or "") and ("data_mining" in fields) == bool(expected)


@pytest.mark.parametrize("section, words", [
    ({"data_mining": "maybe"}, "not an IPTC data-mining value"),
    ({"data_mining": "DMI-PROHIBITED-SEELINKEDRIGHTSEXPR"}, "rights expression"),
    ({"data_mining": "DMI-PROHIBITED-SEECONSTRAINT", "reservation": ""}, "needs a reservation"),
    ({"web_statement": "ayu.example"}, "not a web address"),
    ({"creator": ["a"]}, "must be text"),
    ({"usage_terms": "x" * 5000}, "characters long")])
def test_bad_settings_are_one_clear_error(section: dict, words: str) -> None:
    with pytest.raises(PindahError, match=words):
        load_rights({"rights": section})


def test_an_empty_value_leaves_the_field_out_and_the_environment_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PINDAH_RIGHTS_CREATOR", "Env Name")
    rights = load_rights({"rights": {"creator": "File Name", "usage_terms": "", "data_mining": "off",
                                     "reservation": "", "copyright": "", "credit": ""}})
    assert rights.creator == "Env Name"
    assert set(xmp_fields(rights.xmp() or b"")) == {"creator", "marked"}


def test_everything_off_writes_no_metadata_at_all() -> None:
    rights = load_rights({"rights": {"data_mining": "off", "usage_terms": "", "reservation": ""}})
    assert rights.stamp().extras == SaveExtras()


# -- the first run -------------------------------------------------------------------------------------
def _first_run(config: dict, path: Path, answers: str, interactive: bool = True) -> tuple[Rights | None, str]:
    seen: list[Rights] = []

    @click.command()
    def cmd() -> None:
        seen.append(rights_for_run(config, interactive=interactive, config_path=path))

    result = CliRunner().invoke(cmd, input=answers)
    assert result.exit_code == 0, result.output
    return (seen[0] if seen else None), result.output


def test_first_run_asks_once_saves_and_keeps_the_config_valid(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[targets.folder]\ntitle = "Portfolio"', encoding="utf-8")  # no final newline
    answers = 'Ayu "Kopi" Sékar\n\nhttps://ayu.example/terms\ny\nglazed/*, *_glazed.png\ny\n'
    rights, output = _first_run({}, path, answers)
    assert rights is not None and rights.creator == 'Ayu "Kopi" Sékar'
    assert rights.copyright == '© Ayu "Kopi" Sékar. All rights reserved.'
    assert rights.protected == ("glazed/*", "*_glazed.png") and rights.data_mining == "DMI-PROHIBITED-AIMLTRAINING"
    saved = tomllib.loads(path.read_text(encoding="utf-8"))
    assert saved["targets"]["folder"]["title"] == "Portfolio"
    assert saved["rights"]["creator"] == 'Ayu "Kopi" Sékar'
    assert saved["rights"]["protected"] == ["glazed/*", "*_glazed.png"]
    again, output = _first_run(saved, path, "")
    assert again == rights and output == ""  # asked once


def test_first_run_can_turn_the_opt_out_off_and_not_save(tmp_path: Path) -> None:
    path = tmp_path / "none.toml"
    rights, _ = _first_run({}, path, "\n\n\nn\n\nn\n")
    assert rights is not None and rights.data_mining is None and rights.creator == ""
    assert not path.exists()


def test_non_interactive_runs_never_ask_and_use_the_safe_defaults(tmp_path: Path) -> None:
    rights, output = _first_run({}, tmp_path / "c.toml", "", interactive=False)
    assert rights == Rights.from_settings() and output == ""
    assert rights.data_mining == "DMI-PROHIBITED-AIMLTRAINING" and not rights.creator


def test_saving_refuses_to_break_a_config(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('title = "unterminated', encoding="utf-8")
    with pytest.raises(PindahError, match="could not be added"):
        save_rights(path, {"creator": "x"})
    assert path.read_text(encoding="utf-8") == 'title = "unterminated'


# -- protected (Glazed) files -------------------------------------------------------------------------
def test_protected_patterns_match_folders_and_names_in_any_case() -> None:
    stamp = Stamp(protected=("glazed/*", "*_GLAZED.*"))
    assert stamp.is_protected("media/posts/202401/Glazed/a.png")
    assert stamp.is_protected("media/posts/202401/piece_glazed.jpg")
    assert not stamp.is_protected("media/posts/202401/unglazed.jpg")


def test_a_protected_file_passes_through_untouched_and_the_report_says_so(tmp_path: Path) -> None:
    noise = Image.effect_noise((300, 200), 60).convert("RGB")  # like Glaze's: fragile to re-encoding
    buf = io.BytesIO()
    noise.save(buf, "PNG")
    rights = load_rights({"rights": {"creator": "Ayu", "protected": ["*glazed*"]}})
    result = prepare(buf.getvalue(), "image/png", tmp_path, rights, path="glazed/noise.png")
    assert result.prepared is not None and result.actions == [PASSED]
    with Image.open(result.prepared.path) as out:
        assert out.tobytes() == noise.tobytes() and out.info.get("xmp")
    # Over this platform's byte limit there is no other way: re-encoded, and said so.
    small = prepare(buf.getvalue(), "image/jpeg", tmp_path, rights, path="glazed/noise.png",
                    image_max_bytes=30_000)
    assert small.prepared is not None and small.actions[-1] == REENCODED
    assert any(a.startswith("converted") for a in small.actions)
    plain = prepare(buf.getvalue(), "image/png", tmp_path, rights, path="other/noise.png")
    assert PASSED not in plain.actions and REENCODED not in plain.actions


# -- pindah check-image ------------------------------------------------------------------------------
def test_check_image_shows_the_opt_out_and_no_gps_for_a_published_file(tmp_path: Path) -> None:
    rights = load_rights({"rights": FULL})
    outputs = [prepare(phone_photo(), mime, tmp_path, rights).prepared for mime in FORMATS]
    source = tmp_path / "phone.jpg"
    source.write_bytes(phone_photo())
    result = CliRunner().invoke(check_image_command, [str(p.path) for p in outputs if p] + [str(source)])
    assert result.exit_code == 0, result.output
    blocks = result.output.strip().split("\n\n")
    assert len(blocks) == 4
    for block in blocks[:3]:
        assert "AI training    prohibited for AI/ML training (IPTC DMI-PROHIBITED-AIMLTRAINING)" in block
        assert "GPS location   none" in block and "camera/device  none" in block
        assert 'creator        Ayu Sékar <&> "Studio"' in block
    assert "GPS location   PRESENT" in blocks[3] and "EXIF Make" in blocks[3]
    assert "AI training    not stated in this file" in blocks[3] and "orientation" in blocks[3]


def test_check_image_reads_xmp_written_by_other_tools_as_attributes(tmp_path: Path) -> None:
    packet = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
              b'<rdf:Description rdf:about="" xmlns:plus="http://ns.useplus.org/ldf/xmp/1.0/" '
              b'xmlns:exif="http://ns.adobe.com/exif/1.0/" '
              b'plus:DataMining="http://ns.useplus.org/ldf/vocab/DMI-PROHIBITED" exif:GPSLatitude="48,51.5N"/>'
              b"</rdf:RDF></x:xmpmeta>")
    buf = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buf, "JPEG", xmp=packet)
    facts = inspect_image(buf.getvalue())
    assert facts.data_mining == "DMI-PROHIBITED" and facts.gps == ["XMP exif:GPSLatitude"]


def test_check_image_refuses_unreadable_files_in_one_line_with_exit_2(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    hostile = tmp_path / "entity.jpg"
    buf = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buf, "JPEG", xmp=b'<!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>')
    hostile.write_bytes(buf.getvalue())
    result = CliRunner().invoke(check_image_command, [str(text), str(tmp_path / "missing.png"), str(hostile)])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert lines[0] == f"{text}: not an image pindah can read (JPEG, PNG, WebP, GIF, HEIC or AVIF)"
    assert lines[1].startswith(f"{tmp_path / 'missing.png'}: cannot be read")
    assert any("its XMP could not be read" in line for line in lines)
