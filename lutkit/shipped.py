"""Where the data the commands need lies: the source checkout, or the installed package.

The LUT library (``luts/``: the .cube files, ``index.toml`` and the GIMP scripts in
``gimp/``) and the recipes and training configs (``pipelines/recipes``,
``pipelines/train``) are edited at the top of the source checkout. Building the
package (a wheel, ``pip install .``) copies them into ``lutkit/resources/`` (see
``setup.py``), so an installed lutkit finds them wherever it runs.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
_CHECKOUT = _PACKAGE.parent

# name inside lutkit/resources -> folder in the source checkout, and a file that
# says the folder is the real one
SHIPPED = {
    "luts": ("luts", "index.toml"),
    "recipes": ("pipelines/recipes", "default.toml"),
    "train": ("pipelines/train", "demo.toml"),
}


def shipped_folder(name: str) -> Path | None:
    """The folder ``name`` of :data:`SHIPPED`: the source checkout's when lutkit runs
    from one (an editable install), else the copy inside the installed package, else
    None."""
    folder, marker = SHIPPED[name]
    for candidate in (_CHECKOUT / folder, _PACKAGE / "resources" / name):
        if (candidate / marker).is_file():
            return candidate
    return None
