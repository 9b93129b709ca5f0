"""A read-only, safe view of an export, whatever shape the artist hands it to us in.

An export may be an extracted folder, one ZIP, several ZIP parts (Instagram splits large
accounts, and a posts file may sit in one part while its media sit in another), or a folder
holding those parts. `ExportTree.from_paths()` indexes all of them as one tree of export-relative
POSIX paths. Nothing is ever extracted or written: members are streamed straight out of the
ZIP, so the artist's download stays exactly as it was.

Unsafe archives are refused before anything is read: member paths that escape the folder
(zip-slip), declared sizes that would expand past a sane bound (zip bombs), encrypted members.
Wrapper folders (`instagram-name-2025-10-29-abc/`, `name_part_2/`) are peeled off so that
`media/posts/...` URIs resolve from the export root, as Meta writes them.
"""

from __future__ import annotations

import os
import re
import stat
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Iterator

from .errors import InputError

# A real export is mostly JPEG/MP4, which barely compress; Meta's JSON compresses ~10:1.
# Anything expanding much further than this is hostile or broken.
MAX_TOTAL_RATIO = 50
MAX_TOTAL_FLOOR = 2 << 30  # below 2 GiB declared, the ratio test is not applied
MAX_MEMBER_RATIO = 200
MAX_MEMBER_FLOOR = 64 << 20
# Metadata files are read whole; a posts file larger than this is not a real export.
MAX_METADATA_BYTES = 512 << 20
# One post's own metadata (an instaloader .json.xz) is a few kB; past this it is damage or a bomb.
MAX_POST_METADATA_BYTES = 32 << 20

# Top-level names of real export trees: a single folder with one of these names is the export
# itself, not a wrapper around it.
_EXPORT_TOP_NAMES = {
    "your_instagram_activity", "content", "media", "photos", "videos", "stories", "profile",
    "direct", "personal_information", "account_information", "ads_information", "connections",
    "logged_information", "preferences", "security_and_login_information", "public-media",
}
_WINDOWS_DRIVE = re.compile(r"^[A-Za-z]:")


@dataclass(frozen=True)
class _Entry:
    source: int  # index into ExportTree._sources
    name: str  # member name in the ZIP, or absolute file path for folders
    size: int


class ExportTree:
    """The union of one or more folders/ZIPs, addressed by export-relative paths."""

    def __init__(self, entries: dict[str, _Entry], sources: list["zipfile.ZipFile | None"],
                 origins: list[Path], notes: list[str]) -> None:
        self._entries = entries
        self._sources = sources
        self.origins = origins  # what the artist gave us, for messages
        self.notes = notes  # harmless things worth telling (ignored symlinks, ...)

    # -- building -------------------------------------------------------------------------
    @classmethod
    def from_paths(cls, paths: list[Path] | list[str]) -> "ExportTree":
        entries: dict[str, _Entry] = {}
        sources: list[zipfile.ZipFile | None] = []
        notes: list[str] = []
        origins = [Path(p) for p in paths]
        for origin in _expand_parts(origins):
            if origin.is_dir():
                found = _index_folder(origin, notes)
                sources.append(None)
            else:
                zf = _open_zip(origin)
                found = _index_zip(zf, origin)
                sources.append(zf)
            index = len(sources) - 1
            # First part wins on a clash: parts repeat some files (e.g. no-data.txt) verbatim.
            for rel, (name, size) in _peel_wrappers(found).items():
                entries.setdefault(rel, _Entry(index, name, size))
        return cls(entries, sources, origins, notes)

    def close(self) -> None:
        for zf in self._sources:
            if zf is not None:
                zf.close()

    def __enter__(self) -> "ExportTree":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading --------------------------------------------------------------------------
    def exists(self, path: str) -> bool:
        return path in self._entries

    def size(self, path: str) -> int:
        return self._entries[path].size

    def paths(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def open(self, path: str) -> IO[bytes]:
        entry = self._entries[path]
        zf = self._sources[entry.source]
        if zf is None:
            return open(entry.name, "rb")
        return zf.open(entry.name, "r")

    def disk_path(self, path: str) -> Path | None:
        """The file itself when it comes from a folder (None for a ZIP member): another process
        can then read it by name, e.g. the media pipeline's workers, rather than be sent its bytes."""
        entry = self._entries[path]
        return Path(entry.name) if self._sources[entry.source] is None else None

    def read_head(self, path: str, size: int) -> bytes:
        """The first `size` bytes of a file (all of it if shorter). A ZIP member's local header
        and the compressed bytes needed are read with `os.pread` and inflated only that far:
        `ZipFile.open` costs more than reading a header when 50,000 members are probed."""
        entry = self._entries[path]
        zf = self._sources[entry.source]
        if zf is not None:
            head = _zip_head(zf, zf.getinfo(entry.name), size)
            if head is not None:
                return head
        with self.open(path) as fh:
            return fh.read(size)

    def read_metadata(self, path: str) -> bytes:
        """Read a (JSON/HTML/text) metadata file whole, refusing absurd sizes, naming the file
        in any error."""
        size = self.size(path)
        if size > MAX_METADATA_BYTES:
            raise InputError(
                f"{path} is {size / (1 << 20):.0f} MB, far larger than any real Instagram metadata file",
                "the export looks damaged; download it again from Instagram",
            )
        try:
            with self.open(path) as fh:
                return fh.read()
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
            raise InputError(
                f"could not read {path} from the export ({_short(exc)})",
                "the download is probably damaged; download it again from Instagram",
            ) from None

    def describe(self) -> str:
        return ", ".join(str(p) for p in self.origins)


# -- helpers ------------------------------------------------------------------------------
def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0][:120]


def _zip_head(zf: zipfile.ZipFile, info: zipfile.ZipInfo, size: int) -> bytes | None:
    """The first `size` bytes of a stored or deflated member; None for other methods."""
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        return None
    try:
        fd = zf.fp.fileno()  # type: ignore[union-attr]
    except (AttributeError, OSError, ValueError):
        return None
    local = os.pread(fd, 30, info.header_offset)
    if len(local) < 30 or local[:4] != b"PK\x03\x04":
        raise zipfile.BadZipFile(f"bad local header for {info.filename!r}")
    name_length, extra_length = struct.unpack("<HH", local[26:30])
    pos = info.header_offset + 30 + name_length + extra_length
    end = pos + info.compress_size
    if info.compress_type == zipfile.ZIP_STORED:
        return os.pread(fd, min(size, info.compress_size), pos)
    inflate = zlib.decompressobj(-zlib.MAX_WBITS)
    out = bytearray()
    while len(out) < size and pos < end and not inflate.eof:
        chunk = os.pread(fd, min(1 << 14, end - pos), pos)
        if not chunk:
            break
        pos += len(chunk)
        out += inflate.decompress(chunk, size - len(out))  # never more than asked for
    return bytes(out)


def _expand_parts(origins: list[Path]) -> list[Path]:
    """Check every path exists; a folder holding only ZIP parts stands for those parts."""
    out: list[Path] = []
    for origin in origins:
        if not origin.exists():
            raise InputError(f"{origin} does not exist", "check the path of your Instagram download")
        if origin.is_dir():
            children = [c for c in origin.iterdir() if not c.name.startswith(".")]
            zips = sorted(c for c in children if c.is_file() and c.suffix.lower() == ".zip")
            if zips and len(zips) == len(children):
                out.extend(zips)
                continue
        out.append(origin)
    return out


def _open_zip(path: Path) -> zipfile.ZipFile:
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as exc:
        if path.suffix.lower() != ".zip" and not _looks_like_zip(path):
            raise InputError(
                f"{path} is neither a folder nor a ZIP file",
                "give pindah the ZIP file(s) Instagram sent you, or the folder you extracted them to",
            ) from None
        raise InputError(
            f"{path} is not a readable ZIP file ({_short(exc)}); it is probably corrupt or an incomplete download",
            "download it again from Instagram",
        ) from None
    _check_zip_safety(zf, path)
    return zf


def _looks_like_zip(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(4) in (b"PK\x03\x04", b"PK\x05\x06")
    except OSError:
        return False


def _check_zip_safety(zf: zipfile.ZipFile, path: Path) -> None:
    total = 0
    for info in zf.infolist():
        name = info.filename.replace("\\", "/")
        parts = PurePosixPath(name).parts
        if name.startswith("/") or _WINDOWS_DRIVE.match(name) or ".." in parts:
            raise InputError(
                f"{path} contains a file whose path escapes the export folder ({info.filename!r}); "
                "refusing to read it",
                "this is not a genuine Instagram download: request a new one from Instagram",
            )
        if info.flag_bits & 0x1:
            raise InputError(
                f"{path} is password-protected",
                "Instagram downloads are never encrypted: extract it with your password and give pindah the folder",
            )
        if (info.file_size > MAX_MEMBER_FLOOR
                and info.file_size > MAX_MEMBER_RATIO * max(info.compress_size, 1)):
            raise InputError(
                f"{path} looks like a ZIP bomb: {info.filename!r} would expand "
                f"{info.file_size // max(info.compress_size, 1)}x to {info.file_size / (1 << 30):.1f} GB",
                "refusing to read it; request a new download from Instagram",
            )
        total += info.file_size
    archive_size = path.stat().st_size
    if total > MAX_TOTAL_FLOOR and total > MAX_TOTAL_RATIO * max(archive_size, 1):
        raise InputError(
            f"{path} looks like a ZIP bomb: its files claim {total / (1 << 30):.1f} GB "
            f"from a {archive_size / (1 << 20):.1f} MB archive",
            "refusing to read it; request a new download from Instagram",
        )


def _index_zip(zf: zipfile.ZipFile, path: Path) -> dict[str, tuple[str, int]]:
    found: dict[str, tuple[str, int]] = {}
    for info in zf.infolist():
        if info.is_dir():
            continue
        mode = info.external_attr >> 16
        if mode and stat.S_ISLNK(mode):
            continue  # never follow links stored in archives
        found[info.filename.replace("\\", "/")] = (info.filename, info.file_size)
    return found


def _index_folder(root: Path, notes: list[str]) -> dict[str, tuple[str, int]]:
    """Every regular file under `root` (os.scandir: one stat per file, plain strings, because
    exports hold tens of thousands of files). Links are only followed when they stay inside."""
    found: dict[str, tuple[str, int]] = {}
    real_root = root.resolve()
    stack = [(str(root), "")]
    while stack:
        folder, prefix = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            if entry.name.startswith("."):
                continue
            rel = prefix + entry.name
            try:
                if entry.is_symlink():
                    target = Path(entry.path).resolve()
                    if not target.is_relative_to(real_root) or not target.is_file():
                        notes.append(f"ignored {rel}: it is a link pointing outside the export")
                        continue
                    found[rel] = (entry.path, target.stat().st_size)
                elif entry.is_dir(follow_symlinks=False):
                    stack.append((entry.path, rel + "/"))
                elif entry.is_file(follow_symlinks=False):
                    found[rel] = (entry.path, entry.stat(follow_symlinks=False).st_size)
            except (OSError, RuntimeError):  # RuntimeError: a link loop (Path.resolve on 3.11)
                notes.append(f"ignored {rel}: it could not be read (a broken or looping link?)")
                continue
    return found


def _peel_wrappers(found: dict[str, tuple[str, int]]) -> dict[str, tuple[str, int]]:
    """Strip single wrapper folders so paths start where Meta's URIs start."""
    for _ in range(4):
        tops = {p.split("/", 1)[0] for p in found}
        if len(tops) != 1:
            break
        top = next(iter(tops))
        if top.lower() in _EXPORT_TOP_NAMES or any("/" not in p for p in found):
            break
        found = {p.split("/", 1)[1]: v for p, v in found.items()}
    return found
