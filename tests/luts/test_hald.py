from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from lutkit.errors import FormatError, LUTError
from lutkit.luts.hald import hald_identity, hald_level, read_hald, write_hald
from lutkit.luts.model import LUT1D, LUT3D


def read_raw(path: Path) -> np.ndarray:
    """Pixels exactly as stored (RGB, native depth)."""
    return cv2.imread(str(path), cv2.IMREAD_UNCHANGED)[:, :, 2::-1]


def random_lut(level: int, seed: int = 0) -> LUT3D:
    rng = np.random.default_rng(seed)
    n = level * level
    return LUT3D(rng.random((n, n, n, 3)), title="random")


# --------------------------------------------------------------------------- identity


def test_identity_layout_red_fastest() -> None:
    image = hald_identity(2, np.uint8)
    assert image.shape == (8, 8, 3) and image.dtype == np.uint8
    flat = image.reshape(-1, 3)
    # Level 2: a 4-point lattice with values 0, 85, 170, 255; red, then green, then blue.
    assert flat[:5].tolist() == [[0, 0, 0], [85, 0, 0], [170, 0, 0], [255, 0, 0], [0, 85, 0]]
    assert flat[16].tolist() == [0, 0, 85]
    assert flat[-1].tolist() == [255, 255, 255]
    assert hald_identity(16, np.uint16).shape == (4096, 4096, 3)


def test_identity_8bit_truncates_like_imagemagick() -> None:
    # floor(255 * i / 8) for level 3: 31.875 -> 31, not 32.
    ramp = hald_identity(3, np.uint8).reshape(-1, 3)[:9, 0]
    assert ramp.tolist() == [0, 31, 63, 95, 127, 159, 191, 223, 255]
    ramp16 = hald_identity(5, np.uint16).reshape(-1, 3)[:5, 0]
    assert ramp16.tolist() == [0, 2731, 5461, 8192, 10923]  # 10922.5 rounds up


@pytest.mark.parametrize("level", [1, 17, 2.5])
def test_identity_rejects_bad_levels(level) -> None:
    with pytest.raises(LUTError, match="a Hald level must be a whole number from 2 to 16"):
        hald_identity(level)


def test_identity_reads_as_identity() -> None:
    for level in (2, 4, 8):
        lut16 = read_hald(hald_identity(level, np.uint16))
        np.testing.assert_allclose(lut16.table, LUT3D.identity(level**2).table, atol=0.5 / 65535)
        lut8 = read_hald(hald_identity(level, np.uint8))
        np.testing.assert_allclose(lut8.table, LUT3D.identity(level**2).table, atol=1 / 255)


# --------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("ext", [".png", ".tif"])
@pytest.mark.parametrize("bits", [8, 16])
@pytest.mark.parametrize("level", [2, 3, 4, 5, 8])
@pytest.mark.filterwarnings("ignore:.*does not look like a Hald")  # a random table is none
def test_round_trip(tmp_path: Path, level: int, bits: int, ext: str) -> None:
    lut = random_lut(level, seed=level)
    first = tmp_path / f"first{ext}"
    write_hald(lut, first, bit_depth=bits)
    raw = read_raw(first)
    assert raw.shape == (level**3, level**3, 3)
    assert raw.dtype == (np.uint8 if bits == 8 else np.uint16)
    once = read_hald(first)
    assert once.size == level * level
    np.testing.assert_allclose(once.table, lut.table, atol=0.5 / (2**bits - 1) + 1e-7)
    # read -> write -> read is exact, pixels and LUT.
    second = tmp_path / f"second{ext}"
    write_hald(once, second, bit_depth=bits)
    assert np.array_equal(read_raw(second), raw)
    assert np.array_equal(read_hald(second).table, once.table)


def test_round_trip_16bit_level_8_exact(tmp_path: Path) -> None:
    pixels = np.random.default_rng(8).integers(0, 65536, (512, 512, 3), dtype=np.uint16)
    lut = read_hald(pixels)
    write_hald(lut, tmp_path / "h.png", bit_depth=16)
    assert np.array_equal(read_raw(tmp_path / "h.png"), pixels)
    assert np.array_equal(read_hald(tmp_path / "h.png").table, lut.table)


@pytest.mark.parametrize("level", [9, 12])
def test_identity_round_trips_at_big_levels(tmp_path: Path, level: int) -> None:
    ident = hald_identity(level, np.uint16)
    write_hald(read_hald(ident), tmp_path / "h.png", bit_depth=16)
    assert np.array_equal(read_raw(tmp_path / "h.png"), ident)


def test_write_identity_gives_identity_pixels(tmp_path: Path) -> None:
    write_hald(LUT3D.identity(16), tmp_path / "h.png", bit_depth=16)
    assert np.array_equal(read_raw(tmp_path / "h.png"), hald_identity(4, np.uint16))
    # 8-bit writing rounds (a better quantisation than the truncated identity).
    write_hald(LUT3D.identity(9), tmp_path / "h3.png")
    ramp = read_raw(tmp_path / "h3.png").reshape(-1, 3)[:9, 0]
    assert ramp.tolist() == [0, 32, 64, 96, 128, 159, 191, 223, 255]


def test_hald_is_read_raw_without_icc(tmp_path: Path) -> None:
    from PIL import Image, ImageCms

    pixels = hald_identity(2, np.uint8)
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")).tobytes()
    path = tmp_path / "tagged.png"
    Image.fromarray(pixels).save(path, icc_profile=profile)
    assert np.array_equal(read_hald(path).table, read_hald(pixels).table)


def test_float_array_input() -> None:
    lut = random_lut(2)
    image = lut.table.transpose(2, 1, 0, 3).reshape(8, 8, 3)
    assert np.array_equal(read_hald(image).table, lut.table)
    rgba = np.concatenate([hald_identity(2), np.zeros((8, 8, 1), np.uint8)], axis=2)
    assert np.array_equal(read_hald(rgba).table, read_hald(hald_identity(2)).table)


# --------------------------------------------------------------------------- writing


def test_write_resamples_to_the_level(tmp_path: Path) -> None:
    lut = LUT3D.from_function(lambda x: x**1.5, 33)
    write_hald(lut, tmp_path / "h.png", bit_depth=16)  # 33 -> level 6 (36 points)
    back = read_hald(tmp_path / "h.png")
    assert back.size == 36
    expected = LUT3D.lattice_points(36) ** 1.5
    np.testing.assert_allclose(back.table, expected, atol=2e-3)
    write_hald(lut, tmp_path / "h4.png", level=4)
    assert read_hald(tmp_path / "h4.png").size == 16


def test_write_lut1d_and_domain(tmp_path: Path) -> None:
    curve = LUT1D.from_function(lambda x: x**0.5, 256)
    write_hald(curve, tmp_path / "c.png", bit_depth=16)
    back = read_hald(tmp_path / "c.png")
    assert back.size == 64
    np.testing.assert_allclose(back.table, LUT3D.lattice_points(64) ** 0.5, atol=2e-3)
    # A LUT over a wider domain is sampled on [0, 1].
    wide = LUT3D.from_function(lambda x: x * 0.5, 17, [[-1, -1, -1], [1, 1, 1]])
    write_hald(wide, tmp_path / "w.png", level=4, bit_depth=16)
    np.testing.assert_allclose(
        read_hald(tmp_path / "w.png").table, LUT3D.lattice_points(16) * 0.5, atol=1e-4
    )


def test_write_clips_with_a_warning(tmp_path: Path) -> None:
    lut = LUT3D.from_function(lambda x: x * 2 - 0.5, 4)
    with pytest.warns(UserWarning, match=r"Hald output clipped to \[0, 1\]"):
        write_hald(lut, tmp_path / "h.png")
    table = read_hald(tmp_path / "h.png").table
    assert table.min() == 0 and table.max() == 1


def test_write_errors(tmp_path: Path) -> None:
    lut = LUT3D.identity(4)
    with pytest.raises(LUTError, match="8 or 16 bits, got 12"):
        write_hald(lut, tmp_path / "h.png", bit_depth=12)
    with pytest.raises(LUTError, match="from 2 to 16, got 17"):
        write_hald(lut, tmp_path / "h.png", level=17)
    with pytest.raises(FormatError, match=r"PNG or TIFF, not '\.jpg'"):
        write_hald(lut, tmp_path / "h.jpg")
    assert os.listdir(tmp_path) == []


# --------------------------------------------------------------------------- errors


def test_not_square() -> None:
    with pytest.raises(FormatError) as info:
        read_hald(np.zeros((8, 10, 3), np.uint8))
    assert str(info.value) == "Hald image should be a square, got 10x8"


def test_not_square_file(tmp_path: Path) -> None:
    path = tmp_path / "wide.png"
    cv2.imwrite(str(path), np.zeros((64, 80, 3), np.uint8))
    with pytest.raises(FormatError) as info:
        read_hald(path)
    assert str(info.value) == f"{path}: Hald image should be a square, got 80x64"


VALID = "8, 27, 64, 125, 216, 343, 512, 729, 1000, 1331, 1728, 2197, 2744, 3375, 4096"


@pytest.mark.parametrize(
    ("side", "message"),
    [
        (
            500,
            "Hald image side 500 is not a cube of a level (valid sides are level^3 for "
            f"levels 2..16: {VALID}; the nearest is 512 (level 8))",
        ),
        (
            30,
            "Hald image side 30 is not a cube of a level (valid sides are level^3 for "
            f"levels 2..16: {VALID}; the nearest is 27 (level 3))",
        ),
        (1, f"Hald level 1 (side 1) is outside 2..16 (valid sides are {VALID})"),
        (4913, f"Hald level 17 (side 4913) is outside 2..16 (valid sides are {VALID})"),
    ],
)
def test_bad_sides(side: int, message: str) -> None:
    # broadcast_to: a big image without the memory.
    image = np.broadcast_to(np.zeros(3, np.uint8), (side, side, 3))
    with pytest.raises(FormatError) as info:
        read_hald(image)
    assert str(info.value) == message


def test_level_of_side() -> None:
    assert [hald_level(lv**3) for lv in range(2, 17)] == list(range(2, 17))


def test_bad_side_file_is_refused_before_decoding(tmp_path: Path) -> None:
    path = tmp_path / "big.png"
    cv2.imwrite(str(path), np.zeros((100, 100, 3), np.uint8))
    with pytest.raises(FormatError, match=r"big\.png: Hald image side 100 is not a cube"):
        read_hald(path)


def test_unreadable_and_grayscale_files(tmp_path: Path) -> None:
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"not an image at all")
    with pytest.raises(FormatError, match=r"junk\.png: cannot read the Hald image"):
        read_hald(junk)
    with pytest.raises(FormatError, match="cannot read the Hald image"):
        read_hald(tmp_path / "missing.png")
    gray = tmp_path / "gray.png"
    cv2.imwrite(str(gray), np.zeros((8, 8), np.uint8))
    with pytest.raises(FormatError, match=r"must be RGB, this one is grayscale \(mode L\)"):
        read_hald(gray)
    with pytest.raises(FormatError, match=r"must be PNG or TIFF, not '\.jpg'"):
        read_hald(tmp_path / "photo.jpg")
    with pytest.raises(FormatError, match=r"must be RGB, got an array of shape \(8, 8\)"):
        read_hald(np.zeros((8, 8), np.uint8))


def test_truncated_file(tmp_path: Path) -> None:
    path = tmp_path / "cut.png"
    write_hald(random_lut(4), path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(FormatError, match=r"cut\.png: cannot read the Hald image"):
        read_hald(path)


def test_a_hald_exported_as_jpeg_is_refused_with_what_to_do(tmp_path: Path) -> None:
    """GIMP's "Export As" to .jpg is the likely slip after editing a Hald: the error says
    why a JPEG cannot hold one and what to export, not "unknown LUT file extension"."""
    from lutkit.luts.formats import read_lut

    path = tmp_path / "edited.jpg"
    path.write_bytes(b"\xff\xd8\xff")
    with pytest.raises(FormatError) as err:
        read_lut(path)
    assert str(err.value).startswith(
        f"{path}: not a LUT file (.jpg): a Hald CLUT must be PNG or TIFF (a JPEG's "
        "compression moves its colours) (supported: .cube"
    )
    assert str(err.value).endswith("; export an edited Hald as a 16-bit PNG or TIFF)")


def test_a_photo_imported_as_a_hald_is_warned_about(tmp_path: Path, photo) -> None:
    """A square photo of a Hald's size reads as a LUT; the table does not move each
    channel one way along its own axis as an edited Hald does, and the user is told.
    An identity and every library look read without a word."""
    import warnings

    from PIL import Image

    from lutkit.errors import LutkitWarning
    from lutkit.luts.library import read_lut_or_name

    Image.fromarray(photo).resize((512, 512)).save(tmp_path / "photo.png")
    with pytest.warns(LutkitWarning, match=r"photo\.png: does not look like a Hald CLUT"):
        read_hald(tmp_path / "photo.png")
    write_hald(LUT3D.identity(64), tmp_path / "id.png", level=8)
    write_hald(read_lut_or_name("teal-orange-strong"), tmp_path / "look.png", level=12)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        read_hald(tmp_path / "id.png")
        read_hald(tmp_path / "look.png")
        inverted = LUT3D.identity(16).table.copy()
        inverted[..., 0] = 1 - inverted[..., 0]  # a look that inverts one channel
        write_hald(LUT3D(inverted), tmp_path / "red-inverted.png", level=4)
        read_hald(tmp_path / "red-inverted.png")


# How a Hald gets turned (numpy on the pixels), what the warning calls it, and the
# ImageMagick option that the warning says undoes it.
TURNS = {
    "rotated 90 degrees clockwise": (lambda a: np.rot90(a, -1), "-rotate -90"),
    "rotated 90 degrees counter-clockwise": (lambda a: np.rot90(a, 1), "-rotate 90"),
    "rotated 180 degrees": (lambda a: np.rot90(a, 2), "-rotate 180"),
    "mirrored left to right": (lambda a: a[:, ::-1], "-flop"),
    "mirrored top to bottom": (lambda a: a[::-1], "-flip"),
    "transposed": (lambda a: a.transpose(1, 0, 2), "-transpose"),
    "transversed": (lambda a: np.rot90(a, 2).transpose(1, 0, 2), "-transverse"),
}


@pytest.mark.parametrize("how", list(TURNS))
@pytest.mark.parametrize(("look", "level"), [("identity", 4), ("teal-orange-strong", 8)])
def test_a_turned_hald_is_warned_about_with_the_undo(tmp_path: Path, how, look, level) -> None:
    """A Hald rotated or mirrored in an editor imported silently as a scrambled LUT (a
    colourist's trial: every 8-bit level moved, up to 255). The warning names the turn,
    and the ImageMagick command it gives restores the Hald, which then reads silently."""
    import subprocess
    import warnings

    from PIL import Image

    from lutkit.errors import LutkitWarning
    from lutkit.luts.library import read_lut_or_name
    from tests.external import imagemagick

    lut = LUT3D.identity(level * level) if look == "identity" else read_lut_or_name(look)
    write_hald(lut, tmp_path / "hald.png", level=level)
    pixels = np.asarray(Image.open(tmp_path / "hald.png"))
    turn, option = TURNS[how]
    turned = tmp_path / "turned.png"
    Image.fromarray(np.ascontiguousarray(turn(pixels))).save(turned)
    with pytest.warns(LutkitWarning) as said:
        read_hald(turned)
    message = str(said[0].message)
    assert message.startswith(f"{turned}: looks like a Hald CLUT that was {how}: ")
    assert f"`convert {turned} {option} hald-fixed.png`" in message
    fixed = tmp_path / "hald-fixed.png"
    subprocess.run([imagemagick(), str(turned), *option.split(), str(fixed)], check=True)
    assert np.array_equal(np.asarray(Image.open(fixed)), pixels)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        read_hald(fixed)


def test_no_library_look_reads_as_turned(tmp_path: Path) -> None:
    import warnings

    from lutkit.luts.library import Library, default_library

    library = Library(default_library())
    for name in library.names():
        write_hald(library.load(name), tmp_path / f"{name}.png", level=8)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            read_hald(tmp_path / f"{name}.png")


def test_the_undo_command_of_a_turned_hald_quotes_its_path(tmp_path: Path) -> None:
    from PIL import Image

    from lutkit.errors import LutkitWarning

    write_hald(LUT3D.identity(16), tmp_path / "h.png", level=4)
    turned = tmp_path / "my hald.png"
    Image.fromarray(np.asarray(Image.open(tmp_path / "h.png"))[:, ::-1]).save(turned)
    with pytest.warns(LutkitWarning) as said:
        read_hald(turned)
    assert f"`convert '{turned}' -flop hald-fixed.png`" in str(said[0].message)
