"""What the gallery shows: pages of generated images with their provenance, and for one image
its nearest real images in CLIP space.

The real embeddings are read once and kept (re-read only when the number of real embeddings
changes), so moving through the gallery costs one small query and one matrix-vector product.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from store import embeddings, experiments, images, real
from store.core import Store
from synthdiv.metrics import normalise


@dataclass
class Filter:
    """Which images: one class and/or one template (None: all)."""

    class_id: int | None = None
    template_id: int | None = None


def page(st: Store, experiment_id: int, flt: Filter, offset: int, limit: int) -> tuple[int, list[dict]]:
    """(how many images match, the rows of images ``offset`` … ``offset + limit``)."""
    total = images.count(st, experiment_id, flt.class_id, flt.template_id)
    return total, images.page(st, experiment_id, flt.class_id, flt.template_id, offset, limit)


def choices(st: Store, experiment_id: int) -> tuple[list[dict], list[dict]]:
    """The classes and templates one can filter on, in experiment order."""
    return experiments.classes_of(st, experiment_id), experiments.templates_of(st, experiment_id)


@dataclass
class Neighbours:
    """Nearest real images to a generated one, by cosine similarity of CLIP embeddings."""

    model: str
    _rows: list[dict] = field(default_factory=list)
    _matrix: np.ndarray | None = None
    _count: int = -1

    def _refresh(self, st: Store, experiment_id: int) -> None:
        n = embeddings.count(st, experiment_id, "real", self.model)
        if n != self._count:
            self._rows, matrix = embeddings.load(st, experiment_id, "real", self.model)
            self._matrix = normalise(matrix) if len(matrix) else None
            self._count = n

    def nearest(self, st: Store, experiment_id: int, image_id: int, k: int = 3) -> list[dict]:
        """The ``k`` real images closest to the image: ``id``, ``path``, ``class_name``, ``split``,
        ``cosine``; empty when the image or the real set is not embedded yet."""
        self._refresh(st, experiment_id)
        vec = embeddings.vectors(st, "image", [image_id], self.model).get(image_id)
        if vec is None or self._matrix is None:
            return []
        sims = self._matrix @ normalise(vec[None, :])[0]
        k = min(k, len(sims))
        best = np.argpartition(-sims, k - 1)[:k]
        best = best[np.argsort(-sims[best], kind="stable")]
        found = real.rows(st, [self._rows[i]["id"] for i in best])
        return [{**found[self._rows[i]["id"]], "cosine": float(sims[i])} for i in best]
