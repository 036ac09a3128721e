"""A Hugging Face ``datasets`` dataset as a real image source (``[real] source = "hf:PATH"``).

``PATH`` is a folder written by ``save_to_disk`` (a ``Dataset`` or a ``DatasetDict``), a
``.parquet`` file or a folder of them, or an image folder ``datasets`` reads as ``imagefolder``.
Nothing is downloaded: the path must be on this machine.

- **Images**: the first column of the ``Image`` feature. Their encoded bytes are copied into the
  store unchanged (``real/hf/DATASET/SPLIT/INDEX.EXT``; no re-encoding), except where a row
  names an existing file (an image folder), which is recorded where it lies.
- **Labels**: ``label_column`` (default ``label``). A ``ClassLabel`` column gives its own names; a
  string column is the names. Names match the experiment's classes as folder names do
  (ignoring case, ``_`` and ``-``; WordNet ids such as ``n01440764`` for ImageNet classes); a
  mapping file (``name,class`` lines, where the name may be a label's number) names the rest.
  Rows of other classes, or without a label (``-1``: ImageNet's unlabelled test split), are left out.
- **Splits**: ``split = ""`` (default) uses the dataset's ``train`` split as train and its
  ``validation`` (else ``test``) split as test; ``split = "NAME"`` reads that one split and
  divides it by ``test_fraction`` (by a hash of its row number); ``split = "A,B"`` reads A as
  train and B as test. A dataset of one split is divided like a single named split.

Needs the optional ``hf`` extra (``pip install "synthdiv[hf]"``: datasets, pyarrow).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from synthdiv.errors import ConfigError, MissingExtra, first_line_of
from synthdiv.real import ClassMatcher, RealItem, check_mapping, read_mapping, split_of

PREFIX = "hf:"
_MAGIC = ((b"\x89PNG", ".png"), (b"\xff\xd8\xff", ".jpg"), (b"GIF8", ".gif"), (b"BM", ".bmp"),
          (b"II*\x00", ".tif"), (b"MM\x00*", ".tif"))


def _datasets():
    try:
        import datasets
    except ImportError:
        raise MissingExtra("a Hugging Face dataset as real.source", "hf") from None
    datasets.disable_progress_bars()
    return datasets


def load(path: Path):
    """The dataset at ``path`` as ``{split: Dataset}``; a ``ConfigError`` naming it if it is none."""
    datasets = _datasets()
    if not path.exists():
        raise ConfigError(f"real.source hf:{path}: {path} does not exist",
                          "give a folder written by save_to_disk, parquet files, or an image folder")
    try:
        if path.is_dir() and ((path / "dataset_dict.json").is_file() or (path / "state.json").is_file()):
            ds = datasets.load_from_disk(str(path))
        elif path.suffix == ".parquet" or (path.is_dir() and any(path.rglob("*.parquet"))):
            files = [str(path)] if path.is_file() else sorted(str(p) for p in path.rglob("*.parquet"))
            ds = datasets.load_dataset("parquet", data_files=files)
        elif path.is_dir():
            ds = datasets.load_dataset("imagefolder", data_dir=str(path))
        else:
            raise ConfigError(f"real.source hf:{path} is a file that datasets does not read",
                              "give a save_to_disk folder, .parquet files or an image folder")
    except ConfigError:
        raise
    except Exception as exc:  # noqa: BLE001 - any failure to read becomes one message naming the path
        first = first_line_of(exc)
        raise ConfigError(f"real.source hf:{path} cannot be read as a Hugging Face dataset ({first[:200]})",
                          "give a folder written by save_to_disk, parquet files, or an image folder") from None
    return dict(ds) if isinstance(ds, datasets.DatasetDict) else {"train": ds}


def image_column(ds) -> str:
    from datasets import Image

    for name, feature in ds.features.items():
        if isinstance(feature, Image):
            return name
    raise ConfigError(f"the dataset has no image column (columns: {', '.join(ds.column_names)})",
                      "give a dataset with a column of the Image feature")


def _suffix(path: str | None, head: bytes | None) -> str:
    if path and Path(path).suffix:
        return Path(path).suffix.lower()
    for magic, ext in _MAGIC:
        if head and head.startswith(magic):
            return ext
    if head and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return ".webp"
    return ".img"


class HFDatasetSource:
    """A Hugging Face dataset on this machine; see the module's docstring."""

    splits = ("train", "test")

    def __init__(self, spec: str, mapping: str = "", test_fraction: float = 0.5, base_dir: Path | None = None,
                 known: tuple[str, ...] | None = None, split: str = "", label_column: str = "") -> None:
        def resolved(p: str) -> Path:
            q = Path(p).expanduser()
            return (q if q.is_absolute() or base_dir is None else Path(base_dir) / q).resolve()

        self.path = resolved(spec[len(PREFIX):].strip())
        self.spec = PREFIX + str(self.path)
        self.mapping = str(resolved(mapping)) if mapping else ""
        self.test_fraction, self.known = test_fraction, known
        self.split, self.label_column = split.strip(), label_column.strip() or "label"
        self._loaded: dict[str, Any] | None = None

    def _splits(self) -> list[tuple[str, str | None]]:
        """(dataset split, synthdiv split or None: divided by test_fraction)."""
        have = self._data()
        names = [s.strip() for s in self.split.split(",")] if self.split else []
        for name in names:
            if name not in have:
                raise ConfigError(f"real.split names {name!r}, which {self.spec} does not have (it has "
                                  f"{', '.join(have)})", "name one of its splits, or leave real.split empty")
        if len(names) > 2:
            raise ConfigError(f"real.split is {self.split!r}", 'give one split, or two: "TRAIN,TEST"')
        if len(names) == 2:
            return [(names[0], "train"), (names[1], "test")]
        if len(names) == 1:
            return [(names[0], None)]
        test = next((s for s in ("validation", "valid", "val", "test") if s in have), None)
        if "train" in have and test is not None:
            return [("train", "train"), (test, "test")]
        return [(name, None) for name in have]

    def _data(self) -> dict[str, Any]:
        if self._loaded is None:
            self._loaded = load(self.path)
        return self._loaded

    def _names(self, ds) -> list[str | None]:
        """Each row's label name (None: no label)."""
        from datasets import ClassLabel

        if self.label_column not in ds.column_names:
            raise ConfigError(f"{self.spec} has no label column {self.label_column!r} (columns: "
                              f"{', '.join(ds.column_names)})", "set real.label_column to the column holding the classes")
        feature = ds.features[self.label_column]
        values = ds.data.column(self.label_column).to_pylist()
        if isinstance(feature, ClassLabel):
            return [feature.names[v] if v is not None and 0 <= v < len(feature.names) else None for v in values]
        return [None if v is None or v == -1 else str(v) for v in values]

    def items(self, labels: dict[str, str]) -> list[RealItem]:
        import pyarrow.compute as pc

        mapping = read_mapping(self.mapping) if self.mapping else {}
        check_mapping(mapping, labels, self.known)
        match = ClassMatcher(labels, mapping)
        digest = hashlib.sha256(str(self.path).encode()).hexdigest()[:12]
        out: list[RealItem] = []
        for name, split in self._splits():
            ds = self._data()[name]
            column = image_column(ds)
            images = ds.data.column(column).combine_chunks()
            paths = images.field("path").to_pylist()
            heads = pc.binary_slice(images.field("bytes"), 0, 12).to_pylist()
            for i, label_name in enumerate(self._names(ds)):
                label = match(label_name) if label_name is not None else None
                if label is None:
                    continue
                where = split or split_of(f"{name}/{i}", self.test_fraction)
                if heads[i] is None and paths[i] and Path(paths[i]).is_file():  # an image folder's own file
                    out.append(RealItem(label, str(Path(paths[i]).resolve()), where))
                    continue
                out.append(RealItem(label, "", where, name=f"hf/{digest}/{name}/{i:08d}{_suffix(paths[i], heads[i])}",
                                    load=_Row(ds, column, i),
                                    meta={"synthdiv:source": self.spec, "synthdiv:split": name, "synthdiv:row": i}))
        if not out:
            raise ConfigError(f"no row of {self.spec} has a class of the experiment (by column {self.label_column!r})",
                              "check real.label_column, or give a mapping file of name,class lines")
        return out

    def check(self, labels: dict[str, str], where: str = "") -> None:
        self.items(labels)


class _Row:
    """Reads one row's encoded image bytes when the store writes it (not before: a dataset may be large)."""

    def __init__(self, ds, column: str, index: int) -> None:
        self.ds, self.column, self.index = ds, column, index

    def __call__(self) -> bytes:
        cell = self.ds.data.column(self.column)[self.index].as_py()
        if cell.get("bytes"):
            return cell["bytes"]
        return Path(cell["path"]).read_bytes()
