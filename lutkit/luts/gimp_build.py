"""Re-author the GIMP-made LUTs of the library from their Script-Fu sources, headlessly.

Each LUT is one Script-Fu file ``luts/gimp/NAME.scm`` that defines a procedure
``(lutkit-NAME hald-in hald-out)``: it loads the identity Hald image ``hald-in``
(16-bit PNG), applies GIMP 2.10 colour tools to it and exports the result as a 16-bit
PNG ``hald-out``. Its metadata sits in header comments beside the code::

    ;; description: Cool-white fluorescent tubes under a daylight white balance.
    ;; tags: lighting, cast, green

Files whose names start with ``_`` are shared helpers (loaded first, not LUTs); a
folder without ``_hald.scm`` gets lutkit's own (:func:`script_helpers`).
:func:`build_gimp_library` writes the identity Hald once, runs GIMP once for all
scripts, reads each edited Hald back (64^3 at level 8), resamples it to 33^3 to keep
the repository small and registers it in the library, replacing any entry of the same
name. Adding a LUT is: drop a ``.scm`` file into ``luts/gimp/``, run ``make luts``.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from lutkit.errors import ConfigError, FormatError, LutkitError
from lutkit.tools.gimp import GIMP, run_gimp, scheme_string

__all__ = ["GIMP", "GimpScript", "build_gimp_library", "find_scripts", "parse_script"]

LICENCE = "CC0-1.0"
CUBE_SIZE = 33
# Decimals in the written .cube files: 1e-6 is far below one 16-bit level (1.5e-5) and
# keeps each 33^3 file near 1 MB instead of 1.3 MB (Resolve writes 6 too).
CUBE_DECIMALS = 6

_HEADER = re.compile(r"^\s*;+\s*(description|tags)\s*:\s*(.*?)\s*$")
_TOOL = re.compile(r"\(\s*gimp-drawable-([a-z0-9-]+)")
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")


@dataclass(frozen=True)
class GimpScript:
    """One LUT's Script-Fu source and the metadata read from its header comments."""

    name: str
    path: Path
    procedure: str
    description: str
    tags: list[str]
    tools: list[str]


def parse_script(path: str | os.PathLike[str]) -> GimpScript:
    """Read ``NAME.scm``: its ``;; description:`` and ``;; tags:`` headers, the GIMP
    tools it calls and the procedure ``lutkit-NAME`` it must define."""
    path = Path(path)
    name = path.stem
    if not _NAME.match(name):
        raise FormatError(
            f"invalid LUT script name {name!r}",
            path=path,
            hint="use lower-case letters, digits and '-', e.g. green-fluorescent.scm",
        )
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise FormatError(f"cannot read the script: {exc}", path=path) from None
    meta: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        match = _HEADER.match(line)
        if match:
            key, value = match.groups()
            if key in meta:
                raise FormatError(f"a second ';; {key}:' line", path=path, line=number)
            if '"' in value:
                raise FormatError(f"the {key} must not contain '\"'", path=path, line=number)
            meta[key] = value
    for key, example in (("description", "what the look is"), ("tags", "lighting, green")):
        if not meta.get(key):
            raise FormatError(
                f"no ';; {key}:' header comment",
                path=path,
                hint=f"add a line like ';; {key}: {example}' at the top",
            )
    procedure = f"lutkit-{name}"
    if not re.search(rf"\(\s*define\s+\(\s*{re.escape(procedure)}\s", text):
        raise FormatError(
            f"the script does not define the procedure ({procedure} hald-in hald-out)",
            path=path,
        )
    tags = sorted({t.strip() for t in meta["tags"].split(",") if t.strip()})
    tools = list(dict.fromkeys(_TOOL.findall(text)))
    return GimpScript(name, path, procedure, meta["description"], tags, tools)


def find_scripts(
    scripts_dir: str | os.PathLike[str], names: Sequence[str] | None = None
) -> list[GimpScript]:
    """The LUT scripts in ``scripts_dir`` (all, or those in ``names``), sorted by name."""
    scripts_dir = Path(scripts_dir)
    if not scripts_dir.is_dir():
        raise ConfigError("no such scripts folder", path=scripts_dir)
    found = {p.stem: p for p in sorted(scripts_dir.glob("*.scm")) if not p.name.startswith("_")}
    if names:
        missing = [n for n in names if n not in found]
        if missing:
            raise ConfigError(
                f"no script for {', '.join(repr(n) for n in missing)} in the scripts folder",
                path=scripts_dir,
                hint=f"choose from {', '.join(sorted(found)) or '(none)'}",
            )
        found = {n: found[n] for n in dict.fromkeys(names)}
    if not found:
        raise ConfigError("no LUT scripts (*.scm) found", path=scripts_dir)
    return [parse_script(found[n]) for n in sorted(found)]


def script_helpers(scripts_dir: Path) -> list[Path]:
    """The helpers loaded before every script: the folder's ``_*.scm``, sorted, after
    lutkit's own ``_hald.scm`` (``lutkit-hald-look``) where the folder has none, so a
    folder of one's own looks needs no copy of it."""
    from lutkit.shipped import shipped_folder

    helpers = sorted(scripts_dir.glob("_*.scm"))
    own = (shipped_folder("luts") or Path("luts")) / "gimp" / "_hald.scm"
    if not any(h.name == own.name for h in helpers) and own.is_file():
        helpers.insert(0, own)
    return helpers


def _render_scripts(
    exe: str,
    helpers: list[Path],
    scripts: list[GimpScript],
    identity: Path,
    out_dir: Path,
    home: Path,
    timeout: float,
) -> None:
    """One GIMP start; one batch command per LUT, so a failing script names itself."""
    loads = " ".join(f"(load {scheme_string(h.resolve())})" for h in helpers)
    commands = []
    for s in scripts:
        out = out_dir / f"{s.name}.png"
        commands.append(
            f"(begin {loads} (load {scheme_string(s.path.resolve())}) "
            f"({s.procedure} {scheme_string(identity)} {scheme_string(out)}))"
        )
    proc = run_gimp(commands, exe=exe, home=home, timeout=timeout)
    output = (proc.stdout + proc.stderr).strip()
    failed = [s for s in scripts if not (out_dir / f"{s.name}.png").is_file()]
    if failed:
        # Script-Fu's own messages ("Error: ...") matter; GEGL's shutdown noise does not.
        said = [ln.strip() for ln in output.splitlines() if "Error:" in ln or "error" in ln]
        raise LutkitError(
            f"GIMP did not produce {', '.join(s.name for s in failed)} "
            f"(exit {proc.returncode}); GIMP said: "
            f"{' | '.join(said) or output[-2000:] or '(nothing)'}",
            path=failed[0].path,
        )
    if proc.returncode != 0:
        raise LutkitError(f"{GIMP} exited with {proc.returncode}: {output[-2000:]}")


def _source_note(script: Path, library_dir: Path) -> str:
    """The script's path as the index records it: relative to the library's parent
    (``luts/gimp/NAME.scm`` in a checkout), else as given."""
    base = library_dir.resolve().parent
    try:
        return script.resolve().relative_to(base).as_posix()
    except ValueError:
        return script.as_posix()


def build_gimp_library(
    scripts_dir: str | os.PathLike[str],
    library_dir: str | os.PathLike[str],
    *,
    names: Sequence[str] | None = None,
    level: int = 8,
    gimp: str = GIMP,
    timeout: float = 600,
) -> list[str]:
    """Re-author the LUTs of ``scripts_dir`` with GIMP into the library ``library_dir``.

    Runs ``gimp`` (GIMP 2.10's console binary) once in batch mode on an identity Hald
    of ``level`` (16-bit), reads each result back, resamples it to 33^3 and adds it to
    the library as ``NAME.cube`` (licence CC0-1.0), replacing entries of the same
    name. ``names`` limits the build to those scripts. Nothing in the library changes
    unless every script succeeds. Returns the names written, sorted.
    """
    import numpy as np

    from lutkit.images import save_image
    from lutkit.luts.hald import hald_identity, read_hald
    from lutkit.luts.library import Library

    scripts_dir, library_dir = Path(scripts_dir), Path(library_dir)
    scripts = find_scripts(scripts_dir, names)
    exe = shutil.which(gimp)
    if exe is None:
        raise LutkitError(
            f"{gimp} is not on PATH",
            hint="install GIMP 2.10 (Debian/Ubuntu: apt-get install gimp) to re-author "
            "the library, or use the committed .cube files in luts/ as they are",
        )
    helpers = script_helpers(scripts_dir)
    library = Library(library_dir)  # a broken index fails here, before GIMP runs
    size = level * level
    made_tail = (
        f"identity Hald level {level} (16-bit, {size}^3), resampled to "
        f"{CUBE_SIZE}^3 (tetrahedral) to keep the repository small"
    )
    with tempfile.TemporaryDirectory(prefix="lutkit-gimp-build-") as tmp:
        work = Path(tmp)
        identity = work / "identity.png"
        save_image(identity, hald_identity(level, np.uint16))
        out_dir = work / "out"
        out_dir.mkdir()
        _render_scripts(exe, helpers, scripts, identity, out_dir, work, timeout)
        luts = {}
        for s in scripts:
            lut = read_hald(out_dir / f"{s.name}.png")
            if lut.size != size:
                raise LutkitError(
                    f"GIMP returned a Hald of {lut.size}^3, not {size}^3",
                    path=s.path,
                    hint="the script must not crop or resize the image",
                )
            luts[s.name] = lut.resample(CUBE_SIZE) if CUBE_SIZE < size else lut
    for s in scripts:
        lut = luts[s.name]
        lut.title = s.description
        tools = ", ".join(s.tools) or "(no gimp-drawable-* tools)"
        library.add(
            s.name,
            lut,
            tags=s.tags,
            source=_source_note(s.path, library_dir),
            licence=LICENCE,
            made=f"GIMP 2.10 batch: {tools}; {made_tail}",
            replace=True,
            # 6 decimals are plenty for a 16-bit source and keep the files small.
            precision=CUBE_DECIMALS,
        )
    return sorted(s.name for s in scripts)


def save_library_sheet(
    library_dir: str | os.PathLike[str],
    path: str | os.PathLike[str],
    *,
    photo: str = "astronaut",
    names: Sequence[str] | None = None,
    columns: int = 6,
    tile: int = 200,
    quality: int = 60,
) -> Path:
    """A contact sheet of every LUT in the library (or ``names``) applied to a bundled
    photo (:mod:`lutkit.samples`), the original first; JPEG or PNG by extension."""
    from lutkit.images import load_image, save_image
    from lutkit.luts.library import Library
    from lutkit.samples import sample_photo
    from lutkit.sheets import contact_sheet

    library = Library(library_dir)
    chosen = list(names) if names else library.names()
    pixels = load_image(sample_photo(photo).path).pixels
    tiles, labels = [pixels], ["original"]
    for name in chosen:
        tiles.append(library.load(name).apply(pixels))
        labels.append(name)
    sheet = contact_sheet(tiles, labels, columns=columns, tile=tile)
    return save_image(path, sheet, quality=quality)
