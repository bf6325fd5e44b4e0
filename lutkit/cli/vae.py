"""``lutkit vae``: inspect, evaluate and train the VAE whose latents lutkit learns in."""

from __future__ import annotations

import shlex
import sys

import click

from lutkit.train.vae import VAETrainConfig as _D  # light: numpy only

vae_option = click.option(
    "--vae",
    "spec",
    default="default",
    show_default=True,
    help="'default' (lutkit's own), a local folder, or a Hugging Face hub id.",
)


@click.group()
def vae() -> None:
    """Inspect, evaluate and train the VAE (diffusers AutoencoderKL)."""


@vae.command()
@vae_option
def info(spec: str) -> None:
    """Print a VAE's class, shape of its latent, size, fingerprint and source.

    \b
    Examples:
      lutkit vae info
      lutkit vae info --vae stabilityai/sd-vae-ft-mse
    """
    from lutkit.latents.vae import describe_vae, load_vae

    d = describe_vae(load_vae(spec))
    click.echo(f"class        {d['class']}")
    click.echo(f"source       {d['source']}")
    click.echo(
        f"encoder      block_out_channels {tuple(d['block_out_channels'])}, "
        f"layers_per_block {d['layers_per_block']}, "
        f"mid-block attention {'yes' if d['mid_block_attention'] else 'no'}"
    )
    click.echo(
        f"latent       {d['latent_channels']} channels, {d['downsampling']}x downsampling "
        f"(224x224 -> mean+logvar {d['latent_224']})"
    )
    click.echo(f"parameters   {d['parameters']:,} ({d['dtype']})")
    click.echo(f"fingerprint  {d['fingerprint']}")


@vae.command(name="eval")
@vae_option
@click.option(
    "--size",
    type=click.IntRange(8),
    default=224,
    show_default=True,
    help="Crop side: a multiple of the VAE's downsampling (8 for lutkit's VAE).",
)
@click.option("--crops", type=click.IntRange(1), default=4, show_default=True, help="Per photo.")
@click.option(
    "--photo",
    "photos",
    multiple=True,
    help="Bundled photo(s) to measure on, or curated ones as photos:NAME (default: those "
    "held out from the default VAE).",
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--per-crop", is_flag=True, help="Also print a line per crop.")
def eval_(spec: str, size: int, crops: int, photos: tuple[str, ...], seed: int, per_crop: bool):
    """Reconstruction PSNR and delta E 2000 on held-out photos.

    Decodes both the posterior mean and a seeded posterior sample, on the centre crop
    and seeded random crops of each photo, clean and recoloured by the default recipe.

    \b
    Example:
      lutkit vae eval --vae default --size 224
    """
    from lutkit.latents.vae import load_vae, vae_fingerprint
    from lutkit.latents.vae_eval import HOLDOUT, evaluate_vae, heldout_crops

    model = load_vae(spec)
    names = photos or HOLDOUT
    result = evaluate_vae(
        model, heldout_crops(size=size, photos=names, per_photo=crops, seed=seed), seed=seed
    )
    click.echo(f"VAE {vae_fingerprint(model)} at {size}x{size} on {', '.join(names)}")
    if per_crop:
        for r in result["rows"]:
            click.echo(
                f"  {r['crop']:<28} PSNR {r['psnr_mean']:6.2f} / {r['psnr_sample']:6.2f} dB  "
                f"dE {r['delta_e_mean']:5.2f} / {r['delta_e_sample']:5.2f}"
            )
    click.echo(
        f"{'crops':<16}{'PSNR mean':>10}{'PSNR sample':>13}{'dE mean':>9}{'dE sample':>11}"
        f"{'PSNR bicubic':>14}{'dE bicubic':>12}"
    )
    for group, s in result["summary"].items():
        label = f"{group} ({s['crops']})"
        click.echo(
            f"{label:<16}{s['psnr_mean']:>7.2f} dB{s['psnr_sample']:>10.2f} dB"
            f"{s['delta_e_mean']:>9.2f}{s['delta_e_sample']:>11.2f}"
            f"{s['psnr_bicubic']:>11.2f} dB{s['delta_e_bicubic']:>12.2f}"
        )
    click.echo(
        "bicubic: the reference, no VAE: each crop area-averaged to the latent grid "
        "(one colour per latent position) and upsampled bicubically"
    )


@vae.command()
@click.option("--out", type=click.Path(file_okay=False), required=True, help="Output folder.")
@click.option("--steps", type=click.IntRange(1), default=_D.steps, show_default=True)
@click.option("--batch-size", type=click.IntRange(1), default=_D.batch_size, show_default=True)
@click.option(
    "--size",
    type=click.IntRange(8),
    default=_D.size,
    show_default=True,
    help="Crop side: a multiple of the VAE's downsampling (8 for lutkit's VAE).",
)
@click.option("--lr", type=click.FloatRange(0, min_open=True), default=_D.lr, show_default=True)
@click.option("--warmup", type=click.IntRange(0), default=_D.warmup, show_default=True)
@click.option("--kl-weight", type=click.FloatRange(0), default=_D.kl_weight, show_default=True)
@click.option(
    "--colour-weight",
    type=click.FloatRange(0),
    default=_D.colour_weight,
    show_default=True,
    help="Extra L1 on the mean colour of each 8x8 tile.",
)
@click.option(
    "--init",
    type=click.Choice(["block-codec", "random"]),
    default=_D.init,
    show_default=True,
    help="Start as a block-average colour codec, or from diffusers' random init.",
)
@click.option("--seed", type=int, default=_D.seed, show_default=True)
@click.option("--distort-p", type=click.FloatRange(0, 1), default=_D.distort_p, show_default=True)
@click.option("--recipe", default=_D.recipe, show_default=True, help="Colour augmentation.")
@click.option(
    "--corpus/--no-corpus",
    default=_D.corpus,
    show_default=True,
    help="Also train on the curated photographs (`lutkit photos fetch`): the train split "
    "of the default model's dataset, each downscaled to at most 1024 px.",
)
@click.option("--threads", type=click.IntRange(1), default=_D.threads, show_default=True)
@click.option(
    "--checkpoint-every", type=click.IntRange(1), default=_D.checkpoint_every, show_default=True
)
@click.option("--resume/--no-resume", default=True, show_default=True)
def train(out: str, resume: bool, **options) -> None:
    """Train lutkit's small default VAE on the bundled photos (and, with --corpus, the
    curated photographs' train split).

    Writes OUT/config.json, OUT/diffusion_pytorch_model.safetensors, OUT/TRAINING.md
    and OUT/training.json; keeps OUT/resume while running, so a rerun continues.

    \b
    Example:
      lutkit vae train --out runs/my-vae              # bundled photos, 2400 steps
      lutkit vae train --out runs/corpus-vae --corpus --steps 6000 --threads 2  # as make vae
      lutkit vae train --out runs/quick --steps 300 --seed 1
    """
    from lutkit.cli.options import progress_bars
    from lutkit.train.vae import VAETrainConfig, train_vae

    cfg = VAETrainConfig(**options)
    command = "lutkit " + shlex.join(sys.argv[1:]) if sys.argv[1:2] == ["vae"] else ""
    with progress_bars(unit="step") as bars:
        result = train_vae(out, cfg, command=command, resume=resume, progress=bars)
    s = result.eval["summary"]
    click.echo(f"wrote {out} ({result.steps} steps, {result.seconds / 60:.1f} min)")
    for group in ("clean", "distorted"):
        g = s[group]
        click.echo(
            f"held-out {group}: PSNR {g['psnr_mean']:.2f} dB (mean) / {g['psnr_sample']:.2f} dB "
            f"(sample), dE2000 {g['delta_e_mean']:.2f} / {g['delta_e_sample']:.2f}"
        )
