"""Counts kept current by triggers (schema v3): jobs by state, images, and embeddings by kind and
model, per class. Reading them costs a few rows per class, whatever the size of the store."""

from __future__ import annotations

from store.core import Store


def per_class(store: Store, experiment_id: int, what: str) -> dict[int, int]:
    """class id → the tally ``what`` (e.g. ``job:done``, ``images``, ``emb:image:MODEL``)."""
    return dict(store.conn.execute(
        "select class_id, n from tallies where experiment_id = ? and what = ?", [experiment_id, what]))


def total(store: Store, experiment_id: int, what: str) -> int:
    """The tally ``what`` over the whole experiment; a ``what`` ending in ``%`` sums every match."""
    op = "like" if what.endswith("%") else "="
    return store.conn.execute(
        f"select coalesce(sum(n), 0) from tallies where experiment_id = ? and what {op} ?",
        [experiment_id, what]).fetchone()[0]


def by_what(store: Store, experiment_id: int, prefix: str) -> dict[str, int]:
    """Every tally whose name starts with ``prefix``, summed over classes: name → count."""
    return dict(store.conn.execute(
        "select what, sum(n) from tallies where experiment_id = ? and what like ? group by what",
        [experiment_id, prefix + "%"]))
