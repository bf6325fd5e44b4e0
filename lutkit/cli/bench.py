"""``lutkit bench``: the benchmarks (tables of ratios against peers measured in the same run)."""

from __future__ import annotations

import click

output_option = click.option(
    "-o", "--output", type=click.Path(dir_okay=False), help="Also write the report (Markdown) here."
)
repeat_option = click.option("--repeat", type=click.IntRange(1), default=5, show_default=True)


@click.group()
def bench() -> None:
    """Benchmarks: each prints a table of ratios against a peer measured in the same run.

    \b
    Examples:
      lutkit bench all -o reports/bench.md
      lutkit bench lut --repeat 3
    """


def _suite(name: str, help_text: str) -> None:
    example = f"\n\n\b\nExample:\n  lutkit bench {name} --repeat 3 -o reports/bench-{name}.md"

    @bench.command(name=name, help=help_text + example)
    @repeat_option
    @click.option("--folder-images", type=click.IntRange(1), default=6, show_default=True)
    @output_option
    def command(repeat: int, folder_images: int, output: str | None) -> None:
        from lutkit.bench.suites import run_suite

        run_suite(name, repeat=repeat, folder_images=folder_images, output=output)


_suite("all", "Every benchmark below, into one report.")
_suite("lut", "LUT apply against Pillow, OpenColorIO, colour-science and torch.")
_suite("distort", "Distortion ops and recipes against one LUT apply.")
_suite("dataset", "Building a dataset against decode + resize + PNG encode.")
_suite("latents", "VAE latents against a one-image-at-a-time loop.")
_suite("train", "Training and fix against a pixel-space FCN.")
