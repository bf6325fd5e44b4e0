from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms, ImageOps

from lutkit.errors import ImageError
from lutkit.images import from_float, load_image, orient, save_image, to_float


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


@pytest.mark.parametrize("orientation", range(2, 9))
@pytest.mark.parametrize("kind", ["8-bit", "8-bit LZW", "16-bit"])
def test_a_tiffs_orientation_is_applied_once(tmp_path, photo, photo16, orientation, kind):
    # Pillow 13 and OpenCV 5 turn a TIFF by its tag themselves, and lutkit turned it
    # again: a portrait came out on its side, orientation 3 upside down.
    import tifffile

    pixels = (photo16 if kind == "16-bit" else photo)[:60, :90]
    if kind == "16-bit":
        tag = [(0x0112, "H", 1, orientation, True)]
        tifffile.imwrite(tmp_path / "o.tif", pixels, photometric="rgb", extratags=tag)
    else:  # as the trial made it: Pillow, the orientation in its EXIF
        exif = Image.Exif()
        exif[0x0112] = orientation
        lzw = {"compression": "tiff_lzw"} if kind == "8-bit LZW" else {}
        Image.fromarray(pixels).save(tmp_path / "o.tif", exif=exif, **lzw)
    expected = orient(pixels, orientation)  # as the PNG test above checks it with Pillow
    data = load_image(tmp_path / "o.tif")
    assert data.pixels.dtype == pixels.dtype and np.array_equal(data.pixels, expected)
    assert np.array_equal(load_image(tmp_path / "o.tif", apply_orientation=False).pixels, pixels)


@pytest.mark.parametrize("orientation", [3, 5, 6, 7, 8])
@pytest.mark.parametrize("mode", ["L", "RGBA", "I;16", "P"])
def test_a_tiffs_orientation_is_applied_once_in_every_mode(tmp_path, photo, orientation, mode):
    # Pillow 13 turns these modes by the tag itself, into garbage for 5-8 (a review).
    im = Image.fromarray(photo[:40, :70])
    if mode == "RGBA":
        im.putalpha(Image.fromarray(photo[:40, :70, 1]))
    elif mode == "I;16":
        im = Image.fromarray(photo[:40, :70, 0].astype(np.uint16) * 257)
    else:
        im = im.convert(mode)
    exif = Image.Exif()
    exif[0x0112] = orientation
    im.save(tmp_path / "o.tif", exif=exif)
    im.save(tmp_path / "o.png")  # the same pixels, no tag
    stored = load_image(tmp_path / "o.png", keep_alpha=True)
    data = load_image(tmp_path / "o.tif", keep_alpha=True)
    assert np.array_equal(data.pixels, orient(stored.pixels, orientation))
    if mode == "RGBA":
        assert np.array_equal(data.alpha, orient(stored.alpha, orientation))
    raw = load_image(tmp_path / "o.tif", apply_orientation=False)
    assert np.array_equal(raw.pixels, stored.pixels)


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


@pytest.mark.parametrize("ext", [".png", ".jpg", ".tif", ".bmp"])
@pytest.mark.parametrize("kind", ["L", "LA", "I;16"])
def test_a_greyscale_file_is_written_greyscale_while_its_pixels_stay_grey(
    tmp_path, photo, ext, kind
):
    """`lut apply` and `fix` write through write_image_data: a greyscale scan whose
    pixels are still grey (a neutral edit, or fix leaving it as it is) comes back
    greyscale, with its bit depth and alpha; one that took a colour becomes RGB."""
    from lutkit.luts.files import write_image_data

    grey = np.asarray(Image.fromarray(photo).convert("L"))
    if kind == "LA":
        Image.merge("LA", [Image.fromarray(grey), Image.fromarray(255 - grey)]).save(
            tmp_path / "src.png"
        )
    elif kind == "I;16":
        Image.fromarray(grey.astype(np.uint16) * 257 + 1).save(tmp_path / "src.png")
    else:
        Image.fromarray(grey, "L").save(tmp_path / "src.png")
    data = load_image(tmp_path / "src.png", keep_alpha=True)
    assert data.grey
    out = write_image_data(tmp_path / f"out{ext}", data.with_pixels(data.pixels), 95)
    deep = kind == "I;16" and ext in (".png", ".tif")
    alpha = kind == "LA" and ext in (".png", ".tif")
    want = {True: "I;16", False: "LA" if alpha else "L"}[deep]
    with Image.open(out) as im:
        assert im.mode == want
    back = load_image(out, keep_alpha=True)
    if ext != ".jpg" and (deep or kind != "I;16"):  # lossless, at the same depth
        assert np.array_equal(back.pixels, data.pixels)
    assert alpha == (back.alpha is not None)
    tinted = data.pixels.copy()
    tinted[0, 0] = (np.iinfo(tinted.dtype).max, 0, 0)  # one red pixel
    with Image.open(write_image_data(tmp_path / f"c{ext}", data.with_pixels(tinted), 95)) as im:
        assert im.mode in ("RGB", "RGBA")  # (a 16-bit RGB file opens as RGB in Pillow)


ADOBE = Path(__file__).parent / "resources" / "icc" / "compatibleWithAdobeRGB1998.icc"


def _lcms_to_srgb(pixels8: np.ndarray) -> np.ndarray:
    """littleCMS itself: Adobe RGB -> sRGB, the intent lutkit uses."""
    src = ImageCms.ImageCmsProfile(str(ADOBE))
    dst = ImageCms.createProfile("sRGB")
    im = ImageCms.profileToProfile(
        Image.fromarray(pixels8), src, dst, renderingIntent=ImageCms.Intent.PERCEPTUAL
    )
    return np.asarray(im)


def test_icc_profile_converted_to_srgb(tmp_path, photo):
    # A real non-sRGB profile (Adobe RGB primaries): lutkit's 8-bit conversion is
    # exactly littleCMS's, and it does change the pixels.
    icc = ADOBE.read_bytes()
    save_image(tmp_path / "a.png", photo, icc=icc)
    data = load_image(tmp_path / "a.png")
    expected = _lcms_to_srgb(photo)
    assert not np.array_equal(expected, photo)  # the test would see a missing conversion
    assert np.array_equal(data.pixels, expected)
    assert data.icc == icc and data.icc_converted and data.output_icc is None


def test_icc_16_bit_conversion_agrees_with_littlecms(tmp_path):
    # Pillow's littleCMS is 8-bit only. On 8-bit values (x 257) lutkit's 16-bit path
    # gives littleCMS's answer; between them it lies within the range littleCMS gives
    # at the 8 surrounding 8-bit colours, but for a few levels where the gamut clips.
    rng = np.random.default_rng(3)
    lattice = (np.arange(0, 256, 15, dtype=np.uint16) * 257)[rng.integers(0, 18, (64, 64, 3))]
    free = rng.integers(0, 65536, (64, 64, 3), dtype=np.uint16)
    icc = ADOBE.read_bytes()
    for name, pixels in (("lattice", lattice), ("free", free)):
        save_image(tmp_path / f"{name}.png", pixels, icc=icc)
        data = load_image(tmp_path / f"{name}.png")
        assert data.pixels.dtype == np.uint16 and data.icc_converted
        got = data.pixels / 257.0
        assert np.abs(got - pixels / 257.0).max() > 5  # it did convert
        lo = (pixels // 257).astype(np.uint8)
        if name == "lattice":
            assert np.abs(got - _lcms_to_srgb(lo)).max() <= 0.01
            continue
        hi = np.minimum(lo.astype(np.uint16) + 1, 255).astype(np.uint8)
        corners = np.stack(
            [
                _lcms_to_srgb(np.stack([(hi if k >> c & 1 else lo)[..., c] for c in range(3)], -1))
                for k in range(8)
            ]
        ).astype(np.float64)
        outside = np.maximum(corners.min(0) - got, got - corners.max(0))
        assert np.mean(outside > 1.0) < 0.01 and outside.max() < 4.0, outside.max()


def test_icc_kept_without_conversion(tmp_path, photo, photo16):
    icc = ADOBE.read_bytes()
    for name, pixels in (("a8.png", photo), ("a16.png", photo16)):
        save_image(tmp_path / name, pixels, icc=icc)
        data = load_image(tmp_path / name, convert_icc=False)
        assert np.array_equal(data.pixels, pixels), name
        assert data.output_icc == icc, name


def test_broken_and_mismatched_profiles(tmp_path, photo):
    gray = ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")).tobytes()
    broken = ADOBE.read_bytes()[:200]
    for name, icc in (("broken.png", broken), ("lab.png", gray)):
        Image.fromarray(photo[:32, :32]).save(tmp_path / name, icc_profile=icc)
        # Not converted: the pixels stay, and a profile that cannot describe them is
        # never written back.
        data = load_image(tmp_path / name, convert_icc=False)
        assert np.array_equal(data.pixels, photo[:32, :32]) and data.output_icc is None
        # Converted: a one-line error naming the file.
        with pytest.raises(ImageError) as err:
            load_image(tmp_path / name)
        assert str(err.value).startswith(f"{tmp_path / name}: cannot convert to sRGB")
        assert "\n" not in str(err.value)


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
        f"{tmp_path / 'n.png'}: not an image lutkit can read: named .png, but its bytes are no "
        "PNG (nor another format lutkit reads) (export it again from the original)"
    )
    # A file that starts as a JPEG (or WebP) but does not decode is said to be one.
    (tmp_path / "j.jpg").write_bytes(b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4)
    (tmp_path / "w.webp").write_bytes(b"RIFF\x00\x01\x00\x00WEBPVP8 " + b"\x00" * 64)
    for name, kind in (("j.jpg", "JPEG"), ("w.webp", "WebP")):
        with pytest.raises(ImageError) as err:
            load_image(tmp_path / name)
        assert str(err.value) == (
            f"{tmp_path / name}: a {kind} file that cannot be decoded (truncated or corrupt?) "
            "(export it again from the original)"
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


@pytest.mark.parametrize(
    "ext,depth,compression",
    [
        (".jpg", 8, None),
        (".png", 8, None),
        (".tif", 8, "tiff_lzw"),
        (".bmp", 8, None),
        (".png", 16, None),
        (".tif", 16, None),
        (".tif", 16, "tiff_adobe_deflate"),
    ],
)
def test_dpi_is_read_and_written_back(tmp_path, photo, photo16, ext, depth, compression):
    pixels = photo if depth == 8 else photo16
    path = save_image(tmp_path / f"p{ext}", pixels, dpi=(300.0, 150.0), compression=compression)
    with Image.open(path) as im:  # Pillow, independently of lutkit's reader
        assert np.allclose(im.info["dpi"], (300, 150), atol=0.05)
    data = load_image(path)
    assert data.dpi is not None and np.allclose(data.dpi, (300, 150), atol=0.05)
    again = save_image(tmp_path / f"q{ext}", data.pixels, dpi=data.dpi, compression=compression)
    assert np.allclose(load_image(again).dpi, (300, 150), atol=0.05)


def test_no_dpi_when_the_file_has_none(tmp_path, photo):
    assert load_image(save_image(tmp_path / "p.png", photo)).dpi is None


def test_a_jpegs_comment_is_read_and_written_back_into_jpegs_only(tmp_path, photo):
    comment = b"Scanned from a 1987 print \xa9 the family"
    save_image(tmp_path / "c.jpg", photo, comment=comment)
    with Image.open(tmp_path / "c.jpg") as im:  # a real COM segment, as Pillow reads it
        assert im.info["comment"] == comment
    back = load_image(tmp_path / "c.jpg")
    assert back.comment == comment
    save_image(tmp_path / "c.png", back.pixels, comment=back.comment)  # ignored, no error
    assert load_image(tmp_path / "c.png").comment is None
    save_image(tmp_path / "none.jpg", photo)
    assert load_image(tmp_path / "none.jpg").comment is None
    # a camera's JPEG with an MPF segment (Pillow calls it MPO) has its comment read too
    mpo = Image.fromarray(photo)
    mpo.save(
        tmp_path / "cam.jpg", format="MPO", save_all=True, append_images=[mpo], comment=comment
    )
    with Image.open(tmp_path / "cam.jpg") as im:
        assert im.format == "MPO"
    assert load_image(tmp_path / "cam.jpg").comment == comment


def test_damaged_exif_is_one_warning_that_names_the_file(tmp_path):
    """Pillow warns about damaged EXIF from its own source line, at open and again when
    the tags are read: lutkit says it once, as a LutkitWarning with the file."""
    from click.testing import CliRunner

    from lutkit.cli import main
    from lutkit.errors import LutkitWarning

    bad = Path(__file__).parent / "resources" / "bad" / "images" / "exif-garbage.jpg"
    with pytest.warns(LutkitWarning) as said:
        image = load_image(bad)
    assert [str(w.message) for w in said] == [
        f"{bad}: damaged EXIF (Corrupt EXIF data. Expecting to read 2 bytes but only got 0); "
        "outputs get only the tags that could be read"
    ]
    assert image.exif is None
    result = CliRunner().invoke(
        main, ["lut", "apply", "sodium-orange", str(bad), "-o", str(tmp_path / "o.jpg")]
    )
    assert result.exit_code == 0, result.output
    assert result.stderr == f"warning: {said[0].message}\n"


def test_a_tiffs_exif_is_its_metadata_not_its_layout(tmp_path, photo):
    """Pillow reads a TIFF's first IFD as its EXIF, strips and sample format included,
    and says (1, 1) dpi when the file has no resolution: neither is the photo's."""
    exif = Image.Exif()
    exif[0x013B] = "A. Restorer"  # Artist
    exif[0x8298] = "(c) the archive"  # Copyright
    Image.fromarray(photo).save(tmp_path / "scan.tif", exif=exif.tobytes())
    assert Image.open(tmp_path / "scan.tif").info.get("dpi") == (1, 1)
    image = load_image(tmp_path / "scan.tif")
    assert image.dpi is None
    kept = Image.Exif()
    kept.load(image.exif)
    assert dict(kept) == {0x013B: "A. Restorer", 0x8298: "(c) the archive", 0x0112: 1}
    save_image(tmp_path / "scan.jpg", image.pixels, exif=image.exif)
    out = Image.open(tmp_path / "scan.jpg")
    assert out.getexif().get(0x013B) == "A. Restorer" and 258 not in out.getexif()
    Image.fromarray(photo).save(tmp_path / "dpi.tif", dpi=(300, 300))
    assert load_image(tmp_path / "dpi.tif").dpi == (300.0, 300.0)


def test_a_16bit_tiff_carries_the_exif_text_and_resolution(tmp_path, photo16):
    exif = Image.Exif()
    exif[0x013B] = "A. Restorer"
    exif[0x010F] = "Nikon"
    exif[0x9003] = "not carried"  # DateTimeOriginal: not one of the text tags it carries
    save_image(tmp_path / "scan.tif", photo16, exif=exif.tobytes(), dpi=(300, 300))
    back = load_image(tmp_path / "scan.tif")
    assert back.bit_depth == 16 and back.dpi == (300.0, 300.0)
    assert np.array_equal(back.pixels, photo16)
    kept = Image.Exif()
    kept.load(back.exif)
    assert dict(kept) == {0x013B: "A. Restorer", 0x010F: "Nikon", 0x0112: 1}


def _gray_profile(gamma: float = 2.2) -> bytes:
    """A minimal ICC v2 monochrome display profile (a gamma curve, D50 white), built
    here so that no third-party profile is vendored."""
    import struct

    def s15(v: float) -> bytes:
        return struct.pack(">i", round(v * 65536))

    ascii_ = b"lutkit test gray\x00"
    desc = b"desc" + bytes(4) + struct.pack(">I", len(ascii_)) + ascii_ + bytes(8) + bytes(70)
    tags = [
        (b"desc", desc),
        (b"wtpt", b"XYZ " + bytes(4) + s15(0.9642) + s15(1.0) + s15(0.8249)),
        (b"kTRC", b"curv" + bytes(4) + struct.pack(">IH", 1, round(gamma * 256))),
        (b"cprt", b"text" + bytes(4) + b"public domain\x00"),
    ]
    offset = 128 + 4 + 12 * len(tags)
    table, body = struct.pack(">I", len(tags)), b""
    for sig, data in tags:
        table += sig + struct.pack(">II", offset + len(body), len(data))
        body += data + bytes(-len(data) % 4)
    size = offset + len(body)
    header = (
        struct.pack(">I", size) + bytes(4) + bytes([2, 0x10, 0, 0]) + b"mntrGRAYXYZ "
        + bytes(12) + b"acsp" + bytes(24) + struct.pack(">I", 0)
        + s15(0.9642) + s15(1.0) + s15(0.8249) + bytes(48)
    )  # fmt: skip
    assert len(header) == 128
    return header + table + body


def test_a_gray_profile_converts_to_srgb(tmp_path, photo):
    """A greyscale scan tagged with a grey profile goes to sRGB through it (LittleCMS's
    own gray -> sRGB transform), where it used to be an error."""
    gray = np.asarray(Image.fromarray(photo).convert("L"))
    icc = _gray_profile()
    Image.fromarray(gray, "L").save(tmp_path / "g.png", icc_profile=icc)
    got = load_image(tmp_path / "g.png").pixels
    src = ImageCms.ImageCmsProfile(__import__("io").BytesIO(icc))
    want = ImageCms.profileToProfile(
        Image.fromarray(gray, "L"), src, ImageCms.createProfile("sRGB"), outputMode="RGB",
        renderingIntent=ImageCms.Intent.PERCEPTUAL,
    )  # fmt: skip
    assert got.shape == (*gray.shape, 3)
    assert np.array_equal(got, np.asarray(want))
    assert np.abs(got[..., 0].astype(int) - got[..., 2]).max() <= 2  # still grey


def test_a_gray_profile_converts_with_alpha_and_at_16_bit(tmp_path, photo):
    """Grey with alpha (LA) and 16-bit grey go through their GRAY profile too, as 8-bit
    L does (LA used to fail as "a GRAY profile on RGB pixels"; 16-bit grey was left
    unconverted and lost its profile). The 16-bit transform samples the 8-bit one at
    the 256 greys: at those values the two agree exactly."""
    icc = _gray_profile(1.0)
    gray = np.asarray(Image.fromarray(photo).convert("L"))
    alpha = np.full_like(gray, 180)
    Image.fromarray(gray, "L").save(tmp_path / "l.png", icc_profile=icc)
    Image.fromarray(np.dstack([gray, alpha]), "LA").save(tmp_path / "la.png", icc_profile=icc)
    Image.fromarray(gray.astype(np.uint16) * 257).save(tmp_path / "g16.png", icc_profile=icc)
    want = load_image(tmp_path / "l.png").pixels
    assert not np.array_equal(want[..., 0], gray)  # the gamma-1.0 profile did something
    la = load_image(tmp_path / "la.png", keep_alpha=True)
    assert np.array_equal(la.pixels, want) and np.array_equal(la.alpha, alpha)
    g16 = load_image(tmp_path / "g16.png")
    assert g16.pixels.dtype == np.uint16 and g16.grey
    assert np.array_equal(g16.pixels, want.astype(np.uint16) * 257)
    for name in ("la.png", "g16.png"):
        assert load_image(tmp_path / name).output_icc is None  # converted: not written back


@pytest.mark.parametrize(
    "name, depth", [("s.png", 8), ("s.jpg", 8), ("s.tif", 8), ("s.png", 16), ("s.tif", 16)]
)
def test_a_greyscale_file_keeps_its_gray_profile(tmp_path, photo, name, depth):
    """Without conversion a grey scan's pixels stay in its GRAY profile's encoding, so the
    profile goes with them into a greyscale output (it used to be dropped, and a "Gray
    Gamma 1.0" scan changed tone in a colour-managed viewer). An output that gained a
    colour cannot carry a GRAY profile: it is written RGB without one, with a warning."""
    from lutkit.errors import LutkitWarning
    from lutkit.luts.files import write_image_data

    icc = _gray_profile(1.0)
    gray = np.asarray(Image.fromarray(photo).convert("L"))
    pixels = gray if depth == 8 else gray.astype(np.uint16) * 257
    Image.fromarray(pixels).save(tmp_path / "in.png", icc_profile=icc)
    data = load_image(tmp_path / "in.png", keep_alpha=True, convert_icc=False)
    assert data.output_icc == icc and data.grey
    write_image_data(tmp_path / name, data.with_pixels(data.pixels), 95)
    with Image.open(tmp_path / name) as im:
        assert im.info.get("icc_profile") == icc
        assert len(im.getbands()) == 1
    tinted = data.pixels.copy()
    tinted[..., 0] = tinted[..., 0] // 2
    with pytest.warns(LutkitWarning, match="GRAY profile: an RGB file cannot carry it"):
        write_image_data(tmp_path / f"rgb-{name}", data.with_pixels(tinted), 95)
    with Image.open(tmp_path / f"rgb-{name}") as im:
        assert im.info.get("icc_profile") is None
        assert im.getbands() == ("R", "G", "B")


def test_a_float_tiff_is_named_as_such_not_called_corrupt(tmp_path):
    """An HDR merge's 32-bit float TIFF is a sound file that lutkit does not read: the
    error says what it holds and what to export instead, not "truncated or corrupt?"."""
    import tifffile

    tifffile.imwrite(tmp_path / "hdr.tif", np.full((8, 8, 3), 0.5, np.float32), photometric="rgb")
    with pytest.raises(ImageError) as err:
        load_image(tmp_path / "hdr.tif")
    assert str(err.value) == (
        f"{tmp_path / 'hdr.tif'}: a TIFF of 32-bit float samples, which lutkit does not "
        "read (export it as an 8 or 16-bit integer TIFF or PNG)"
    )
    (tmp_path / "cut.tif").write_bytes((tmp_path / "hdr.tif").read_bytes()[:10])
    with pytest.raises(ImageError, match="cannot be decoded"):  # damage is still damage
        load_image(tmp_path / "cut.tif")


def test_other_pages_of_a_tiff_are_warned_about(tmp_path, photo):
    """Only the first page of a multi-page TIFF is read; an output has that one only, so
    the user is told (it used to be silent)."""
    from lutkit.errors import LutkitWarning

    pages = [Image.fromarray(photo), Image.fromarray(photo[::-1].copy())]
    pages[0].save(tmp_path / "scans.tif", save_all=True, append_images=pages[1:])
    with pytest.warns(LutkitWarning, match=r"scans\.tif: 2 pages; only the first is read"):
        got = load_image(tmp_path / "scans.tif").pixels
    assert np.array_equal(got, photo)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Image.fromarray(photo).save(tmp_path / "one.tif")
        load_image(tmp_path / "one.tif")  # one page: nothing said


def test_16_bit_grey_with_alpha_and_a_gray_profile(tmp_path, photo):
    """Pillow opens a 16-bit grey PNG with alpha as RGBA; its colour type says grey, so
    its GRAY profile converts it (it failed as "a GRAY profile on RGB pixels") and is
    kept without conversion. Such an output stays RGB (OpenCV writes no 16-bit grey with
    alpha), so the profile is left out with a warning that says why."""
    import struct
    import zlib

    from lutkit.errors import LutkitWarning
    from lutkit.luts.files import write_image_data

    icc = _gray_profile(1.0)
    gray = np.asarray(Image.fromarray(photo).convert("L"))
    Image.fromarray(gray, "L").save(tmp_path / "l.png", icc_profile=icc)
    g16 = gray.astype(np.uint16) * 257
    # the PNG by hand (colour type 4, 16-bit, with the profile): Pillow writes none such
    pairs = np.dstack([g16, np.full_like(g16, 40000)]).astype(">u2")
    rows = b"".join(b"\x00" + row.tobytes() for row in pairs)

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    h, w = g16.shape
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, 4, 0, 0, 0))
    png += chunk(b"iCCP", b"gray\x00\x00" + zlib.compress(icc))
    png += chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")
    (tmp_path / "la16.png").write_bytes(png)
    got = load_image(tmp_path / "la16.png", keep_alpha=True)
    assert got.grey and got.pixels.dtype == np.uint16
    assert np.array_equal(got.pixels, load_image(tmp_path / "l.png").pixels.astype(np.uint16) * 257)
    assert np.all(got.alpha == 40000)
    kept = load_image(tmp_path / "la16.png", keep_alpha=True, convert_icc=False)
    assert kept.output_icc == icc and np.array_equal(kept.pixels[..., 0], g16)
    with pytest.warns(LutkitWarning, match="cannot be written greyscale"):
        write_image_data(tmp_path / "out.png", kept.with_pixels(kept.pixels), 95)


def test_counting_pages_never_breaks_a_read(tmp_path, photo):
    """Counting a TIFF's pages parses every page: one Pillow cannot parse (float RGB)
    must not stop the first from being read, and the page warning is not mistaken for
    Pillow's EXIF warning, whatever the folder is called."""
    import tifffile

    from lutkit.errors import LutkitWarning

    with tifffile.TiffWriter(tmp_path / "mixed.tif") as tif:
        tif.write(photo[:32, :32], photometric="rgb")
        tif.write(np.zeros((8, 8, 3), np.float32), photometric="rgb")
    assert np.array_equal(load_image(tmp_path / "mixed.tif").pixels, photo[:32, :32])
    (tmp_path / "exif-fixes").mkdir()
    pages = [Image.fromarray(photo[:32, :32]), Image.fromarray(photo[32:64, :32])]
    pages[0].save(tmp_path / "exif-fixes" / "s.tif", save_all=True, append_images=pages[1:])
    with pytest.warns(LutkitWarning) as said:
        load_image(tmp_path / "exif-fixes" / "s.tif")
    assert [str(w.message) for w in said] == [
        f"{tmp_path / 'exif-fixes' / 's.tif'}: 2 pages; only the first is read (an output "
        "has that one only)"
    ]
