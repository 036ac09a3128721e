"""Comparing experiments: the three tables, paired differences, and what a sweep varied."""

import numpy as np
import pytest

from synthdiv.analysis import Inputs, analyse
from synthdiv.compare import compare, swept_axis, varying


def result(seed: int, spread: float, classes: int = 6, per_class: int = 30) -> dict:
    """The analysis of one experiment: synthetic images ``spread`` around their class centre."""
    rng = np.random.default_rng(100)
    centres = rng.normal(size=(classes, 12)) * 3
    noise = np.random.default_rng(seed)
    y = np.repeat(np.arange(classes), per_class)
    ry = np.repeat(np.arange(classes), 20)
    real = centres[ry] + noise.normal(size=(len(ry), 12)) * 1.5
    return analyse(Inputs(
        classes=[f"c{i}" for i in range(classes)], synthetic=centres[y] + noise.normal(size=(len(y), 12)) * spread,
        synthetic_y=y, real=real, real_y=ry, real_split=np.array(["train", "test"] * (len(ry) // 2)),
        text=centres, text_y=np.arange(classes)))


@pytest.fixture(scope="module")
def sweep():
    results = {"a/guidance=1": result(1, 1.0), "a/guidance=3": result(2, 4.0), "a/guidance=5": result(3, 8.0)}
    configs = {name: {"name": name, "generation.guidance": g, "generation.steps": 25, "templates.custom": ["{}"]}
               for name, g in zip(results, (1.0, 3.0, 5.0), strict=True)}
    return results, configs


def test_rows_name_what_varied_and_carry_every_headline_with_its_interval(sweep):
    results, configs = sweep
    out = compare(results, configs)
    assert varying(configs) == ["generation.guidance"] and swept_axis(out) == "generation.guidance"
    assert [r["experiment"] for r in out["experiments"]] == list(results)
    first = out["experiments"][0]
    assert first["generation.guidance"] == 1.0 and "generation.steps" not in first
    for key in ("synthetic_to_real", "adherence", "diversity_ratio", "coverage", "cmmd", "near_duplicates"):
        assert first[key] is not None, key
        assert first[key + "_low"] <= first[key] <= first[key + "_high"], key


def test_a_real_difference_is_marked_and_no_difference_is_not(sweep):
    results, configs = sweep
    out = compare(results, configs, baseline="a/guidance=1")
    diff = {(r["experiment"], r["measure"]): r for r in out["differences"]}
    wide = diff[("a/guidance=5", "diversity_ratio")]  # images spread 8× as far: far more diverse
    assert wide["difference"] > 0 and wide["excludes_zero"] and wide["n_classes"] == 6
    same = compare({"x": results["a/guidance=1"], "y": results["a/guidance=1"]}, {"x": {}, "y": {}})
    assert all(r["difference"] in (0, None) and not r["excludes_zero"] for r in same["differences"])
    assert all(not r["excludes_zero"] for r in same["per_class"])


def test_per_class_differences_come_largest_first_with_intervals(sweep):
    results, configs = sweep
    out = compare(results, configs, per_class_measure="adherence")
    rows = out["per_class"]
    assert len(rows) == 2 * 6
    assert [abs(r["difference"]) for r in rows] == sorted((abs(r["difference"]) for r in rows), reverse=True)
    for r in rows:
        assert r["low"] <= r["difference"] <= r["high"]
        assert r["excludes_zero"] == (r["low"] > 0 or r["high"] < 0)


def test_bad_arguments_name_the_problem(sweep):
    results, configs = sweep
    with pytest.raises(ValueError, match="baseline 'nope'"):
        compare(results, configs, baseline="nope")
    with pytest.raises(ValueError, match="per-class comparison of 'vendi'"):
        compare(results, configs, per_class_measure="vendi")


def test_a_sweep_of_two_keys_or_of_text_has_no_single_axis(sweep):
    results, _ = sweep
    two = {n: {"generation.guidance": float(i), "generation.steps": 10 + i} for i, n in enumerate(results)}
    assert swept_axis(compare(results, two)) is None
    text = {n: {"generation.scheduler": s} for n, s in zip(results, ("ddim", "euler", "dpm++"), strict=True)}
    assert swept_axis(compare(results, text)) is None
