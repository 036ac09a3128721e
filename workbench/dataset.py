"""The synthetic set as a dataset any training code reads (``synthdiv export STORE --dataset``).

Layouts (``OUT`` is the folder asked for; ``CLASS`` a file-name-safe form of the class name,
listed with the name in ``synthdiv-dataset.json``):

- ``imagefolder``: ``OUT/CLASS/FILE.png``: torchvision's ``ImageFolder`` (and timm's) reads it,
  and numbers the classes as the experiment does (``CLASS`` starts with the class's index);
  ``OUT/metadata.jsonl`` beside the class folders holds each image's provenance;
- ``hf``: a Hugging Face dataset as parquet, ``OUT/data/train-00000-of-0000N.parquet`` (the PNG
  bytes in ``image``; ``label`` a ``ClassLabel`` whose names are the experiment's classes in its
  order; per image ``class_name``, ``prompt``, ``template``, ``seed``, ``model``, ``clip_score``…,
  and ``file_name`` ``CLASS/FILE.png``), with the features in the files' schema and a dataset card
  ``OUT/README.md`` that declares them: ``datasets.load_dataset(OUT)`` (or ``"parquet",
  data_dir=OUT``) gives ``label`` as ``ClassLabel``, so ``train_test_split(stratify_by_column=
  "label")`` works; pandas, polars and DuckDB read the files too. ``shard_size`` images a file
  (default :data:`HF_SHARD_SIZE`). Needs the ``hf`` extra;
- ``webdataset``: tar shards ``OUT/synthdiv-000000.tar``… of ``KEY.png``, ``KEY.cls`` (the class's
  index) and ``KEY.json`` (the provenance), ``shard_size`` images each, the samples in a seeded
  shuffled order (``shuffle_seed``, recorded in the manifest: a shuffle buffer then sees every
  class from the first shard on, not one class at a time); ``OUT/metadata.jsonl`` lists every key
  with its shard, in the shards' order.

Filters, applied in this order, each counted in the manifest: ``min_clip_score`` (the cosine
between the image's CLIP embedding and its own prompt's), ``only_adherent`` (CLIP zero-shot reads
the image as its own class: the filter of He et al. 2023, "Is synthetic data from generative
models ready for image recognition?"), ``per_class`` (the first N of each class, taken from its templates in turn, each template's
images in seed order; with ``select``, the N a curation selection keeps: ``random``, ``clip``,
``adherent`` — read as the class by the real-trained judge — or ``diverse``, greedy k-centre in the
CLIP embedding space, as :mod:`workbench.curate` chooses for ``synthdiv repair``). A score filter
drops images not yet embedded.

Files are hard-linked from the store where the file system allows (``files="link"``, else they
are copied) or copied (``files="copy"``); never moved: the store keeps every image. The export is
written into a hidden folder beside ``OUT`` and renamed into place only after every file has been
read back and matched against the SHA-256 recorded when it was made, and the counts checked; the
manifest ``synthdiv-dataset.json`` records the filter, the counts and what was dropped and why.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import tarfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from store import experiments, images
from synthdiv.errors import SynthdivError
from workbench.results import Results

LAYOUTS = ("imagefolder", "hf", "webdataset")
FILES = ("link", "copy")
MANIFEST = "synthdiv-dataset.json"
SHARD_SIZE = 10_000  # images per webdataset shard (a few hundred MB of 512-px PNGs)
HF_SHARD_SIZE = 1_000  # images per parquet file (about 400 MB of 512-px PNGs)
SHUFFLE_SEED = 0  # the webdataset samples' order

Progress = Callable[[str, int, int], None]  # (what, done, total)


@dataclass(frozen=True)
class DatasetFilter:
    """Which synthetic images go into the dataset (see the module's docstring)."""

    min_clip_score: float | None = None
    only_adherent: bool = False
    per_class: int | None = None
    select: str | None = None  # a synthdiv.curation selection of per_class images per class

    @property
    def scored(self) -> bool:
        return self.min_clip_score is not None or self.only_adherent


_UNSAFE = re.compile(r'[\x00-\x1f\x7f/\\<>:"|?*]')


def folder_names(names: list[str]) -> list[str]:
    """A folder name for each class: its index (zero-padded, so that sorting the folders, as
    torchvision's ``ImageFolder`` does to number them, gives the experiment's class order), then
    its name made safe on every file system (no separators, control characters or characters
    Windows refuses; at most 100 characters): ``0-zero``, ``1-one``… or ``0207-Golden Retriever``."""
    width = len(str(max(len(names) - 1, 0)))
    return [f"{i:0{width}d}-" + (_UNSAFE.sub("_", name).strip(" .")[:100] or "class") for i, name in enumerate(names)]


def over_templates(rows: list[dict]) -> list[dict]:
    """Rows in class order and, within a class, round-robin over its templates (each template's
    images in seed order): the first N of a class cover its templates evenly."""
    out: list[dict] = []
    by_class: dict[int, dict[int, list[dict]]] = {}
    for r in rows:
        by_class.setdefault(r["class_id"], {}).setdefault(r["template_id"], []).append(r)
    for templates in by_class.values():
        lists = list(templates.values())
        for i in range(max(len(x) for x in lists)):
            out += [x[i] for x in lists if i < len(x)]
    return out


def select(res: Results, flt: DatasetFilter) -> tuple[list[dict], dict[str, int], dict[int, dict]]:
    """The images that pass ``flt`` (store rows, in class, seed, template order), how many each
    filter dropped, and the CLIP scores of the embedded images (image id → :meth:`Results.image_scores`)."""
    rows = over_templates(images.every(res.st, res.exp["id"]))
    scores = res.image_scores()
    dropped = {"not_embedded": 0, "below_min_clip_score": 0, "not_adherent": 0, "over_per_class": 0,
               **({"not_selected": 0} if flt.select else {})}
    kept, per_class = [], Counter()
    for r in rows:
        s = scores.get(r["id"])
        if flt.scored and s is None:
            dropped["not_embedded"] += 1
            continue
        if flt.min_clip_score is not None and s["clip_score"] < flt.min_clip_score:
            dropped["below_min_clip_score"] += 1
            continue
        if flt.only_adherent and not s["adherent"]:
            dropped["not_adherent"] += 1
            continue
        if flt.select is None and flt.per_class is not None and per_class[r["class_id"]] >= flt.per_class:
            dropped["over_per_class"] += 1
            continue
        per_class[r["class_id"]] += 1
        kept.append(r)
    if flt.select:
        kept = _curated(res, kept, flt, dropped)
    return kept, dropped, scores


def _curated(res: Results, rows: list[dict], flt: DatasetFilter, dropped: dict[str, int]) -> list[dict]:
    """Per class, the ``per_class`` of ``rows`` that ``flt.select`` keeps (:func:`workbench.curate.kept`),
    in the order chosen; the judge is the experiment's own real-trained run, or its base's for an
    experiment ``synthdiv repair`` made."""
    from workbench.config import from_experiment
    from workbench.curate import kept

    cfg = from_experiment(res.exp)
    judge = experiments.get(res.st, cfg.repair_of) if cfg.repair_of else res.exp
    judge_names = experiments.class_names(res.st, judge["id"])
    label_of = {c["id"]: c["name"] for c in experiments.classes_of(res.st, res.exp["id"])}
    by_class: dict[int, list[dict]] = {}
    for r in rows:
        by_class.setdefault(r["class_id"], []).append(r)
    out = []
    for class_id, of_class in by_class.items():
        n = min(flt.per_class, len(of_class))
        dropped["not_selected"] += len(of_class) - n
        out += kept(res.st, res.exp["id"], of_class, flt.select, n, label_index=judge_names.index(label_of[class_id]),
                    judge_experiment=judge["id"], model=res.model)
    return out


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _place(src: Path, dst: Path, files: str) -> str:
    """Link (where allowed) or copy ``src`` to ``dst``; which was done."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    if files == "link":
        try:
            os.link(src, dst)
            return "linked"
        except OSError:
            pass  # another file system, or links not allowed: a copy
    shutil.copyfile(src, dst)
    return "copied"


def _record(r: dict, label: int, scores: dict[int, dict]) -> dict:
    """One image's line of ``metadata.jsonl``: its label and everything that reproduces it."""
    s = scores.get(r["id"], {})
    return {
        "label": label, "class_name": r["class_name"], "prompt": r["prompt"], "negative_prompt": r["negative_prompt"] or "",
        "template": r["template"], "seed": r["seed"], "model": r["model_id"], "model_revision": r["model_revision"] or "",
        "model_hash": r["model_hash"] or "", "scheduler": r["scheduler"] or "", "steps": r["steps"],
        "guidance": r["guidance"], "width": r["width"], "height": r["height"],
        "clip_score": s.get("clip_score"), "clip_zero_shot": s.get("zero_shot"), "clip_adherent": s.get("adherent"),
        "sha256": r["sha256"], "store_path": r["path"],
    }


def export_dataset(res: Results, layout: str, out: Path, flt: DatasetFilter = DatasetFilter(), files: str = "link",
                   shard_size: int | None = None, progress: Progress | None = None,
                   shuffle_seed: int = SHUFFLE_SEED) -> dict:
    """Write the experiment's synthetic images as a ``layout`` dataset into the new folder ``out``
    (see the module's docstring); return the manifest (also written as ``out/synthdiv-dataset.json``)."""
    if layout not in LAYOUTS:
        raise SynthdivError(f"unknown dataset layout {layout!r}", f"use one of {', '.join(LAYOUTS)}")
    if files not in FILES:
        raise SynthdivError(f"unknown --files {files!r}", "use link (hard links where possible) or copy")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise SynthdivError(f"--out {out} already holds files", "export a dataset into a new or empty folder")
    step = progress or (lambda what, i, n: None)
    if layout == "hf":
        _need_datasets()
    shard_size = shard_size or (HF_SHARD_SIZE if layout == "hf" else SHARD_SIZE)
    chosen, dropped, scores = select(res, flt)
    if not chosen:
        raise SynthdivError(f"no image of experiment {res.exp['name']!r} passes the filter "
                            f"({', '.join(f'{k} {v}' for k, v in dropped.items() if v) or 'it has no images yet'})",
                            "relax the filter (--min-clip-score, --only-adherent, --per-class) or make more images")
    names = experiments.class_names(res.st, res.exp["id"])
    index = experiments.class_index(res.st, res.exp["id"])
    folders = folder_names(names)
    if layout == "webdataset":
        chosen = shuffled(chosen, shuffle_seed)
    work = out.parent / f".{out.name}.partial-{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    try:
        how = (_write_hf(res, work, chosen, index, names, folders, scores, shard_size, step) if layout == "hf"
               else _write(res, layout, work, chosen, index, folders, scores, files, shard_size, step))
        checked = _check(layout, work, chosen, index, folders, step)
        manifest = {
            "layout": layout, "experiment": res.exp["name"], "store": str(res.st.root), "embedding_model": res.model,
            "filter": asdict(flt), "files": how, "count": len(chosen), "dropped": dropped,
            "per_class": {names[i]: n for i, n in sorted(checked.items())},
            "classes": [{"label": i, "name": n, "folder": f} for i, (n, f) in enumerate(zip(names, folders, strict=True))],
            "checked": "every image read back and matched against its recorded sha256; counts per class matched",
            **({"order": "shuffled", "shuffle_seed": shuffle_seed} if layout == "webdataset" else {}),
            **({"shard_size": shard_size} if layout != "imagefolder" else {}),
            "written_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "synthdiv_version": __import__("synthdiv").__version__,
        }
        (work / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        if out.exists():
            out.rmdir()  # empty (checked above)
        work.rename(out)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return manifest


def shuffled(rows: list[dict], seed: int) -> list[dict]:
    """``rows`` in a random order drawn from ``seed`` (the same seed, the same order)."""
    import random

    out = list(rows)
    random.Random(seed).shuffle(out)
    return out


def _need_datasets():
    try:
        import datasets
    except ImportError as exc:
        raise SynthdivError("the hf layout is written with the datasets library, which is not installed",
                            'install the hf extra: pip install "synthdiv[hf]"') from exc
    return datasets


def hf_features(names: list[str]):
    """The dataset's ``datasets.Features``: the image, ``label`` as a ``ClassLabel`` of ``names``,
    and every provenance column of :func:`_record`."""
    d = _need_datasets()
    text, integer, real = d.Value("string"), d.Value("int64"), d.Value("float64")
    return d.Features({
        "image": d.Image(), "label": d.ClassLabel(names=names), "file_name": text, "class_name": text,
        "prompt": text, "negative_prompt": text, "template": text, "seed": integer, "model": text,
        "model_revision": text, "model_hash": text, "scheduler": text, "steps": integer, "guidance": real,
        "width": integer, "height": integer, "clip_score": real, "clip_zero_shot": text,
        "clip_adherent": d.Value("bool"), "sha256": text, "store_path": text})


def _card(names: list[str], count: int, files: int, experiment: str) -> str:
    """The dataset card ``README.md``: YAML that names the parquet files as the train split
    (``datasets`` reads it, and the Hub shows it; the features are in the files' own schema), then
    a line on what the dataset is."""
    import yaml  # a dependency of datasets

    info = {"configs": [{"config_name": "default", "data_files": [{"split": "train", "path": "data/train-*.parquet"}]}],
            "license": "other", "tags": ["synthetic", "synthdiv"],
            "dataset_info": {"splits": [{"name": "train", "num_examples": count}]}}
    head = yaml.safe_dump(info, sort_keys=False, allow_unicode=True)
    return (f"---\n{head}---\n\n# Synthetic images of the synthdiv experiment {experiment!r}\n\n{count} images of"
            f" {len(names)} classes in {files} parquet files (data/). `label` is a ClassLabel in the experiment's class"
            " order; each image's prompt, template, seed, model and CLIP score are columns beside it. What was kept and"
            " why: synthdiv-dataset.json. Load with `datasets.load_dataset(\"<this folder>\")`.\n")


def _write_hf(res: Results, work: Path, chosen: list[dict], index: dict[int, int], names: list[str],
              folders: list[str], scores: dict[int, dict], shard_size: int, step: Progress) -> dict[str, int]:
    """Write the parquet files (``shard_size`` images each) and the dataset card."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    features = hf_features(names)
    schema = features.arrow_schema
    n = len(chosen)
    files = max(1, -(-n // shard_size))
    (work / "data").mkdir()
    for k, start in enumerate(range(0, n, shard_size)):
        rows = []
        for i, r in enumerate(chosen[start:start + shard_size], start):
            name = _member("hf", r, index, folders)
            rows.append({"image": {"bytes": (res.st.root / r["path"]).read_bytes(), "path": name},
                         "file_name": name, **_record(r, index[r["class_id"]], scores)})
            step("writing", i + 1, n)
        pq.write_table(pa.Table.from_pylist(rows, schema=schema), work / "data" / f"train-{k:05d}-of-{files:05d}.parquet")
    (work / "README.md").write_text(_card(names, n, files, res.exp["name"]), encoding="utf-8")
    return {"copied": n}


def _member(layout: str, r: dict, index: dict[int, int], folders: list[str]) -> str:
    """Where image ``r`` goes: its webdataset key, or its path under the class folders."""
    return _key(r) if layout == "webdataset" else f"{folders[index[r['class_id']]]}/{Path(r['path']).name}"


def _key(r: dict) -> str:
    """A webdataset key: unique per image, without dots (webdataset splits a member's name at the first)."""
    return f"c{r['class_id']:05d}-t{r['template_id']:05d}-s{r['seed']}"


def _write(res: Results, layout: str, work: Path, chosen: list[dict], index: dict[int, int], folders: list[str],
           scores: dict[int, dict], files: str, shard_size: int, step: Progress) -> dict[str, int]:
    """Write the images and ``metadata.jsonl``; how many files were linked and copied."""
    how: Counter = Counter()
    n = len(chosen)
    if layout == "webdataset":
        lines = []
        for start in range(0, n, shard_size):
            shard = f"synthdiv-{start // shard_size:06d}.tar"
            with tarfile.open(work / shard, "w", format=tarfile.PAX_FORMAT) as tar:
                for i, r in enumerate(chosen[start:start + shard_size], start):
                    label = index[r["class_id"]]
                    record = _record(r, label, scores)
                    key = _key(r)
                    for suffix, data in ((".png", (res.st.root / r["path"]).read_bytes()),
                                         (".cls", str(label).encode()), (".json", json.dumps(record).encode())):
                        info = tarfile.TarInfo(key + suffix)
                        info.size, info.mtime, info.mode = len(data), int(r["created_at"] or 0), 0o644
                        tar.addfile(info, io.BytesIO(data))
                    how["copied"] += 1
                    lines.append({"key": key, "shard": shard, **record})
                    step("writing", i + 1, n)
        _jsonl(work / "metadata.jsonl", lines)
        return dict(how)
    base = work
    lines = []
    for i, r in enumerate(chosen):
        label = index[r["class_id"]]
        name = _member(layout, r, index, folders)
        how[_place(res.st.root / r["path"], base / name, files)] += 1
        lines.append({"file_name": name, **_record(r, label, scores)})
        step("writing", i + 1, n)
    _jsonl(base / "metadata.jsonl", lines)
    return dict(how)


def _jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def _check(layout: str, work: Path, chosen: list[dict], index: dict[int, int], folders: list[str],
           step: Progress) -> dict[int, int]:
    """Read every exported image back and match it against the sha256 recorded in the store;
    count the images per class from what was written. A mismatch (a store file changed since it
    was made) stops the export, naming the file."""
    want = {_member(layout, r, index, folders): r for r in chosen}
    found: dict[str, str] = {}
    if layout == "webdataset":
        for shard in sorted(work.glob("synthdiv-*.tar")):
            with tarfile.open(shard) as tar:
                for member in tar:
                    if member.name.endswith(".png"):
                        found[member.name[:-4]] = hashlib.sha256(tar.extractfile(member).read()).hexdigest()
                        step("checking", len(found), len(want))
    elif layout == "hf":
        import pyarrow.parquet as pq

        for path in sorted((work / "data").glob("*.parquet")):
            for row in pq.read_table(path, columns=["image"]).column("image").to_pylist():
                found[row["path"]] = hashlib.sha256(row["bytes"]).hexdigest()
                step("checking", len(found), len(want))
    else:
        base = work
        for folder in folders:
            for path in sorted((base / folder).glob("*.png")) if (base / folder).is_dir() else []:
                found[f"{folder}/{path.name}"] = _sha256(path)
                step("checking", len(found), len(want))
    if set(found) != set(want):
        missing, extra = sorted(set(want) - set(found)), sorted(set(found) - set(want))
        raise SynthdivError(f"the exported dataset does not hold the images chosen ({len(missing)} missing, "
                            f"{len(extra)} unexpected, e.g. {(missing or extra)[0]})", "export again into a new folder")
    for name, digest in found.items():
        r = want[name]
        if digest != r["sha256"]:
            raise SynthdivError(f"{r['path']} in the store no longer matches the SHA-256 recorded when it was made",
                                "find and re-make changed images with: synthdiv check STORE --fix, then synthdiv run")
    return dict(Counter(index[r["class_id"]] for r in want.values()))
