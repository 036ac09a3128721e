"""Image files as the RGB pixels every measure sees: one decoder for real and generated images.

PIL's own ``convert("RGB")`` reads some files wrongly without a word: a 16-bit grayscale PNG
clips to white, a float TIFF turns black, a phone's JPEG keeps the sideways orientation its EXIF
tag corrects, and a transparent background turns black. :func:`to_rgb` does it right:

- **EXIF orientation** is applied first (the image as a viewer shows it);
- **16-bit** images (modes ``I;16*``) are scaled by 255 / 65535; **32-bit integer** images (mode
  ``I``) by the range their largest value implies — up to 255 as they are, up to 65535 as 16-bit,
  beyond that as 32-bit; **float** images (mode ``F``) are read as 0–1 when every value lies in
  [0, 1], else as 0–255 (clipped);
- **alpha** (RGBA, LA, PA, a palette with a transparent colour) is composited on **white**, as
  the image shows on a page;
- CMYK, YCbCr, LAB, palette and 1-bit images go through PIL's conversion.

Files are images when PIL can open their extension (``.jfif`` and ``.avif`` included, when the
installed PIL reads them), and hidden files are not: macOS's ``._name.jpg`` AppleDouble files and
``.DS_Store`` are metadata, not pictures.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

_SIXTEEN = ("I;16", "I;16B", "I;16L", "I;16N", "I;16S")
_ALPHA = ("RGBA", "LA", "PA", "RGBa", "La")


@lru_cache(maxsize=1)
def image_suffixes() -> frozenset[str]:
    """Every file extension (lowercase, with its dot) that the installed PIL can open."""
    Image.init()
    return frozenset(ext.lower() for ext, fmt in Image.registered_extensions().items() if fmt in Image.OPEN)


def is_image_file(path: str | Path) -> bool:
    """Whether ``path`` names an image file: an extension PIL opens, and not a hidden file."""
    p = Path(path)
    return not p.name.startswith(".") and p.suffix.lower() in image_suffixes()


def _gray8(values: np.ndarray, scale: float) -> Image.Image:
    return Image.fromarray(np.clip(np.rint(values.astype(np.float64) * scale), 0, 255).astype(np.uint8), mode="L")


def to_rgb(image: Image.Image) -> Image.Image:
    """``image`` as 8-bit RGB, upright, on white where it was transparent (the module says how)."""
    image = ImageOps.exif_transpose(image) or image
    mode = image.mode
    if mode == "RGB":
        return image
    if mode in _SIXTEEN:
        return _gray8(np.asarray(image), 255.0 / 65535.0).convert("RGB")
    if mode == "I":
        values = np.asarray(image)
        top = int(values.max()) if values.size else 0
        scale = 1.0 if top <= 255 else 255.0 / 65535.0 if top <= 65535 else 255.0 / (2**32 - 1)
        return _gray8(np.maximum(values, 0), scale).convert("RGB")
    if mode == "F":
        values = np.nan_to_num(np.asarray(image, dtype=np.float64))
        unit = values.size and values.min() >= 0.0 and values.max() <= 1.0
        return _gray8(values, 255.0 if unit else 1.0).convert("RGB")
    if mode in _ALPHA or (mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        page = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        page.alpha_composite(rgba)
        return page.convert("RGB")
    return image.convert("RGB")


def open_rgb(path: str | Path) -> Image.Image:
    """The image file ``path`` decoded by :func:`to_rgb` (read in full; the file is closed)."""
    with Image.open(path) as im:
        im.load()
        return to_rgb(im)
