"""A run folder's files and its resume point: what ``lutkit train`` writes after every
epoch, and the checks that let a rerun resume it (see :mod:`lutkit.train.loop`).

The resume state is ``state.safetensors``: the weights being trained, the optimizer
state (:mod:`lutkit.train.optim`), and in its metadata the position (epoch, step) and
the metrics so far. A rerun resumes it only with the same config (the keys in
``RESUMABLE`` may change) and the same VAE.
"""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from typing import Any

from lutkit.errors import ConfigError, LutkitError
from lutkit.train.config import TrainConfig
from lutkit.train.optim import optimizer_tensors
from lutkit.train.stages import STAGES

STATE_TENSORS = "state.safetensors"
STATE_JSON = "state.json"
METRICS_CSV = "metrics.csv"
SHEET_PNG = "before-after.png"
CONFIG_JSON = "config.json"
METRIC_COLUMNS = (
    "stage",
    "epoch",
    "step",
    "lr",
    "train_kl",
    "train_lut",
    "val_kl",
    "val_lut",
    "val_de_input",
    "val_de_fit",
    "val_de_net",
)
# Keys that may change when a run is resumed; any other change is refused.
RESUMABLE = ("epochs", "device", "val_images", "fit_steps")
# What the recolor net of a lutnet stage must share with the run that trained it.
RECOLOR_KEYS = ("dataset", "vae", "width", "res_blocks", "norm", "residual", "kl_direction")


def save_checkpoint(
    run_dir: Path, stage: str, recolor, lutnet, opt, position: dict[str, Any], rows: list
) -> None:
    """Write the models, the resume state, metrics.csv and state.json (each atomically;
    state.safetensors is the truth a resume reads)."""
    from safetensors.torch import save_file

    from lutkit.fsutil import atomic_output, atomic_write_text

    st = STAGES[stage]
    if st.trains_recolor:
        recolor.save_pretrained(run_dir / "recolor")
    if st.lutnet:
        lutnet.save_pretrained(run_dir / "lutnet")
    tensors, plain = optimizer_tensors(opt)
    for prefix, model in (("recolor", recolor), ("lutnet", lutnet)):
        if model is not None and not (prefix == "recolor" and not st.trains_recolor):
            for k, v in model.state_dict().items():
                tensors[f"{prefix}.{k}"] = v.detach().to("cpu").contiguous()
    meta = {**position, "stage": stage, "optimizer": plain, "metrics": rows}
    with atomic_output(run_dir / STATE_TENSORS) as tmp:
        save_file(tensors, str(tmp), metadata={"lutkit": json.dumps(meta)})
    write_metrics(run_dir / METRICS_CSV, rows)
    atomic_write_text(
        run_dir / STATE_JSON, json.dumps({**position, "stage": stage}, indent=2) + "\n"
    )


def load_checkpoint(run_dir: Path) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """(tensors, metadata) of the resume state, or None when the run has none."""
    from safetensors import SafetensorError, safe_open
    from safetensors.torch import load_file

    path = run_dir / STATE_TENSORS
    if not path.is_file():
        return None
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = json.loads((f.metadata() or {})["lutkit"])
        tensors = load_file(str(path))
    except (SafetensorError, OSError, KeyError, ValueError) as exc:
        raise LutkitError(
            f"unreadable resume state: {exc}",
            path=path,
            hint="delete the run folder to start again",
        ) from None
    return tensors, meta


def write_metrics(path: Path, rows: list[dict[str, str]]) -> None:
    from lutkit.fsutil import atomic_write_text

    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=METRIC_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(path, buf.getvalue())


def format_metric(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return f"{value:.6g}" if isinstance(value, float) else str(value)


# What a run writes into its folder (and an exported model keeps): a folder that holds
# nothing else, and no config.json, may take a new run (one stopped before its first
# epoch ended left only some of them). Hidden names are temporaries.
RUN_FILES = frozenset(
    {
        CONFIG_JSON,
        STATE_TENSORS,
        STATE_JSON,
        METRICS_CSV,
        SHEET_PNG,
        "test.json",
        "recolor",
        "lutnet",
        "TRAINING.md",
    }
)


def is_run_config(saved: Any) -> bool:
    """Whether a parsed config.json is a training run's (it names a stage and a dataset)."""
    return isinstance(saved, dict) and "stage" in saved and "dataset" in saved


def check_fresh_folder(run_dir: Path) -> None:
    """Refuse to start a run in a folder whose config.json is not a training run's (a
    VAE, say, when the run is named after the VAE's folder): the run would overwrite it.
    A run's own config.json without a resume state (stopped before its first epoch
    ended) is fine: it starts again."""
    for folder in (run_dir, *run_dir.parents):
        if folder.exists() and not folder.is_dir():
            raise ConfigError(
                f"{folder} is a file, not a folder: the run cannot be written there",
                path=run_dir,
                hint="choose another run name (--set name=...) or --set out=FOLDER",
            )
        if folder.exists():
            break
    if not (run_dir / CONFIG_JSON).exists():
        others = sorted(
            p.name
            for p in (run_dir.iterdir() if run_dir.is_dir() else ())
            if p.name not in RUN_FILES and not p.name.startswith(".")
        )
        if others:  # a dataset, photos, anything that is no run's
            raise ConfigError(
                f"the folder holds files of its own ({', '.join(others[:3])}"
                f"{', ...' if len(others) > 3 else ''}): training would write among them",
                path=run_dir,
                hint="choose another run name (--set name=...), or move that folder",
            )
        return
    try:
        saved = json.loads((run_dir / CONFIG_JSON).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return
    except (OSError, ValueError):
        saved = None
    if is_run_config(saved):
        return
    what = (
        "a diffusers model's"
        if isinstance(saved, dict) and "_class_name" in saved
        else "not a training run's"
    )
    raise ConfigError(
        f"the folder holds a config.json that is {what}: training would overwrite it",
        path=run_dir,
        hint="choose another run name (--set name=...), or move that folder",
    )


def check_resume(
    run_dir: Path, cfg: TrainConfig, fingerprint: str, keys=None, digest: str | None = None
) -> None:
    """Refuse to resume a run whose saved config (other than in RESUMABLE), VAE or data
    (``digest``, :func:`lutkit.train.data.dataset_digest`; a run from before it was
    recorded is not checked) differs."""
    try:
        saved = json.loads((run_dir / CONFIG_JSON).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise LutkitError(
            "the run has a resume state but no readable config.json",
            path=run_dir,
            hint="delete the run folder to start again",
        ) from None
    if saved.get("vae_fingerprint", fingerprint) != fingerprint:
        raise ConfigError(
            f"the run was trained with VAE {saved['vae_fingerprint']}, "
            f"but {cfg.vae!r} is now {fingerprint}",
            path=run_dir,
            hint="use another name, or delete the run folder to start again",
        )
    was_data = saved.get("dataset_digest")
    if digest is not None and was_data is not None and was_data != digest:
        raise ConfigError(
            f"the run was trained on other pairs of {cfg.dataset} (the dataset was rebuilt "
            "or grew since): resuming would mix two datasets in one run",
            path=run_dir,
            hint="use another name, or delete the run folder to start again",
        )
    now = cfg.to_dict()
    # A key the saved config lacks was added to lutkit after the run was written: the
    # run was trained with its default.
    default = TrainConfig().to_dict()
    for key in keys or now:
        if key in RESUMABLE or key == "stage":
            continue
        was = saved.get(key, default[key])
        if was != now[key]:
            raise ConfigError(
                f"the run was trained with {key} = {was!r}, not {now[key]!r}",
                path=run_dir,
                hint="use another name, or delete the run folder to start again",
            )
