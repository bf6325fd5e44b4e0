"""Security properties, checked on the source and on behaviour:

* no shell is ever started with user strings: no ``shell=True``, ``os.system``,
  ``os.popen``, and every subprocess call gets an argument list;
* ``torch.load`` only with ``weights_only=True``; no ``pickle`` loads at all;
* checkpoints are safetensors + JSON: a pickle (or a torch.save zip) is refused with a
  one-line error before anything unpickles it;
* paths in manifests and dataset.json cannot leave their folder (``../``, absolute)
  unless explicitly allowed.
"""

from __future__ import annotations

import ast
import json
import shutil
from pathlib import Path

import pytest

from lutkit.errors import ConfigError, LutkitError

PACKAGE = Path(__file__).resolve().parents[2] / "lutkit"
SOURCES = sorted(PACKAGE.rglob("*.py"))
SUBPROCESS_CALLS = {"run", "Popen", "call", "check_call", "check_output", "getoutput"}


def _calls(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            f = node.func
            name = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", "")
            owner = (
                f.value.id if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) else ""
            )
            yield node, owner, name


def _where(path: Path, node: ast.AST) -> str:
    return f"{path.relative_to(PACKAGE.parent)}:{node.lineno}"


def test_the_scan_sees_the_package():
    assert len(SOURCES) > 40
    assert any("subprocess" in p.read_text() for p in SOURCES)  # there are calls to check


def test_no_shell_anywhere():
    bad = []
    for path in SOURCES:
        tree = ast.parse(path.read_text(), str(path))
        for node, owner, name in _calls(tree):
            for kw in node.keywords:
                if kw.arg == "shell" and not (
                    isinstance(kw.value, ast.Constant) and kw.value.value is False
                ):
                    bad.append(f"{_where(path, node)}: shell={ast.unparse(kw.value)}")
            if owner == "os" and (
                name in ("system", "popen") or name.startswith(("exec", "spawn"))
            ):
                bad.append(f"{_where(path, node)}: os.{name}")
            if owner == "subprocess" and name in ("getoutput", "getstatusoutput"):
                bad.append(f"{_where(path, node)}: subprocess.{name} runs a shell")
    assert bad == []


def test_subprocess_calls_pass_argument_lists():
    """The first argument of every subprocess call is a list (a literal, or a name
    bound to a list or built with ``[...]`` / ``+``), never a string."""
    bad, seen = [], 0
    for path in SOURCES:
        tree = ast.parse(path.read_text(), str(path))
        strings = _string_names(tree)
        for node, owner, name in _calls(tree):
            if owner != "subprocess" or name not in SUBPROCESS_CALLS:
                continue
            seen += 1
            arg = (
                node.args[0]
                if node.args
                else next((k.value for k in node.keywords if k.arg == "args"), None)
            )
            if arg is None or _is_stringish(arg, strings):
                bad.append(f"{_where(path, node)}: {ast.unparse(arg) if arg else 'no args'}")
    assert seen > 0
    assert bad == []


def _string_names(tree: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and _is_stringish(node.value, set()):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    return names


def _is_stringish(node: ast.AST, strings: set[str]) -> bool:
    if isinstance(node, ast.Constant) and isinstance(node.value, str | bytes):
        return True
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.Name):
        return node.id in strings
    if isinstance(node, ast.BinOp):
        return _is_stringish(node.left, strings) or _is_stringish(node.right, strings)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        return node.func.attr in ("format", "join") and isinstance(node.func.value, ast.Constant)
    return False


def test_torch_load_only_with_weights_only_and_no_pickle_loads():
    bad = []
    for path in SOURCES:
        tree = ast.parse(path.read_text(), str(path))
        for node, owner, name in _calls(tree):
            if owner == "torch" and name == "load":
                ok = any(
                    k.arg == "weights_only"
                    and isinstance(k.value, ast.Constant)
                    and k.value.value is True
                    for k in node.keywords
                )
                if not ok:
                    bad.append(f"{_where(path, node)}: torch.load without weights_only=True")
            line = path.read_text().splitlines()[node.lineno - 2 : node.lineno]
            trusted = any("# pickle-ok:" in x for x in line)  # the line above, or this one
            if (
                owner in ("pickle", "cPickle", "dill", "joblib", "marshal")
                and name in ("load", "loads", "Unpickler")
                and not trusted
            ):
                bad.append(f"{_where(path, node)}: {owner}.{name}")
            if owner == "np" and name == "load":
                if not any(
                    k.arg == "allow_pickle" and getattr(k.value, "value", None) is False
                    for k in node.keywords
                ):
                    bad.append(f"{_where(path, node)}: np.load may unpickle")
    assert bad == []


def test_the_scans_catch_what_they_look_for(tmp_path):
    """The scanners flag a deliberately bad module (so an empty result means something)."""
    text = (
        "import os, subprocess, torch, pickle\n"
        "subprocess.run('ls ' + x, shell=True)\n"
        "os.system('ls')\n"
        "torch.load(p)\n"
        "pickle.loads(b)\n"
    )
    tree = ast.parse(text)
    found = {(o, n) for _, o, n in _calls(tree)}
    assert {
        ("subprocess", "run"),
        ("os", "system"),
        ("torch", "load"),
        ("pickle", "loads"),
    } <= found
    call = next(node for node, o, n in _calls(tree) if n == "run")
    assert _is_stringish(call.args[0], set())


# --------------------------------------------------------------------------- behaviour

CORPUS = Path(__file__).resolve().parents[1] / "resources" / "bad"


@pytest.mark.parametrize("case", ["pickle-as-safetensors", "zip-as-safetensors", "pickle-bin-only"])
def test_a_pickle_vae_is_refused_before_loading(case, tmp_path, capfd):
    pytest.importorskip("diffusers")
    from lutkit.latents.vae import load_vae

    folder = shutil.copytree(CORPUS / "vae" / case, tmp_path / case)
    with pytest.raises(LutkitError) as err:
        load_vae(str(folder))
    assert "safetensors only" in str(err.value) and case in str(err.value)
    assert "pickle code ran" not in capfd.readouterr().out


@pytest.mark.parametrize("case", ["pickle-weights", "zip-weights"])
def test_a_pickle_run_checkpoint_is_refused(case, tmp_path, tiny_run, capfd):
    from lutkit.correct.model import load_run
    from tests.resources.bad.make_corpus import RUN_CASES

    run = shutil.copytree(tiny_run, tmp_path / case)
    RUN_CASES[case][1](run)
    with pytest.raises(LutkitError) as err:
        load_run(run)
    assert "safetensors" in str(err.value) and "\n" not in str(err.value)
    assert "pickle code ran" not in capfd.readouterr().out


def test_a_pickle_resume_state_is_refused(tmp_path, tiny_run):
    from lutkit.train.checkpoint import load_checkpoint
    from tests.resources.bad.make_corpus import _pickle_checkpoint

    run = shutil.copytree(tiny_run, tmp_path / "run")
    (run / "state.safetensors").write_bytes(_pickle_checkpoint())
    with pytest.raises(LutkitError) as err:
        load_checkpoint(run)
    assert str(err.value).startswith(f"{run / 'state.safetensors'}: unreadable resume state")


@pytest.mark.parametrize("entry", ["../outside.png", "/etc/hostname", "sub/../../outside.png"])
def test_manifest_paths_cannot_leave_the_manifest_folder(entry, tmp_path):
    from lutkit.data.sources import discover

    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "photos.csv").write_text(f"path\n{entry}\n")
    with pytest.raises(ConfigError) as err:
        discover(str(folder / "photos.csv"))
    assert "outside the manifest's folder" in str(err.value)
    assert "--allow-outside" in str(err.value)
    images, rejected = discover(str(folder / "photos.csv"), allow_outside=True)
    assert images == [] and len(rejected) == 1  # allowed, then simply not an image here


@pytest.mark.parametrize("entry", ["../x.parquet", "/etc/passwd", "pairs/../../x.parquet"])
def test_dataset_json_paths_cannot_leave_the_dataset(entry, tmp_path, tiny_data):
    from lutkit.data.index import load_dataset_json

    ds = shutil.copytree(tiny_data, tmp_path / "ds")
    doc = json.loads((ds / "dataset.json").read_text())
    doc["shards"][0]["file"] = entry
    (ds / "dataset.json").write_text(json.dumps(doc))
    with pytest.raises(ConfigError) as err:
        load_dataset_json(ds)
    assert "escapes the dataset folder" in str(err.value)


def test_latents_json_paths_cannot_leave_the_latents_folder(tmp_path, tiny_data):
    """A latents index naming ../ files is refused too."""
    from lutkit.latents.loader import resolve_latents

    ds = shutil.copytree(tiny_data, tmp_path / "ds")
    folder, meta = resolve_latents(ds, None)
    index = folder / "_latents.json"
    doc = json.loads(index.read_text())
    doc["shards"][0]["file"] = "../../pairs/" + doc["shards"][0]["file"]
    index.write_text(json.dumps(doc))
    with pytest.raises(LutkitError) as err:
        resolve_latents(ds, None)
    assert "escapes" in str(err.value)
