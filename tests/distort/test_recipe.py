from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lutkit.distort.base import apply_chain, ops_from_json, ops_to_json
from lutkit.distort.recipe import list_recipes, load_recipe
from lutkit.errors import ConfigError
from lutkit.seeds import rng


def write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / f"{name}.toml"
    p.write_text(text)
    return p


def test_shipped_recipes_load_and_sample():
    names = {p.stem for p in list_recipes()}
    assert {"lighting", "curves", "film", "lut-library", "default"} <= names
    for path in list_recipes():
        recipe = load_recipe(path)
        assert recipe.ops(), path
        for seed in range(5):
            ops_to_json(recipe.sample(rng(seed)))


def test_same_seed_same_ops_and_bytes(photo):
    recipe = load_recipe("default")
    img = photo[::4, ::4].astype(np.float32) / 255
    a, b = recipe.sample(rng(11)), recipe.sample(rng(11))
    assert ops_to_json(a) == ops_to_json(b)
    assert apply_chain(img, a).tobytes() == apply_chain(img, b).tobytes()


def test_json_round_trip_reproduces(photo):
    recipe = load_recipe("default")
    img = photo[::4, ::4].astype(np.float32) / 255
    for seed in range(6):
        ops = recipe.sample(rng(seed))
        again = ops_from_json(ops_to_json(ops))
        assert apply_chain(img, again).tobytes() == apply_chain(img, ops).tobytes()


def test_include_and_choose(tmp_path):
    write(tmp_path, "base", '[[stage]]\nop = "curves.gamma"\ngamma = [0.9, 0.9]\nper_channel = 0\n')
    top = write(
        tmp_path,
        "top",
        '[[stage]]\n[[stage.choose]]\ninclude = "base"\nweight = 1\n'
        '[[stage.choose]]\nop = "curves.levels"\nweight = 1\n',
    )
    recipe = load_recipe(top)
    assert recipe.ops() == ["curves.gamma", "curves.levels"]
    drawn = {recipe.sample(rng(s))[0].op for s in range(40)}
    assert drawn == {"curves.gamma", "curves.levels"}
    assert "curves.gamma" in recipe.text  # the hash covers included files


def _write_out(recipe, folder: Path) -> Path:
    for name, text in recipe.files:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    return folder / recipe.files[0][0]


def test_a_recipes_files_written_out_load_as_the_same_recipe(tmp_path):
    """Recipe.files lays out the recipe and its includes, at any depth, by the paths the
    includes name (a sub-folder's include is from that folder; a library name becomes
    a sibling file): loaded from there, the recipe has the same text and hash."""
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    gamma = '[[stage]]\nop = "curves.gamma"\ngamma = [0.9, 0.9]\nper_channel = 0\n'
    write(src / "sub", "inner", gamma)
    write(src / "sub", "mid", '[[stage]]\ninclude = "inner"\n[[stage]]\ninclude = "lighting"\n')
    top = write(src, "top", '[[stage]]\ninclude = "sub/mid.toml"\n[[stage]]\ninclude = "curves"\n')
    recipe = load_recipe(top)
    assert [name for name, _ in recipe.files] == [
        "top.toml",
        "sub/mid.toml",
        "sub/inner.toml",
        "sub/lighting.toml",  # from the library, as a sibling of the file including it
        "curves.toml",
    ]
    again = load_recipe(_write_out(recipe, tmp_path / "out"))
    assert (again.text, again.sha256) == (recipe.text, recipe.sha256)
    # Two different files at one path (a sibling film.toml, and the library's default
    # including the library's film.toml): no layout holds both.
    write(src, "film", gamma)
    clash = write(src, "clash", '[[stage]]\ninclude = "film"\n[[stage]]\ninclude = "default"\n')
    assert load_recipe(clash).files is None
    # An include by an absolute path has no place in a layout either, nor one that walks
    # through a folder the layout may not have.
    far = write(src, "far", f'[[stage]]\ninclude = "{src / "sub" / "inner.toml"}"\n')
    assert load_recipe(far).files is None
    (src / "empty").mkdir()
    around = write(src, "around", '[[stage]]\ninclude = "empty/../sub/inner.toml"\n')
    assert load_recipe(around).files is None


def test_probability_zero_never_draws(tmp_path):
    r = load_recipe(write(tmp_path, "r", '[[stage]]\nop = "curves.gamma"\np = 0.0\n'))
    assert all(r.sample(rng(s)) == [] for s in range(20))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[[stage]]\nop = "curves.nope"\n', "unknown op 'curves.nope'"),
        ('[[stage]]\nop = "curves.gamma"\ngama = 1\n', "curves.gamma has no parameter 'gama'"),
        ('[[stage]]\nop = "curves.gamma"\ngamma = [2, 1]\n', "min 2 is greater than max 1"),
        (
            '[[stage]]\nop = "curves.gamma"\np = 1.5\n',
            "a probability is a number in [0, 1], got 1.5",
        ),
        (
            '[[stage]]\nop = "curves.gamma"\np = "0.3"\n',
            "stage 1.p: a probability is a number in [0, 1], got '0.3'",
        ),
        # a stage that is no table: one line, not a traceback
        ("stage = [1, 2]\n", "stage 1: expected a table of keys, got 1"),
        (
            'stage = [{op = "curves.gamma"}, "oops"]\n',
            "stage 2: expected a table of keys, got 'oops'",
        ),
        ('stage = ["curves.gamma"]\n', "stage 1: expected a table of keys, got 'curves.gamma'"),
        ('[[stage]]\n[[stage.choose]]\nop = "curves.gamma"\nchoose = 1\n', "stage 1.choose[1]"),
        # keys that would be accepted and never used
        (
            '[[stage]]\n[[stage.choose]]\nop = "curves.gamma"\np = 0\n',
            "stage 1.choose[1].p: an option of choose has a weight, not a p",
        ),
        (
            '[[stage]]\n[[stage.choose]]\ninclude = "curves"\np = 0\n',
            "stage 1.choose[1].p: an option of choose has a weight, not a p",
        ),
        (
            '[[stage]]\nop = "curves.gamma"\nweight = 3\n',
            "stage 1.weight: a weight belongs to an option of [[stage.choose]]",
        ),
        ('tags = "lighting"\n[[stage]]\nop = "curves.gamma"\n', "tags: expected a list of strings"),
        ('name = ["a"]\n[[stage]]\nop = "curves.gamma"\n', "name: expected a string, got ['a']"),
        ('description = 3\n[[stage]]\nop = "curves.gamma"\n', "description: expected a string"),
        ('colour = 1\n[[stage]]\nop = "curves.gamma"\n', "unknown key 'colour'"),
        ('name = "x"\n', "a recipe needs at least one [[stage]]"),
        ('[[stage]]\nop = "curves.gamma"\ngamma = "high"\n', "expected a number or [min, max]"),
        (
            '[[stage]]\nop = "curves.gamma"\ngamma = -5\n',
            "stage 1.gamma: must be in [0.1, 10], got -5",
        ),
        (
            '[[stage]]\nop = "film.dust"\ncount = [0, 5000]\n',
            "stage 1.count: must be in [0, 1000], got [0, 5000]",
        ),
        (
            '[[stage]]\nop = "film.vignette"\nstrength = 1.2\n',
            "stage 1.strength: must be in [0, 1], got 1.2",
        ),
        (
            '[[stage]]\nop = "film.jpeg"\nsubsampling = ["4:2:0", "4:1:1"]\n',
            "stage 1.subsampling: '4:1:1' is not one of 4:2:0, 4:2:2, 4:4:4",
        ),
        (
            '[[stage]]\nop = "lighting.cct"\ncat = "Sharp"\n',
            "stage 1.cat: 'Sharp' is not one of",
        ),
        ("[[stage]\n", "invalid TOML"),
    ],
)
def test_bad_recipes_name_file_and_key(tmp_path, text, message):
    # every one is refused by load_recipe with a one-line ConfigError (never a traceback)
    path = write(tmp_path, "bad", text)
    with pytest.raises(ConfigError) as err:
        load_recipe(path)
    assert message in str(err.value)
    assert "bad.toml" in str(err.value)


def test_a_choice_may_name_a_value_its_default_never_draws(tmp_path, photo):
    # film.jpeg draws 4:2:0 or 4:4:4 by default; a recipe may ask for 4:2:2 too, and
    # what it draws replays from JSON with its domain check.
    recipe = load_recipe(
        write(tmp_path, "r", '[[stage]]\nop = "film.jpeg"\nsubsampling = "4:2:2"\n')
    )
    img = photo[::4, ::4].astype(np.float32) / 255
    ops = recipe.sample(rng(0))
    assert ops[0].params.subsampling == "4:2:2"
    again = ops_from_json(ops_to_json(ops))
    assert apply_chain(img, again).tobytes() == apply_chain(img, ops).tobytes()


def test_include_cycle_refused(tmp_path):
    write(tmp_path, "a", '[[stage]]\ninclude = "b"\n')
    write(tmp_path, "b", '[[stage]]\ninclude = "a"\n')
    with pytest.raises(ConfigError, match="recipe includes itself: a -> b -> a"):
        load_recipe(tmp_path / "a.toml")


def test_unknown_recipe_name():
    with pytest.raises(ConfigError, match="no recipe named 'nonexistent'"):
        load_recipe("nonexistent")


def test_unknown_lut_name_in_recipe(tmp_path, photo):
    """Refused when the recipe is loaded (naming the file), not when a sample hits it."""
    path = write(tmp_path, "r", '[[stage]]\nop = "lut3d.library"\nnames = ["no-such-lut"]\n')
    with pytest.raises(ConfigError, match="no LUT named 'no-such-lut' in the library") as err:
        load_recipe(path)
    assert str(err.value).startswith(f"{path.resolve()}: stage 1: lut3d.library fails with")


def test_a_name_with_its_file_here_says_to_give_the_file_but_not_from_an_include(
    tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "mine", '[[stage]]\nop = "curves.gamma"\n')
    with pytest.raises(ConfigError) as err:
        load_recipe("mine")
    assert str(err.value).endswith("give the file here as mine.toml)")
    (tmp_path / "sub").mkdir()
    top = write(tmp_path / "sub", "top", '[[stage]]\ninclude = "mine"\n')
    with pytest.raises(ConfigError) as err:
        load_recipe(top)
    assert "stage 1: include 'mine': no recipe named 'mine'" in str(err.value)
    assert "give the file here" not in str(err.value)


def test_a_missing_or_empty_lut_library_is_said_as_such(tmp_path, monkeypatch):
    # it was "lut3d.library fails with the low end of strength: no LUT ... matches"
    recipe = write(tmp_path, "mine", '[[stage]]\nop = "lut3d.library"\ntags = ["cool"]\n')
    monkeypatch.setenv("LUTKIT_LIBRARY", str(tmp_path / "nope"))
    with pytest.raises(ConfigError) as err:
        load_recipe(recipe)
    assert str(err.value) == (
        f"{recipe}: stage 1: lut3d.library: the LUT library {tmp_path / 'nope'} does not "
        "exist (point LUTKIT_LIBRARY at a library folder, which `lutkit lut import "
        "--library` makes, or unset it for lutkit's own)"
    )
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("LUTKIT_LIBRARY", str(tmp_path / "empty"))
    with pytest.raises(ConfigError, match="the LUT library .*empty holds no LUT"):
        load_recipe(recipe)
