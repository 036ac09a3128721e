"""Sweeps: one experiment file, one experiment per combination of the values in its ``[sweep]``.

``[sweep]`` maps config keys (``"generation.guidance"``, ``"generation.model"``,
``"templates.custom"`` as a list of template lists, …) to lists of values. The file expands to
one experiment per combination, named ``NAME/key=value,key=value`` (templates by their number in
the list: ``templates=2``), in one store. Everything else — classes, seeds, the real set — is
shared, so the experiments are paired: the same class, template and seed start from the same
noise in each (seeds never depend on the experiment's name).
"""

from __future__ import annotations

import copy
import itertools
from pathlib import Path
from typing import Any

from store.images import slug
from synthdiv.errors import ConfigError

# keys a sweep may vary: what shapes an image or its embedding, and the prompt style
SWEEPABLE = {
    "generation": {"model", "revision", "scheduler", "steps", "guidance", "width", "height", "negative_prompt",
                   "images_per_prompt", "seeds"},
    "embedding": {"model", "pretrained"},
    "templates": {"custom", "builtin"},
}


def _shown(key: str, value: Any, index: int) -> str:
    short = key.split(".", 1)[1]
    if key == "templates.custom":
        return f"templates={index + 1}"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"{short}={value}"


def expand(data: dict[str, Any], where: str) -> list[dict[str, Any]]:
    """The config tables of a file's experiments: the file itself without ``[sweep]``, or one
    table per combination of the sweep's values. Bad keys or values raise naming the key."""
    sweep = data.get("sweep")
    if sweep is None:
        return [data]
    if not isinstance(sweep, dict) or not sweep:
        raise ConfigError(f"{where}: sweep must be a table of config keys and lists of values",
                          'e.g. [sweep] "generation.guidance" = [1, 3, 5] (see docs/config.md)')
    axes = [(key, _checked_axis(key, values, where)) for key, values in sweep.items()]
    base = data.get("name") if isinstance(data.get("name"), str) else ""
    return [_one_experiment(data, axes, combo, base, where)
            for combo in itertools.product(*(list(enumerate(values)) for _, values in axes))]


def _checked_axis(key: str, values: Any, where: str) -> list:
    """A sweep key's values, checked: a key that may be swept, a list of distinct values."""
    section, _, name = key.partition(".")
    if name not in SWEEPABLE.get(section, set()):
        known = ", ".join(f"{s}.{k}" for s in SWEEPABLE for k in sorted(SWEEPABLE[s]))
        raise ConfigError(f"{where}: sweep key {key!r} cannot be swept", f"use one of {known}")
    if not isinstance(values, list) or not values:
        raise ConfigError(f"{where}: sweep.{key} must be a list of values", f'e.g. "{key}" = [1, 2]')
    if key == "templates.custom" and not all(
            isinstance(v, list) and v and all(isinstance(t, str) for t in v) for v in values):
        raise ConfigError(f"{where}: sweep.templates.custom must be a list of template lists",
                          '"templates.custom" = [["a photo of a {}."], ["a sketch of a {}."]]')
    if len({repr(v) for v in values}) != len(values):
        raise ConfigError(f"{where}: sweep.{key} lists a value twice", "keep each value once")
    return values


def _one_experiment(data: dict[str, Any], axes: list, combo: tuple, base: str, where: str) -> dict[str, Any]:
    """The file's table with one combination of the sweep's values, named after them."""
    table = copy.deepcopy({k: v for k, v in data.items() if k != "sweep"})
    parts = []
    for (key, _), (i, value) in zip(axes, combo, strict=True):
        section, _, name = key.partition(".")
        table.setdefault(section, {})
        if not isinstance(table[section], dict):
            raise ConfigError(f"{where}: {section} must be a table", f"write it as [{section}]")
        table[section][name] = value
        parts.append(_shown(key, value, i))
    table["name"] = f"{base.strip()}/{','.join(parts)}"
    if "store" not in table and base.strip():  # one store for the sweep, named after the file's name
        table["store"] = str(Path.cwd() / "runs" / slug(base, 80))
    return table
