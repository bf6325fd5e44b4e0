"""``lutkit latents``: precompute VAE latents of a dataset."""

from __future__ import annotations

import click

from lutkit.cli.options import check_ray_address, engine_option, ray_address_option


@click.command()
@click.argument("dataset", type=click.Path(file_okay=False))
@click.option(
    "--vae",
    default="default",
    show_default=True,
    help="'default' (lutkit's own), a local AutoencoderKL folder, or a hub id.",
)
@click.option("--batch-size", type=click.IntRange(1), default=16, show_default=True)
@click.option(
    "--device", type=click.Choice(["auto", "cpu", "cuda", "mps"]), default="auto", show_default=True
)
@click.option(
    "--dtype",
    type=click.Choice(["float32", "float16", "bfloat16"]),
    default="float32",
    show_default=True,
)
@click.option(
    "--size",
    type=click.IntRange(16, 2048),
    default=224,
    show_default=True,
    help="Centre crop and resize to this size before encoding.",
)
@engine_option("an actor pool on Ray Data, one VAE per actor (same shards).")
@click.option(
    "--workers",
    type=click.IntRange(0),
    default=0,
    help="Ray actors (0: one per GPU of the cluster, else one per CPU); the CPUs of a local Ray.",
)
@ray_address_option
def latents(
    dataset: str,
    vae: str,
    batch_size: int,
    device: str,
    dtype: str,
    size: int,
    engine: str,
    workers: int,
    ray_address: str | None,
) -> None:
    """Encode every pair of a dataset with a VAE into latents shards (resumable).

    With --engine ray, each actor holds one VAE, on one GPU where the cluster has GPUs
    (else one CPU); the dataset folder must be on storage every node reads at the same
    path. The shards are the same bytes as the local engine's.

    \b
    Examples:
      lutkit latents datasets/demo
      lutkit latents datasets/demo --vae stabilityai/sd-vae-ft-mse --device cuda --dtype bfloat16
      lutkit latents datasets/demo --engine ray --workers 2
      lutkit latents /shared/ds --engine ray --ray-address HEAD:6379 --dtype bfloat16
    """
    from lutkit.cli.options import progress_bars
    from lutkit.latents.encode import encode_dataset

    check_ray_address(engine, ray_address)
    with progress_bars(unit="img") as bars:
        result = encode_dataset(
            dataset,
            vae=vae,
            batch_size=batch_size,
            device=device,
            dtype=dtype,
            size=size,
            progress=bars,
            engine=engine,
            workers=workers,
            ray_address=ray_address,
        )
    rate = (
        f"{result.images} images at {result.images_per_second:.1f} images/s"
        if result.images
        else "nothing left to encode"
    )
    click.echo(
        f"{result.folder}: {result.shards_written} shard(s) written, "
        f"{result.shards_skipped} already complete; {rate} (VAE {result.fingerprint})"
    )
