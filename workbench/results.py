"""One experiment's results as read from its store: the experiment, the CLIP model its embeddings
are stored under, its current analysis (with the pixel classifiers' numbers merged in), its
training runs and its image encoders' analyses.

Everything that reads finished results goes through :func:`results_of`: ``synthdiv report``,
``synthdiv export`` (tables and datasets), ``synthdiv figures``, the workbench's export key and the
notebook API (``synthdiv.open_store``). On a read-only store an analysis that is not current is
computed and not saved (:func:`workbench.analysis.compute`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from store import training
from store.core import Store
from synthdiv.errors import SynthdivError


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
    def encoders(self) -> list[tuple[str, dict]]:
        """(stored name, analysis) of each image-only encoder that has embeddings."""
        from workbench.report import encoder_analyses

        return encoder_analyses(self.st, self.exp)


class NoResultsYet(SynthdivError):
    """The experiment has nothing embedded to analyse yet."""

    title = "No results yet"


def results_of(st: Store, name: str | None = None) -> Results:
    """The results of experiment ``name`` (the store's only one when None); exits 2 (:class:`NoResultsYet`) naming the experiment when it has nothing embedded to analyse yet."""
    from workbench.analysis import ensure
    from workbench.report import experiment_and_model

    exp, model = experiment_and_model(st, name)
    analysis = ensure(st, exp["id"], model)
    if analysis is None:
        raise NoResultsYet(f"experiment {exp['name']!r} has no embeddings from {model} yet",
                            f"run it first: synthdiv run CONFIG --store {st.root}")
    return Results(st, exp, model, analysis, training.runs(st, exp["id"]))
