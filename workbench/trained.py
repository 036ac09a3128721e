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
from rich.console import Console
from rich.table import Table
from rich.text import Text

from synthdiv import confidence

RUN_WORDS = {"synthetic": "synthetic→real (CAS)", "real": "real→real (ceiling)"}


def run_label(name: str) -> str:
    """A run's name in words: ``mix-2x`` → ``real + 2× synthetic → real``."""
    if name in RUN_WORDS:
        return RUN_WORDS[name]
    return f"real + {name.removeprefix('mix-').removesuffix('x')}× synthetic → real"


def _first_line(text: str | None) -> str:
    return (text or "").strip().split("\n", 1)[0]


def run_rows(runs: list[dict]) -> list[dict]:
    """One row per run: what it trained on, how far it got, and its real-test accuracy."""
    out = []
    for r in runs:
        res, made = r["result"] or {}, (r["result"] or {}).get("made_of", {})
        test, judge = res.get("test", {}), res.get("judge", {})
        recipe = r["settings"]["recipe"]
        out.append({
            "run": r["name"], "trains on": run_label(r["name"]), "model": recipe["model"], "state": r["state"],
            "epoch": r["epoch"] if r["state"] != "done" else r["epochs"], "epochs": r["epochs"],
            "n_synthetic": sum(made.get("synthetic", [])) if made else None,
            "n_real": sum(made.get("real", [])) if made else None,
            "accuracy": test.get("accuracy"), "low": test.get("low"), "high": test.get("high"),
            "n_test": test.get("n"), "judge_synthetic": judge.get("accuracy"),
            "judge_low": judge.get("low"), "judge_high": judge.get("high"),
            "images_per_s": res.get("images_per_s"), "error": _first_line(r.get("error")) or None,
        })
    return out


def _done(runs: list[dict], name: str) -> dict | None:
    return next((r for r in runs if r["name"] == name and r["state"] == "done" and r["result"]), None)


def gap(runs: list[dict]) -> dict | None:
    """real→real − synthetic→real of the pixel classifiers: the mean per-class difference with its
    paired 95 % bootstrap interval over classes (None until both runs are done)."""
    syn, real = _done(runs, "synthetic"), _done(runs, "real")
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


def with_pixel_concept(result: dict, runs: list[dict]) -> dict:
    """``result`` (an analysis) with each four-causes row given ``concept_pixel_synthetic_to_real``:
    the class's real-test accuracy of the pixel classifier trained on synthetic images (None until
    that run is done)."""
    syn = _done(runs, "synthetic")
    acc = {c["class"]: c["accuracy"] for c in syn["result"]["test"]["per_class"]} if syn else {}
    out = copy.copy(result)
    out["four_causes"] = [{**row, "concept_pixel_synthetic_to_real": acc.get(row["class"])}
                          for row in result["four_causes"]]
    return out


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
    real = _done(runs, "real")
    if real is not None and "judge" in real["result"]:
        j = real["result"]["judge"]
        out.append({"measure": "pixel judge on synthetic", "value": j["accuracy"], "low": j["low"],
                    "high": j["high"], "n": j["n_classes"]})
    return out


def _fmt(v) -> str:
    return "—" if v is None else f"{v:.3f}" if isinstance(v, float) else str(v)


def print_training(console: Console, runs: list[dict]) -> None:
    """The runs, their accuracies with intervals, the gap and the judge (nothing without runs)."""
    if not runs:
        return
    model = runs[0]["settings"]["recipe"]["model"]
    table = Table(title=f"Pixel classifiers ({model}, trained on the images, tested on the real test split;"
                        " 95 % bootstrap intervals over classes)", title_justify="left", box=None)
    for head, justify in (("run", "left"), ("trained on", "right"), ("state", "left"), ("accuracy", "right"),
                          ("95 % interval", "right"), ("n test", "right")):
        table.add_column(head, justify=justify, style="bold" if head == "run" else None)
    for row in run_rows(runs):
        on = "" if row["n_synthetic"] is None else f"{row['n_synthetic']} syn + {row['n_real']} real"
        state = row["state"] if row["state"] in ("done",) else f"{row['state']} {row['epoch']}/{row['epochs']}"
        ci = "—" if row["low"] is None else f"[{_fmt(row['low'])}, {_fmt(row['high'])}]"
        table.add_row(run_label(row["run"]), on, state, _fmt(row["accuracy"]), ci, _fmt(row["n_test"]))
        if row["error"]:
            table.add_row("", "", Text(row["error"][:120], style="red"), "", "", "")  # text, never markup
    for h in headline(runs):
        if h["measure"].startswith("pixel gap") or h["measure"].startswith("pixel judge"):
            ci = "—" if h["low"] is None else f"[{_fmt(h['low'])}, {_fmt(h['high'])}]"
            table.add_row(h["measure"].removeprefix("pixel "), f"{h['n']} classes", "", _fmt(h["value"]), ci, "")
    console.print(table)


def tables(runs: list[dict], epochs: dict[int, list[dict]]) -> dict[str, tuple[list[str], list[list]]]:
    """The training tables for export: runs, per class, epochs (empty without runs)."""
    if not runs:
        return {}
    from workbench.report import columns_of

    out = {}
    for name, rows in (("training_runs", run_rows(runs)), ("training_per_class", per_class_rows(runs)),
                       ("training_epochs", epoch_rows(runs, epochs))):
        cols = columns_of(rows)
        out[name] = (cols, [[r.get(c) for c in cols] for r in rows])
    return out
