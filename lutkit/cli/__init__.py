"""The ``lutkit`` command line: a thin layer over the library.

Library errors (:class:`lutkit.errors.LutkitError`) become a one-line ``Error: ...``
and a non-zero exit. Command groups are imported only when used, so ``lutkit --help``
stays fast.
"""

from __future__ import annotations

import contextlib
import errno
import importlib
import os
import re
import signal
import sys
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path

import click

from lutkit import __version__
from lutkit.errors import LutkitError, LutkitWarning

# name -> (module, attribute, short help)
_COMMANDS = {
    "lut": ("lutkit.cli.lut", "lut", "Create, import, convert, apply, inspect and plot LUTs."),
    "distort": ("lutkit.cli.distort", "distort", "Distort a photo with a recipe, or replay ops."),
    "recipe": ("lutkit.cli.distort", "recipe", "List, inspect and preview distortion recipes."),
    "dataset": (
        "lutkit.cli.dataset",
        "dataset",
        "Build, verify, preview and export paired datasets.",
    ),
    "vae": ("lutkit.cli.vae", "vae", "Inspect, evaluate and train the VAE (AutoencoderKL)."),
    "latents": ("lutkit.cli.latents", "latents", "Precompute VAE latents of a dataset."),
    "train": ("lutkit.cli.train", "train", "Train the latent recolor net and the LUT net."),
    "photos": (
        "lutkit.cli.photos",
        "photos",
        "Fetch, list and verify the curated training photographs.",
    ),
    "model": (
        "lutkit.cli.model",
        "model",
        "Package a trained run as a model; say which model `fix` uses.",
    ),
    "fix": ("lutkit.cli.fix", "fix", "Fix photos with a trained model; export the LUT."),
    "eval": ("lutkit.cli.eval", "eval_cmd", "Evaluate a model against baselines; write a report."),
    "bench": ("lutkit.cli.bench", "bench", "Benchmarks against peers (tables of ratios)."),
    "eval-sets": (
        "lutkit.cli.eval",
        "eval_sets",
        "Build held-out evaluation sets (test split, left-out families, other tools).",
    ),
}


class LutkitGroup(click.Group):
    """Loads sub-commands lazily and turns library errors into one-line messages."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(_COMMANDS))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in _COMMANDS:
            module, attr, _ = _COMMANDS[name]
            try:
                return getattr(importlib.import_module(module), attr)
            except ModuleNotFoundError as exc:
                raise _missing_extra(exc) from None
        return super().get_command(ctx, name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, _COMMANDS[name][2]) for name in _COMMANDS]
        rows += [(n, c.get_short_help_str(limit=80)) for n, c in self.commands.items()]
        rows.sort()
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def invoke(self, ctx: click.Context):  # type: ignore[override]
        try:
            with _terminate_as_exception(), _warnings_as_lines():
                done = super().invoke(ctx)
            if _AS_PROGRAM and _in_main_thread():
                # Every output is written and said: a Ctrl-C from now on has nothing to
                # stop, and would only turn the exit status into 130 (or click's
                # "Aborted!") while the interpreter shuts down.
                signal.signal(signal.SIGINT, signal.SIG_IGN)
            return done
        except LutkitError as exc:
            raise click.ClickException(str(exc)) from None
        except click.BadParameter as exc:
            # A bad value (a path that does not exist, a number out of range): one line
            # that names it, not the usage block; still a usage error's exit status.
            one_line = click.ClickException(re.sub(r"\s*\n\s*", " ", exc.format_message()))
            one_line.exit_code = exc.exit_code
            raise one_line from None
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            sys.exit(130)
        except Terminated:
            click.echo("Terminated.", err=True)
            sys.exit(128 + signal.SIGTERM)
        except ModuleNotFoundError as exc:
            raise _missing_extra(exc) from None
        except BrokenPipeError:
            if not _stdout_gone():
                raise click.ClickException(
                    "broken pipe (a program lutkit wrote to ended)"
                ) from None
            # `lutkit ... | head`: the reader has what it wanted. Stop quietly, as a
            # shell tool killed by SIGPIPE does (Python ignores that signal).
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(128 + signal.SIGPIPE)
        except MemoryError:
            raise click.ClickException(
                "out of memory (try a smaller image, batch or LUT size)"
            ) from None
        except OSError as exc:
            raise click.ClickException(os_error_line(exc)) from None


# What to do about the OS errors a command can meet writing its outputs.
_OS_HINTS = {
    errno.EROFS: "choose an output folder you can write to",
    errno.EACCES: "choose an output folder you can write to, or check the permissions",
    errno.EPERM: "choose an output folder you can write to, or check the permissions",
    errno.ENOSPC: "free some disk space, or choose another folder",
    errno.EDQUOT: "free some disk space, or choose another folder",
    errno.ENOTDIR: "a file is in the way where a folder is needed: choose another path",
    errno.EISDIR: "a folder is in the way where a file is needed: choose another path",
    errno.ENAMETOOLONG: "choose a shorter name",
}
# lutkit's temporary names beside an output (atomic writes, folders made whole):
# ``.NAME.<8 random characters>.tmp`` (tempfile's, with that suffix), which a failed
# write never created.
_TEMPORARY = re.compile(r"^\..+\.[a-z0-9_]{8}\.tmp$")


def os_error_line(exc: OSError) -> str:
    """One line for an OS error: the path (for one of lutkit's temporary names, the
    folder it was being written in), what the OS said, and what to do."""
    filename = getattr(exc, "filename", None)
    where = ""
    if filename:
        path = Path(os.fsdecode(filename))
        temporary = _TEMPORARY.match(path.name) and not path.exists()
        where = f"{path.parent}: cannot write here: " if temporary else f"{path}: "
    text = f"{where}{exc.strerror or exc}"
    hint = _OS_HINTS.get(exc.errno)
    return f"{text} ({hint})" if hint else text


# Set by :func:`run`, the console script: the program itself, not Python code (a test's
# CliRunner, a notebook, a script) that calls ``main`` in its own process.
_AS_PROGRAM = False


def run() -> None:
    """The ``lutkit`` console script: :func:`main`, and once its command has finished, a
    Ctrl-C has nothing left to stop (see ``LutkitGroup.invoke``)."""
    global _AS_PROGRAM
    _AS_PROGRAM = True
    main()


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def _stdout_gone() -> bool:
    """Whether stdout is a pipe or socket whose reader has closed it (``| head``)."""
    import select

    try:
        poll = select.poll()
        poll.register(sys.stdout.fileno(), select.POLLOUT)
        # a pipe's reader gone: POLLERR; a socket's: POLLHUP
        return any(events & (select.POLLERR | select.POLLHUP) for _, events in poll.poll(0))
    except (AttributeError, OSError, ValueError):  # no real stdout (a test runner)
        return False


class Terminated(BaseException):
    """SIGTERM (a job scheduler, ``timeout``, ``kill``) while a command runs: raised like
    Ctrl-C's KeyboardInterrupt, so every output being written is removed (its temporary
    file, the side files of an output group) before the exit with status 143."""


@contextlib.contextmanager
def _warnings_as_lines() -> Iterator[None]:
    """Print each :class:`LutkitWarning` the block raises as one ``warning: ...`` line on
    stderr (every time, not once per place); other warnings are shown as Python shows
    them."""
    show = warnings.showwarning

    def one_line(message, category, filename, lineno, file=None, line=None) -> None:
        if issubclass(category, LutkitWarning):
            click.echo(f"warning: {message}", err=True)
        else:
            show(message, category, filename, lineno, file, line)

    with warnings.catch_warnings():
        warnings.simplefilter("always", LutkitWarning)
        warnings.showwarning = one_line
        yield


@contextlib.contextmanager
def _terminate_as_exception() -> Iterator[None]:
    """Turn SIGTERM into :class:`Terminated` in this process while the block runs.
    A forked worker that inherits the handler exits at once, as SIGTERM's default
    would make it; outside the main thread (no signals there) nothing changes."""
    pid = os.getpid()

    def handler(signum: int, frame: object) -> None:
        if os.getpid() != pid:
            os._exit(128 + signum)
        # A second SIGTERM (while the cleanup runs, or stuck in C code) kills at once.
        signal.signal(signum, signal.SIG_DFL)
        raise Terminated

    if not _in_main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        if previous is not None:  # None: a handler Python did not install
            signal.signal(signal.SIGTERM, previous)


# Optional dependencies -> the extra that installs them (pyproject.toml).
_EXTRAS = {
    "torch": "ml",
    "diffusers": "ml",
    "safetensors": "ml",
    "ray": "scale",
    "sklearn": "photos",
}


def _missing_extra(exc: ModuleNotFoundError) -> Exception:
    """A one-line error for a command whose optional dependency is not installed (the
    light `pip install .` has no torch, diffusers or Ray); anything else is re-raised."""
    root = (exc.name or "").split(".")[0]
    extra = _EXTRAS.get(root)
    if extra is None:
        return exc
    return click.ClickException(
        f"this command needs {root}, which is not installed: pip install 'lutkit[{extra}]' "
        "(or `make setup` in a checkout, which installs everything)"
    )


@click.group(cls=LutkitGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="lutkit")
def main() -> None:
    """lutkit: remove coloured lighting and film colour damage from photographs.

    \b
    Example:
      lutkit lut identity --hald 8 -o identity.png
      lutkit lut import edited.png -o my-look.cube
      lutkit lut apply my-look.cube photo.jpg -o graded.jpg
    """


@main.command()
@click.option("--out", type=click.Path(file_okay=False), default="demo", show_default=True)
@click.option("--photo", default="grace_hopper", show_default=True, help="A bundled photo.")
@click.option(
    "--model",
    type=click.Path(file_okay=False),
    help="Also fix a held-out photo with this model: a run folder, or 'default' (the "
    "model shipped with lutkit, what `make demo` uses).",
)
@click.option("--recipe", default="heldout", show_default=True, help="The fix demo's distortion.")
def demo(out: str, photo: str, model: str | None, recipe: str) -> None:
    """Run the LUT walk-through on a bundled photo; with --model, also the fix demo.

    The fix demo takes a photo of the run's test split, distorts it with a recipe no
    training recipe draws (heldout: cross-processing and the heldout LUTs), fixes it
    with both colour maps and writes the before/after sheet and the .cube files.

    \b
    Examples:
      lutkit demo --out demo
      lutkit demo --out demo --model default
      lutkit demo --out demo --model runs/demo
    """
    from lutkit.demo import run_fix_demo, run_lut_demo

    if model:  # the fix demo needs torch: say so before the walk-through is written
        import torch  # noqa: F401

        from lutkit.correct.model import resolve_model

        model_path = resolve_model(model)[0]
    result = run_lut_demo(out, photo=photo)
    for role, path in result.files.items():
        click.echo(f"{role:>9}  {path}")
    click.echo(
        f"Hald round trip vs applying the curves directly: max {result.max_diff} "
        f"level(s), mean {result.mean_diff:.3f}"
    )
    if model:
        fixed = run_fix_demo(out, model_path, recipe=recipe)
        for role, path in fixed.files.items():
            click.echo(f"{role:>9}  {path}")
        scores = ", ".join(f"{k} {v:.2f}" for k, v in fixed.scores.items())
        click.echo(f"fix demo: mean delta E 2000 against the clean photo: {scores}")
