"""Running the analyses on a store: gather embeddings, compute (synthdiv.analysis), save.

``ensure`` reuses the newest stored analysis when the counts it was computed from are still
the store's counts, and recomputes otherwise. ``LiveAnalysis`` is what the embedding worker
calls as embeddings arrive: it recomputes at most every ``every_s`` seconds (debounced), and
only when the counts changed.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import numpy as np

from store import analyses, embeddings, experiments, images
from store.core import Store
from workbench import vocabulary
from workbench.config import from_experiment
from synthdiv.analysis import VERSION, Inputs, analyse
from synthdiv.image_encoders import is_image_encoder
from synthdiv.sources import PRESETS


def counts(st: Store, experiment_id: int, model: str) -> dict:
    """The embedding counts an analysis depends on (the open-set vocabulary's among them)."""
    out = {name: embeddings.count(st, experiment_id, kind, model)
           for name, kind in (("synthetic", "image"), ("real", "real"), ("texts", "text"))}
    out["vocabulary"] = vocabulary.count(st, from_experiment(experiments.by_id(st, experiment_id)), model)
    return out


def gather(st: Store, experiment_id: int, model: str) -> Inputs:
    """The experiment's embeddings from ``model``, with class indices (and real splits)."""
    names = experiments.class_names(st, experiment_id)  # in class order
    index = experiments.class_index(st, experiment_id)  # class id → index in that order
    syn_rows, syn = embeddings.load(st, experiment_id, "image", model)
    real_rows, real = embeddings.load(st, experiment_id, "real", model)
    text_rows, text = embeddings.load(st, experiment_id, "text", model)
    dim = max(x.shape[1] for x in (syn, real, text))
    syn, real, text = (x if len(x) else np.zeros((0, dim), np.float32) for x in (syn, real, text))
    prompt_vec = {r["id"]: text[i] for i, r in enumerate(text_rows)}
    cls = lambda rows: np.array([index[r["class_id"]] for r in rows], int)  # noqa: E731
    synthetic_prompt = (np.stack([prompt_vec[r["prompt_id"]] for r in syn_rows])
                        if syn_rows and all(r["prompt_id"] in prompt_vec for r in syn_rows) else None)
    cfg = from_experiment(experiments.by_id(st, experiment_id))
    plan, vocab = vocabulary.vectors(st, cfg, model) if len(text) else (None, None)
    made_by = sorted({g["model_id"] for g in images.generation_settings(st, experiment_id)})
    return Inputs(classes=names, synthetic=syn, synthetic_y=cls(syn_rows), real=real, real_y=cls(real_rows),
                  real_split=np.array([r["split"] for r in real_rows]), text=text, text_y=cls(text_rows),
                  synthetic_prompt=synthetic_prompt,
                  synthetic_template=np.array([r["template"] for r in syn_rows], dtype=object) if syn_rows else None,
                  open_set=plan if vocab is not None else None, open_set_vectors=vocab,
                  circular=vocabulary.circular(st, made_by, model) if len(text) else None,
                  open_set_note=getattr(PRESETS.get(model.partition("@")[0]), "open_set_note", ""))


def compute(st: Store, experiment_id: int, model: str) -> dict | None:
    """Compute and save an analysis now (not saved on a read-only store); None when there is
    nothing to analyse yet."""
    c = counts(st, experiment_id, model)
    if c["synthetic"] < 2 or (c["texts"] == 0 and not is_image_encoder(model)):
        return None
    result = analyse(gather(st, experiment_id, model))
    if st.readonly:  # a read-only command: the analysis as it would be stored, not stored
        return {"id": None, "experiment_id": experiment_id, "model": model, "counts": c,
                "result": json.loads(json.dumps(result)), "computed_at": time.time()}
    analyses.save(st, experiment_id, model, c, result, metrics_result=_with_runs(st, experiment_id, result))
    return analyses.latest(st, experiment_id, model)


def _with_runs(st: Store, experiment_id: int, result: dict) -> dict:
    """``result`` with the finished [train] runs' pixel-classifier numbers in their places."""
    from store import training
    from workbench.trained import with_pixel

    runs = training.runs(st, experiment_id) if training.has_tables(st) else []
    return with_pixel(result, runs) if runs else result


def refresh_metrics(st: Store, experiment_id: int) -> None:
    """Write the newest analyses' ``metrics`` rows again with the pixel classifiers' numbers (when
    a [train] run finishes: its accuracies, intervals and the judge's adherence join the table)."""
    models = [r[0] for r in st.conn.execute("select distinct model from analyses where experiment_id = ?",
                                            [experiment_id])]
    for model in models:
        latest = analyses.latest(st, experiment_id, model)
        if latest is not None:
            analyses.save_metrics(st, experiment_id, model, _with_runs(st, experiment_id, latest["result"]),
                                  latest["counts"])


def ensure(st: Store, experiment_id: int, model: str) -> dict | None:
    """The newest analysis if it matches the store's current counts and was made by this version
    of the analysis (an older one lacks tables and intervals), else a fresh one."""
    stored = analyses.latest(st, experiment_id, model)
    if (stored is not None and stored["counts"] == counts(st, experiment_id, model)
            and stored["result"].get("version") == VERSION):
        return stored
    return compute(st, experiment_id, model)


class LiveAnalysis:
    """Debounced recomputation while embeddings arrive (called by the embedding worker).

    An analysis runs in the worker's own loop, so while it runs nothing is embedded. It grows with
    the experiment (per-class metrics, two cross-validated probes: seconds for ten classes, minutes
    for a thousand), so after an analysis the worker embeds for at least ``BUSY`` times as long as
    it took before the next one starts (and starts are at least ``every_s`` apart): it spends at
    most 1 / (1 + BUSY) of its time on analyses however large the store, and small experiments
    still refresh every ``every_s``.
    """

    BUSY = 4.0

    def __init__(self, st: Store, experiment_id: int, model: str, every_s: float = 15.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.st, self.experiment_id, self.model, self.every_s = st, experiment_id, model, every_s
        self.clock = clock
        self.last_at = -float("inf")
        self.took = 0.0  # seconds the last analysis took
        self.last_counts: dict | None = None

    def wait_s(self) -> float:
        """The least time between the starts of two analyses, now."""
        return max(self.every_s, (1 + self.BUSY) * self.took)

    def maybe(self, force: bool = False) -> bool:
        """Recompute if the counts changed and (``force`` or :meth:`wait_s` passed); True if it did.

        An analysis that fails is reported on standard output (the worker's log) and never stops
        the embedding worker: embeddings matter more than a table that can be recomputed later.
        """
        try:
            return self._maybe(force)
        except Exception as exc:  # noqa: BLE001
            import traceback

            print(f"analysis failed (embedding goes on): {type(exc).__name__}: {exc}", flush=True)
            traceback.print_exc()
            return False

    def _maybe(self, force: bool) -> bool:
        now = self.clock()
        if not force and now - self.last_at < self.wait_s():
            return False
        c = counts(self.st, self.experiment_id, self.model)
        if c == self.last_counts:
            return False
        self.last_at, self.last_counts = now, c
        done = compute(self.st, self.experiment_id, self.model) is not None
        self.took = self.clock() - now
        if done and self.took > self.every_s / self.BUSY:
            print(f"analysis of {c['synthetic']:,} images took {self.took:.1f} s; the next in"
                  f" {self.wait_s():.0f} s at the earliest", flush=True)
        return done
