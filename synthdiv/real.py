"""Real image sources: a folder of class folders, or the bundled real digits, behind one protocol.

A source (:class:`RealSource`) checks itself against the experiment's classes when the config is
read (bad input stops before anything is written) and lists its images, each with its class and
split; :func:`real_source` picks the source a config's ``[real] source`` names, from
:data:`SOURCES` or else as a folder. Nothing else branches on the source's name.

A folder source holds one sub-folder per class. Folder names match class labels (or the names
used in prompts) ignoring case and treating ``_`` and ``-`` as spaces, or are ImageNet WordNet ids
(``n01440764``: the ImageNet class of that id, :mod:`synthdiv.wordnet`); a mapping file (CSV lines
``folder,class``) names the class of any folder that does not match, and may list classes the
experiment does not use. Folders of classes outside the experiment are ignored. Each image is put
in the train or the test split by a hash of its path inside the source, so adding files never
moves the others — except in an ImageNet root with ``train/`` and ``val/``, whose val images are
the test split. Every extension PIL opens counts
(``.jfif`` too); hidden files and folders (macOS's ``._name.jpg``, ``.DS_Store``) do not.
"""

from __future__ import annotations

import csv
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Protocol

from synthdiv.decode import is_image_file
from synthdiv.errors import ConfigError
from synthdiv.wordnet import WNID, imagenet_label_of

@dataclass(frozen=True)
class RealItem:
    label: str  # class label in the experiment
    path: str  # absolute path of the file; "" for an image the source holds as pixels
    split: str  # "train" or "test"
    pixels: Any = None  # (h, w) grayscale in [0, 1], for a source without files (the digits)
    name: str = ""  # for such an image: where the store writes it, relative to its real/ folder
    meta: dict = field(default_factory=dict)  # for such an image: what its PNG records of its origin
    load: Callable[[], bytes] | None = None  # for an image the source holds encoded: its file's bytes, read late


class RealSource(Protocol):
    """A real image set: ``spec`` as the config stores it, the ``splits`` it gives."""

    spec: str
    mapping: str
    splits: tuple[str, ...]

    def check(self, labels: dict[str, str], where: str = "") -> None:
        """Raise ConfigError when the source cannot serve the experiment's classes (label → prompt name)."""

    def items(self, labels: dict[str, str]) -> list[RealItem]:
        """The source's images of the experiment's classes."""


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


class ClassMatcher:
    """The experiment's class a folder or label name stands for (None: none of its classes): by the
    mapping, by name (ignoring case, ``_`` and ``-``; a class's label or its prompt name) or, for a
    WordNet id (``n01440764``), by ImageNet's class of that id. Mapping lines of other classes give
    None."""

    def __init__(self, labels: dict[str, str], mapping: dict[str, str]) -> None:
        self.labels, self.mapping = labels, mapping
        self.by_name: dict[str, str] = {}
        for label, name in labels.items():
            self.by_name.setdefault(normalise_name(name), label)
            self.by_name[normalise_name(label)] = label

    def __call__(self, name: str) -> str | None:
        if name in self.mapping:
            return self.mapping[name] if self.mapping[name] in self.labels else None
        label = self.by_name.get(normalise_name(name))
        if label is None and WNID.fullmatch(name):
            label = imagenet_label_of().get(name)
            label = label if label in self.labels else None
        return label


def _class_folders(root: Path, labels: dict[str, str], mapping: dict[str, str]) -> list[tuple[Path, str]]:
    """The sub-folders of ``root`` that hold one of the experiment's classes, with its label
    (:class:`ClassMatcher`). Mapping lines of other classes are left out (:func:`check_mapping`)."""
    out, match = [], ClassMatcher(labels, mapping)
    for sub in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        label = match(sub.name)
        if label is not None:
            out.append((sub, label))
    return out


def _files(folder: Path):
    """The image files under ``folder``, hidden files and folders left out, in a stable order."""
    for f in sorted(folder.rglob("*")):
        if f.is_file() and is_image_file(f) and not any(part.startswith(".") for part in f.relative_to(folder).parts):
            yield f


def check_mapping(mapping: dict[str, str], labels: dict[str, str], known: tuple[str, ...] | None) -> None:
    """Refuse a mapping line whose class is neither the experiment's nor one of ``known`` (the
    class set's labels): a typo, not a class the experiment leaves out. ``known`` None: no check
    (the config was checked already)."""
    if known is None:
        return
    for folder, label in mapping.items():
        if label not in labels and label not in known:
            raise ConfigError(f"mapping gives folder {folder!r} the class {label!r}, which the experiment does not have"
                              + (" and its class set does not know" if known else ""),
                              "map it to one of the class set's classes (synthdiv classes SET lists them)")


def dataset_kind(root: Path) -> str:
    """What dataset format ``root`` holds instead of class folders ("" if none it knows)."""
    if (root / "dataset_dict.json").is_file() or (root / "state.json").is_file() or (root / "dataset_info.json").is_file():
        return "a Hugging Face datasets folder (save_to_disk)"
    if next(root.glob("*.parquet"), None) is not None or next(root.glob("*/*.parquet"), None) is not None:
        return "parquet files"
    if next(root.glob("*.tar"), None) is not None:
        return "tar shards (webdataset)"
    return ""


def has_split_folders(root: Path) -> bool:
    """Whether ``root`` is laid out as ImageNet is: ``train/`` and ``val/`` folders of class folders."""
    return (root / "train").is_dir() and (root / "val").is_dir()


def folder_items(folder: str | Path, labels: dict[str, str], mapping: dict[str, str] | None = None,
                 test_fraction: float = 0.5, known: tuple[str, ...] | None = ()) -> list[RealItem]:
    """The images of a folder source for the experiment's classes.

    ``labels``: class label → name used in prompts. A folder with ``train/`` and ``val/`` (an
    ImageNet root, e.g. ``ILSVRC2012``) gives its train images as the train split and its val
    images as the test split (``test_fraction`` is not used); any other folder is split by a hash
    of each file's path. ``known``: the class set's labels (a mapping may name any of them; the
    default, none: only the experiment's; None: no check). Raises when the folder is missing, a
    mapping line names an unknown class, or no folder matches any class.
    """
    root = Path(folder)
    if not root.is_dir():
        raise ConfigError(f"real image folder {root} does not exist", "give a folder with one sub-folder per class")
    mapping = mapping or {}
    check_mapping(mapping, labels, known)
    items: list[RealItem] = []
    if has_split_folders(root) and not _class_folders(root, labels, mapping):
        for part, split in (("train", "train"), ("val", "test")):
            for sub, label in _class_folders(root / part, labels, mapping):
                items += [RealItem(label, str(f.resolve()), split) for f in _files(sub)]
    else:
        for sub, label in _class_folders(root, labels, mapping):
            items += [RealItem(label, str(f.resolve()), split_of(f.relative_to(root).as_posix(), test_fraction))
                      for f in _files(sub)]
    kind = dataset_kind(root) if not items else ""
    if kind:
        raise ConfigError(f"real image folder {root} holds {kind}, not class folders",
                          f'name it as a dataset: [real] source = "{"wds" if "webdataset" in kind else "hf"}:'
                          f'{root}" (see docs/config.md)')
    if not items:
        raise ConfigError(f"no class folder in {root} matches a class of the experiment",
                          "name the folders after the classes (or their WordNet ids, for ImageNet classes), or give"
                          " a mapping file (folder,class lines)")
    return items


class DigitsSource:
    """scikit-learn's real digits with their fixed split (:mod:`synthdiv.digits`), upsampled to
    16×16; ``digits-test`` gives the test split only. The store writes them as PNG files."""

    def __init__(self, spec: str, splits: tuple[str, ...]) -> None:
        self.spec, self.mapping, self.splits = spec, "", splits

    def check(self, labels: dict[str, str], where: str = "") -> None:
        from synthdiv.classes import DIGITS

        missing = [label for label in labels if label not in DIGITS]
        if missing:
            raise ConfigError(f"{where + ': ' if where else ''}real.source {self.spec} has no images of {missing[0]!r}",
                              "use the digits class set with it")

    def items(self, labels: dict[str, str]) -> list[RealItem]:
        from synthdiv import digits

        data = digits.split()
        sets = {"test": (data.test_x, data.test_y, data.test_index),
                "train": (data.train_x, data.train_y, data.train_index)}
        out = []
        for split in self.splits:
            xs, ys, index = sets[split]
            keep = [k for k, y in enumerate(ys) if digits.class_name(y) in labels]
            for k, pixels in zip(keep, digits.upsample(xs[keep]), strict=True):
                name, i = digits.class_name(ys[k]), int(index[k])
                out.append(RealItem(name, "", split, pixels, f"digits/{split}/{name}/{i:04d}.png",
                                    {"synthdiv:source": "sklearn load_digits", "synthdiv:index": i,
                                     "synthdiv:class": name}))
        return out


class FolderSource:
    """A folder of class folders (:func:`folder_items`), files recorded where they lie."""

    splits = ("train", "test")

    def __init__(self, spec: str, mapping: str = "", test_fraction: float = 0.5, base_dir: Path | None = None,
                 known: tuple[str, ...] | None = None) -> None:
        def resolved(path: str) -> str:
            p = Path(path).expanduser()
            return str((p if p.is_absolute() or base_dir is None else Path(base_dir) / p).resolve())

        self.spec = resolved(spec)
        self.mapping = resolved(mapping) if mapping else ""
        self.test_fraction, self.known = test_fraction, known

    def items(self, labels: dict[str, str]) -> list[RealItem]:
        return folder_items(self.spec, labels, read_mapping(self.mapping) if self.mapping else None,
                            self.test_fraction, self.known)

    def check(self, labels: dict[str, str], where: str = "") -> None:
        self.items(labels)  # raises naming the folder, the mapping or the missing classes


# Sources named by a word; sources named by a prefix (``hf:PATH``, ``wds:PATH``); any other
# ``[real] source`` is a folder.
SOURCES: dict[str, Callable[[], RealSource]] = {
    "digits": lambda: DigitsSource("digits", ("test", "train")),
    "digits-test": lambda: DigitsSource("digits-test", ("test",)),
}


def _hf(*args, **kwargs) -> RealSource:
    from synthdiv.real_hf import HFDatasetSource

    return HFDatasetSource(*args, **kwargs)


def _wds(*args, **kwargs) -> RealSource:
    from synthdiv.real_wds import WebDatasetSource

    return WebDatasetSource(*args, **kwargs)


PREFIXED: dict[str, Callable[..., RealSource]] = {"hf:": _hf, "wds:": _wds}


def real_source(spec: str, mapping: str = "", test_fraction: float = 0.5,
                base_dir: str | Path | None = None, known: tuple[str, ...] | None = None,
                split: str = "", label_column: str = "") -> RealSource | None:
    """The source ``[real] source`` names (None for ""): one of :data:`SOURCES`, a prefixed one
    (:data:`PREFIXED`: a Hugging Face dataset, webdataset shards), else a folder (relative to
    ``base_dir``), with its ``mapping`` file and ``test_fraction``; ``known``: the class set's
    labels, which a mapping may name besides the experiment's classes. ``split`` and
    ``label_column`` are for the prefixed sources."""
    spec = spec.strip()
    if not spec:
        return None
    if spec in SOURCES:
        return SOURCES[spec]()
    base = Path(base_dir) if base_dir is not None else None
    for prefix, make in PREFIXED.items():
        if spec.startswith(prefix):
            return make(spec, mapping, test_fraction, base, known, split=split, label_column=label_column)
    if split or label_column:
        raise ConfigError(f"real.split and real.label_column are for a dataset source (hf:PATH, wds:PATH), and"
                          f" real.source is {spec}", "remove them, or name the dataset as hf:PATH or wds:PATH")
    return FolderSource(spec, mapping, test_fraction, base, known)
