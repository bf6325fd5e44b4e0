"""Real photographs that ship inside lutkit's installed dependencies.

They let ``make demo``, the default dataset and the tests run on a fresh machine with
no download: scikit-image's sample photos and matplotlib's portrait of Grace Hopper.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lutkit.errors import ConfigError

# name -> (package, file inside the package's data folder, description)
_PHOTOS = {
    "astronaut": ("skimage", "astronaut.png", "Eileen Collins, NASA portrait (512x512)"),
    "chelsea": ("skimage", "chelsea.png", "Chelsea the cat (451x300)"),
    "coffee": ("skimage", "coffee.png", "a cup of coffee (600x400)"),
    "rocket": ("skimage", "rocket.jpg", "a rocket on its launch pad (427x640)"),
    "hubble_deep_field": ("skimage", "hubble_deep_field.jpg", "Hubble deep field (872x1000)"),
    "immunohistochemistry": ("skimage", "ihc.png", "stained tissue, microscope (512x512)"),
    "retina": ("skimage", "retina.jpg", "a human retina, fundus camera (1411x1411)"),
    "motorcycle": ("skimage", "motorcycle_left.png", "a motorcycle, stereo left view (741x500)"),
    "grace_hopper": ("matplotlib", "grace_hopper.jpg", "Grace Hopper, portrait (512x600)"),
}


@dataclass(frozen=True)
class SamplePhoto:
    name: str
    path: Path
    description: str


def _data_dir(package: str) -> Path:
    if package == "skimage":
        import skimage.data

        return Path(skimage.data.__file__).parent
    import matplotlib

    return Path(matplotlib.get_data_path()) / "sample_data"


def package_dir(module: str, distribution: str) -> Path:
    """The folder of an installed top-level module (its bundled data files live below).

    ``distribution`` names the pip package in the error when the module is missing.
    """
    import importlib.util

    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            f"{distribution} is not installed: its bundled photos are needed",
            hint=f"pip install {distribution}, or pip install 'lutkit[photos]'",
        )
    return Path(next(iter(spec.submodule_search_locations)))


def sample_photos() -> list[SamplePhoto]:
    """Every bundled photo that is present, in a fixed order."""
    out = []
    for name, (package, file, description) in _PHOTOS.items():
        path = _data_dir(package) / file
        if path.is_file():
            out.append(SamplePhoto(name, path, description))
    return out


def sample_photo(name: str) -> SamplePhoto:
    """One bundled photo by name (see :func:`sample_photos`)."""
    for p in sample_photos():
        if p.name == name:
            return p
    raise ConfigError(
        f"no bundled photo named {name!r}",
        hint=f"choose one of {', '.join(p.name for p in sample_photos())}",
    )
