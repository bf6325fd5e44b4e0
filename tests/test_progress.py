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
