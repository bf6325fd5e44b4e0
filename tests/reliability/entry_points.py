"""Every CLI entry point that takes a user file, as ``name -> argv builder``.

A builder gets the bad input (copied into a scratch folder) and a :class:`Context` of
good inputs, and returns the arguments and the output path the command would write.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Context:
    work: Path  # scratch folder of this case; outputs go to work/out
    photo: Path  # a good small photo
    photos: Path  # a folder with that photo only
    cube: Path  # a good .cube
    vae: Path | None = None  # a good tiny VAE folder
    dataset: Path | None = None  # a good tiny dataset with latents (a private copy)
    run: Path | None = None  # a good tiny trained run (a private copy)
    image_size: int = 64

    @property
    def out(self) -> Path:
        return self.work / "out"


def _train_args(ctx: Context, dataset: Path, vae: Path) -> list[str]:
    from tests.train.helpers import tiny_settings

    items = tiny_settings(dataset, vae, ctx.out, epochs=1, fit_steps=5)
    return ["train", *[a for item in items for a in ("--set", item)]]


Builder = Callable[[Path, Context], tuple[list[str], Path | None]]

ENTRY_POINTS: dict[str, Builder] = {
    # LUT files: .cube, Hald images, GIMP curves presets
    "lut import": lambda f, c: (["lut", "import", f, "-o", c.out / "x.cube"], c.out / "x.cube"),
    "lut convert": lambda f, c: (["lut", "convert", f, c.out / "x.cube"], c.out / "x.cube"),
    "lut apply": lambda f, c: (
        ["lut", "apply", f, c.photo, "-o", c.out / "x.png"],
        c.out / "x.png",
    ),
    "lut info": lambda f, c: (["lut", "info", f], None),
    "lut plot": lambda f, c: (["lut", "plot", f, "-o", c.out / "plot.png"], c.out / "plot.png"),
    # images
    "lut apply (image)": lambda f, c: (
        ["lut", "apply", c.cube, f, "-o", c.out / "x.png"],
        c.out / "x.png",
    ),
    "distort": lambda f, c: (
        ["distort", f, "-o", c.out / "x.png", "--recipe", "curves", "--seed", "1"],
        c.out / "x.png",
    ),
    "recipe preview (image)": lambda f, c: (
        ["recipe", "preview", "curves", "--image", f, "-o", c.out / "s.png", "--n", "2"],
        c.out / "s.png",
    ),
    "fix": lambda f, c: (
        ["fix", f, "-o", c.out / "x.png", "--model", c.run, "--seed", "0"],
        c.out / "x.png",
    ),
    # recipes
    "recipe show": lambda f, c: (["recipe", "show", f], None),
    "recipe preview": lambda f, c: (
        ["recipe", "preview", f, "--image", c.photo, "-o", c.out / "s.png", "--n", "2"],
        c.out / "s.png",
    ),
    "distort (recipe)": lambda f, c: (
        ["distort", c.photo, "-o", c.out / "x.png", "--recipe", f],
        c.out / "x.png",
    ),
    "dataset build (recipe)": lambda f, c: (
        ["dataset", "build", "--source", c.photos, "--recipe", f, "--out", c.out / "ds"]
        + ["--size", "16", "--variants", "1", "--workers", "1"],
        c.out / "ds" / "dataset.json",
    ),
    # photo manifests
    "dataset build (manifest)": lambda f, c: (
        ["dataset", "build", "--source", f, "--recipe", "curves", "--out", c.out / "ds"]
        + ["--size", "16", "--variants", "1", "--workers", "1"],
        c.out / "ds" / "dataset.json",
    ),
    # datasets (f is a damaged copy of a good dataset)
    "dataset verify": lambda f, c: (["dataset", "verify", f], None),
    "dataset info": lambda f, c: (["dataset", "info", f], None),
    "dataset preview": lambda f, c: (
        ["dataset", "preview", f, "-o", c.out / "p.jpg", "--n", "2"],
        c.out / "p.jpg",
    ),
    "dataset export": lambda f, c: (
        ["dataset", "export", f, "-o", c.out / "export"],
        c.out / "export",
    ),
    "latents": lambda f, c: (
        ["latents", f, "--vae", c.vae, "--device", "cpu", "--size", str(c.image_size)],
        None,
    ),
    "train": lambda f, c: (_train_args(c, f, c.vae), c.out / "tiny" / "state.json"),
    # VAE folders
    "vae info": lambda f, c: (["vae", "info", "--vae", f], None),
    "latents (vae)": lambda f, c: (
        ["latents", c.dataset, "--vae", f, "--device", "cpu", "--size", str(c.image_size)],
        None,
    ),
    "train (vae)": lambda f, c: (_train_args(c, c.dataset, f), c.out / "tiny" / "state.json"),
}

# Entry points that need torch (a tiny VAE, dataset or run).
HEAVY = {"fix", "latents", "train", "vae info", "latents (vae)", "train (vae)"}
