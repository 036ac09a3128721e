"""webdataset tar shards as a real image source (``[real] source = "wds:PATH"``).

``PATH`` is one ``.tar`` shard, a folder of them (searched recursively), or a brace pattern
(``shards/train-{000000..000146}.tar``). A sample is the set of members sharing a key (the
member's path up to the first dot of its file name), as webdataset groups them: its image is the
member with an image extension (``jpg``, ``png``, ``webp`` …), its label the member named by
``label_column`` (default ``cls``; ``txt``, ``json`` with a ``label`` field, any other name).

- **Labels**: a text label is a class name, matched as folder names are (ignoring case, ``_``
  and ``-``; WordNet ids); a number (webdataset's usual ``cls``) has no name, so the mapping
  file names its class (``number,class`` lines); labels of other classes are left out.
- **Splits**: ``split = ""`` divides the samples by ``test_fraction`` (a hash of the shard and
  key); ``split = "A,B"`` makes shards whose file name contains A the train split and B the test
  split (``"train,val"`` for ``imagenet-train-*.tar`` / ``imagenet-val-*.tar``).
- **Images** are copied into the store unchanged (``real/wds/DATASET/SHARD/KEY.EXT``); only the
  shards' tar headers are read when the config is checked, and each image's bytes when it is written.

Shards are plain tar files: they are read with the standard library (by member offsets), so no
extra is needed to read them; the ``webdataset`` package writes shards that read back the same
(the tests check it).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tarfile
from pathlib import Path

from synthdiv.decode import image_suffixes
from synthdiv.errors import ConfigError
from synthdiv.real import ClassMatcher, RealItem, check_mapping, read_mapping, split_of

PREFIX = "wds:"
_BRACE = re.compile(r"\{(\d+)\.\.(\d+)\}")


def _resolved(p: str, base_dir: Path | None) -> Path:
    q = Path(p).expanduser()
    return (q if q.is_absolute() or base_dir is None else Path(base_dir) / q).resolve()


def shards(pattern: str, base_dir: Path | None) -> list[Path]:
    """The shard files ``pattern`` names (a file, a folder, or a ``{000..009}`` brace range)."""
    match = _BRACE.search(pattern)
    if match:
        lo, hi, width = int(match[1]), int(match[2]), len(match[1])
        return [_resolved(pattern[:match.start()] + f"{i:0{width}d}" + pattern[match.end():], base_dir)
                for i in range(lo, hi + 1)]
    path = _resolved(pattern, base_dir)
    if path.is_dir():
        return sorted(p for p in path.rglob("*.tar") if not any(part.startswith(".") for part in p.relative_to(path).parts))
    return [path]


def _key_ext(name: str) -> tuple[str, str]:
    folder, _, base = name.rpartition("/")
    stem, dot, ext = base.partition(".")
    return (f"{folder}/{stem}" if folder else stem), ext.lower() if dot else ""


class WebDatasetSource:
    """webdataset shards on this machine; see the module's docstring."""

    splits = ("train", "test")

    def __init__(self, spec: str, mapping: str = "", test_fraction: float = 0.5, base_dir: Path | None = None,
                 known: tuple[str, ...] | None = None, split: str = "", label_column: str = "") -> None:
        self.pattern = spec[len(PREFIX):].strip()
        self.files = shards(self.pattern, base_dir)
        brace = _BRACE.search(self.pattern)
        if brace:  # the folder resolved, the file-name pattern kept
            folder, start = os.path.split(self.pattern[:brace.start()])
            self.spec = PREFIX + str(_resolved(folder or ".", base_dir) / (start + self.pattern[brace.start():]))
        else:
            self.spec = PREFIX + str(_resolved(self.pattern, base_dir))
        self.mapping = str(_resolved(mapping, base_dir)) if mapping else ""
        self.test_fraction, self.known = test_fraction, known
        self.split, self.label_column = split.strip(), label_column.strip() or "cls"

    def _split_of(self, shard: Path, key: str) -> str | None:
        """The split a sample gets (None: in neither named part)."""
        if not self.split:
            return split_of(f"{shard.name}/{key}", self.test_fraction)
        parts = [s.strip() for s in self.split.split(",")]
        if len(parts) != 2 or not all(parts):
            raise ConfigError(f"real.split is {self.split!r} for webdataset shards",
                              'give two parts of shard names: "TRAIN,TEST" (e.g. "train,val"), or leave it empty')
        if parts[1] in shard.name:
            return "test"
        return "train" if parts[0] in shard.name else None

    def _label(self, shard: Path, tar: tarfile.TarFile, member: tarfile.TarInfo) -> str:
        f = tar.extractfile(member)
        text = f.read(4096).decode("utf-8", "replace").strip() if f is not None else ""
        if member.name.endswith(".json"):
            try:
                value = json.loads(text).get("label", "")
            except (ValueError, AttributeError):
                raise ConfigError(f"{shard}: {member.name} is not a JSON object with a label",
                                  'write {"label": ...} in it, or set real.label_column') from None
            text = str(value)
        return text

    def items(self, labels: dict[str, str]) -> list[RealItem]:
        missing = [f for f in self.files if not f.is_file()]
        if not self.files or missing:
            raise ConfigError(f"real.source {self.spec}: no shard file {missing[0] if missing else self.pattern}",
                              "give a .tar shard, a folder of shards, or a pattern such as shards-{000..009}.tar")
        mapping = read_mapping(self.mapping) if self.mapping else {}
        check_mapping(mapping, labels, self.known)
        match = ClassMatcher(labels, mapping)
        digest = hashlib.sha256(self.spec.encode()).hexdigest()[:12]
        images = {s.lstrip(".") for s in image_suffixes()}
        out, numbers = [], set()
        for shard in self.files:
            try:
                with tarfile.open(shard) as tar:
                    out += self._shard_items(shard, tar, match, mapping, digest, images, numbers)
            except (OSError, tarfile.TarError) as exc:
                raise ConfigError(f"real.source {self.spec}: cannot read shard {shard} ({exc})",
                                  "check that it is a tar file (webdataset shards are)") from None
        if not out and numbers:
            raise ConfigError(f"the labels in {self.spec} are numbers ({', '.join(sorted(numbers, key=int)[:3])} …),"
                              " which name no class", "give real.mapping: a CSV of number,class lines")
        if not out:
            raise ConfigError(f"no sample of {self.spec} has a class of the experiment (label {self.label_column!r})",
                              "check real.label_column, or give a mapping file of name,class lines")
        return out

    def _shard_items(self, shard: Path, tar, match, mapping: dict, digest: str, images: set[str],
                     numbers: set[str]) -> list[RealItem]:
        """The samples of one open shard that have an image and a label of the experiment's classes;
        a numbered label without a mapping goes into ``numbers`` (to say so if nothing else matched)."""
        samples: dict[str, dict[str, tarfile.TarInfo]] = {}
        for member in tar:
            if member.isfile():
                key, ext = _key_ext(member.name)
                samples.setdefault(key, {})[ext] = member
        out = []
        for key, parts in samples.items():
            image = next((m for ext, m in parts.items() if ext in images), None)
            tag = next((m for ext, m in parts.items() if ext == self.label_column
                        or ext.split(".")[0] == self.label_column), None)
            if image is None or tag is None:
                continue
            name = self._label(shard, tar, tag)
            if name.lstrip("-").isdigit() and name not in mapping:
                numbers.add(name)
                continue
            label, where = match(name), self._split_of(shard, key)
            if label is None or where is None:
                continue
            ext = image.name.rpartition(".")[2].lower()
            out.append(RealItem(label, "", where, name=f"wds/{digest}/{shard.stem}/{key}.{ext}",
                                load=_Member(shard, image.offset_data, image.size),
                                meta={"synthdiv:source": self.spec, "synthdiv:shard": shard.name,
                                      "synthdiv:key": key}))
        return out

    def check(self, labels: dict[str, str], where: str = "") -> None:
        self.items(labels)


class _Member:
    """One image's bytes, read from its shard by offset when the store writes it."""

    def __init__(self, shard: Path, offset: int, size: int) -> None:
        self.shard, self.offset, self.size = shard, offset, size

    def __call__(self) -> bytes:
        with open(self.shard, "rb") as f:
            f.seek(self.offset)
            return f.read(self.size)
