"""One experiment's results as read from its store: finding the experiment and the CLIP model its
embeddings are stored under (:func:`experiment_and_model`, :func:`embedding_model`), its current analysis (with the pixel classifiers' numbers merged in), its
training runs and its image encoders' analyses.

Everything that reads finished results goes through :func:`results_of`: ``synthdiv report``,
``synthdiv export`` (tables and datasets), ``synthdiv figures``, the workbench's export key and the
notebook API (``workbench.notebook.open_store``). On a read-only store an analysis that is not current is
computed and not saved (:func:`workbench.analysis.compute`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from store import embeddings, experiments, training
from store.core import Store
from synthdiv.embed import embedder_identity, resolve_embedder
from synthdiv.errors import SynthdivError
from synthdiv.sources import hub_snapshot
from workbench.config import ExperimentConfig, from_experiment


def embedding_model(cfg: ExperimentConfig, st: Store | None = None, experiment_id: int | None = None) -> str:
    """The name the experiment's embeddings are stored under. An ``hf-hub:`` model is named with
    its snapshot's commit; where this machine's cache lacks it (a store read elsewhere), the
    name is the one in the store (``st``, ``experiment_id``) with the most embeddings."""
    spec = resolve_embedder(cfg.embedding.model, cfg.embedding.pretrained)
    name = embedder_identity(spec)[0]
    if st is not None and experiment_id is not None and spec.kind == "hf-hub" and name == spec.model:
        stored = {m: n for m, n in embeddings.models(st, experiment_id).items() if m.startswith(spec.model + "@")}
        if stored:
            name = max(stored, key=lambda m: (stored[m], m))
    return name


def encoder_analyses(st: Store, exp: dict) -> list[tuple[str, dict]]:
    """(stored name, analysis) of each image-only encoder of the experiment (``[embedding]
    image_models``) that has embeddings; the name found in the store where this machine lacks the
    encoder's weights (a store read elsewhere)."""
    from synthdiv.image_encoders import encoder_identity, name_stem, stored_spec
    from workbench.analysis import ensure

    out = []
    stored = embeddings.models(st, exp["id"])
    for text in from_experiment(exp).embedding.image_models:
        spec = stored_spec(text)
        here = Path(spec.ref).is_dir() if spec.kind == "local-dir" else hub_snapshot(spec.ref) is not None
        name = encoder_identity(spec) if here else None
        if name not in stored:  # weights not here, or changed since: the stored embeddings under this stem
            mine = {m: n for m, n in stored.items() if m.startswith(name_stem(spec) + "@")}
            name = max(mine, key=lambda m: (mine[m], m)) if mine else None
        analysis = ensure(st, exp["id"], name) if name else None
        if analysis is not None:
            out.append((name, analysis))
    return out


def experiment_and_model(st: Store, name: str | None) -> tuple[dict, str]:
    exp = experiments.get(st, name)
    return exp, embedding_model(from_experiment(exp), st, exp["id"])


@dataclass
class Results:
    """One experiment's results (see the module's docstring); build it with :func:`results_of`."""

    st: Store
    exp: dict
    model: str  # the name its CLIP embeddings are stored under
    analysis: dict  # the stored (or, read-only, freshly computed) analysis: counts, result, computed_at
    runs: list[dict] = field(default_factory=list)  # its current training runs

    @cached_property
    def result(self) -> dict:
        """The analysis's tables, with the pixel classifiers' numbers where training runs finished."""
        from workbench.trained import with_pixel

        return with_pixel(self.analysis["result"], self.runs)

    @cached_property
    def every_run(self) -> list[dict]:
        """Every training run, those of earlier settings too (``planned`` false)."""
        return training.runs(self.st, self.exp["id"], planned_only=False)

    @cached_property
    def epochs(self) -> dict[int, list[dict]]:
        """The epochs of the current training runs, by run id."""
        return training.epochs(self.st, [r["id"] for r in self.runs])

    @cached_property
    def encoders(self) -> list[tuple[str, dict]]:
        """(stored name, analysis) of each image-only encoder that has embeddings."""
        return encoder_analyses(self.st, self.exp)

    def tables(self) -> dict[str, tuple[list[str], list[list]]]:
        """Every table of the results as (header, rows), in a fixed order: the analysis's tables
        and class × class matrices, the training tables (every run, earlier settings' too), and
        each image encoder's tables (``TABLE.ENCODER``)."""
        from workbench import trained
        from workbench.tables import encoder_tables, tables_of

        return {**tables_of(self.result), **trained.tables(self.runs, self.epochs, self.every_run),
                **encoder_tables(self.encoders)}

    def image_scores(self) -> dict[int, dict]:
        """What CLIP (the experiment's model) makes of each embedded synthetic image: image id →
        ``clip_score`` (cosine with its own prompt, :func:`synthdiv.metrics.clip_scores`),
        ``zero_shot`` (the class whose mean prompt embedding is nearest, :mod:`synthdiv.probe`)
        and ``adherent`` (that class is its own: the filter of He et al. 2023). Images not yet
        embedded, and images whose prompt is not, are absent."""
        import numpy as np

        from store import embeddings, experiments
        from synthdiv.metrics import clip_scores
        from synthdiv.probe import class_text_vectors, zero_shot_predict

        names = experiments.class_names(self.st, self.exp["id"])
        index = experiments.class_index(self.st, self.exp["id"])
        rows, x = embeddings.load(self.st, self.exp["id"], "image", self.model)
        text_rows, t = embeddings.load(self.st, self.exp["id"], "text", self.model)
        prompt = {r["id"]: i for i, r in enumerate(text_rows)}
        keep = [i for i, r in enumerate(rows) if r["prompt_id"] in prompt]
        if not keep:
            return {}
        rows, x = [rows[i] for i in keep], x[keep]
        scores = clip_scores(x, t[[prompt[r["prompt_id"]] for r in rows]])
        vectors = class_text_vectors(t, np.array([index[r["class_id"]] for r in text_rows]), len(names))
        guess = zero_shot_predict(x, vectors)
        return {r["id"]: {"clip_score": round(float(score), 6), "zero_shot": names[g],
                          "adherent": bool(g == index[r["class_id"]])}
                for r, score, g in zip(rows, scores, guess, strict=True)}


class NoResultsYet(SynthdivError):
    """The experiment has nothing embedded to analyse yet."""

    title = "No results yet"


def results_of(st: Store, name: str | None = None) -> Results:
    """The results of experiment ``name`` (the store's only one when None); exits 2
    (:class:`NoResultsYet`) naming the experiment when it has nothing embedded to analyse yet."""
    from workbench.analysis import ensure

    exp, model = experiment_and_model(st, name)
    analysis = ensure(st, exp["id"], model)
    if analysis is None:
        raise NoResultsYet(f"experiment {exp['name']!r} has no embeddings from {model} yet",
                           f"run it first: synthdiv run CONFIG --store {st.root}")
    return Results(st, exp, model, analysis, training.runs(st, exp["id"]))


def output_folder(st: Store, text: str, what: str = "tables") -> Path:
    """The folder ``--out TEXT`` names, resolved: refused (exit 2) inside the store's own folder,
    its images or its logs (an export must never mix with what it exports), or where it cannot be
    written."""
    from store import check_writable

    out = Path(text).expanduser().resolve()
    for folder in (st.root / "images", st.root / "logs", st.root):
        if out == folder or (folder != st.root and folder in out.parents):
            raise SynthdivError(f"--out {text} is inside the store's own folder {folder}",
                                f"export to a folder of its own, e.g. --out {st.root.name}-{what}")
    return check_writable(out, option="--out")
