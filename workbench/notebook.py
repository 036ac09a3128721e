"""The notebook API: a store's results as Python objects, read-only. It lives here, not in
``synthdiv``: the science core knows no database (DESIGN.md), and this reads the store.

    from workbench.notebook import open_store
    s = open_store("runs/digits")
    s.experiments                       # ['digits']
    e = s.experiment()                  # the only one (or s.experiment("name"))
    e.images(class_name="three")[:2]    # rows with provenance, CLIP score and the file's path
    rows, x = e.embeddings("image")     # the CLIP image embeddings as an (n, d) float32 array
    e.tables                            # every table's name
    e.table("four_causes")              # its rows, as dicts
    e.dataframe("four_causes")          # the same as a pandas DataFrame (needs pandas)
    plan, v = e.vocabulary()            # the open-set candidates (ImageNet-1k, WordNet senses), embedded

Nothing here writes: the store is opened read-only (an analysis that is not current is computed
in memory, as ``synthdiv report`` does on a read-only store), so a notebook may read a store that
workers are writing, or one on a read-only disk.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from store import embeddings, experiments, images, open_store as _open
from synthdiv.errors import SynthdivError
from workbench.results import Results, results_of

EMBEDDING_KINDS = ("image", "real", "text")


class Experiment:
    """One experiment of a store: its configuration, images, embeddings and result tables."""

    def __init__(self, results: Results) -> None:
        self._res = results
        self.name: str = results.exp["name"]
        self.config: dict = json.loads(results.exp["config"])
        self.model: str = results.model  # the name its CLIP embeddings are stored under
        self.classes: list[str] = experiments.class_names(results.st, results.exp["id"])
        self.templates: list[str] = [t["text"] for t in experiments.templates_of(results.st, results.exp["id"])]
        self._tables: dict | None = None

    def __repr__(self) -> str:
        return (f"<synthdiv experiment {self.name!r}: {len(self.classes)} classes, {len(self.templates)} templates, "
                f"{images.count(self._res.st, self._res.exp['id'])} images>")

    def images(self, class_name: str | None = None) -> list[dict]:
        """Every generated image (of one class when given), in class, template, seed order: its
        row (prompt, template, seed, model id, revision or hash, scheduler, steps, guidance, size,
        sha256…), ``file`` (its absolute path) and what CLIP makes of it: ``clip_score``,
        ``zero_shot`` (the class CLIP reads it as) and ``adherent`` (None until embedded)."""
        rows = images.every(self._res.st, self._res.exp["id"])
        if class_name is not None:
            if class_name not in self.classes:
                raise SynthdivError(f"experiment {self.name!r} has no class {class_name!r}",
                                    f"use one of {', '.join(self.classes[:10])}" + (" …" if len(self.classes) > 10 else ""))
            rows = [r for r in rows if r["class_name"] == class_name]
        scores = self._res.image_scores()
        none = {"clip_score": None, "zero_shot": None, "adherent": None}
        return [{**r, "file": str(self._res.st.root / r["path"]), **scores.get(r["id"], none)} for r in rows]

    def embeddings(self, kind: str = "image", model: str | None = None) -> tuple[list[dict], np.ndarray]:
        """The ``kind`` embeddings (``image``: generated images, ``real``: real images, ``text``:
        prompts) from ``model`` (default: the experiment's CLIP model; an ``[embedding]
        image_models`` encoder by its stored name, see :attr:`models`): one row per vector
        (``id``, ``class_id`` and ``class_name``, and ``prompt_id`` or ``split``) and the (n, d)
        float32 array, rows in the same order."""
        if kind not in EMBEDDING_KINDS:
            raise SynthdivError(f"unknown embedding kind {kind!r}", f"use one of {', '.join(EMBEDDING_KINDS)}")
        rows, x = embeddings.load(self._res.st, self._res.exp["id"], kind, model or self.model)
        name = {c["id"]: c["name"] for c in experiments.classes_of(self._res.st, self._res.exp["id"])}
        return [{**r, "class_name": name[r["class_id"]]} for r in rows], x

    def vocabulary(self, model: str | None = None):
        """The open-set vocabulary (:mod:`synthdiv.senses`) and its ``model`` embeddings (default:
        the experiment's CLIP): ``(plan, vectors)``. ``plan.texts[j]`` and ``plan.labels[j]`` name
        candidate j, ``plan.allowed[c]`` marks class c's candidates, ``plan.senses[c]`` its own and
        other WordNet senses; ``vectors`` is (texts, d) float32, None until the embedding worker
        embedded them."""
        from workbench import vocabulary
        from workbench.config import from_experiment

        return vocabulary.vectors(self._res.st, from_experiment(self._res.exp), model or self.model)

    @property
    def models(self) -> dict[str, int]:
        """The models this experiment has image embeddings from: stored name → how many."""
        return embeddings.models(self._res.st, self._res.exp["id"])

    def _all(self) -> dict[str, tuple[list[str], list[list]]]:
        if self._tables is None:
            self._tables = self._res.tables()
        return self._tables

    @property
    def tables(self) -> list[str]:
        """The names of every result table (those ``synthdiv export`` writes)."""
        return list(self._all())

    def table(self, name: str) -> list[dict]:
        """Table ``name``'s rows, each a dict of column → value (a matrix: one row per class,
        ``class`` then one column per class)."""
        if name not in self._all():
            raise SynthdivError(f"no table {name!r}", f"use one of {', '.join(self._all())}")
        head, rows = self._all()[name]
        return [dict(zip(head, row, strict=True)) for row in rows]

    def dataframe(self, name: str):
        """Table ``name`` as a pandas DataFrame (pandas is not a dependency of synthdiv: install it)."""
        try:
            import pandas
        except ImportError:
            raise SynthdivError("dataframe() needs pandas, which is not installed",
                                "pip install pandas, or use table(name) for the rows as dicts") from None
        head, _ = self._all()[name] if name in self._all() else ([], [])
        return pandas.DataFrame(self.table(name), columns=head)

    @property
    def analysis(self) -> dict:
        """The analysis behind the tables: ``counts`` (of the embeddings it saw), ``computed_at``,
        and ``result`` (every table and matrix, ``notes``, ``classes``) as the store holds it."""
        return self._res.analysis


class NotebookStore:
    """A store opened read-only for a notebook: its experiments (see the module's docstring)."""

    def __init__(self, root: str | Path) -> None:
        self._st = _open(root, readonly=True)
        self.root: Path = self._st.root
        self._cache: dict[str, Experiment] = {}

    @property
    def experiments(self) -> list[str]:
        """The names of the store's experiments, oldest first."""
        return experiments.names_of(self._st)

    def experiment(self, name: str | None = None) -> Experiment:
        """Experiment ``name`` (the store's only one when None); its analysis is read (or computed)
        on first use."""
        key = experiments.get(self._st, name)["name"]
        if key not in self._cache:
            self._cache[key] = Experiment(results_of(self._st, key))
        return self._cache[key]

    def close(self) -> None:
        self._st.close()

    def __enter__(self) -> NotebookStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<synthdiv store {str(self.root)!r}: experiments {', '.join(self.experiments) or 'none'}>"


def open_store(root: str | Path) -> NotebookStore:
    """Open the store folder ``root`` read-only (see the module's docstring)."""
    return NotebookStore(root)
