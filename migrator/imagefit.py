"""Pixels in, fitting bytes out: how the media pipeline decodes, reshapes and encodes a picture.

This room owns everything Pillow does to pixels (the container-level work, what a file carries
besides pixels, is `mediastrip`'s):
- decoding safely: only the JPEG/PNG/GIF/WebP/HEIF/AVIF decoders are used, so a hostile file never
  reaches an exotic plugin, and the pixel size is checked against Pillow's decompression-bomb
  limit before anything is decoded (`open_image`);
- orientation: the EXIF tag is read (`read_exif`, `orientation_of`) and the picture turned upright
  after resizing, so a small image is turned rather than the full-size one;
- colour modes: everything is brought to L, LA, RGB or RGBA, CMYK through its embedded profile;
- resizing to `image_max_side` / `image_max_pixels` (`fit_dimensions`): whenever the output is at
  most half the source, JPEGs are decoded with DCT scaling (`draft`) and the other formats
  averaged down (`Image.reduce`) to within 2× of the target, then resampled (Lanczos);
- the quality search: a ladder rung that fits `image_max_bytes`, aimed by a probe (a mosaic of
  tiles sampled from the picture, encoded small) so it usually takes one full encode; if even
  the lowest rung is too big, the dimensions shrink;
- the single final save (`save_image`): pixels, the ICC profile and `SaveExtras`, nothing else.

`reencode` runs all of it; `migrator.media` decides when a file needs it at all.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import math
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from PIL import Image, ImageCms

from pindah.adapters.contract import Capabilities

from . import sniff

# Highest first; the search returns the highest rung that fits. Below 60 artwork visibly bands,
# so from there on the picture gets smaller instead of worse. One step apart where photos for a
# byte cap land (a step there is ~9 % in bytes): a fit then fills the budget to a few per cent,
# which is worth more than Huffman optimisation (see `save_image`).
QUALITY_LADDER = (92, 91, 90, 89, 88, 87, 86, 85, 84, 83, 82, 81, 80, 78, 76, 74, 72, 70, 67, 65, 62, 60)
MIN_SIDE = 32  # shrinking to fit bytes stops here: smaller is not a picture worth posting
MAX_SHRINKS = 10
# The final resample runs on a picture already brought within 2× of the target (DCT scaling for
# JPEG, `Image.reduce` for the others). Lanczos, not bicubic: bicubic saves a quarter of a
# resize but its SSIM (bench/media_speed.py) falls to plain Pillow's at the same bytes.
RESAMPLE = Image.Resampling.LANCZOS
DEFAULT_PIXEL_LIMIT = 89_478_485  # Pillow's own default, used if someone set it to None
PILLOW_FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "HEIF", "AVIF")  # JPEG also opens MPO

JPEG, PNG, WEBP = "image/jpeg", "image/png", "image/webp"
_WRITERS = {JPEG: "JPEG", PNG: "PNG", WEBP: "WEBP", "image/heic": "HEIF", "image/heif": "HEIF",
            "image/avif": "AVIF"}  # GIF is never written: a still GIF becomes PNG or JPEG
_NAMES = {JPEG: "JPEG", PNG: "PNG", WEBP: "WebP", "image/heic": "HEIC", "image/heif": "HEIF",
          "image/avif": "AVIF", "image/gif": "GIF"}
# EXIF orientation -> the transpose that makes the picture upright (what ImageOps.exif_transpose
# does); applied after resizing, so it turns a small image rather than the full-size one.
_UPRIGHT = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
            4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
            6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE, 8: Image.Transpose.ROTATE_90}


@dataclass(frozen=True)
class SaveExtras:
    """What the final save writes on purpose: the artist's rights/AI-opt-out XMP packet and an
    EXIF block (Artist/Copyright). Empty for now; it is part of the cache key, and the output
    check admits exactly these and still refuses GPS or camera tags in them."""

    xmp: bytes | None = None
    exif: bytes | None = None  # a TIFF-structured EXIF block, e.g. `Image.Exif().tobytes()`

    def digest(self) -> str:
        return hashlib.sha256(b"xmp:" + (self.xmp or b"") + b"\0exif:" + (self.exif or b"")).hexdigest()


def tiff_exif(exif: bytes) -> bytes:
    """An EXIF block without its "Exif\\0\\0" header, as `SaveExtras.exif` may carry either."""
    return exif[6:] if exif.startswith(b"Exif\0\0") else exif


class Refused(Exception):
    """This file can't be made acceptable; the message is the artist-readable reason."""


@dataclass
class ImageOutput:
    data: bytes
    mime: str
    size: tuple[int, int]
    actions: list[str]
    # Why the pixels were re-encoded ("too large: 2.3 MB > 2 MB", "HEIC not accepted"), or
    # None when they were kept as they were (the lossless route).
    reencoded: str | None = None
    encodes: int = 0  # full-size encodes it took (the bench counts them; probes are not counted)


Save = Callable[[Image.Image, str, int | None, bytes | None, SaveExtras], bytes]  # `save_image`'s shape


# -- decoding ---------------------------------------------------------------------------------
@contextlib.contextmanager
def open_image(data: bytes) -> Iterator[Image.Image]:
    """Open (header only) with the decompression-bomb check on, refusing rather than decoding."""
    limit = Image.MAX_IMAGE_PIXELS or DEFAULT_PIXEL_LIMIT
    sniff.register_heif()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data), formats=PILLOW_FORMATS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise Refused(_bomb(sniff.image_size(lambda: io.BytesIO(data)), limit)) from None
    except Image.UnidentifiedImageError:
        raise Refused("file is not a readable image (its header is damaged)") from None
    with img:
        if img.width * img.height > limit:  # also when Pillow's own check was switched off
            raise Refused(_bomb(img.size, limit))
        if img.format in ("JPEG", "MPO"):  # the bytes are in memory: hand libjpeg all of them at
            img.decodermaxblock = len(data) + 1  # once, not 64 kB at a time (-3 % of a decode)
        yield img


def _bomb(size: tuple[int | None, int | None], limit: int) -> str:
    shown = f"{size[0]}×{size[1]} px" if size[0] else "size unknown"
    return f"image is a possible decompression bomb ({shown}, over {limit / 1e6:.0f} megapixels); refused"


# -- orientation and dimensions ----------------------------------------------------------------
def read_exif(img: Image.Image, labels: list[str] | None) -> Image.Exif:
    """The picture's EXIF; `labels` are what `mediastrip.scan` found in the container."""
    if img.format == "PNG" and "exif" not in img.info and "EXIF" not in (labels or ()):
        return Image.Exif()  # PNG's getexif() decodes the whole file to look for a late eXIf
    return img.getexif()


def orientation_of(exif: Image.Exif) -> int:
    value = exif.get(0x0112, 1)
    return value if value in _UPRIGHT else 1


def upright_size(size: tuple[int, int], orientation: int) -> tuple[int, int]:
    return (size[1], size[0]) if orientation in (5, 6, 7, 8) else size


def fit_dimensions(size: tuple[int, int], caps: Capabilities) -> tuple[int, int]:
    """The largest size within the side and pixel limits, same aspect ratio (to 1 px)."""
    scale = 1.0
    if caps.image_max_side:
        scale = min(scale, caps.image_max_side / max(size))
    if caps.image_max_pixels:
        scale = min(scale, math.sqrt(caps.image_max_pixels / (size[0] * size[1])))
    if scale >= 1.0:
        return size
    fitted = _scaled(size, scale)
    while caps.image_max_pixels and fitted[0] * fitted[1] > caps.image_max_pixels:
        scale *= 0.999  # rounding may land one pixel row over the pixel budget
        fitted = _scaled(size, scale)
    return fitted


def _scaled(size: tuple[int, int], scale: float) -> tuple[int, int]:
    # The long side is floored (so a side limit is never exceeded), the short side follows it.
    w, h = size
    if w >= h:
        nw = max(1, math.floor(w * scale + 1e-9))
        return nw, max(1, round(h * nw / w))
    nh = max(1, math.floor(h * scale + 1e-9))
    return max(1, round(w * nh / h)), nh


# -- re-encoding ------------------------------------------------------------------------------
def reencode(img: Image.Image, src: str, orientation: int, accepted: frozenset[str],
             caps: Capabilities, extras: SaveExtras, save: Save | None = None) -> ImageOutput:
    """Decode, normalise, resize, turn upright and encode `img` in the first accepted format
    that fits. `save` is the encoder, `save_image` unless given (`migrator.media` passes its
    own name for it, so wrapping `media.save_image` still sees every encode)."""
    save = save or save_image
    actions: list[str] = []
    upright = upright_size(img.size, orientation)
    target = fit_dimensions(upright, caps)
    if target != upright and img.format in ("JPEG", "MPO"):
        # DCT scaling decodes at 1/2, 1/4 or 1/8 size, never below the target: most of the
        # speed of fitting a 20-megapixel photo, at no cost in quality after the final resize.
        img.draft(None, upright_size(target, orientation))
    animated = bool(getattr(img, "is_animated", False)) and img.format in ("GIF", "PNG", "WEBP")
    # pillow_heif turns HEIF pictures upright itself while decoding (and resets the EXIF tag)
    turned = orientation != 1 or img.info.get("original_orientation") not in (None, 1)
    icc = img.info.get("icc_profile") or None
    work, icc = _normalise_mode(img, icc, actions)
    has_alpha = work.mode in ("RGBA", "LA") and _extrema(work.getchannel("A"))[0] < 255
    if work.mode in ("RGBA", "LA") and not has_alpha:  # an opaque alpha channel is just bytes
        work = work.convert(work.mode[:-1])
    chain = [m for m in (src, PNG if has_alpha else None, JPEG, PNG, WEBP) if m in accepted and m in _WRITERS]
    chain = list(dict.fromkeys(chain))
    if not chain:
        names = ", ".join(sorted(_NAMES.get(m, m) for m in accepted)) or "none"
        raise Refused(f"no image format this platform accepts can be written (it takes {names})")
    work = _reduced(work, upright_size(target, orientation))
    counter = [0]
    for index, mime in enumerate(chain):
        # A lossless format without real transparency gives way to the next (lossy) format
        # rather than shrinking the picture; with transparency it shrinks, keeping the alpha.
        lossy = _WRITERS[mime] != "PNG"
        shrink = lossy or has_alpha or index == len(chain) - 1
        fitted = _fit(work, upright, target, orientation, mime, caps.image_max_bytes, icc, extras, shrink, save,
                      counter)
        if fitted is not None:
            break
    else:  # pragma: no cover - the last format always shrinks until it fits or refuses
        raise Refused("image cannot be made to fit this platform")
    data, size, quality = fitted
    if mime != src:
        actions.insert(0, f"converted {_NAMES.get(src, src)} → {_NAMES[mime]}")
    if has_alpha and mime == JPEG:
        actions.append("transparency flattened onto white")
    if animated:
        actions.append("animation not kept (first frame only)")
    if turned:
        actions.append("rotated upright")
    if size != upright:
        actions.append(f"resized {upright[0]}×{upright[1]} → {size[0]}×{size[1]}")
    if quality is not None and quality < QUALITY_LADDER[0] and caps.image_max_bytes is not None:
        actions.append(f"quality {quality} to fit {human_size(caps.image_max_bytes)}")
    return ImageOutput(data, mime, size, actions, encodes=counter[0])


def _reduced(work: Image.Image, stored_target: tuple[int, int]) -> Image.Image:
    """`work` shrunk by the largest whole factor that keeps it at least the target's size, by
    averaging blocks of pixels (`Image.reduce`): cheap, alias-free, and it leaves the final
    resample a ratio under 2. What JPEG's DCT scaling (`draft`) does while decoding, for the
    formats that can't (PNG, WebP, HEIF)."""
    factor = min(work.width // stored_target[0], work.height // stored_target[1])
    return work.reduce(factor) if factor >= 2 else work


def _fit(work: Image.Image, upright: tuple[int, int], target: tuple[int, int], orientation: int,
         mime: str, limit: int | None, icc: bytes | None, extras: SaveExtras,
         shrink: bool, save: Save, counter: list[int]) -> tuple[bytes, tuple[int, int], int | None] | None:
    """Encode `work` at `target` size; shrink the size while even the lowest quality is too big.
    `counter[0]` counts the full-size encodes."""
    size = target
    for _ in range(MAX_SHRINKS):
        frame = _frame(work, size, orientation, mime)
        if _WRITERS[mime] == "PNG":
            data = save(frame, mime, None, icc, extras)
            counter[0] += 1
            if fits(len(data), limit):
                return data, size, None
            over = len(data)
        else:
            found, over, encodes = _best_quality(frame, mime, limit, icc, extras, save)
            counter[0] += encodes
            if found is not None:
                return found[0], size, found[1]
        if not shrink or limit is None:
            return None
        # Bytes scale roughly with area: aim a little under, so one more round usually fits.
        scale = max(size) / max(upright) * math.sqrt(limit / over) * 0.95
        size = _scaled(upright, scale)
        if min(size) < MIN_SIDE:
            break
    raise Refused(f"image cannot be made smaller than {human_size(limit or 0)} without ruining it")


def _best_quality(frame: Image.Image, mime: str, limit: int | None, icc: bytes | None,
                  extras: SaveExtras, save: Save) -> tuple[tuple[bytes, int] | None, int, int]:
    """The quality to encode at: a ladder rung that fits, or None and the (expected) size at the
    lowest rung; and how many full-size encodes it took.

    A full encode of a 3-megapixel picture costs tens of milliseconds, so the first one is
    aimed: `_probe` encodes a mosaic of tiles sampled from the picture, which predicts the size
    at every rung within a few per cent, and the highest rung predicted to fit is encoded. A fit
    that uses most of the budget is accepted at once (the rung above was predicted over); a miss
    corrects the model with the real size and tries the rung it now predicts. Usually one encode."""
    if limit is None:
        return (save(frame, mime, QUALITY_LADDER[0], icc, extras), QUALITY_LADDER[0]), 0, 1
    probe = _probe(frame, mime, _extra_bytes(icc, extras))
    sizes: dict[int, int] = {}
    best: tuple[bytes, int] | None = None
    over_i, fit_i = -1, len(QUALITY_LADDER)  # indices known to be over / to fit
    likely = [i for i, q in enumerate(QUALITY_LADDER) if _estimate(sizes, probe, q) <= limit * AIM]
    if probe and not likely and _estimate(sizes, probe, QUALITY_LADDER[-1]) > limit * 1.1:
        return None, int(_estimate(sizes, probe, QUALITY_LADDER[-1])), 0  # clearly too big: shrink first
    index = (likely[0] if likely else len(QUALITY_LADDER) - 1) if probe else 0
    while True:
        quality = QUALITY_LADDER[index]
        data = save(frame, mime, quality, icc, extras)
        sizes[quality] = len(data)
        if fits(len(data), limit):
            best, fit_i = (data, quality), index
        else:
            over_i = index
        between = range(over_i + 1, fit_i)
        if not between or (best is not None and len(best[0]) >= limit * ACCEPT):
            break  # accepted early: the budget is well used, the next rung up is likely over
        likely = [i for i in between if _estimate(sizes, probe, QUALITY_LADDER[i]) <= limit * AIM]
        if likely:
            index = likely[0]
        elif fit_i == len(QUALITY_LADDER):
            index = between[-1]  # nothing predicted to fit yet: try the lowest untried rung
        else:
            break  # the rungs left between are predicted over: keep the best fit
    over = sizes[QUALITY_LADDER[over_i]] if best is None else 0
    return best, over, len(sizes)


AIM = 0.97  # aim a little under the limit: the prediction is good to a few per cent
ACCEPT = 0.85  # a fit using this share of the budget is kept without trying the rung above
PROBE_TILE = 64  # a multiple of JPEG's 16-pixel MCU, so the sampled blocks encode as in the whole
PROBE_SHARE = 1 / 12  # of the picture's tiles sampled into the mosaic
PROBE_MIN_PIXELS = 500_000  # below this a full encode is as cheap as a probe
PROBE_QUALITIES = (QUALITY_LADDER[0], 75)


def _probe(frame: Image.Image, mime: str, extra: int) -> dict[int, int]:
    """Expected full-size bytes at two ladder qualities, from a mosaic of tiles spread evenly
    over the picture (bytes per pixel of the sample × pixels, plus the headers once). Empty for
    small pictures, where a real encode costs no more."""
    width, height = frame.size
    cols, rows = width // PROBE_TILE, height // PROBE_TILE
    if width * height < PROBE_MIN_PIXELS or cols * rows < 48:
        return {}
    side = math.ceil(math.sqrt(max(16, cols * rows * PROBE_SHARE)))
    mosaic = Image.new(frame.mode, (side * PROBE_TILE, side * PROBE_TILE))
    step = cols * rows / (side * side)
    for k in range(side * side):
        at = int((k + 0.5) * step)  # stratified: one tile from each stretch of the picture
        x, y = at % cols * PROBE_TILE, at // cols * PROBE_TILE
        mosaic.paste(frame.crop((x, y, x + PROBE_TILE, y + PROBE_TILE)),
                     (k % side * PROBE_TILE, k // side * PROBE_TILE))
    scale = width * height / (mosaic.width * mosaic.height)
    blank = Image.new(frame.mode, (16, 16))
    estimates = {}
    for quality in PROBE_QUALITIES:  # not through `save`: these small encodes are never kept
        header = len(save_image(blank, mime, quality, None, SaveExtras()))
        sample = len(save_image(mosaic, mime, quality, None, SaveExtras()))
        estimates[quality] = int(max(sample - header, 1) * scale + header + extra)
    return estimates


def _extra_bytes(icc: bytes | None, extras: SaveExtras) -> int:
    return len(icc or b"") + len(extras.xmp or b"") + len(extras.exif or b"")


def _estimate(sizes: dict[int, int], probe: dict[int, int], quality: int) -> float:
    """Expected bytes at `quality`: from the real encodes when there are two, else the probe's
    curve through the one real size, else the probe alone (or the default curve)."""
    if len(sizes) >= 2 or not probe:
        return _predict(sizes, quality) if sizes else 0.0
    if not sizes:
        return _predict(probe, quality)
    (known, real), = sizes.items()
    return real * _predict(probe, quality) / _predict(probe, known)


def _predict(sizes: dict[int, int], quality: int) -> float:
    """Expected bytes at `quality`. JPEG's quantisation step is proportional to 100 - quality,
    and the size follows a power of that step closely: log-size is linear in log(100 - q)."""
    points = sorted((math.log(100 - q), math.log(s)) for q, s in sizes.items())
    x = math.log(100 - quality)
    if len(points) == 1:  # exponent measured on photos and paintings between 92 and 60
        return math.exp(points[0][1] - 0.8 * (x - points[0][0]))
    below = [p for p in points if p[0] <= x]
    above = [p for p in points if p[0] > x]
    (x1, y1), (x2, y2) = (below[-1], above[0]) if below and above else (points[:2] if above else points[-2:])
    slope = min((y2 - y1) / (x2 - x1), -0.2)  # more quantisation never makes a file bigger
    return math.exp(y1 + slope * (x - x1))


def save_image(frame: Image.Image, mime: str, quality: int | None, icc: bytes | None,
               extras: SaveExtras) -> bytes:
    """The one place pixels become output bytes: pixels, the ICC profile, `extras`, nothing else.

    Pillow copies some things from `frame.info` into a save (JPEG comments, PNG ICC), so only
    what is passed here explicitly may be written; `_frame` empties `info` for that reason."""
    buf = io.BytesIO()
    params: dict[str, object] = {}
    if icc:
        params["icc_profile"] = icc
    if extras.exif:
        params["exif"] = b"Exif\0\0" + tiff_exif(extras.exif)  # JPEG needs the header; the others drop it
    writer = _WRITERS[mime]
    if writer == "PNG":
        from PIL.PngImagePlugin import PngInfo

        info = PngInfo()
        if extras.xmp:
            info.add_itxt("XML:com.adobe.xmp", extras.xmp.decode("utf-8"), zip=False)
        frame.save(buf, "PNG", pnginfo=info, **params)
    elif writer == "JPEG":
        # No `optimize`: its second pass over the picture cost half the encode (17 ms of 35 for 3
        # megapixels) for 4 % fewer bytes, and the one-step quality ladder gains more than that
        # within a byte cap (bench/media_speed.py: SSIM 0.9217 against 0.9208 before, at 1 MB).
        frame.save(buf, "JPEG", quality=quality, xmp=extras.xmp, **params)
    elif writer == "WEBP":
        frame.save(buf, "WEBP", quality=quality, method=4, xmp=extras.xmp or "", **params)
    else:  # HEIF/AVIF: pass exif/xmp explicitly, or pillow_heif would look for the source's
        params.setdefault("exif", None)
        frame.save(buf, writer, quality=quality, xmp=extras.xmp, **params)
    return buf.getvalue()


def _frame(work: Image.Image, size: tuple[int, int], orientation: int, mime: str) -> Image.Image:
    stored = upright_size(size, orientation)  # `work` is still in the file's stored orientation
    frame = work if work.size == stored else work.resize(stored, RESAMPLE)
    if orientation in _UPRIGHT:
        frame = frame.transpose(_UPRIGHT[orientation])
    if _WRITERS[mime] == "JPEG" and frame.mode in ("RGBA", "LA"):
        flat = Image.new(frame.mode[:-1], frame.size, 255)
        flat.paste(frame, mask=frame.getchannel("A"))
        frame = flat
    elif _WRITERS[mime] not in ("PNG", "JPEG") and frame.mode in ("L", "LA"):
        frame = frame.convert("RGB" if frame.mode == "L" else "RGBA")
    frame.info = {}  # nothing of the source's may ride along into the save
    return frame


def _normalise_mode(img: Image.Image, icc: bytes | None, actions: list[str]) -> tuple[Image.Image, bytes | None]:
    """Decode and bring the pixels to L, LA, RGB or RGBA (8 bits per channel)."""
    mode = img.mode
    if mode in ("L", "LA", "RGB", "RGBA"):
        img.load()
        return img, icc
    if mode == "1":
        return img.convert("L"), icc
    if mode in ("P", "PA"):
        has_alpha = mode == "PA" or "transparency" in img.info
        return img.convert("RGBA" if has_alpha else "RGB"), icc
    if mode == "CMYK":
        actions.append("colours converted from CMYK to RGB")
        if icc:  # print profiles matter: convert through the embedded one when it is usable
            with contextlib.suppress(ImageCms.PyCMSError, OSError):
                source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
                srgb = ImageCms.createProfile("sRGB")
                converted = ImageCms.profileToProfile(img, source, srgb, outputMode="RGB")
                if converted is not None:
                    return converted, None
        return img.convert("RGB"), None  # the CMYK profile no longer describes the pixels
    if mode.startswith(("I", "F")):  # 16-bit/float greyscale: convert("L") would clip at 255
        actions.append("16-bit image reduced to 8-bit")
        wide = img.convert("I") if mode != "F" else img
        scaled = wide.point(lambda v: v * (1 / 257)) if _extrema(wide)[1] > 255 else wide  # type: ignore[arg-type]
        return scaled.convert("L"), icc
    if mode in ("RGBa", "La"):
        return img.convert(mode.replace("a", "A")), icc
    return img.convert("RGBA" if "A" in mode else "RGB"), icc


# -- small helpers ----------------------------------------------------------------------------
def format_name(mime: str) -> str:
    """"JPEG", "HEIC", ... for a MIME type, as an artist would name the format."""
    return _NAMES.get(mime, mime.split("/")[-1].upper())


def _extrema(band: Image.Image) -> tuple[float, float]:
    low, high = band.getextrema()  # one band: (min, max)
    return float(low), float(high)  # type: ignore[arg-type]


def fits(size: int, limit: int | None) -> bool:
    return limit is None or size <= limit


def human_size(n: int) -> str:
    if n >= 1_000_000:
        value = n / (1 << 20) if n % (1 << 20) == 0 else n / 1e6
        return f"{value:.3g} MB"
    return f"{n / 1000:.3g} kB" if n >= 1000 else f"{n} bytes"
