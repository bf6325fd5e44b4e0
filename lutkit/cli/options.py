"""Options shared by several commands."""

from __future__ import annotations

import os
from typing import Any

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

to_srgb_option = click.option(
    "--to-srgb",
    is_flag=True,
    help="Convert the pixels to sRGB through the file's ICC profile first, and write them "
    "without a profile. Default: work on the file's own encoding and keep its profile.",
)


quality_option = click.option(
    "--quality",
    type=click.IntRange(1, 100),
    default=None,
    help="JPEG/WebP quality, 1-100. Default: a JPEG from a JPEG keeps the input's "
    "quantisation tables (its quality), as ImageMagick and GIMP do; others get 95.",
)

# -o of the commands that write images (lut apply, fix): plan_outputs decides which.
images_output_option = click.option(
    "-o",
    "--output",
    type=click.Path(),
    required=True,
    help="Output file (one image), or a folder (several images, or a name with no "
    "extension; made if missing).",
)

ray_address_option = click.option(
    "--ray-address",
    metavar="HOST:PORT",
    help="With --engine ray: join this Ray cluster (default: start a local Ray).",
)


def check_ray_address(engine: str, ray_address: str | None) -> None:
    """--ray-address without --engine ray would be ignored: refused instead; so is an
    address of a form no driver joins (before any work)."""
    if ray_address is not None and engine != "ray":
        raise click.UsageError(
            f"--ray-address {ray_address} needs --engine ray (this run would be local)"
        )
    if ray_address is not None:
        from lutkit.data.ray_engine import check_address_form

        check_address_form(ray_address)


def engine_option(ray_help: str):
    """``--engine local|ray``; ``ray_help`` says what the Ray engine does here."""
    return click.option(
        "--engine",
        type=click.Choice(["local", "ray"]),
        default="local",
        show_default=True,
        help=f"ray: {ray_help}",
    )


class progress_bars:  # noqa: N801 (used like a function: `with progress_bars() as bars`)
    """The CLI's side of :class:`lutkit.progress.Progress`.

    On a terminal: one tqdm bar on stderr per task (``what``). When stderr is not a
    terminal (logs, CI, pipes, nohup): a plain line per open task every ``interval``
    seconds (``LUTKIT_PROGRESS_SECONDS``, default 5), from a background heartbeat, so
    that a long step that reports rarely still shows it is alive; nothing for work
    that ends sooner. A task ends when it is complete, and every task when the
    ``with`` block ends."""

    def __init__(
        self,
        unit: str = "it",
        *,
        stream: Any = None,
        interval: float | None = None,
        clock: Any = None,
        heartbeat: bool = True,
    ) -> None:
        import sys
        import threading
        import time

        self.unit = unit
        self.bars: dict[str, Any] = {}
        self.stream = stream if stream is not None else sys.stderr
        isatty = getattr(self.stream, "isatty", None)
        self.lines = not (isatty is not None and isatty())
        if interval is None:
            interval = float(os.environ.get("LUTKIT_PROGRESS_SECONDS", "5") or 5)
        self.interval = max(0.1, interval)
        self.clock = clock or time.monotonic
        self.heartbeat = heartbeat
        # what -> [done, total, started, last line]
        self.tasks: dict[str, list[Any]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: Any = None

    def __call__(self, done: int, total: int | None, what: str) -> None:
        if self.lines:
            self._log(done, total, what)
            return
        from tqdm.auto import tqdm

        bar = self.bars.get(what)
        if bar is None:
            bar = self.bars[what] = tqdm(
                total=total,
                desc=what,
                unit=self.unit,
                dynamic_ncols=True,
                leave=False,
                file=self.stream,
            )
        if total is not None and bar.total != total:
            bar.total = total
        bar.update(done - bar.n)
        if total is not None and done >= total:
            bar.close()
            del self.bars[what]

    # ----------------------------------------------------------- lines for logs

    def _log(self, done: int, total: int | None, what: str) -> None:
        now = self.clock()
        with self._lock:
            task = self.tasks.setdefault(what, [0, total, now, now])
            task[0], task[1] = done, total
            if total is not None and done >= total:
                if now - task[2] >= self.interval:  # a long task says it finished
                    self._write(what, task, now)
                del self.tasks[what]
        self.tick()
        if self.heartbeat and self._thread is None and self.tasks:
            import threading

            self._thread = threading.Thread(target=self._beat, daemon=True)
            self._thread.start()

    def tick(self) -> None:
        """Write a line for every open task whose last line is ``interval`` old."""
        now = self.clock()
        with self._lock:
            for what, task in self.tasks.items():
                if now - task[3] >= self.interval:
                    self._write(what, task, now)
                    task[3] = now

    def _write(self, what: str, task: list[Any], now: float) -> None:
        done, total, started = task[0], task[1], task[2]
        of = f"/{total}" if total is not None else ""
        pct = f" ({100 * done / total:.0f}%)" if total else ""
        line = f"{what}: {done}{of} {self.unit}{pct}, {now - started:.0f} s"
        print(line, file=self.stream, flush=True)

    def _beat(self) -> None:
        while not self._stop.wait(self.interval / 2):
            self.tick()
            with self._lock:
                if not self.tasks:
                    self._thread = None
                    return

    def __enter__(self) -> progress_bars:
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        with self._lock:
            self.tasks.clear()
        for bar in self.bars.values():
            bar.close()
        self.bars.clear()
