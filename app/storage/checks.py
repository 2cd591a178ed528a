"""What an upload really is: decided from its bytes, never from its name or the browser's word.

Pure (Pillow and the standard library only). ``inspect_upload`` returns what was found or
raises ``UploadRefused`` with a reason code the views turn into a message; ``make_preview``
turns an accepted image into a small, upright JPEG without its metadata.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from typing import Final

from PIL import Image, ImageOps, UnidentifiedImageError

JPEG: Final = "image/jpeg"
PNG: Final = "image/png"
WEBP: Final = "image/webp"
PDF: Final = "application/pdf"

IMAGES: Final = frozenset({JPEG, PNG, WEBP})
DOCUMENTS: Final = frozenset({PDF})
IMAGES_AND_DOCUMENTS: Final = IMAGES | DOCUMENTS

EXTENSIONS: Final = {JPEG: ".jpg", PNG: ".png", WEBP: ".webp", PDF: ".pdf"}
# Pillow's format name for each type we accept as an image.
_PIL_FORMATS: Final = {JPEG: "JPEG", PNG: "PNG", WEBP: "WEBP"}

# A photo from a phone is 12–50 megapixels; beyond this it is a decompression bomb.
MAX_PIXELS: Final = 80_000_000
PREVIEW_EDGE: Final = 1280  # the longest side of a preview, in pixels
PREVIEW_QUALITY: Final = 82


class UploadRefused(ValueError):
    """The upload cannot be accepted. ``reason`` is one of the codes below."""

    EMPTY = "empty"
    TOO_LARGE = "too_large"
    WRONG_TYPE = "wrong_type"
    BROKEN_IMAGE = "broken_image"
    TOO_MANY_PIXELS = "too_many_pixels"

    def __init__(self, reason: str, **params: object) -> None:
        super().__init__(reason)
        self.reason = reason
        self.params = params


@dataclass(frozen=True)
class InspectedUpload:
    content_type: str
    size: int
    width: int | None = None  # upright, after the EXIF orientation is applied
    height: int | None = None

    @property
    def is_image(self) -> bool:
        return self.content_type in IMAGES


def sniff(data: bytes) -> str | None:
    """The type the first bytes announce (magic numbers), or None for anything else."""
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return WEBP
    if data.startswith(b"%PDF-"):
        return PDF
    return None


def inspect_upload(data: bytes, *, allowed: frozenset[str], max_bytes: int) -> InspectedUpload:
    """Check size and type by content; images must also decode completely."""
    if not data:
        raise UploadRefused(UploadRefused.EMPTY)
    if len(data) > max_bytes:
        raise UploadRefused(UploadRefused.TOO_LARGE, limit_mb=max_bytes // (1024 * 1024))
    content_type = sniff(data)
    if content_type is None or content_type not in allowed:
        raise UploadRefused(UploadRefused.WRONG_TYPE)
    if content_type not in IMAGES:
        return InspectedUpload(content_type, len(data))
    width, height = _verify_image(data, content_type)
    return InspectedUpload(content_type, len(data), width, height)


def _verify_image(data: bytes, content_type: str) -> tuple[int, int]:
    """Decode the whole image (a truncated or forged file fails here); upright size."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                if probe.format != _PIL_FORMATS[content_type]:
                    raise UploadRefused(UploadRefused.WRONG_TYPE)
                if probe.width * probe.height > MAX_PIXELS:
                    raise UploadRefused(UploadRefused.TOO_MANY_PIXELS)
                probe.verify()  # structure and checksums
            with Image.open(io.BytesIO(data)) as image:
                image.load()  # every pixel: verify() does not decode
                upright = ImageOps.exif_transpose(image)
                return upright.width, upright.height
    except UploadRefused:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise UploadRefused(UploadRefused.TOO_MANY_PIXELS) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise UploadRefused(UploadRefused.BROKEN_IMAGE) from exc


def make_preview(data: bytes, edge: int = PREVIEW_EDGE) -> bytes:
    """A JPEG no larger than ``edge`` on its longest side, turned upright from the EXIF
    orientation, on white where the original was transparent; no metadata is carried over
    (phones write the place a photo was taken into it)."""
    with Image.open(io.BytesIO(data)) as original:
        image = ImageOps.exif_transpose(original)
        if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
            rgba = image.convert("RGBA")
            flat = Image.new("RGB", rgba.size, (255, 255, 255))
            flat.paste(rgba, mask=rgba.getchannel("A"))
            image = flat
        elif image.mode != "RGB":
            image = image.convert("RGB")
        image.thumbnail((edge, edge), Image.Resampling.LANCZOS)
        out = io.BytesIO()
        image.save(out, "JPEG", quality=PREVIEW_QUALITY, optimize=True)
        return out.getvalue()
