"""The one progress protocol of the library: a callable ``progress(done, total, what)``.

Long-running library functions take ``progress: Progress | None``; they call it with
the number of units of ``what`` finished so far (cumulative, starting at 0) and the
total when it is known (None when it is not). The library never draws anything: the
CLI alone turns these calls into progress bars (:func:`lutkit.cli.options.progress_bars`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Protocol, TypeVar

T = TypeVar("T")


class Progress(Protocol):
    def __call__(self, done: int, total: int | None, what: str) -> None:
        """``done`` of ``total`` (None: unknown) units of ``what`` are finished."""


class Counter:
    """A running count of one task that reports to ``progress`` (which may be None or
    False: then nothing is reported). Reports ``start`` at once (0, or the units a
    resumed task had done), then every :meth:`add`."""

    def __init__(
        self, progress: Progress | None, total: int | None, what: str, start: int = 0
    ) -> None:
        self.progress = progress or None
        self.total = total
        self.what = what
        self.done = start
        if self.progress is not None:
            self.progress(start, total, what)

    def add(self, n: int = 1) -> None:
        self.done += n
        if self.progress is not None:
            self.progress(self.done, self.total, self.what)

    def finish(self) -> None:
        """Report the task complete: a task of unknown size ends at what was done (else a
        log's heartbeat would go on printing it as open)."""
        self.total = self.done
        if self.progress is not None:
            self.progress(self.done, self.total, self.what)


def each(
    items: Iterable[T], progress: Progress | None, what: str, total: int | None = None
) -> Iterator[T]:
    """Yield ``items``, reporting one unit of ``what`` done after each."""
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    counter = Counter(progress, total, what)
    for item in items:
        yield item
        counter.add()
