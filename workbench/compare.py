"""Comparing the experiments of a store (``synthdiv compare``, the Compare screen, and the compare
tables of ``synthdiv export``): gather each experiment's analysis and config, compare them
(:mod:`synthdiv.compare`), and give the tables (printed by :mod:`workbench.printing`)."""

from __future__ import annotations

from typing import Any

from store import experiments, training
from store.core import Store
from synthdiv.compare import compare, swept_axis
from synthdiv.errors import SynthdivError
from workbench.config import from_experiment, to_table
from workbench.results import embedding_model
from workbench.tables import columns_of, fmt
from workbench.trained import with_pixel


# The headline numbers plotted against a sweep's value by synthdiv compare (every one is in the tables).
PLOTTED = ("synthetic_to_real", "pixel_synthetic_to_real", "adherence", "diversity_ratio", "coverage")


def flat_config(exp: dict) -> dict[str, Any]:
    """An experiment's config as ``{"section.key": value}`` (lists as they are)."""
    out: dict[str, Any] = {}
    for key, value in to_table(from_experiment(exp)).items():
        if isinstance(value, dict):
            out.update({f"{key}.{k}": v for k, v in value.items()})
        else:
            out[key] = value
    return out


def chosen(st: Store, names: list[str] | None) -> list[dict]:
    """The experiments named (in that order; each must exist), or every experiment of the store."""
    if names:
        return [experiments.get(st, n) for n in names]
    return [experiments.get(st, n) for n in experiments.names_of(st)]


def gather(st: Store, names: list[str] | None = None, progress=None) -> tuple[dict, dict, list[str]]:
    """(analysis results by experiment name, flat configs by name, notes): each experiment's
    current analysis (computed where the stored one is stale); experiments with nothing to
    analyse yet are left out with a note. ``progress(i, n, name)`` is called before each."""
    from workbench.analysis import ensure

    exps = chosen(st, names)
    results, configs, notes = {}, {}, []
    for i, exp in enumerate(exps):
        if progress:
            progress(i, len(exps), exp["name"])
        analysis = ensure(st, exp["id"], embedding_model(from_experiment(exp), st, exp["id"]))
        if analysis is None:
            notes.append(f"{exp['name']}: nothing embedded yet, left out")
            continue
        results[exp["name"]] = with_pixel(analysis["result"], training.runs(st, exp["id"]))
        configs[exp["name"]] = flat_config(exp)
    return results, configs, notes


def comparison_of(st: Store, names: list[str] | None = None, baseline: str | None = None,
                  measure: str = "synthetic_to_real", progress=None) -> dict:
    """The comparison tables of the store's experiments (see :func:`synthdiv.compare.compare`),
    with ``notes`` and the ``axis`` a sweep's plot uses (or None). Exits 2 (SynthdivError) when
    fewer than two experiments have an analysis or an argument names nothing."""
    results, configs, notes = gather(st, names, progress)
    if len(results) < 2:
        have = ", ".join(results) or "none"
        raise SynthdivError(f"comparing needs two experiments with embeddings; store {st.root} has {have}",
                            "run a sweep into it (a [sweep] table, docs/config.md) or another experiment")
    try:
        out = compare(results, configs, baseline=baseline, per_class_measure=measure)
    except ValueError as exc:
        raise SynthdivError(str(exc), "see synthdiv compare --help") from None
    out["notes"] = notes
    out["axis"] = swept_axis(out)
    return out


def short_names(names: list[str]) -> dict[str, str]:
    """Experiment names without the sweep's common ``NAME/`` prefix (``guidance=3`` for
    ``digits/guidance=3``), for column headings; names as they are when they share none."""
    if len(names) < 2 or not all("/" in n for n in names):
        return {n: n for n in names}
    heads = {n.split("/", 1)[0] for n in names}
    return {n: n.split("/", 1)[1] for n in names} if len(heads) == 1 else {n: n for n in names}


def shown(value: Any) -> str:
    """A config value in a table cell: lists as their length ("3 items"), the rest as text."""
    if isinstance(value, (list, tuple)):
        return f"{len(value)} items"
    return fmt(value)


def tables_of(comparison: dict) -> dict[str, tuple[list[str], list[list]]]:
    """The comparison as (header, rows) tables, named for export (``compare_*``)."""
    out = {}
    for name in ("experiments", "differences", "per_class"):
        rows = comparison[name]
        head = columns_of(rows)
        out[f"compare_{name}"] = (head, [[r.get(c) if not isinstance(r.get(c), (list, tuple)) else shown(r.get(c))
                                          for c in head] for r in rows])
    return out
