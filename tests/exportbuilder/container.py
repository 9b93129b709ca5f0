"""Packs a written export folder the way Meta ships it, and writes hostile archives.

Good containers: one ZIP (optionally under a wrapper folder), or several ZIP parts where the
metadata sits in part 1 and the media it points to in the others (`instagram-formats.md`
§1.1), always with explicit directory entries as Meta writes them.

Bad containers, for the refusal tests: zip-slip member names, a zip bomb, a truncated
download, a member flagged as encrypted, and plain garbage named `.zip`.
"""

from __future__ import annotations

import random
import shutil
import struct
import zipfile
import zlib
from pathlib import Path, PurePosixPath

# Top-level folders that hold media files in any layout; everything else is metadata.
MEDIA_TOPS = {"media", "photos", "videos", "stories", "profile", "direct"}


def _files(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def _write(zf: zipfile.ZipFile, folder: Path, rels: list[str], wrapper: str | None) -> None:
    """Add `rels` (export-relative) with a directory entry for every folder on their way."""
    prefix = f"{wrapper.strip('/')}/" if wrapper else ""
    made: set[str] = set()
    for rel in rels:
        parents = list(PurePosixPath(prefix + rel).parents)[:-1]  # drop "."
        for parent in reversed(parents):
            name = parent.as_posix() + "/"
            if name not in made:
                made.add(name)
                info = zipfile.ZipInfo(name, date_time=(2025, 10, 29, 12, 0, 0))
                info.external_attr = (0o40755 << 16) | 0x10  # unix dir mode + MS-DOS dir bit
                zf.writestr(info, b"")
        info = zipfile.ZipInfo(prefix + rel, date_time=(2025, 10, 29, 12, 0, 0))
        info.external_attr = 0o100644 << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        zf.writestr(info, (folder / rel).read_bytes(), compresslevel=1)


def zip_folder(folder: Path, zip_path: Path, *, wrapper: str | None = None) -> Path:
    """Pack a whole export folder as one ZIP, entries at the root or under `wrapper/`."""
    folder = Path(folder)
    with zipfile.ZipFile(zip_path, "w") as zf:
        _write(zf, folder, _files(folder), wrapper)
    return Path(zip_path)


def is_media(rel: str) -> bool:
    return rel.split("/", 1)[0] in MEDIA_TOPS and "/" in rel and not rel.endswith(".json")


def zip_parts(folder: Path, out_dir: Path, parts: int, *, split_metadata_from_media: bool = True,
              stem: str = "instagram-rina.wulandari_-2025-10-29", wrappers: bool = False) -> list[Path]:
    """Pack a folder as `parts` ZIPs `<stem>_part_<n>.zip`, each under `<stem>_part_<n>/` when
    `wrappers`. With `split_metadata_from_media`, part 1 holds every non-media file and the
    media are dealt round-robin over parts 2..N (so a carousel spans parts); otherwise all
    files are dealt over all parts."""
    if parts < 1 or (split_metadata_from_media and parts < 2):
        raise ValueError("need at least 2 parts to split metadata from media")
    folder, out_dir = Path(folder), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    buckets: list[list[str]] = [[] for _ in range(parts)]
    rels = _files(folder)
    if split_metadata_from_media:
        buckets[0] = [r for r in rels if not is_media(r)]
        for i, rel in enumerate(r for r in rels if is_media(r)):
            buckets[1 + i % (parts - 1)].append(rel)
    else:
        for i, rel in enumerate(rels):
            buckets[i % parts].append(rel)
    paths = []
    for number, bucket in enumerate(buckets, 1):
        path = out_dir / f"{stem}_part_{number}.zip"
        with zipfile.ZipFile(path, "w") as zf:
            _write(zf, folder, bucket, f"{stem}_part_{number}" if wrappers else None)
        paths.append(path)
    return paths


# The ways an artist may hand over one export, as `pack_as` builds them.
SHAPES = ("folder", "zip", "zip_in_wrapper", "parts", "parts_mixed", "folder_of_parts")


def pack_as(folder: Path, out_dir: Path, shape: str) -> list[Path]:
    """Pack an export folder in one of `SHAPES`; return the paths to give pindah.

    parts: metadata in part 1, media in parts 2-3, parts named one by one; parts_mixed: files
    dealt over 3 parts regardless of type; folder_of_parts: the folder holding wrapped parts.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if shape == "folder":
        return [Path(folder)]
    if shape == "zip":
        return [zip_folder(folder, out_dir / "rina.wulandari__20250101.zip")]
    if shape == "zip_in_wrapper":
        wrapper = "instagram-rina.wulandari_-2025-10-29-UXHPhjRr"
        return [zip_folder(folder, out_dir / f"{wrapper}.zip", wrapper=wrapper)]
    if shape == "parts":
        return zip_parts(folder, out_dir / "parts", 3)
    if shape == "parts_mixed":
        return zip_parts(folder, out_dir / "parts", 3, split_metadata_from_media=False)
    if shape == "folder_of_parts":
        zip_parts(folder, out_dir / "parts", 3, wrappers=True)
        return [out_dir / "parts"]
    raise ValueError(f"unknown shape {shape!r}; expected one of {SHAPES}")


# -- hostile archives -----------------------------------------------------------------------
def zip_with_member(zip_path: Path, name: str, data: bytes = b"pwned\n", *,
                    base: Path | None = None) -> Path:
    """A ZIP holding a member called exactly `name` (e.g. `../evil.txt`, `/etc/x`), next to a
    genuine export folder `base` if given. zipfile stores names as given on write."""
    with zipfile.ZipFile(zip_path, "w") as zf:
        if base is not None:
            _write(zf, Path(base), _files(Path(base)), None)
        zf.writestr(zipfile.ZipInfo(name, date_time=(2025, 10, 29, 12, 0, 0)), data)
    return Path(zip_path)


def zip_bomb(zip_path: Path, *, declared: int = 512 << 20, name: str = "media/posts/202501/bomb.jpg",
             base: Path | None = None) -> Path:
    """A ZIP whose one member really inflates to `declared` bytes of zeros (default 512 MiB)
    from well under 1 MB on disk: ratio ~1000, past exportfs's 64 MiB floor and 200x ratio.

    Written by hand and fast: a 1 MiB block of zeros is deflated once with a full flush,
    which ends it byte-aligned and independent of what came before, so the same compressed
    bytes can be repeated; an empty final block closes the stream. A genuine export folder
    `base` is appended after it if given, so only the bomb can be the reason for refusal.
    """
    chunk = 1 << 20
    if declared % chunk or declared >= 1 << 32:
        raise ValueError("declared size must be a whole number of MiB below 4 GiB (no zip64)")
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = comp.compress(b"\0" * chunk) + comp.flush(zlib.Z_FULL_FLUSH)
    tail = zlib.compressobj(9, zlib.DEFLATED, -15).flush(zlib.Z_FINISH)
    crc = 0
    zeros = b"\0" * chunk
    for _ in range(declared // chunk):
        crc = zlib.crc32(zeros, crc)
    count = declared // chunk
    compressed = len(block) * count + len(tail)
    raw_name = name.encode()
    common = struct.pack("<HHHHHIII", 20, 0, 8, 0, 0x5A21, crc, compressed, declared)
    local = b"PK\x03\x04" + common + struct.pack("<HH", len(raw_name), 0) + raw_name
    central = (b"PK\x01\x02" + struct.pack("<H", 20) + common
               + struct.pack("<HHHHHII", len(raw_name), 0, 0, 0, 0, 0o100644 << 16, 0) + raw_name)
    with open(zip_path, "wb") as fh:
        fh.write(local)
        for _ in range(count):
            fh.write(block)
        fh.write(tail)
        cd_offset = fh.tell()
        fh.write(central)
        fh.write(b"PK\x05\x06" + struct.pack("<HHHHIIH", 0, 0, 1, 1, len(central), cd_offset, 0))
    if base is not None:
        with zipfile.ZipFile(zip_path, "a") as zf:
            _write(zf, Path(base), _files(Path(base)), None)
    return Path(zip_path)


def truncated_zip(src: Path, dst: Path, keep: float = 0.5) -> Path:
    """The first `keep` fraction of a good ZIP: an interrupted download (no central directory)."""
    data = Path(src).read_bytes()
    Path(dst).write_bytes(data[: max(1, int(len(data) * keep))])
    return Path(dst)


def encrypted_zip(src: Path, dst: Path, member: str | None = None) -> Path:
    """Copy a ZIP and set the "encrypted" flag bit on `member` (default: every member) in both
    its local and central headers. Python cannot write encrypted ZIPs; readers must refuse on
    the flag alone, so the flag is what matters."""
    shutil.copyfile(src, dst)
    with zipfile.ZipFile(dst) as zf:
        targets = [i for i in zf.infolist() if member is None or i.filename == member]
    data = bytearray(Path(dst).read_bytes())
    for info in targets:
        _set_flag(data, info.header_offset + 6, b"PK\x03\x04", info.header_offset)
    # Walk the central directory from the end-of-central-directory record.
    eocd = data.rfind(b"PK\x05\x06")
    (entries,) = struct.unpack_from("<H", data, eocd + 10)
    (cd_offset,) = struct.unpack_from("<I", data, eocd + 16)
    wanted = {i.filename for i in targets}
    pos = cd_offset
    for _ in range(entries):
        name_len, extra_len, comment_len = struct.unpack_from("<HHH", data, pos + 28)
        name = data[pos + 46: pos + 46 + name_len].decode("utf-8")
        if name in wanted:
            _set_flag(data, pos + 8, b"PK\x01\x02", pos)
        pos += 46 + name_len + extra_len + comment_len
    Path(dst).write_bytes(bytes(data))
    return Path(dst)


def _set_flag(data: bytearray, flag_pos: int, signature: bytes, header_pos: int) -> None:
    if data[header_pos: header_pos + 4] != signature:
        raise ValueError(f"no ZIP header at offset {header_pos}")
    (flags,) = struct.unpack_from("<H", data, flag_pos)
    struct.pack_into("<H", data, flag_pos, flags | 0x1)


def corrupt_zip(zip_path: Path, size: int = 4096) -> Path:
    """Deterministic garbage with a `.zip` name (a mis-saved or wrong file)."""
    Path(zip_path).write_bytes(random.Random(7).randbytes(size))
    return Path(zip_path)
