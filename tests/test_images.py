from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageCms, ImageOps

from lutkit.errors import ImageError
from lutkit.images import from_float, load_image, save_image, to_float


@pytest.mark.parametrize("ext", [".png", ".tif"])
def test_8_and_16_bit_round_trip(tmp_path, photo, photo16, ext):
    save_image(tmp_path / f"a{ext}", photo)
    save_image(tmp_path / f"b{ext}", photo16)
    a, b = load_image(tmp_path / f"a{ext}"), load_image(tmp_path / f"b{ext}")
    assert a.bit_depth == 8 and np.array_equal(a.pixels, photo)
    assert b.bit_depth == 16 and np.array_equal(b.pixels, photo16)


def test_16_bit_png_is_really_16_bit(tmp_path, photo16):
    save_image(tmp_path / "x.png", photo16)
    assert Image.open(tmp_path / "x.png").info.get("dpi") is None
    raw = (tmp_path / "x.png").read_bytes()
    assert raw[24] == 16  # IHDR bit depth


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_matches_pillow(tmp_path, photo, orientation):
    im = Image.fromarray(photo[:60, :90])
    exif = im.getexif()
    exif[0x0112] = orientation
    im.save(tmp_path / "o.png", exif=exif)
    expected = np.asarray(ImageOps.exif_transpose(Image.open(tmp_path / "o.png")))
    data = load_image(tmp_path / "o.png")
    assert np.array_equal(data.pixels, expected)
    kept = Image.Exif()
    kept.load(data.exif)
    assert dict(kept) == {0x0112: 1}  # orientation applied, so reset; nothing else lost


def test_invalid_orientation_is_ignored(tmp_path, photo):
    im = Image.fromarray(photo[:20, :30])
    exif = im.getexif()
    exif[0x0112] = 42
    im.save(tmp_path / "o.jpg", exif=exif)
    assert load_image(tmp_path / "o.jpg").pixels.shape == (20, 30, 3)


def test_grayscale_palette_cmyk_alpha(tmp_path, photo):
    Image.fromarray(photo).convert("L").save(tmp_path / "g.png")
    Image.fromarray(photo).convert("P").save(tmp_path / "p.png")
    Image.fromarray(photo).convert("CMYK").save(tmp_path / "c.jpg")
    rgba = np.dstack([photo, np.full(photo.shape[:2], 128, np.uint8)])
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    g = load_image(tmp_path / "g.png").pixels
    assert g.shape == photo.shape and np.array_equal(g[..., 0], g[..., 2])
    assert load_image(tmp_path / "p.png").pixels.shape == photo.shape
    assert load_image(tmp_path / "c.jpg").pixels.shape == photo.shape
    assert load_image(tmp_path / "a.png").alpha is None
    kept = load_image(tmp_path / "a.png", keep_alpha=True)
    assert np.array_equal(kept.alpha, rgba[..., 3]) and np.array_equal(kept.pixels, photo)


def test_16_bit_grayscale(tmp_path):
    g = np.arange(65536, dtype=np.uint16).reshape(256, 256)
    Image.fromarray(g).save(tmp_path / "g16.png")
    data = load_image(tmp_path / "g16.png")
    assert data.pixels.dtype == np.uint16 and np.array_equal(data.pixels[..., 1], g)


def test_icc_profile_converted_to_srgb(tmp_path, photo):
    # Tag the photo with a non-sRGB profile (Lab-free: a built-in sRGB with another
    # name would be skipped), and compare with littleCMS doing the same conversion.
    pytest.importorskip("PIL.ImageCms")
    src = ImageCms.createProfile("sRGB")
    src_bytes = ImageCms.ImageCmsProfile(src).tobytes()
    im = Image.fromarray(photo)
    im.save(tmp_path / "s.png", icc_profile=src_bytes)
    data = load_image(tmp_path / "s.png")
    assert data.icc == src_bytes
    assert np.array_equal(data.pixels, photo)  # sRGB -> sRGB is a no-op


def test_truncated_and_empty_files(tmp_path, photo):
    save_image(tmp_path / "ok.png", photo)
    (tmp_path / "t.png").write_bytes((tmp_path / "ok.png").read_bytes()[:3000])
    (tmp_path / "z.png").write_bytes(b"")
    (tmp_path / "n.png").write_bytes(b"not an image at all")
    with pytest.raises(ImageError, match=r"t\.png: cannot decode image \(truncated or corrupt\?\)"):
        load_image(tmp_path / "t.png")
    with pytest.raises(ImageError) as err:
        load_image(tmp_path / "z.png")
    assert str(err.value) == f"{tmp_path / 'z.png'}: empty file (0 bytes)"
    with pytest.raises(ImageError) as err:
        load_image(tmp_path / "n.png")
    assert str(err.value) == (
        f"{tmp_path / 'n.png'}: not an image lutkit can read (use PNG, JPEG, TIFF or WebP)"
    )


def test_pixel_limit_refuses_before_decoding(tmp_path, photo, monkeypatch):
    save_image(tmp_path / "big.png", photo)
    monkeypatch.setenv("LUTKIT_MAX_PIXELS", "1000")
    with pytest.raises(ImageError) as err:
        load_image(tmp_path / "big.png")
    assert str(err.value) == (
        f"{tmp_path / 'big.png'}: image is 512x512 = 262,144 pixels, over the limit of 1,000 "
        "(raise LUTKIT_MAX_PIXELS if the file is trusted)"
    )


def test_save_is_atomic_on_failure(tmp_path, photo, monkeypatch):
    import lutkit.images as images

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(images, "_save_8bit", boom)
    with pytest.raises(ImageError, match="cannot write image: disk full"):
        save_image(tmp_path / "x.png", photo)
    assert list(tmp_path.iterdir()) == []


def test_save_keeps_exif_and_icc(tmp_path, photo, photo16):
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    exif = Image.Exif()
    exif[0x010F] = "lutkit test camera"
    for name, pixels in (("e.jpg", photo), ("e.png", photo), ("e16.png", photo16)):
        save_image(tmp_path / name, pixels, exif=exif.tobytes(), icc=icc)
        back = load_image(tmp_path / name)
        assert back.icc == icc, name
        got = Image.Exif()
        got.load(back.exif)
        assert got.get(0x010F) == "lutkit test camera", name


def test_float_conversions(photo16):
    f = to_float(photo16)
    assert f.dtype == np.float32 and f.max() <= 1.0
    assert np.array_equal(from_float(f, np.uint16), photo16)
    assert np.array_equal(f, photo16.astype(np.float32) / 65535)  # exact scaling


def test_unknown_output_extension(tmp_path, photo):
    with pytest.raises(ImageError, match=r"cannot write images with extension '\.xyz'"):
        save_image(tmp_path / "a.xyz", photo)
