"""Image type and pixel size come from one read of the file's beginning, in a folder or a ZIP.

`pindah inspect --posts` shows every file's type and size; on a ZIP export each member is a
compressed stream, so the header is read once, as a bounded prefix, never the whole file.
"""

from __future__ import annotations

import io
import zipfile

from PIL import Image

from pindah.migrator import sniff
from pindah.migrator.exportfs import ExportTree
from pindah.migrator.model import Media, MediaType


def _jpeg(size: tuple[int, int], exif_bytes: int = 0) -> bytes:
    out = io.BytesIO()
    exif = Image.Exif()
    if exif_bytes:
        exif[0x010E] = "x" * exif_bytes  # ImageDescription: a header longer than the first read
    Image.new("RGB", size, (200, 80, 40)).save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def _png(size: tuple[int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size).save(out, "PNG")
    return out.getvalue()


class CountingTree:
    """An export tree over a real ZIP that counts how often each member is opened."""

    def __init__(self, tree: ExportTree) -> None:
        self.tree, self.opens = tree, 0

    def exists(self, path: str) -> bool:
        return self.tree.exists(path)

    def size(self, path: str) -> int:
        return self.tree.size(path)

    def open(self, path: str):
        self.opens += 1
        return self.tree.open(path)


def _zip_export(tmp_path, files: dict[str, bytes]) -> ExportTree:
    path = tmp_path / "export.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return ExportTree.from_paths([path])


def test_a_zipped_image_shows_its_type_and_size_after_opening_the_member_once(tmp_path):
    with _zip_export(tmp_path, {"media/posts/a.jpg": _jpeg((640, 480))}) as tree:
        counting = CountingTree(tree)
        media = Media("media/posts/a.jpg", tree=counting)  # type: ignore[arg-type]
        shown = media.as_dict()
    assert (shown["type"], shown["mime"], shown["width"], shown["height"]) == ("image", "image/jpeg", 640, 480)
    assert counting.opens == 1


def test_a_header_longer_than_the_first_read_still_gives_the_size(tmp_path):
    big = _jpeg((321, 123), exif_bytes=3 * sniff.PROBE_BYTES)
    assert big.index(b"\xff\xc0") > sniff.PROBE_BYTES  # the size marker lies past the first read
    with _zip_export(tmp_path, {"a.jpg": big, "b.png": _png((7, 9))}) as tree:
        assert sniff.probe(lambda: tree.open("a.jpg")) == ("image/jpeg", (321, 123))
        assert sniff.image_size(lambda: tree.open("a.jpg")) == (321, 123)
        assert sniff.probe(lambda: tree.open("b.png")) == ("image/png", (7, 9))


def test_a_truncated_or_broken_image_keeps_its_type_without_a_size():
    jpeg = _jpeg((50, 40))
    assert sniff.probe(lambda: io.BytesIO(jpeg[:200])) == ("image/jpeg", (None, None))
    assert sniff.probe(lambda: io.BytesIO(b"\xff\xd8\xff" + bytes(10))) == ("image/jpeg", (None, None))


def test_videos_and_unreadable_files_are_never_parsed_as_images():
    video = b"\x00\x00\x00\x18ftypisom" + bytes(52)
    assert sniff.probe(lambda: io.BytesIO(video)) == ("video/mp4", (None, None))

    def broken():
        raise OSError("bad member")

    assert sniff.probe(broken) == (None, (None, None))
    media = Media("clip.mp4", tree=None)
    assert (media.type, media.width) == (MediaType.VIDEO, None)  # missing: named, never opened


def test_the_first_bytes_of_a_zip_member_are_its_own_whatever_the_compression(tmp_path):
    data = _jpeg((64, 48), exif_bytes=40_000) + bytes(5000)
    path = tmp_path / "mixed.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("stored.jpg", data, compress_type=zipfile.ZIP_STORED)
        zf.writestr("deflated.jpg", data, compress_type=zipfile.ZIP_DEFLATED)
        zf.writestr("tiny.txt", b"abc", compress_type=zipfile.ZIP_DEFLATED)
        zf.writestr("bz.jpg", data, compress_type=zipfile.ZIP_BZIP2)
    with ExportTree.from_paths([path]) as tree:
        for name in ("stored.jpg", "deflated.jpg", "bz.jpg"):
            for size in (1, 64, 16384, 100_000):
                assert tree.read_head(name, size) == data[:size], (name, size)
        assert tree.read_head("tiny.txt", 64) == b"abc"
        shown = Media("deflated.jpg", tree=tree).as_dict()  # type and size from read_head
        assert (shown["mime"], shown["width"], shown["height"]) == ("image/jpeg", 64, 48)
