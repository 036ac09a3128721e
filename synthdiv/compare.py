"""Comparing experiments (the experiments of a sweep, or any that share classes): which settings
make synthetic images that stand in for real ones, and is the difference more than noise?

Inputs are analysis results (:func:`synthdiv.analysis.analyse`) by experiment name, and each
experiment's config as a flat ``{"section.key": value}`` table. Three tables come out:

- ``experiments``: one row per experiment, every headline measure (:mod:`synthdiv.measures`) with
  its 95 % interval, and the values of the config keys that differ between the experiments;
- ``differences``: each experiment against the baseline, per headline measure: the mean over the
  classes both hold of the per-class difference, with the **paired** bootstrap interval over
  classes (:func:`synthdiv.confidence.paired_difference`): what the two share (how hard a class
  is) cancels. ``cmmd`` is one number per experiment: its difference has no interval;
- ``per_class``: for one per-class accuracy (synthetic→real by default), each class's
  difference against the baseline with its 95 % interval (the two classes' images resampled
  independently: Binomial draws on each side), largest first; ``excludes_zero`` marks the
  differences whose interval leaves out 0.
"""

from __future__ import annotations

import numpy as np

from synthdiv import confidence
from synthdiv.measures import BY_KEY, HEADLINE

# The per-class accuracies that can be compared class by class (those of the pooled headline
# measures): headline key → (per-class column, the column holding the images it is a share of).
PER_CLASS = {m.key: (m.column, m.count) for m in HEADLINE if m.kind == "pooled"}


def varying(configs: dict[str, dict]) -> list[str]:
    """The config keys whose values differ between the experiments (what the sweep varied),
    in the order they first appear; ``name`` is left out."""
    keys: list[str] = []
    for cfg in configs.values():
        keys += [k for k in cfg if k not in keys and k != "name"]
    return [k for k in keys if len({repr(cfg.get(k)) for cfg in configs.values()}) > 1]


def _per_class(result: dict, measure: str) -> dict[str, float]:
    """The per-class values behind a headline measure, by class name (classes without one left out)."""
    m = BY_KEY[measure]
    return {r["class"]: r[m.column] for r in result.get(m.source) or [] if r.get(m.column) is not None}


def _headline(result: dict) -> dict[str, dict]:
    return {r["measure"]: r for r in result.get("headline", [])}


def compare(results: dict[str, dict], configs: dict[str, dict], baseline: str | None = None,
            per_class_measure: str = "synthetic_to_real", seed: int = 0) -> dict:
    """The three comparison tables (see the module docstring) of ``results`` (analysis results by
    experiment name, in the order to show) against ``baseline`` (default: the first)."""
    if not results:
        raise ValueError("nothing to compare: no experiment has an analysis")
    names = list(results)
    baseline = baseline or names[0]
    if baseline not in results:
        raise ValueError(f"the baseline {baseline!r} is not among the compared experiments ({', '.join(names)})")
    if per_class_measure not in PER_CLASS:
        raise ValueError(f"per-class comparison of {per_class_measure!r} is not possible; use one of {', '.join(PER_CLASS)}")
    keys = varying(configs)
    others = [name for name in names if name != baseline]
    return {"baseline": baseline, "varying": keys, "per_class_measure": per_class_measure,
            "experiments": [_experiment_row(name, results[name], configs, keys) for name in names],
            "differences": [_difference(name, results[name], baseline, results[baseline], m, seed)
                            for name in others for m in HEADLINE],
            "per_class": _per_class_rows(others, results, baseline, per_class_measure, seed)}


def _experiment_row(name: str, result: dict, configs: dict[str, dict], keys: list[str]) -> dict:
    """One experiment's varying settings and every headline number with its interval."""
    row: dict = {"experiment": name, **{k: configs.get(name, {}).get(k) for k in keys}}
    head = _headline(result)
    for m in HEADLINE:
        h = head.get(m.key, {})
        row[m.key], row[m.key + "_low"], row[m.key + "_high"] = h.get("value"), h.get("low"), h.get("high")
    row["n_classes"] = len(result["classes"])
    return row


def _difference(name: str, result: dict, baseline: str, base: dict, m, seed: int) -> dict:
    """One headline measure of an experiment against the baseline: a set measure's difference, or
    the mean per-class difference with its paired bootstrap interval over the shared classes."""
    row = {"experiment": name, "baseline": baseline, "measure": m.key, "difference": None, "low": None,
           "high": None, "n_classes": 0, "excludes_zero": None, "better": m.better}
    if m.kind == "set":
        a, b = _headline(result).get(m.key, {}).get("value"), _headline(base).get(m.key, {}).get("value")
        if a is not None and b is not None:
            row["difference"] = round(a - b, 6)
        return row
    mine, theirs = _per_class(result, m.key), _per_class(base, m.key)
    shared = [c for c in mine if c in theirs]
    row["n_classes"] = len(shared)
    if len(shared) >= 2:
        iv = confidence.paired_difference(np.array([mine[c] for c in shared]),
                                          np.array([theirs[c] for c in shared]), seed=seed)
        row.update(difference=round(iv.value, 6), low=round(iv.low, 6), high=round(iv.high, 6),
                   excludes_zero=iv.excludes(0.0))
    elif shared:
        row["difference"] = round(float(mine[shared[0]] - theirs[shared[0]]), 6)
    return row


def _per_class_rows(others: list[str], results: dict[str, dict], baseline: str, measure: str, seed: int) -> list[dict]:
    """Each class of each experiment against the baseline's, with the interval of the difference
    of two proportions; largest differences first."""
    column, count = PER_CLASS[measure]
    base_rows = {r["class"]: r for r in results[baseline]["accuracy"]}
    out = []
    for name in others:
        pairs = [(r, base_rows[r["class"]]) for r in results[name]["accuracy"]
                 if r["class"] in base_rows and r.get(column) is not None
                 and base_rows[r["class"]].get(column) is not None and r[count] and base_rows[r["class"]][count]]
        if not pairs:
            continue
        n_a = np.array([a[count] for a, _ in pairs])
        n_b = np.array([b[count] for _, b in pairs])
        k_a = np.rint(np.array([a[column] for a, _ in pairs]) * n_a)
        k_b = np.rint(np.array([b[column] for _, b in pairs]) * n_b)
        low, high = confidence.difference_of_proportions(k_a, n_a, k_b, n_b, seed=seed)
        for (a, b), lo, hi in zip(pairs, low, high, strict=True):
            diff = a[column] - b[column]
            out.append({"experiment": name, "baseline": baseline, "class": a["class"],
                        "measure": measure, "value": a[column], "baseline_value": b[column],
                        "difference": round(float(diff), 6), "low": round(float(lo), 6),
                        "high": round(float(hi), 6), "excludes_zero": bool(lo > 0 or hi < 0)})
    out.sort(key=lambda r: (-abs(r["difference"]), r["experiment"], r["class"]))
    return out


def swept_axis(comparison: dict) -> str | None:
    """The one numeric config key the compared experiments vary (the x axis of a sweep's plot),
    or None when they vary none, several, or a non-numeric one."""
    numeric = [k for k in comparison["varying"]
               if all(isinstance(r.get(k), (int, float)) and not isinstance(r.get(k), bool)
                      for r in comparison["experiments"])]
    return numeric[0] if len(numeric) == 1 else None
