"""``lutkit train``: train the latent recolor net and the LUT net."""

from __future__ import annotations

import click

from lutkit.cli.options import check_ray_address, engine_option, ray_address_option


@click.command()
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    help="A TOML config (pipelines/train/*.toml); without it, the defaults.",
)
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override a config key (repeatable), e.g. --set epochs=5.",
)
@click.option(
    "--device",
    type=click.Choice(["auto", "cpu", "cuda", "mps"]),
    help="Overrides the config's device.",
)
@engine_option("data-parallel on Ray Train (DDP: gloo on CPUs, NCCL on GPUs).")
@click.option(
    "--workers",
    type=click.IntRange(1),
    default=2,
    show_default=True,
    help="Ray Train ranks (one GPU each where the cluster has GPUs, else one CPU).",
)
@ray_address_option
def train(
    config_path: str | None,
    overrides: tuple[str, ...],
    device: str | None,
    engine: str,
    workers: int,
    ray_address: str | None,
) -> None:
    """Train a run into OUT/NAME (runs/NAME); rerun the same command to resume.

    Needs the dataset's latents for the config's VAE (`lutkit latents DATASET`),
    made from its pairs as they are now (a dataset rebuilt or grown since is refused
    until `lutkit latents` runs again). The config keys are TrainConfig's, each with
    its default and what it does, in lutkit/train/config.py.
    Writes config.json, recolor/ and lutnet/ (safetensors), metrics.csv,
    before-after.png and the resume state.

    With --engine ray, --workers ranks each take a share of every batch; the run
    folder, its checkpoints and its resume are those of a local run (either engine
    resumes the other's run). On a cluster, run it on a node with --ray-address
    HEAD:6379, the dataset and OUT on storage every node sees at the same path.

    \b
    Examples:
      lutkit train --config pipelines/train/demo.toml
      lutkit train --config pipelines/train/demo.toml --set epochs=2 --set name=quick
      lutkit train --config pipelines/train/demo.toml --set name=two-step --set stage=recolor
      lutkit train --config pipelines/train/demo.toml --set name=two-step --set stage=lutnet
      lutkit train --config pipelines/train/demo.toml --engine ray --workers 2
      lutkit train --config big.toml --engine ray --workers 8 --ray-address HEAD:6379
    """
    from lutkit.cli.options import progress_bars
    from lutkit.train.config import load_config
    from lutkit.train.loop import train as run_training

    check_ray_address(engine, ray_address)
    items = list(overrides) + ([f"device={device}"] if device else [])
    cfg = load_config(config_path, items)
    if engine == "ray":
        from lutkit.train.ray_train import train_on_ray

        result = train_on_ray(cfg, workers=workers, address=ray_address, log=click.echo)
    else:
        with progress_bars() as bars:
            result = run_training(cfg, log=click.echo, progress=bars)
    last = result.metrics[-1] if result.metrics else {}
    de = ", ".join(
        f"{k[7:]} {last[k]}" for k in ("val_de_input", "val_de_fit", "val_de_net") if last.get(k)
    )
    state = "complete" if result.complete else f"at epoch {result.epoch}"
    click.echo(
        f"{result.run_dir}: {state}, {result.epochs_run} epoch(s) trained in "
        f"{result.seconds:.0f} s" + (f"; val delta E 2000 {de}" if de else "")
    )
