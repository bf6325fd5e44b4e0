from __future__ import annotations

from lutkit.progress import Counter, each


def test_each_reports_units_done_of_the_total():
    calls = []
    items = list(each(["a", "b", "c"], lambda *a: calls.append(a), "letters"))
    assert items == ["a", "b", "c"]
    assert calls == [(0, 3, "letters"), (1, 3, "letters"), (2, 3, "letters"), (3, 3, "letters")]


def test_counter_is_silent_without_a_callback_and_can_resume():
    Counter(None, 5, "x").add(2)
    Counter(False, 5, "x").add(2)  # type: ignore[arg-type]  (progress=False, as tests pass)
    calls = []
    c = Counter(lambda *a: calls.append(a), None, "steps", start=7)
    c.add(3)
    assert calls == [(7, None, "steps"), (10, None, "steps")]


def test_a_task_of_unknown_size_ends_when_finished():
    # A log's heartbeat printed "loading train: 1664 it" every few seconds for the rest
    # of a training run: a task with no total never ended. finish() ends it.
    import io

    from lutkit.cli.options import progress_bars

    now = [0.0]
    log = io.StringIO()
    bars = progress_bars(stream=log, interval=5, clock=lambda: now[0], heartbeat=False)
    c = Counter(bars, None, "loading train")
    now[0] = 6
    c.add(32)
    c.finish()
    assert bars.tasks == {}
    now[0] = 60
    bars.tick()
    assert log.getvalue().splitlines() == [
        "loading train: 32 it, 6 s",
        "loading train: 32/32 it (100%), 6 s",
    ]


def test_progress_in_logs_is_a_line_every_few_seconds():
    # Not a terminal: no bar, a plain line per open task once `interval` has passed
    # (a fake clock: no wall-clock in the test), and nothing for work that ends sooner.
    import io

    from lutkit.cli.options import progress_bars

    now = [0.0]
    log = io.StringIO()
    bars = progress_bars(unit="img", stream=log, interval=5, clock=lambda: now[0], heartbeat=False)
    for t, done in [(0, 0), (1, 1), (4.9, 2), (6, 3), (7, 4), (12, 5)]:
        now[0] = t
        bars(done, 12, "evaluating")
    now[0] = 20
    bars.tick()  # the heartbeat: a step that reports nothing still shows it is alive
    now[0] = 21
    bars(12, 12, "evaluating")
    assert log.getvalue().splitlines() == [
        "evaluating: 3/12 img (25%), 6 s",
        "evaluating: 5/12 img (42%), 12 s",
        "evaluating: 5/12 img (42%), 20 s",
        "evaluating: 12/12 img (100%), 21 s",
    ]
    quick = io.StringIO()
    short = progress_bars(stream=quick, interval=5, clock=lambda: 0.0, heartbeat=False)
    for done in range(4):
        short(done, 3, "x")
    assert quick.getvalue() == ""


def test_every_long_command_reports_through_progress_bars():
    from pathlib import Path

    cli = Path(__file__).parents[1] / "lutkit" / "cli"
    for name in ("eval.py", "latents.py", "train.py", "dataset.py", "lut.py", "fix.py"):
        assert "progress_bars(" in (cli / name).read_text(), name
