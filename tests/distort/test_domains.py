"""Parameter and range domains: every op declares them, its defaults and its samples lie
inside them, every value they allow applies to a finite image, and values outside them
are refused with one line naming the key."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from lutkit.distort.base import (
    Choice,
    Interval,
    IntRange,
    OneOf,
    Params,
    Uniform,
    _is_finite_number,
    all_ops,
    get_op,
    merged,
    parse_range,
)
from lutkit.errors import ConfigError

OPS = sorted(all_ops())


def _image() -> np.ndarray:
    """A small float32 sRGB image with black, white, greys and colours."""
    ramp = np.linspace(0.0, 1.0, 12, dtype=np.float32)
    rgb = np.stack(np.meshgrid(ramp, ramp[::-1], indexing="ij"), axis=-1)
    return np.concatenate([rgb, rgb[..., :1] * rgb[..., 1:]], axis=-1)


def _assert_displayable(out: np.ndarray, what: str) -> None:
    assert out.dtype == np.float32 and out.shape == (12, 12, 3), what
    assert np.all(np.isfinite(out)) and out.min() >= 0.0 and out.max() <= 1.0, what


@pytest.mark.parametrize("name", OPS)
def test_every_field_and_numeric_range_key_has_a_domain(name):
    op = get_op(name)
    fields = {f.name for f in dataclasses.fields(op.params_type)}
    assert set(op.params_type.domains) == fields
    numeric = {k for k, r in op.ranges.items() if isinstance(r, Uniform | IntRange)}
    wider = {k for k, d in op.range_domains.items() if isinstance(d, OneOf)}
    assert set(op.range_domains) - wider == numeric
    # A choice key's domain, where it has one, is its field's and holds the default's.
    for key in wider:
        assert op.range_domains[key] == op.params_type.domains[key], key
        assert set(op.ranges[key].options) <= set(op.range_domains[key].options), key
    # A recipe's range can be drawn at both ends of its domain.
    for key, domain in op.range_domains.items():
        if key in wider:
            continue
        assert domain.lo is not None and domain.hi is not None, key
        assert not (domain.open_lo or domain.open_hi), key


@pytest.mark.parametrize("name", OPS)
def test_default_ranges_lie_in_their_domains(name):
    op = get_op(name)
    for key, r in op.ranges.items():
        if isinstance(r, Choice):
            # A choice shared with a parameter field offers only values it allows.
            domain = op.params_type.domains.get(key)
            if isinstance(domain, OneOf):
                assert set(r.options) <= set(domain.options), key
            continue
        domain = op.range_domains[key]
        assert domain.contains(r.lo) and domain.contains(r.hi), (key, r, domain)
        # The recipe parser takes the default back as it is.
        assert parse_range(r, [r.lo, r.hi], "t", domain) == r


@pytest.mark.parametrize("name", OPS)
def test_sampled_params_pass_the_domain_check_through_json(name):
    op = get_op(name)
    for seed in range(6):
        params = op.sample(np.random.default_rng(seed), merged(op, None))
        text = json.dumps(params.to_dict())
        assert op.params_type.from_dict(json.loads(text), name) == params


@pytest.mark.parametrize("name", OPS)
@pytest.mark.parametrize("end", ["lo", "hi"])
def test_ranges_at_the_ends_of_their_domains_sample_valid_params(name, end):
    """Whatever a recipe may set gives parameters that replay and apply."""
    op = get_op(name)
    fixed = {}
    for key, domain in op.range_domains.items():
        if isinstance(domain, OneOf):  # every option of it: the recipe tests
            continue
        v = getattr(domain, end)
        fixed[key] = (
            IntRange(int(v), int(v))
            if isinstance(op.ranges[key], IntRange)
            else (Uniform(float(v), float(v)))
        )
    for seed in range(4):
        params = op.sample(np.random.default_rng(seed), merged(op, fixed))
        params.check(name)
        _assert_displayable(op.apply(_image(), params), f"{name} {end} seed {seed}")


def _numeric_fields(params: Params) -> list[tuple[str, Interval]]:
    return [
        (f.name, params.domains[f.name])
        for f in dataclasses.fields(params)
        if isinstance(params.domains[f.name], Interval)
    ]


def _set(value, to):
    return tuple(_set(v, to) for v in value) if isinstance(value, tuple) else to


def _ends(domain: Interval) -> tuple[float, float]:
    """A domain's extreme values: its closed ends, just inside an open one, 1e6 for
    none."""
    lo = -1e6 if domain.lo is None else domain.lo + (1e-6 if domain.open_lo else 0.0)
    hi = 1e6 if domain.hi is None else domain.hi - (1e-6 if domain.open_hi else 0.0)
    return lo, hi


@pytest.mark.parametrize("name", OPS)
def test_every_end_of_a_parameter_domain_applies(name):
    """The domains are what apply computes: each field at each end of its domain (the
    others as sampled) gives a finite image in [0, 1], with no overflow or 0 / 0."""
    op = get_op(name)
    for seed in range(3):
        params = op.sample(np.random.default_rng(seed), merged(op, None))
        for field, domain in _numeric_fields(params):
            kind = type(getattr(params, field))
            for end in _ends(domain):
                value = _set(getattr(params, field), int(end) if kind is int else float(end))
                edge = dataclasses.replace(params, **{field: value})
                try:
                    edge.check(name)
                except ConfigError:
                    continue  # allowed alone, not with the other fields (mixed light's CCT)
                with np.errstate(divide="raise", over="raise", invalid="raise"):
                    out = op.apply(_image(), edge)
                _assert_displayable(out, f"{name}.{field} = {value}")


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        ("curves.gamma", {"gamma": [-5, 1, 1]}, "t.gamma[0]: must be in [0.01, 100], got -5"),
        ("curves.gamma", {"gamma": [1, 0.0, 1]}, "t.gamma[1]: must be in [0.01, 100], got 0"),
        (
            "curves.levels",
            {"black": 0, "white": 1, "in_black": 0.5, "in_white": 0.5},
            "t: in_black must be below in_white, got 0.5 and 0.5",
        ),
        (
            "curves.crosstalk",
            {"matrix": [[1, 0, 0], [0, 1, 0], [0, 3, 1]]},
            "t.matrix[2][1]: must be in [-1, 2], got 3",
        ),
        (
            "curves.crosstalk",
            {"matrix": [[1, 0, 0], [0, 1, 0]]},
            "t.matrix: expected a list of 3, got [[1, 0, 0], [0, 1, 0]]",
        ),
        (
            "curves.channels",
            {"red": [0, 1], "green": [0, 1], "blue": [0.5], "master": [0, 1]},
            "t.blue: a curve needs at least 2 knots, got 1",
        ),
        (
            "lighting.cct",
            {"cct": 500, "duv": 0, "locus": "auto", "cat": "CAT02", "strength": 1},
            "t.cct: must be in [1000, 25000], got 500",
        ),
        (
            "lighting.cct",
            {"cct": 3000, "duv": 0, "locus": "daylight", "cat": "CAT02", "strength": 1},
            "t.cct: the daylight locus starts at 4000 K, got 3000",
        ),
        (
            "lighting.cct",
            {"cct": 5000, "duv": 0, "locus": "auto", "cat": "CAT03", "strength": 1},
            "t.cat: must be one of Von Kries, Bradford, CAT02, got 'CAT03'",
        ),
        ("lighting.exposure", {"stops": 1100}, "t.stops: must be in [-10, 10], got 1100"),
        (
            "film.grain",
            {"amount": 0.1, "size": 0.001, "correlation": 1.5, "seed": 1},
            "t.correlation: must be in [0, 1], got 1.5",
        ),
        (
            "film.grain",
            {"amount": 0.1, "size": 0.001, "correlation": 0.5, "seed": -1},
            "t.seed: must be >= 0, got -1",
        ),
        (
            "film.jpeg",
            {"quality": 0, "subsampling": "4:2:0"},
            "t.quality: must be in [1, 100], got 0",
        ),
        ("lut3d.library", {"lut": "", "strength": 1}, "t.lut: must be a LUT name in the library"),
        (
            "lut3d.library",
            {"lut": "x", "strength": 1, "sha256": "ABC"},
            "t.sha256: must be a sha256 in hex (64 digits), or empty, got 'ABC'",
        ),
    ],
)
def test_values_outside_their_domain_are_refused(name, params, message):
    with pytest.raises(ConfigError) as err:
        get_op(name).params_type.from_dict(params, "t")
    assert str(err.value).startswith(message)
    assert "\n" not in str(err.value)


def test_mixed_light_checks_the_cct_of_a_cct_light_only():
    mixed = get_op("lighting.mixed").params_type
    base = {
        "source_a": "A", "cct_a": 0.0, "duv_a": 0.0,
        "source_b": "cct", "cct_b": 5000.0, "duv_b": 0.01,
        "cat": "Bradford", "strength": 1.0, "mask": "linear",
        "center": [0.5, 0.5], "angle": 30.0, "radius": 0.3, "softness": 0.4,
    }  # fmt: skip
    assert mixed.from_dict(base).cct_a == 0.0  # a named light's CCT is unused
    with pytest.raises(ConfigError) as err:
        mixed.from_dict({**base, "cct_b": 0.0}, "t")
    assert str(err.value) == "t.cct_b: must be in [1000, 25000] when source_b is 'cct', got 0"


@pytest.mark.parametrize(
    ("default", "value", "message"),
    [
        (Uniform(0.6, 1.6), -5, "must be in [0.1, 10], got -5"),
        (Uniform(0.6, 1.6), [0.5, 11.0], "must be in [0.1, 10], got [0.5, 11.0]"),
        (IntRange(15, 70), 101, "must be in [1, 100], got 101"),
    ],
)
def test_parse_range_refuses_values_outside_the_domain(default, value, message):
    domain = Interval(0.1, 10.0) if isinstance(default, Uniform) else Interval(1, 100)
    with pytest.raises(ConfigError) as err:
        parse_range(default, value, "r.toml: stage 1.key", domain)
    assert str(err.value) == f"r.toml: stage 1.key: {message}"


def test_interval_descriptions():
    assert Interval(0.0, 1.0).describe() == "in [0, 1]"
    assert Interval(0.0, 1.0, open_lo=True).describe() == "in (0, 1]"
    assert Interval(0.0, open_lo=True).describe() == "> 0"
    assert Interval(0).describe() == ">= 0"
    assert Interval(hi=2.5, open_hi=True).describe() == "< 2.5"
    assert Interval().describe() == "finite"
    assert Interval(0.0005, 0.01).describe() == "in [0.0005, 0.01]"


@pytest.mark.parametrize(
    ("value", "finite"),
    [
        (1, True), (1.5, True), (3.0, True), (-0.0, True), (10**300, True),
        (True, False), (False, False), (float("nan"), False), (float("inf"), False),
        (10**400, False), ("1", False), (None, False), ([1], False),
    ],
)  # fmt: skip
def test_one_finite_number_test_for_recipes_and_replays(value, finite):
    """The check that _check_value (replays) and parse_range (recipes) share."""
    assert _is_finite_number(value) is finite
    if isinstance(value, int | float) and not isinstance(value, bool):
        ok_range = finite
        try:
            parse_range(Uniform(0.0, 1.0), value, "r")
        except ConfigError as exc:
            ok_range = False
            assert str(exc) == f"r: expected finite numbers, got {value!r}"
        assert ok_range is finite


def test_a_datasets_rows_read_back_without_the_domain_check():
    """Rows lutkit wrote itself (a dataset's ``ops``, read for its contact sheet) may
    come from a recipe older than the domains: their types are checked, not their
    domains; a replayed file gets both."""
    from lutkit.distort.base import ops_from_json

    text = '[{"op": "curves.gamma", "params": {"gamma": [120, 1, 1]}}]'
    with pytest.raises(ConfigError, match=r"ops\[0\].curves.gamma.gamma\[0\]: must be in"):
        ops_from_json(text)
    (record,) = ops_from_json(text, check_domains=False)
    assert record.params.gamma == (120, 1, 1)
    with pytest.raises(ConfigError, match="expected a finite number"):
        ops_from_json(text.replace("120", '"x"'), check_domains=False)
