"""Options shared by several commands."""

from __future__ import annotations

import click

interp_option = click.option(
    "--interp",
    type=click.Choice(["tetrahedral", "trilinear"]),
    default="tetrahedral",
    show_default=True,
    help="3D LUT interpolation.",
)

strength_option = click.option(
    "--strength",
    type=click.FloatRange(0.0, 1.0),
    default=1.0,
    show_default=True,
    help="Blend with the identity: 0 = unchanged, 1 = full effect.",
)


def progress(iterable, *, total: int | None = None, desc: str = "", unit: str = "it"):
    """A tqdm progress bar on stderr (hidden when stderr is not a terminal and quiet)."""
    from tqdm.auto import tqdm

    # disable=None: no bar when stderr is not a terminal (logs, CI, pipes).
    return tqdm(
        iterable, total=total, desc=desc, unit=unit, dynamic_ncols=True, leave=False, disable=None
    )
