"""The results of an experiment's training runs (:mod:`workbench.training`) as tables, for the
report, the export, the dashboard's Training tab and ``synthdiv compare``.

- the runs: what each trained on, its state and epochs, its real-test accuracy with the 95 %
  bootstrap interval over classes and n; the ``real`` run's reverse judge (its accuracy on the
  synthetic images);
- the gap: real→real − synthetic→real of the pixel classifiers, the mean per-class difference
  with its paired bootstrap interval over classes (both runs are tested on the same images);
- per class: each run's accuracy; the four-causes table's concept column gains the pixel
  classifier's synthetic→real (``concept_pixel_synthetic_to_real``).
"""

from __future__ import annotations

import copy

import numpy as np

from synthdiv import causes, confidence
from synthdiv.errors import first_line
from workbench.tables import columns_of

RUN_WORDS = {"synthetic": "synthetic→real (CAS)", "real": "real→real (ceiling)"}


def run_label(name: str) -> str:
    """A run's name in words: ``mix-2x`` → ``real + 2× synthetic → real``."""
    if name in RUN_WORDS:
        return RUN_WORDS[name]
    if name.startswith("repair:"):
        return f"synthetic, {name.split(':', 1)[1]} remedied → real"
    if name.startswith("mix-"):
        return f"real + {name.removeprefix('mix-').removesuffix('x')}× synthetic → real"
    how, _, n = name.rpartition("-")
    return f"{how}, {n} a class → real"


def run_rows(runs: list[dict]) -> list[dict]:
    """One row per run: what it trained on, how far it got, and its real-test accuracy."""
    out = []
    for r in runs:
        res, made = r["result"] or {}, (r["result"] or {}).get("made_of", {})
        test, judge = res.get("test", {}), res.get("judge", {})
        recipe = r["settings"]["recipe"]
        out.append({
            "run": r["name"], "trains_on": run_label(r["name"]), "model": recipe["model"], "state": r["state"],
            "epoch": r["epoch"] if r["state"] != "done" else r["epochs"], "epochs": r["epochs"],
            "n_synthetic": sum(made.get("synthetic", [])) if made else None,
            "n_real": sum(made.get("real", [])) if made else None,
            "accuracy": test.get("accuracy"), "low": test.get("low"), "high": test.get("high"),
            "n_test": test.get("n"), "judge_synthetic": judge.get("accuracy"),
            "judge_low": judge.get("low"), "judge_high": judge.get("high"),
            "images_per_s": res.get("images_per_s"), "error": first_line(r.get("error")) or None,
            "current": bool(r.get("planned", 1)),  # False: a run of settings the experiment no longer has
        })
    return out


def finished_run(runs: list[dict], name: str) -> dict | None:
    return next((r for r in runs if r["name"] == name and r["state"] == "done" and r["result"]), None)


def gap(runs: list[dict]) -> dict | None:
    """real→real − synthetic→real of the pixel classifiers: the mean per-class difference with its
    paired 95 % bootstrap interval over classes (None until both runs are done)."""
    syn, real = finished_run(runs, "synthetic"), finished_run(runs, "real")
    if syn is None or real is None:
        return None
    a = [c["accuracy"] for c in real["result"]["test"]["per_class"]]
    b = [c["accuracy"] for c in syn["result"]["test"]["per_class"]]
    keep = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x is not None and y is not None]
    if len(keep) < 2:
        return None
    d = confidence.paired_difference(np.array([a[i] for i in keep]), np.array([b[i] for i in keep]))
    r6 = lambda v: round(float(v), 6)  # noqa: E731
    return {"value": r6(d.value), "low": r6(d.low), "high": r6(d.high), "n": d.n,
            "pooled": r6(real["result"]["test"]["accuracy"] - syn["result"]["test"]["accuracy"])}


def per_class_rows(runs: list[dict]) -> list[dict]:
    """One row per class: each finished run's real-test accuracy (and the judge's, on synthetic)."""
    done = [r for r in runs if r["state"] == "done" and r["result"]]
    if not done:
        return []
    classes = [c["class"] for c in done[0]["result"]["test"]["per_class"]]
    rows = [{"class": name, "n_test": done[0]["result"]["test"]["per_class"][i]["n"]} for i, name in enumerate(classes)]
    for r in done:
        for i, c in enumerate(r["result"]["test"]["per_class"]):
            rows[i][r["name"]] = c["accuracy"]
        if "judge" in r["result"]:
            for i, c in enumerate(r["result"]["judge"]["per_class"]):
                rows[i]["judge_synthetic"] = c["accuracy"]
    return rows


def per_class_columns(runs: list[dict]) -> list[tuple[str, str]]:
    """The per-class table's (key, heading) columns for these runs."""
    done = [r["name"] for r in runs if r["state"] == "done" and r["result"]]
    cols = [("class", "class"), *((name, name) for name in done)]
    if "real" in done:
        cols.append(("judge_synthetic", "judge on syn"))
    return cols + [("n_test", "n test")]


def epoch_rows(runs: list[dict], epochs: dict[int, list[dict]]) -> list[dict]:
    """Every recorded epoch of every run, run by run."""
    return [{"run": r["name"], **{k: v for k, v in e.items() if k != "run_id"}}
            for r in runs for e in epochs.get(r["id"], [])]


PIXEL_MEASURES = {"synthetic": "pixel_synthetic_to_real", "real": "pixel_real_to_real"}  # run → headline key


def with_pixel(result: dict, runs: list[dict]) -> dict:
    """``result`` (an analysis) with the pixel classifiers' numbers where the analysis has places
    for them (None until their run is done): the per-class columns ``pixel_synthetic_to_real``,
    ``pixel_real_to_real`` and ``pixel_n_test`` of the accuracy table, the headline measures of
    the same names (their intervals over classes), and the four-causes columns
    ``concept_pixel_synthetic_to_real`` and ``adherence_judge`` (the real run's judge on the class's
    synthetic images, with its interval; ``adherence_judge_real``: the same classifier on the
    class's real test images). Applying it again gives the same result."""
    per = {key: {c["class"]: c for c in run["result"]["test"]["per_class"]}
           for name, key in PIXEL_MEASURES.items() if (run := finished_run(runs, name)) is not None}
    out = copy.copy(result)

    def of(key: str, cls: str, field: str):
        return per.get(key, {}).get(cls, {}).get(field)

    out["accuracy"] = [{**row, **{f"{key}{tail}": of(key, row["class"], field) for key in PIXEL_MEASURES.values()
                                  for tail, field in (("", "accuracy"), ("_low", "low"), ("_high", "high"))},
                        "pixel_n_test": next((of(k, row["class"], "n") for k in per), None)}
                       for row in result["accuracy"]]
    out["four_causes"] = _four_causes(result["four_causes"], runs, of)
    if "headline" in result:
        out["headline"] = _pixel_headline(result["headline"], runs)
        out["summary"] = [{r["measure"]: r["value"] for r in out["headline"]}]
    return out


def _four_causes(rows: list[dict], runs: list[dict], of) -> list[dict]:
    """The four-causes rows with the pixel classifiers' columns and their gap (``of(key, class,
    field)``: a run's per-class number)."""
    real = finished_run(runs, "real")
    judge = {c["class"]: c for c in real["result"].get("judge", {}).get("per_class", [])} if real else {}
    rows = [{**row, "concept_pixel_synthetic_to_real": of("pixel_synthetic_to_real", row["class"], "accuracy"),
             **{f"adherence_judge{tail}": judge.get(row["class"], {}).get(field)
                for tail, field in (("", "accuracy"), ("_low", "low"), ("_high", "high"))},
             "adherence_judge_real": of("pixel_real_to_real", row["class"], "accuracy")}
            for row in rows]
    gaps = pixel_gaps(runs, [row["class"] for row in rows])
    return causes.with_gaps(rows, gaps[0], gaps[1]) if gaps else rows


def _pixel_headline(headline: list[dict], runs: list[dict]) -> list[dict]:
    """The headline with each pixel classifier's accuracy and the judge's adherence in their places
    (the judge's first: the headline adherence); added where an analysis from before them lacks them."""
    rows = {}
    for name, key in PIXEL_MEASURES.items():
        run = finished_run(runs, name)
        t = run["result"]["test"] if run else {}
        rows[key] = {"measure": key, "value": t.get("accuracy"), "low": t.get("low"), "high": t.get("high"),
                     "n": t.get("n_classes", 0), "resampled": "classes"}
    real = finished_run(runs, "real")
    j = (real["result"].get("judge") if real is not None else None) or {}
    rows["adherence_judge"] = {"measure": "adherence_judge", "value": j.get("accuracy"), "low": j.get("low"),
                               "high": j.get("high"), "n": j.get("n_classes", 0), "resampled": "classes"}
    head = [rows.get(r["measure"], r) for r in headline]
    missing = [rows[k] for k in rows if k not in {r["measure"] for r in head}]
    judge = [r for r in missing if r["measure"] == "adherence_judge"]
    missing = [r for r in missing if r["measure"] != "adherence_judge"]
    at = next((i + 1 for i, r in enumerate(head) if r["measure"] == "real_to_real"), len(head))
    return judge + head[:at] + missing + head[at:]


def pixel_gaps(runs: list[dict], classes: list[str]) -> tuple[list[dict], str] | None:
    """Per class (in the order of ``classes``), the pixel classifiers' gap real→real −
    synthetic→real, and what it rests on: paired per test image (:func:`synthdiv.causes.class_gaps`)
    when both runs recorded their predictions on the same test images; for runs stored before
    they recorded the truth, the difference of their per-class accuracies with the unpaired
    interval (``pixel classifier, unpaired``). None until both runs are done."""
    syn, real = finished_run(runs, "synthetic"), finished_run(runs, "real")
    if syn is None or real is None:
        return None
    names = [c["class"] for c in real["result"]["test"]["per_class"]]
    a, b = real["result"], syn["result"]
    if a.get("test_truth") is not None and a.get("test_truth") == b.get("test_truth"):
        truth = np.array(a["test_truth"], int)
        by_index = causes.class_gaps(np.array(a["test_pred"]) == truth, np.array(b["test_pred"]) == truth,
                                     truth, len(names))
        gaps, by = dict(zip(names, by_index, strict=True)), causes.BY_PIXELS
    else:
        ra = {c["class"]: c for c in a["test"]["per_class"]}
        rb = {c["class"]: c for c in b["test"]["per_class"]}
        gaps, by = {}, causes.BY_PIXELS + ", unpaired"
        both = [n for n in names if ra[n]["accuracy"] is not None and rb[n]["accuracy"] is not None]
        if both:
            n_a, n_b = np.array([ra[n]["n"] for n in both]), np.array([rb[n]["n"] for n in both])
            k_a = np.rint(np.array([ra[n]["accuracy"] for n in both]) * n_a)
            k_b = np.rint(np.array([rb[n]["accuracy"] for n in both]) * n_b)
            low, high = confidence.difference_of_proportions(k_a, n_a, k_b, n_b)
            for i, n in enumerate(both):
                gaps[n] = {"gap": k_a[i] / n_a[i] - k_b[i] / n_b[i], "gap_low": float(low[i]),
                           "gap_high": float(high[i])}
    empty = {"gap": None, "gap_low": None, "gap_high": None}
    return [gaps.get(name, empty) for name in classes], by


def headline(runs: list[dict]) -> list[dict]:
    """The pixel classifiers' headline numbers: each finished run's accuracy, the gap and the judge,
    as rows of (measure, value, low, high, n)."""
    out = []
    for r in runs:
        if r["state"] == "done" and r["result"]:
            t = r["result"]["test"]
            out.append({"measure": f"pixel {run_label(r['name'])}", "value": t["accuracy"], "low": t["low"],
                        "high": t["high"], "n": t["n_classes"]})
    g = gap(runs)
    if g is not None:
        out.append({"measure": "pixel gap (real − synthetic)", "value": g["value"], "low": g["low"],
                    "high": g["high"], "n": g["n"]})
    real = finished_run(runs, "real")
    if real is not None and "judge" in real["result"]:
        j = real["result"]["judge"]
        out.append({"measure": "pixel judge on synthetic", "value": j["accuracy"], "low": j["low"],
                    "high": j["high"], "n": j["n_classes"]})
    return out


def tables(runs: list[dict], epochs: dict[int, list[dict]],
           every: list[dict] | None = None) -> dict[str, tuple[list[str], list[list]]]:
    """The training tables for export: every run (``every``: also those of earlier settings, with
    ``current`` false), and per class and per epoch the planned ``runs`` (empty without runs)."""
    if not runs and not every:
        return {}
    out = {}
    for name, rows in (("training_runs", run_rows(every if every is not None else runs)),
                       ("training_per_class", per_class_rows(runs)), ("training_epochs", epoch_rows(runs, epochs))):
        cols = columns_of(rows)
        out[name] = (cols, [[r.get(c) for c in cols] for r in rows])
    return out


def live(runs: list[dict], epochs: dict[int, list[dict]]) -> dict:
    """What the dashboard's Training tab shows, ready to draw: the run rows, each run's epochs and
    top confusions by run name, the per-class rows and their columns."""
    return {"runs": run_rows(runs), "epochs": {r["name"]: epochs.get(r["id"], []) for r in runs},
            "confusions": {r["name"]: ((r["result"] or {}).get("test") or {}).get("top_confusions", []) for r in runs},
            "per_class": per_class_rows(runs), "columns": per_class_columns(runs)}
