"""`lutkit model export` replaces only an earlier export, never a folder holding other
files or the run; `fix`, `eval` and `model info` say when a run they use is unfinished.

The run here is a copy of the shipped model (a finished run's files plus its resume
state), so no test trains; the held-out photos (read from the run's dataset, absent
here) are stubbed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from lutkit.cli import main

REFUSED = (
    "the folder is not empty and is no earlier model export ({why}); nothing was changed "
    "(give a new or empty folder: export replaces only a folder it wrote before)"
)
APART = "nothing was changed (give a folder outside the run, e.g. -o models/NAME)"


@pytest.fixture
def project(tmp_path, monkeypatch):
    """tmp_path as the working folder, with runs/mine: a finished run."""
    from lutkit.correct import export, model

    run = tmp_path / "runs" / "mine"
    shutil.copytree(model.default_model_dir(), run)
    (run / "TRAINING.md").unlink()
    (run / "state.safetensors").write_bytes(b"resume state")
    (run / "state.json").write_text(json.dumps({"epoch": 4, "epochs": 4, "complete": True}))
    monkeypatch.setattr(export, "_heldout_photos", lambda dataset: ["photos:held-out"])
    monkeypatch.chdir(tmp_path)
    return tmp_path


def files(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (relative name -> bytes)."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def export(*args: str):
    return CliRunner().invoke(main, ["model", "export", *args, "--colormap", "net"])


def test_export_refuses_a_folder_of_other_files_and_deletes_nothing(project):
    keep = project / "scratch" / "keep"
    keep.mkdir(parents=True)
    (keep / "IMG_0001.jpg").write_bytes(b"a photo")
    (keep / "notes.txt").write_text("notes")
    before = files(project)
    result = export("runs/mine", "-o", "scratch/keep")
    assert result.exit_code == 1
    assert result.output == f"Error: scratch/keep: {REFUSED.format(why='it holds IMG_0001.jpg')}\n"
    assert files(project) == before
    assert sorted(p.name for p in (project / "scratch").iterdir()) == ["keep"]


@pytest.mark.parametrize(
    ("extra", "why"),
    [
        ("notes.txt", "it holds notes.txt"),
        ("recolor/optimizer.pt", "it holds recolor/optimizer.pt"),
        ("state.safetensors", "it holds state.safetensors"),
    ],
)
def test_export_refuses_an_earlier_export_with_anything_more(project, extra, why):
    assert export("runs/mine", "-o", "model").exit_code == 0
    (project / "model" / extra).write_bytes(b"someone else's")
    before = files(project)
    result = export("runs/mine", "-o", "model")
    assert result.exit_code == 1
    assert result.output == f"Error: model: {REFUSED.format(why=why)}\n"
    assert files(project) == before


def test_export_refuses_another_run_by_its_config(project):
    """The files an export writes, but a run's config.json (no colour map recorded)."""
    other = project / "other"
    shutil.copytree(project / "runs" / "mine", other)
    (other / "state.safetensors").unlink()
    doc = json.loads((other / "config.json").read_text())
    del doc["colormap"], doc["heldout_photos"]
    (other / "config.json").write_text(json.dumps(doc))
    before = files(project)
    result = export("runs/mine", "-o", "other")
    assert result.exit_code == 1
    why = "its config.json is not an exported model's"
    assert result.output == f"Error: other: {REFUSED.format(why=why)}\n"
    assert files(project) == before


def test_export_refuses_a_file(project):
    (project / "notes.txt").write_text("notes")
    result = export("runs/mine", "-o", "notes.txt")
    assert result.exit_code == 1
    assert result.output == (
        "Error: notes.txt: exists and is not a folder; nothing was changed "
        "(give a new or empty folder for the model)\n"
    )
    assert (project / "notes.txt").read_text() == "notes"


@pytest.mark.parametrize(
    ("run", "out", "says"),
    [
        ("runs/mine", "runs/mine", "runs/mine: the model folder is the run itself"),
        ("runs/mine", "runs/mine/", "runs/mine: the model folder is the run itself"),
        ("runs/mine", "runs/mine/model", "runs/mine/model: the model folder is inside the run"),
        ("runs/mine", "runs", "runs: the model folder holds the run runs/mine"),
        ("runs/mine", "runs/../runs", "runs/../runs: the model folder holds the run runs/mine"),
    ],
)
def test_export_refuses_the_run_itself_and_folders_around_it(project, run, out, says):
    if "inside" in says:
        says += f" {run}"
    before = files(project)
    result = export(run, "-o", out)
    assert result.exit_code == 1
    assert result.output == f"Error: {says}; {APART}\n"
    assert files(project) == before  # the resume state is still there


def test_export_to_dot_in_a_folder_with_files_is_a_one_line_error(project, monkeypatch):
    """`-o .` was a traceback (a path with an empty name)."""
    here = project / "elsewhere"
    here.mkdir()
    (here / "notes.txt").write_text("notes")
    before = files(project)
    monkeypatch.chdir(here)
    result = export(str(project / "runs" / "mine"), "-o", ".")
    assert result.exit_code == 1
    assert result.output == f"Error: {here}: {REFUSED.format(why='it holds notes.txt')}\n"
    monkeypatch.chdir(project)
    result = export("runs/mine", "-o", ".")  # the project: it holds the run
    assert result.exit_code == 1
    assert result.output == f"Error: {project}: the model folder holds the run runs/mine; {APART}\n"
    assert files(project) == before


def test_export_to_dot_fills_an_empty_working_folder_in_place(project, monkeypatch):
    here = project / "new-model"
    here.mkdir()
    inode = here.stat().st_ino
    monkeypatch.chdir(here)
    result = export(str(project / "runs" / "mine"), "-o", ".")
    assert result.exit_code == 0, result.output
    assert result.output == f"wrote {here}\n"
    assert here.stat().st_ino == inode  # the same folder: a shell inside it sees the model
    assert sorted(p.name for p in here.iterdir()) == [
        "config.json",
        "lutnet",
        "metrics.csv",
        "recolor",
        "state.json",
        "test.json",
    ]
    assert [p.name for p in project.iterdir() if p.name.startswith(".")] == []


def test_reexport_replaces_an_earlier_export_and_keeps_its_training_notes(project):
    """What `make model` does to lutkit/resources/models/default: the shipped folder (an
    export with a hand-written TRAINING.md) is replaced whole; a hidden folder beside it
    that export did not make is left alone."""
    from lutkit.correct.model import default_model_dir, load_run

    shipped = project / "models" / "default"
    shutil.copytree(default_model_dir(), shipped)
    (shipped / "recolor" / "model.safetensors").write_bytes(b"older weights")
    (project / "models" / ".default.old").mkdir()
    (project / "models" / ".default.old" / "mine.txt").write_text("not export's")
    result = export("runs/mine", "-o", "models/default")
    assert result.exit_code == 0, result.output
    assert result.output == "replaced the earlier export models/default\n"
    run = project / "runs" / "mine"
    assert (shipped / "recolor" / "model.safetensors").read_bytes() == (
        run / "recolor" / "model.safetensors"
    ).read_bytes()
    assert (shipped / "TRAINING.md").read_bytes() == (
        default_model_dir() / "TRAINING.md"
    ).read_bytes()
    assert json.loads((shipped / "config.json").read_text())["heldout_photos"] == [
        "photos:held-out"
    ]
    assert sorted(p.name for p in (project / "models").iterdir()) == [".default.old", "default"]
    assert (project / "models" / ".default.old" / "mine.txt").read_text() == "not export's"
    load_run(shipped)
    assert export("runs/mine", "-o", "models/default").exit_code == 0  # and again


def test_a_file_saved_into_an_earlier_export_during_the_export_is_kept(project, monkeypatch):
    """The folder is checked again once it is set aside: a photo saved into it after the
    first check puts it back, untouched, and the export is refused."""
    assert export("runs/mine", "-o", "model").exit_code == 0
    copy = shutil.copyfile

    def copy_and_save_a_photo(src, dst, *args, **kwargs):
        (project / "model" / "IMG_0001.jpg").write_bytes(b"a photo")
        return copy(src, dst, *args, **kwargs)

    monkeypatch.setattr(shutil, "copyfile", copy_and_save_a_photo)  # imported in the call
    before = files(project / "model")
    result = export("runs/mine", "-o", "model")
    assert result.exit_code == 1
    assert result.output.startswith(
        "Error: model: something was saved into the folder during the export (it holds "
        "IMG_0001.jpg); nothing was changed"
    )
    assert files(project / "model") == {**before, "IMG_0001.jpg": b"a photo"}
    assert sorted(p.name for p in project.iterdir()) == ["model", "runs"]  # no leftovers


@pytest.mark.parametrize("at", [1, 2])
def test_an_interrupted_swap_leaves_the_old_or_the_new_export_never_none(project, monkeypatch, at):
    """Ctrl-C right after the first rename (the old export set aside) or the second (the
    new one in place): the folder is there, whole, and nothing is left beside it."""
    from lutkit.correct.model import load_run

    assert export("runs/mine", "-o", "model").exit_code == 0
    before = files(project / "model")
    real = Path.rename
    count = {"n": 0}

    def rename(self, target):
        result = real(self, target)
        if str(target).endswith(("model", ".old")):
            count["n"] += 1
            if count["n"] == at:
                raise KeyboardInterrupt
        return result

    monkeypatch.setattr(Path, "rename", rename)
    result = export("runs/mine", "-o", "model")
    monkeypatch.setattr(Path, "rename", real)
    assert result.exit_code == 130 and result.output.strip().endswith("Interrupted.")
    assert sorted(p.name for p in project.iterdir()) == ["model", "runs"]
    if at == 1:
        assert files(project / "model") == before
    load_run(project / "model")


def unfinish(run: Path) -> None:
    state = {"epoch": 3, "epochs": 30, "step": 6, "complete": False, "stage": "both"}
    (run / "state.json").write_text(json.dumps(state))


WARNING = "warning: runs/inc has finished epoch 3 of 30 only (rerun lutkit train to finish it)\n"


def test_fix_with_an_unfinished_run_warns_once_on_stderr(project):
    from lutkit.images import save_image

    shutil.copytree(project / "runs" / "mine", project / "runs" / "inc")
    unfinish(project / "runs" / "inc")
    save_image(project / "p.png", np.full((32, 32, 3), (130, 120, 100), np.uint8))  # not grey
    result = CliRunner().invoke(main, ["fix", "p.png", "-o", "f.png", "--model", "runs/inc"])
    assert result.exit_code == 0, result.output
    assert result.stderr == WARNING
    assert result.stdout == (
        "wrote 1 image(s) to f.png with model runs/inc (--model; colour map net)\n"
    )
    finished = CliRunner().invoke(main, ["fix", "p.png", "-o", "g.png", "--model", "runs/mine"])
    assert finished.exit_code == 0 and finished.stderr == ""


def test_eval_and_model_info_warn_of_an_unfinished_run(project):
    shutil.copytree(project / "runs" / "mine", project / "runs" / "inc")
    unfinish(project / "runs" / "inc")
    result = CliRunner().invoke(main, ["eval", "--model", "runs/inc", "--sets", "none", "-o", "r"])
    assert result.exit_code == 1  # no sets there: the warning came first
    assert result.stderr.startswith(WARNING)
    result = CliRunner().invoke(main, ["model", "info", "runs/inc"])
    assert result.exit_code == 0 and result.stderr == WARNING


def test_model_info_of_a_path_says_it_was_given(project):
    """`model info runs/mine` said "(--model)", an option it was not given."""
    result = CliRunner().invoke(main, ["model", "info", "runs/mine"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == "model: runs/mine (the path given)"
    assert result.stderr == ""
    # --model, as fix takes it, says the same; two different models are refused
    again = CliRunner().invoke(main, ["model", "info", "--model", "runs/mine"])
    assert again.exit_code == 0 and again.stdout == result.stdout
    both = CliRunner().invoke(main, ["model", "info", "default", "--model", "runs/mine"])
    assert both.exit_code == 2
    assert "give the model once: default or --model runs/mine" in both.output


def test_a_run_without_a_recorded_choice_uses_the_map_its_test_split_scores_better(tmp_path):
    from types import SimpleNamespace

    from lutkit.correct.model import colormap_choice

    run = SimpleNamespace(path=tmp_path, record={}, lutnet=object())
    assert colormap_choice(run) == (
        "fit",
        "no test-split scores of both maps (test.json) to choose by",
    )
    (tmp_path / "test.json").write_text(
        json.dumps({"de": {"input": 9.2, "fit": 10.69, "net": 7.86}})
    )
    assert colormap_choice(run) == (
        "net",
        "mean ΔE2000 on its test split: net 7.86, fit 10.69",
    )
    (tmp_path / "test.json").write_text(json.dumps({"de": {"input": 9.2, "fit": 6.5, "net": 7.86}}))
    assert colormap_choice(run)[0] == "fit"
    (tmp_path / "test.json").write_text(json.dumps({"de": {"fit": float("nan"), "net": 1.0}}))
    assert colormap_choice(run)[0] == "fit"
    # a recorded choice wins; a run without a LUT net has only the fitted map
    assert colormap_choice(
        SimpleNamespace(path=tmp_path, record={"colormap": "fit"}, lutnet=1)
    ) == (
        "fit",
        "recorded when it was exported",
    )
    assert colormap_choice(SimpleNamespace(path=tmp_path, record={}, lutnet=None)) == (
        "fit",
        "it has no LUT net",
    )


def test_a_missing_choice_is_one_line():
    """Click lists a missing option's choices one per line; lutkit says it in one."""
    result = CliRunner().invoke(main, ["model", "export", "runs/mine", "-o", "model"])
    assert (result.exit_code, result.output) == (
        2,
        "Error: Missing option '--colormap'. Choose from: fit, net\n",
    )
