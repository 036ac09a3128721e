"""Image decoding (synthdiv.decode): 16-bit, 32-bit and float images scaled, EXIF orientation
applied, alpha on white, CMYK converted — checked on the pixels the embedder and the pixel
classifier are given, against the pixels expected."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from synthdiv.decode import image_suffixes, is_image_file, open_rgb


def _gray(values: np.ndarray) -> np.ndarray:
    return np.repeat(np.asarray(values, np.uint8)[..., None], 3, axis=-1)


def test_a_16_bit_png_is_scaled_not_clipped_to_white(tmp_path):
    ramp = (np.arange(32 * 32).reshape(32, 32) * 64).astype(np.uint16)  # 0 … 65472
    Image.fromarray(ramp).save(tmp_path / "g16.png")
    assert Image.open(tmp_path / "g16.png").mode.startswith("I;16")
    assert (np.asarray(Image.open(tmp_path / "g16.png").convert("L")) == 255).mean() > 0.9  # PIL's own way
    got = np.asarray(open_rgb(tmp_path / "g16.png"))
    assert np.abs(got.astype(int) - _gray(np.rint(ramp / 257.0))).max() <= 1


def test_32_bit_integer_and_float_images_are_scaled_by_their_range(tmp_path):
    sixteen = (np.arange(64).reshape(8, 8) * 1000).astype(np.int32)  # 16-bit data in a 32-bit image
    Image.fromarray(sixteen, mode="I").save(tmp_path / "i32.tif")
    assert np.abs(np.asarray(open_rgb(tmp_path / "i32.tif")).astype(int) - _gray(np.rint(sixteen / 257))).max() <= 1
    unit = np.linspace(0, 1, 64, dtype=np.float32).reshape(8, 8)
    Image.fromarray(unit, mode="F").save(tmp_path / "f.tif")
    assert np.asarray(Image.open(tmp_path / "f.tif").convert("RGB")).max() <= 1  # PIL's own way: black
    assert np.abs(np.asarray(open_rgb(tmp_path / "f.tif")).astype(int) - _gray(np.rint(unit * 255))).max() <= 1
    wide = np.linspace(0, 300, 64, dtype=np.float32).reshape(8, 8)  # 0–255 floats (clipped above)
    Image.fromarray(wide, mode="F").save(tmp_path / "f255.tif")
    assert np.abs(np.asarray(open_rgb(tmp_path / "f255.tif")).astype(int)
                  - _gray(np.clip(np.rint(wide), 0, 255))).max() <= 1


def test_exif_orientation_is_applied(tmp_path):
    upright = np.zeros((40, 60, 3), np.uint8)
    upright[:, :30] = 255  # white left half, black right half, as a viewer shows it
    stored = np.rot90(upright, 1)  # what a camera writes with Orientation 6 (shown rotated 90° clockwise)
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(np.ascontiguousarray(stored)).save(tmp_path / "phone.jpg", exif=exif, quality=95)
    got = np.asarray(open_rgb(tmp_path / "phone.jpg")).astype(int)
    assert got.shape == upright.shape
    assert np.abs(got - upright).mean() < 8


def test_alpha_is_composited_on_white_and_cmyk_converted(tmp_path):
    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[..., 0] = 255
    rgba[:2, ..., 3] = 255  # top half opaque red, bottom half transparent
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    got = np.asarray(open_rgb(tmp_path / "a.png"))
    assert (got[:2] == (255, 0, 0)).all() and (got[2:] == (255, 255, 255)).all()
    half = rgba.copy()
    half[..., 3] = 128
    Image.fromarray(half, "RGBA").save(tmp_path / "half.png")
    assert np.abs(np.asarray(open_rgb(tmp_path / "half.png")).astype(int) - (255, 127, 127)).max() <= 1
    Image.new("CMYK", (4, 4), (255, 0, 0, 0)).save(tmp_path / "c.jpg", quality=100)  # cyan ink
    c = np.asarray(open_rgb(tmp_path / "c.jpg")).astype(int)
    assert np.abs(c - (0, 255, 255)).max() <= 3


def test_what_the_embedder_and_the_classifier_are_given(tmp_path):
    """The embedding worker's reader and the pixel classifier read the file as decoded, not as PIL
    converts it."""
    import torch

    from synthdiv.classifier import read_image
    from synthdiv.embed import Embedder, resolve_embedder
    from workbench.embedding import ImageReader

    ramp = (np.arange(16 * 16).reshape(16, 16) * 256).astype(np.uint16)
    Image.fromarray(ramp).save(tmp_path / "g16.png")
    expected = Image.fromarray(_gray(np.rint(ramp / 257.0)))
    embedder = Embedder(resolve_embedder("tiny-random"), device="cpu")
    with ImageReader(tmp_path, embedder, threads=1) as reader:
        (row, tensor, exc), = next(reader.batches(iter([[{"path": "g16.png"}], []]).__next__))
    assert exc is None and torch.allclose(tensor, embedder.pixels(expected), atol=1e-2)
    assert torch.equal(read_image(tmp_path / "g16.png"), torch.from_numpy(np.array(expected)).permute(2, 0, 1))


def test_image_files_are_what_pil_opens_and_not_hidden_files(tmp_path):
    assert {".png", ".jpg", ".jpeg", ".jfif", ".tif", ".tiff", ".webp", ".bmp"} <= image_suffixes()
    assert is_image_file(tmp_path / "x.JFIF") and is_image_file("a/b.PNG")
    assert not is_image_file("._x.jpg") and not is_image_file(".DS_Store") and not is_image_file("notes.txt")


def test_a_folder_source_skips_hidden_files_and_takes_every_extension(tmp_path):
    from synthdiv.real import folder_items

    (tmp_path / "cat" / ".hidden").mkdir(parents=True)
    for name, fmt in (("a.png", "PNG"), ("b.jfif", "JPEG"), ("._a.png", "PNG"), (".hidden/c.png", "PNG")):
        Image.new("RGB", (4, 4)).save(tmp_path / "cat" / name, format=fmt)
    (tmp_path / "cat" / "d.txt").write_text("x")
    items = folder_items(tmp_path, {"cat": "cat"})
    assert sorted(p.path.rsplit("/", 1)[-1] for p in items) == ["a.png", "b.jfif"]


@pytest.mark.parametrize("mode", ["L", "P", "1", "LA"])
def test_every_other_mode_comes_out_rgb(tmp_path, mode):
    Image.new(mode, (3, 3)).save(tmp_path / "m.png")
    assert open_rgb(tmp_path / "m.png").mode == "RGB"
