"""The distortion op protocol, parameter ranges and domains, and the op registry.

An op is a pure pair: ``sample(rng, ranges) -> params`` draws parameters (a frozen
dataclass that serialises to JSON) from ranges a recipe may narrow, and
``apply(image, params) -> image`` applies them to a float32 (H, W, 3) sRGB image in
[0, 1] and returns a new one (also clipped to [0, 1]); the input is never modified.
Parameters are resolution independent (spatial positions and sizes are fractions of
the image), and ops that need noise carry their own ``seed``, so a recorded op
reproduces its output exactly at any size.

``colormap = True`` marks an op whose output pixel depends only on the input pixel's
colour (curves, LUTs, illuminant changes, fading): a chain of them can be baked into
a LUT3D and inverted to give the ground-truth correction. Grain, dust, scratches,
vignetting, halation, light leaks, mixed lighting and JPEG are not colour maps.

A parameter's *domain* is every value ``apply`` computes sensibly (a gamma > 0, a
colour temperature the CCT code supports, a fraction in [0, 1]); a range's *domain*
is every value a recipe may give it (each op's ``range_domains``), chosen so that
whatever is sampled from it lies in the parameters' domains. Both are checked where
values come from outside: parameters read back from JSON (:meth:`Params.from_dict`:
a replayed ops file, a dataset row) and recipes (:func:`parse_range`).
"""

from __future__ import annotations

import dataclasses
import json
import math
import typing
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from lutkit.errors import ConfigError

PARAMS_SCHEMA = 1


@dataclass(frozen=True)
class Uniform:
    """A float drawn uniformly from [lo, hi] (lo == hi: a fixed value)."""

    lo: float
    hi: float

    def draw(self, rng: np.random.Generator) -> float:
        return float(self.lo if self.lo == self.hi else rng.uniform(self.lo, self.hi))


@dataclass(frozen=True)
class IntRange:
    """An integer drawn uniformly from [lo, hi], both included."""

    lo: int
    hi: int

    def draw(self, rng: np.random.Generator) -> int:
        return int(rng.integers(self.lo, self.hi + 1))


@dataclass(frozen=True)
class Choice:
    """One of a list of values (strings or numbers), uniformly."""

    options: tuple[Any, ...]

    def draw(self, rng: np.random.Generator) -> Any:
        return self.options[int(rng.integers(len(self.options)))]


Range = Uniform | IntRange | Choice


def _is_number(value: Any) -> bool:
    """An int or a float (a bool is neither here)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_finite_number(value: Any) -> bool:
    """A number (:func:`_is_number`) that is finite as a float; an int too large for a
    float is not."""
    if not _is_number(value):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def format_number(value: float) -> str:
    """A bound or a parameter value as a person writes it in a message: 2 (not 2.0),
    0.5, 1e-06."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


@dataclass(frozen=True)
class Interval:
    """The numbers a parameter may take: ``lo <= x <= hi``, ``<`` at an open end, no
    bound at a ``None`` end. Each item of a tuple parameter lies in it."""

    lo: float | None = None
    hi: float | None = None
    open_lo: bool = False
    open_hi: bool = False

    def contains(self, value: float) -> bool:
        if self.lo is not None and (value <= self.lo if self.open_lo else value < self.lo):
            return False
        return self.hi is None or (value < self.hi if self.open_hi else value <= self.hi)

    def describe(self) -> str:
        """``in [0, 1]``, ``in (0, 10]``, ``> 0``, ``>= 0``, or ``finite``."""
        if self.lo is not None and self.hi is not None:
            left, right = "(" if self.open_lo else "[", ")" if self.open_hi else "]"
            return f"in {left}{format_number(self.lo)}, {format_number(self.hi)}{right}"
        if self.lo is not None:
            return f"{'>' if self.open_lo else '>='} {format_number(self.lo)}"
        if self.hi is not None:
            return f"{'<' if self.open_hi else '<='} {format_number(self.hi)}"
        return "finite"

    def check(self, value: Any, where: str) -> None:
        if not self.contains(value):
            raise ConfigError(f"{where}: must be {self.describe()}, got {format_number(value)}")


UNIT = Interval(0.0, 1.0)  # a fraction, a strength, a probability
SEED = Interval(0)  # what numpy.random.default_rng takes


@dataclass(frozen=True)
class OneOf:
    """Text that is one of ``options``."""

    options: tuple[str, ...]

    def describe(self) -> str:
        return f"one of {', '.join(self.options)}"

    def check(self, value: Any, where: str) -> None:
        if value not in self.options:
            raise ConfigError(f"{where}: must be {self.describe()}, got {value!r}")


@dataclass(frozen=True)
class Name:
    """Non-empty text naming something that is looked up when the op is applied (a
    library LUT): ``what`` says what, for messages."""

    what: str

    def describe(self) -> str:
        return self.what

    def check(self, value: Any, where: str) -> None:
        if not value:
            raise ConfigError(f"{where}: must be {self.what}, got {value!r}")


@dataclass(frozen=True)
class Digest:
    """A sha256 in hex (64 lower-case hex digits) naming the bytes of a file an op read
    (a library LUT), or "" where none was recorded (records from before lutkit did)."""

    def describe(self) -> str:
        return "a sha256 in hex (64 digits), or empty"

    def check(self, value: Any, where: str) -> None:
        if value and not (
            isinstance(value, str)
            and len(value) == 64
            and all(c in "0123456789abcdef" for c in value)
        ):
            raise ConfigError(f"{where}: must be {self.describe()}, got {value!r}")


Domain = Interval | OneOf | Name | Digest


def check_domain(domain: Domain, value: Any, where: str) -> None:
    """A one-line :class:`ConfigError` when ``value`` (or an item of it, for a tuple,
    named ``where[i]``) lies outside ``domain``."""
    if isinstance(value, tuple | list):
        for i, v in enumerate(value):
            check_domain(domain, v, f"{where}[{i}]")
    else:
        domain.check(value, where)


def parse_range(
    default: Range, value: Any, where: str, domain: Interval | OneOf | None = None
) -> Range:
    """A recipe's value for a range key: [lo, hi], a list of choices, or a fixed value.

    ``where`` names the file and key for errors; both ends of a numeric range must lie
    in ``domain``. A choice must be one of ``domain``'s options where it is a
    :class:`OneOf` (which may hold more than the default draws from), else one of the
    default's options, unless those are ``("*",)``: anything.
    """
    if isinstance(default, Choice):
        options = tuple(value) if isinstance(value, list) else (value,)
        if not options:
            raise ConfigError(f"{where}: needs at least one choice")
        valid = domain.options if isinstance(domain, OneOf) else default.options
        bad = [o for o in options if o not in valid]
        if bad and tuple(valid) != ("*",):
            raise ConfigError(f"{where}: {bad[0]!r} is not one of {', '.join(map(str, valid))}")
        return Choice(options)
    if isinstance(value, list):
        if len(value) != 2 or not all(_is_number(v) for v in value):
            raise ConfigError(f"{where}: expected [min, max], got {value!r}")
        lo, hi = value
    elif _is_number(value):
        lo = hi = value
    else:
        raise ConfigError(f"{where}: expected a number or [min, max], got {value!r}")
    if not (_is_finite_number(lo) and _is_finite_number(hi)):
        raise ConfigError(f"{where}: expected finite numbers, got {value!r}")
    if lo > hi:
        raise ConfigError(f"{where}: min {lo} is greater than max {hi}")
    if domain is not None and not (domain.contains(lo) and domain.contains(hi)):
        raise ConfigError(f"{where}: must be {domain.describe()}, got {value!r}")
    if isinstance(default, IntRange):
        if int(lo) != lo or int(hi) != hi:
            raise ConfigError(f"{where}: expected whole numbers, got {value!r}")
        return IntRange(int(lo), int(hi))
    return Uniform(float(lo), float(hi))


@dataclass(frozen=True)
class Params:
    """Base class of every op's parameters: a frozen dataclass of JSON values.

    ``domains`` gives each field's domain (a tuple field's items each lie in it);
    :meth:`check` tests them, and a subclass extends it for constraints between
    fields.
    """

    domains: ClassVar[dict[str, Domain]] = {}

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def check(self, where: str = "params") -> None:
        """A one-line :class:`ConfigError` when a field lies outside its domain."""
        for f in dataclasses.fields(self):
            check_domain(self.domains[f.name], getattr(self, f.name), f"{where}.{f.name}")

    @classmethod
    def from_dict(
        cls, data: dict[str, Any], where: str = "params", *, check_domains: bool = True
    ) -> Params:
        """Parameters read back from JSON, their types and (unless ``check_domains`` is
        false) domains checked (one-line :class:`ConfigError` naming ``where`` and the
        field)."""
        if not isinstance(data, dict):
            raise ConfigError(f"{where}: expected an object of parameters, got {data!r}")
        names = {f.name for f in dataclasses.fields(cls)}
        required = {
            f.name
            for f in dataclasses.fields(cls)
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        }
        unknown = set(data) - names
        missing = required - set(data)  # a field with a default may be absent (added later)
        if unknown:
            raise ConfigError(f"{where}: unknown parameter(s) {sorted(unknown)}")
        if missing:
            raise ConfigError(f"{where}: missing parameter(s) {sorted(missing)}")
        hints = typing.get_type_hints(cls)
        values = {}
        for f in dataclasses.fields(cls):
            if f.name not in data:
                continue  # its default
            v = data[f.name]
            _check_value(v, hints[f.name], f"{where}.{f.name}")
            if hints[f.name] is int:
                v = int(v)  # 3.0 is 3, as a recipe's whole-number range takes it
            values[f.name] = tuple(_tuple(x) for x in v) if isinstance(v, list) else v
        params = cls(**values)
        if check_domains:
            params.check(where)
        return params


def _tuple(v: Any) -> Any:
    return tuple(_tuple(x) for x in v) if isinstance(v, list) else v


def _check_value(value: Any, hint: Any, where: str) -> None:
    """A one-line :class:`ConfigError` when a parameter read from JSON (a replayed
    ops file, a dataset row) is not of its field's type: a finite number for ``float``,
    a whole number for ``int``, text for ``str``, a list of the right length and items
    for ``tuple[...]``."""
    origin = typing.get_origin(hint)
    if origin is tuple:
        args = typing.get_args(hint)
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        if len(args) == 2 and args[1] is Ellipsis:
            items = [args[0]] * len(value)
        else:
            items = list(args)
            if len(value) != len(items):
                raise ConfigError(f"{where}: expected a list of {len(items)}, got {value!r}")
        for i, (v, h) in enumerate(zip(value, items, strict=True)):
            _check_value(v, h, f"{where}[{i}]")
        return
    if hint is float:
        if not _is_finite_number(value):
            raise ConfigError(f"{where}: expected a finite number, got {value!r}")
    elif hint is int:
        if not _is_number(value) or (isinstance(value, float) and not value.is_integer()):
            raise ConfigError(f"{where}: expected a whole number, got {value!r}")
    elif hint is str and not isinstance(value, str):
        raise ConfigError(f"{where}: expected text, got {value!r}")


class Op:
    """A distortion op; subclasses set the class attributes and the two methods."""

    name: ClassVar[str]  # "family.op", e.g. "lighting.cct"
    family: ClassVar[str]  # lighting, curves, lut3d, film
    colormap: ClassVar[bool] = True
    params_type: ClassVar[type[Params]]
    ranges: ClassVar[dict[str, Range]] = {}  # what a recipe may set, with defaults
    # The domain of each numeric range key, and of a choice key whose valid values are
    # more than its default draws from (a OneOf; otherwise a choice key's domain is its
    # default's options): every value sampled from it must lie in ``params_type.domains``.
    range_domains: ClassVar[dict[str, Interval | OneOf]] = {}
    description: ClassVar[str] = ""

    def sample(self, rng: np.random.Generator, ranges: dict[str, Range]) -> Params:
        raise NotImplementedError

    def apply(self, image: np.ndarray, params: Params) -> np.ndarray:
        raise NotImplementedError

    def label(self, params: Params) -> str:
        """A short human label for contact sheets."""
        return self.name


REGISTRY: dict[str, Op] = {}


def register(cls: type[Op]) -> type[Op]:
    """Class decorator: add an op to the registry under its name."""
    old = REGISTRY.get(cls.name)
    if old is not None and type(old).__qualname__ != cls.__qualname__:
        raise ValueError(f"duplicate op name {cls.name}")
    # (the same class again: a module re-imported after a failed import)
    REGISTRY[cls.name] = cls()
    return cls


def _load_all() -> None:
    # Importing the family modules registers their ops.
    from lutkit.distort import curves, film, film_damage, lighting, lut3d  # noqa: F401


def get_op(name: str, where: str = "") -> Op:
    _load_all()
    op = REGISTRY.get(name)
    if op is None:
        prefix = f"{where}: " if where else ""
        raise ConfigError(
            f"{prefix}unknown op {name!r}", hint="see `lutkit recipe ops` for the list"
        )
    return op


def all_ops() -> dict[str, Op]:
    _load_all()
    return dict(sorted(REGISTRY.items()))


# --------------------------------------------------------------------------- records


@dataclass(frozen=True)
class OpRecord:
    """One applied op: its name and parameters (what a dataset row stores)."""

    op: str
    params: Params

    def to_dict(self) -> dict[str, Any]:
        return {"op": self.op, "params": self.params.to_dict()}

    @classmethod
    def from_dict(
        cls, data: dict[str, Any], where: str = "ops", *, check_domains: bool = True
    ) -> OpRecord:
        if not isinstance(data, dict) or "op" not in data or "params" not in data:
            raise ConfigError(f"{where}: each op needs 'op' and 'params'")
        op = get_op(data["op"], where)
        params = op.params_type.from_dict(
            data["params"], f"{where}.{op.name}", check_domains=check_domains
        )
        return cls(op.name, params)


def apply_chain(image: np.ndarray, records: Sequence[OpRecord]) -> np.ndarray:
    """Apply recorded ops in order to a float32 (H, W, 3) image in [0, 1]."""
    out = np.asarray(image, dtype=np.float32)
    for rec in records:
        out = get_op(rec.op).apply(out, rec.params)
    return out


def is_colormap(records: Sequence[OpRecord]) -> bool:
    return all(get_op(r.op).colormap for r in records)


def ops_to_json(records: Sequence[OpRecord]) -> str:
    """Canonical JSON of a chain (sorted keys, no spaces): the same chain, same bytes."""
    return json.dumps([r.to_dict() for r in records], sort_keys=True, separators=(",", ":"))


def ops_from_json(text: str, where: str = "ops", *, check_domains: bool = True) -> list[OpRecord]:
    """The chain of :func:`ops_to_json`'s text, checked as :meth:`Params.from_dict` does.
    ``check_domains=False`` for rows lutkit wrote itself (a dataset's ``ops``): a dataset
    built with a recipe from before the domains were declared still reads."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{where}: invalid JSON ({exc})") from None
    if not isinstance(data, list):
        raise ConfigError(f"{where}: expected a list of ops")
    return [
        OpRecord.from_dict(d, f"{where}[{i}]", check_domains=check_domains)
        for i, d in enumerate(data)
    ]


def clip01(image: np.ndarray) -> np.ndarray:
    """Clip to [0, 1] as float32 (ops return displayable images)."""
    return np.clip(image, 0.0, 1.0).astype(np.float32, copy=False)


def merged(op: Op, overrides: dict[str, Range] | None) -> dict[str, Range]:
    """The op's default ranges with a recipe's overrides on top."""
    out = dict(op.ranges)
    out.update(overrides or {})
    return out
