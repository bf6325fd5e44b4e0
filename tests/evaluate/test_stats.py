from __future__ import annotations

import numpy as np
import pytest

from lutkit.evaluate.stats import photo_bootstrap, worse_than


def _rows(values: dict[str, dict[str, list[float]]], set_name: str = "s") -> list[dict]:
    """{method: {photo: [value per pair]}} -> evaluation rows."""
    rows = []
    for method, photos in values.items():
        for photo, vals in photos.items():
            for k, v in enumerate(vals):
                rows.append(
                    {
                        "set": set_name,
                        "id": f"{photo}-{k}",
                        "photo": photo,
                        "method": method,
                        "de2000_mean": v,
                    }
                )
    return rows


def test_two_photos_interval_spans_the_photo_means():
    # With two photos a draw takes A twice, B twice (each 1/4) or both (1/2): the 2.5 %
    # and 97.5 % points are the two photos' own means, whatever their pair counts.
    rows = _rows({"m": {"a": [2.0, 4.0], "b": [10.0, 10.0, 10.0, 10.0]}})
    got = photo_bootstrap(rows)["m"]
    assert got["mean"] == pytest.approx(46 / 6)
    assert (got["lo"], got["hi"]) == (pytest.approx(3.0), pytest.approx(10.0))
    assert got["photos"] == 2


def test_resamples_photos_not_pairs():
    # Giving every photo ten times as many (equal) pairs narrows a pair bootstrap by
    # about sqrt(10); resampling photos, the interval does not move.
    rng = np.random.default_rng(1)
    means = {f"p{i}": float(v) for i, v in enumerate(rng.uniform(2, 12, 8))}
    once = photo_bootstrap(_rows({"m": {p: [v] for p, v in means.items()}}))["m"]
    tenfold = photo_bootstrap(_rows({"m": {p: [v] * 10 for p, v in means.items()}}))["m"]
    assert tenfold == pytest.approx(once)
    assert once["hi"] - once["lo"] > 2.0


def test_ratio_is_paired_and_reference_is_one():
    # b is a's values + 1 on every photo: their ratio varies with the draw, while a
    # method equal to 2 x a has the ratio 2 on every draw (a paired interval of width 0).
    a = {f"p{i}": [float(i + 1), float(i + 2)] for i in range(6)}
    rows = _rows(
        {
            "a": a,
            "b": {p: [v + 1 for v in vs] for p, vs in a.items()},
            "double": {p: [2 * v for v in vs] for p, vs in a.items()},
        }
    )
    got = photo_bootstrap(rows, reference="a")
    assert got["a"]["ratio"] == got["a"]["ratio_lo"] == got["a"]["ratio_hi"] == 1.0
    assert got["double"]["ratio_lo"] == pytest.approx(2.0)
    assert got["double"]["ratio_hi"] == pytest.approx(2.0)
    assert got["b"]["ratio_lo"] < got["b"]["ratio"] < got["b"]["ratio_hi"]
    assert "ratio" not in photo_bootstrap(rows)["a"]  # no reference, no ratio


def test_deterministic_per_seed_and_over_all_sets():
    values = np.random.default_rng(0).uniform(0, 7, 7)
    rows = _rows({"m": {f"p{i}": [float(v)] for i, v in enumerate(values)}}, "x")
    varied = photo_bootstrap(rows, seed=3)
    assert varied == photo_bootstrap(rows, seed=3)
    assert varied != photo_bootstrap(rows, seed=4)
    # every photo's pairs in x and y sum to 7: every draw's mean is 3.5
    rows += _rows({"m": {f"p{i}": [float(7 - v)] for i, v in enumerate(values)}}, "y")
    both = photo_bootstrap(rows, seed=3)["m"]
    assert (both["mean"], both["lo"], both["hi"]) == (3.5, 3.5, 3.5)


def test_worse_than_counts_pairs_past_each_margin():
    # differences from identity: -1, 0.5, 6, exactly 1, 1.5, exactly 5, a float hair
    rows = _rows({"identity": {"a": [5.0, 5.0, 5.0, 5.0, 5.0], "b": [1.0], "c": [1.0]}})
    rows += _rows({"m": {"a": [4.0, 5.5, 11.0, 6.0, 5.0 + 1e-9], "b": [2.5], "c": [6.0]}})
    rows += _rows({"lone": {"d": [99.0]}})  # no identity row for d: not counted
    got = worse_than(rows)
    assert got["identity"] == {0.0: 0, 1.0: 0, 5.0: 0}
    assert got["m"] == {0.0: 5, 1.0: 3, 5.0: 1}
    assert got["lone"] == {0.0: 0, 1.0: 0, 5.0: 0}


def _loop_bootstrap(rows, draws, level, seed):
    """An independent photo bootstrap: pick photos with rng.choice, pool their pairs."""
    by: dict[str, list[float]] = {}
    for r in rows:
        by.setdefault(r["photo"], []).append(r["de2000_mean"])
    names = sorted(by)
    rng = np.random.default_rng(seed)
    means = []
    for _ in range(draws):
        picked = rng.choice(len(names), size=len(names), replace=True)
        means.append(np.mean(np.concatenate([by[names[i]] for i in picked])))
    tail = (1 - level) / 2 * 100
    return np.percentile(means, tail), np.percentile(means, 100 - tail)


@pytest.mark.parametrize("level", [0.9, 0.99])
def test_agrees_with_an_independent_loop_with_unequal_pair_counts(level):
    # Photos with more pairs have higher errors (as lutkit's test-split photos have more
    # pairs than the tool sets' ones): pooling pairs and averaging photo means differ.
    rng = np.random.default_rng(7)
    values = {}
    for i in range(12):
        n = 2 + 6 * (i % 3)
        values[f"p{i:02d}"] = list(rng.normal(3 + n / 2, 1.0, n))
    rows = _rows({"m": values})
    got = photo_bootstrap(rows, draws=20000, level=level)["m"]
    lo, hi = _loop_bootstrap(rows, 20000, level, seed=11)
    width = hi - lo
    assert abs(got["lo"] - lo) < 0.03 * width and abs(got["hi"] - hi) < 0.03 * width
    pooled = np.mean(np.concatenate(list(values.values())))
    assert got["mean"] == pytest.approx(pooled)


def test_worse_than_keys_pairs_by_set_and_id():
    # the same id in two sets is two pairs
    rows = _rows({"identity": {"a": [5.0]}}, "x") + _rows({"identity": {"a": [1.0]}}, "y")
    rows += _rows({"m": {"a": [4.0]}}, "x") + _rows({"m": {"a": [3.0]}}, "y")
    assert worse_than(rows)["m"] == {0.0: 1, 1.0: 1, 5.0: 0}


def test_no_interval_without_two_photos_or_with_a_bad_value():
    one = photo_bootstrap(_rows({"m": {"a": [2.0, 4.0]}, "r": {"a": [1.0, 1.0]}}), reference="r")
    assert one["m"]["mean"] == 3.0 and one["m"]["ratio"] == 3.0
    assert all(np.isnan(one["m"][k]) for k in ("lo", "hi", "ratio_lo", "ratio_hi"))
    rows = _rows({"m": {"a": [1.0], "b": [float("nan")], "c": [3.0]}, "r": {"a": [1.0]}})
    rows += _rows({"r": {"b": [2.0], "c": [1.0]}})
    got = photo_bootstrap(rows, reference="r")
    assert all(np.isnan(got["m"][k]) for k in ("mean", "lo", "hi", "ratio"))
    assert got["r"]["mean"] == pytest.approx(4 / 3) and got["r"]["lo"] < got["r"]["hi"]
    zero = photo_bootstrap(
        _rows({"m": {"a": [1.0], "b": [2.0]}, "r": {"a": [0.0], "b": [0.0]}}), reference="r"
    )
    assert np.isnan(zero["m"]["ratio"]) and np.isnan(zero["m"]["ratio_lo"])
    assert photo_bootstrap([]) == {}


def test_pairs_without_a_photo_name_are_photos_of_their_own():
    rows = [
        {"set": "s", "id": str(k), "photo": "", "method": "m", "de2000_mean": float(k)}
        for k in range(6)
    ]
    got = photo_bootstrap(rows)["m"]
    assert got["photos"] == 6 and got["lo"] < 2.5 < got["hi"]


def test_ratio_compares_a_partial_method_on_its_own_photos():
    # m has rows for photos a and b only; the reference is measured on those two
    rows = _rows({"r": {"a": [1.0], "b": [3.0], "c": [100.0]}, "m": {"a": [2.0], "b": [6.0]}})
    got = photo_bootstrap(rows, reference="r")["m"]
    assert got["ratio"] == pytest.approx(2.0)
    assert got["ratio_lo"] == pytest.approx(2.0) and got["ratio_hi"] == pytest.approx(2.0)


def _result(rows, kinds):
    from types import SimpleNamespace

    from lutkit.evaluate.runner import EvalResult

    methods = [SimpleNamespace(name=n, label=n.upper(), kind=k) for n, k in kinds.items()]
    return EvalResult(methods, [SimpleNamespace(name="s", pairs=[])], rows=rows)


def test_sureness_says_what_it_cannot_tell():
    from lutkit.evaluate.metrics import METRICS
    from lutkit.evaluate.report import sureness
    from lutkit.evaluate.runner import summarise

    def table(rows, kinds):
        for r in rows:  # summarise wants every metric; only delta E 2000 is used
            for k in (*METRICS, "seconds", "megapixels"):
                r.setdefault(k, 0.0)
        return sureness(_result(rows, kinds), summarise(rows))

    # one photo: no interval, and the note says so
    note, head, rows = table(
        _rows({"identity": {"a": [5.0, 6.0]}, "sog": {"a": [4.0, 7.0]}}),
        {"identity": "floor", "sog": "statistic"},
    )
    assert "2 pairs from 1 photograph;" in note and "no interval" in note
    assert rows[1] == ["SOG", "5.50", "—", "1.00", "—", "1", "0", "0"]
    assert "ratio to SOG" in head and "pairs made worse (of 2)" in head
    # pairs with no photo name, no floor and no statistic: no ratio, no counts
    unnamed = [dict(r, photo="") for r in _rows({"m": {"a": [1.0, 2.0, 3.0]}})]
    note, head, rows = table(unnamed, {"m": "learned"})
    assert "3 pairs name no photograph" in note
    assert head == ["method", "ΔE2000 mean (all)", "95 % interval of the mean"]
    assert rows[0][:2] == ["M", "2.00"] and rows[0][2] != "—"
