"""Real image sources: a folder of class folders, or the bundled real digits.

A folder source holds one sub-folder per class. Folder names match class labels (or the names
used in prompts) ignoring case and treating ``_`` and ``-`` as spaces; a mapping file (CSV lines
``folder,class``) names the class of any folder that does not match. Folders of classes outside
the experiment are ignored. Each image is put in the train or the test split by a hash of its
path inside the source, so adding files never moves the others. Every extension PIL opens counts
(``.jfif`` too); hidden files and folders (macOS's ``._name.jpg``, ``.DS_Store``) do not.
"""

from __future__ import annotations

import csv
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from synthdiv.decode import is_image_file
from synthdiv.errors import ConfigError

@dataclass(frozen=True)
class RealItem:
    label: str  # class label in the experiment
    path: str  # absolute path of the file
    split: str  # "train" or "test"


def normalise_name(name: str) -> str:
    """Case-folded, ``_`` and ``-`` as spaces, runs of spaces collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"[_\-]", " ", name.casefold())).strip()


def split_of(relative: str, test_fraction: float) -> str:
    """``test`` for a stable pseudo-random ``test_fraction`` of paths, else ``train``."""
    h = int.from_bytes(hashlib.sha256(relative.encode()).digest()[:8], "big") / 2**64
    return "test" if h < test_fraction else "train"


def read_mapping(path: str | Path) -> dict[str, str]:
    """``folder,class`` lines (a header line ``folder,class`` is allowed) → {folder: class}."""
    path = Path(path)
    try:
        rows = list(csv.reader(path.read_text(encoding="utf-8").splitlines()))
    except OSError as exc:
        raise ConfigError(f"cannot read mapping file {path} ({exc.strerror})", "give a CSV of folder,class lines") from None
    out = {}
    for i, row in enumerate(rows, 1):
        if not row or row[0].startswith("#") or (i == 1 and [c.strip().lower() for c in row] == ["folder", "class"]):
            continue
        if len(row) != 2:
            raise ConfigError(f"mapping file {path} line {i} has {len(row)} fields", "write folder,class on each line")
        out[row[0].strip()] = row[1].strip()
    return out


def folder_items(folder: str | Path, labels: dict[str, str], mapping: dict[str, str] | None = None,
                 test_fraction: float = 0.5) -> list[RealItem]:
    """The images of a folder source for the experiment's classes.

    ``labels``: class label → name used in prompts. Raises when the folder is missing, when the
    mapping names an unknown class, or when no folder matches any class.
    """
    root = Path(folder)
    if not root.is_dir():
        raise ConfigError(f"real image folder {root} does not exist", "give a folder with one sub-folder per class")
    mapping = mapping or {}
    by_name: dict[str, str] = {}
    for label, name in labels.items():
        by_name.setdefault(normalise_name(name), label)
        by_name[normalise_name(label)] = label
    items: list[RealItem] = []
    for sub in sorted(p for p in root.iterdir() if p.is_dir()):
        if sub.name in mapping:
            label = mapping[sub.name]
            if label not in labels:
                raise ConfigError(f"mapping gives folder {sub.name!r} the class {label!r}, which the experiment does not have",
                                  "map it to one of the experiment's classes")
        else:
            label = by_name.get(normalise_name(sub.name))
        if label is None:
            continue
        for f in sorted(sub.rglob("*")):
            if f.is_file() and is_image_file(f) and not any(part.startswith(".") for part in f.relative_to(sub).parts):
                rel = f.relative_to(root).as_posix()
                items.append(RealItem(label, str(f.resolve()), split_of(rel, test_fraction)))
    if not items:
        raise ConfigError(f"no class folder in {root} matches a class of the experiment",
                          "name the folders after the classes, or give a mapping file (folder,class lines)")
    return items
