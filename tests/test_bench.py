"""The benchmarks' timing helper (speed itself is never asserted)."""

from __future__ import annotations

from lutkit.bench.measure import round_robin


def test_round_robin_takes_turns_and_medians():
    calls: list[str] = []
    runs = {name: (lambda n=name: calls.append(n)) for name in ("a", "b", "c")}
    times = round_robin(runs, 3)
    assert calls == ["a", "b", "c"] * 4  # one warm-up round, then three timed rounds
    assert set(times) == {"a", "b", "c"} and all(t >= 0 for t in times.values())
    calls.clear()
    round_robin(runs, 2, warmup=False)
    assert calls == ["a", "b", "c"] * 2
