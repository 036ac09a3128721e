"""``synthdiv export --dataset``: the synthetic images as an imagefolder, a Hugging Face imagefolder
and webdataset shards, read back by the readers training code uses; the filters on known CLIP
scores; files linked or copied, never moved, and checked."""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3

import numpy as np
import pytest
from PIL import Image

from tests.helpers import run_cli

pytestmark = pytest.mark.slow


def store_images(store) -> list[dict]:
    con = sqlite3.connect(store / "synthdiv.db")
    con.row_factory = sqlite3.Row
    rows = [dict(r) for r in con.execute(
        "select i.id, i.path, i.sha256, i.prompt, i.seed, i.prompt_id, c.position as label, i.class_name"
        " from images i join classes c on c.id = i.class_id order by i.id")]
    con.close()
    return rows


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def export(store, *args):
    out = run_cli("export", str(store), *args)
    assert out.returncode == 0, out.stdout + out.stderr
    return out


def test_imagefolder_reads_back_with_torchvision_in_class_order(digits_store, tmp_path):
    from torchvision.datasets import ImageFolder

    export(digits_store, "--dataset", "imagefolder", "--out", str(tmp_path / "ds"))
    want = {r["sha256"]: r for r in store_images(digits_store)}
    ds = ImageFolder(str(tmp_path / "ds"))
    assert len(ds) == len(want) == 60
    manifest = json.loads((tmp_path / "ds" / "synthdiv-dataset.json").read_text())
    assert ds.classes == [c["folder"] for c in manifest["classes"]]  # torchvision numbers them as the experiment does
    assert [c["name"] for c in manifest["classes"]][:3] == ["zero", "one", "two"]
    for path, label in ds.samples:
        r = want[digest(open(path, "rb").read())]
        assert label == r["label"]
    assert manifest["count"] == 60 and manifest["files"] == {"linked": 60}
    assert all((digits_store / r["path"]).is_file() for r in want.values())  # linked, not moved


def hf_rows(folder) -> list[dict]:
    """The rows of an exported hf dataset's parquet files, without the image bytes."""
    import pyarrow.parquet as pq

    return [r for p in sorted((folder / "data").glob("*.parquet"))
            for r in pq.read_table(p).drop_columns(["image"]).to_pylist()]


def test_hf_dataset_loads_with_class_labels_and_splits_stratified(digits_store, tmp_path):
    import datasets

    export(digits_store, "--dataset", "hf", "--out", str(tmp_path / "hf"), "--shard-size", "25")
    assert len(list((tmp_path / "hf" / "data").glob("train-*-of-00003.parquet"))) == 3  # 60 images, 25 a file
    ds = datasets.load_dataset(str(tmp_path / "hf"))["train"]
    label = ds.features["label"]
    assert isinstance(label, datasets.ClassLabel)
    assert label.names == ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    split = ds.train_test_split(test_size=0.5, stratify_by_column="label", seed=0)
    assert sorted(split["test"]["label"]) == sorted(split["train"]["label"])  # 3 of each class on each side
    rows = {(r["prompt"], r["seed"]): r for r in store_images(digits_store)}
    assert ds.num_rows == len(rows) == 60
    for item in ds:
        r = rows[(item["prompt"], item["seed"])]
        assert item["label"] == r["label"] and label.int2str(item["label"]) == item["class_name"] == r["class_name"]
        assert item["model"] == "mini-digits" and -1 <= item["clip_score"] <= 1
        assert np.array_equal(np.asarray(item["image"].convert("RGB")),
                              np.asarray(Image.open(digits_store / r["path"]).convert("RGB")))
    # the same files as parquet, with the same features, for datasets' parquet builder and pandas
    same = datasets.load_dataset("parquet", data_dir=str(tmp_path / "hf"))["train"]
    assert same.features == ds.features
    import pandas as pd

    frame = pd.read_parquet(tmp_path / "hf" / "data")
    assert len(frame) == 60 and {"label", "prompt", "clip_score", "sha256"} <= set(frame.columns)


def test_webdataset_shards_are_shuffled_and_read_back_with_webdataset(digits_store, tmp_path):
    import webdataset as wds

    export(digits_store, "--dataset", "webdataset", "--out", str(tmp_path / "w"), "--shard-size", "25")
    shards = sorted(str(p) for p in (tmp_path / "w").glob("synthdiv-*.tar"))
    assert len(shards) == 3  # 60 images, 25 a shard
    want = {r["sha256"]: r for r in store_images(digits_store)}
    labels, seen = [], set()
    for sample in wds.WebDataset(shards, shardshuffle=False):
        r = want[digest(sample["png"])]  # every sample is the store's image, byte for byte
        meta = json.loads(sample["json"])
        assert int(sample["cls"]) == r["label"] == meta["label"] and meta["prompt"] == r["prompt"]
        labels.append(r["label"])
        seen.add(r["id"])
    assert len(seen) == 60
    assert labels != sorted(labels) and len(set(labels[:25])) >= 8  # the first shard holds most classes, mixed
    manifest = json.loads((tmp_path / "w" / "synthdiv-dataset.json").read_text())
    assert manifest["order"] == "shuffled" and manifest["shuffle_seed"] == 0
    keys = [json.loads(line)["key"] for line in (tmp_path / "w" / "metadata.jsonl").read_text().splitlines()]
    export(digits_store, "--dataset", "webdataset", "--out", str(tmp_path / "w2"), "--shard-size", "25")
    again = [json.loads(line)["key"] for line in (tmp_path / "w2" / "metadata.jsonl").read_text().splitlines()]
    assert again == keys  # the seed fixes the order
    export(digits_store, "--dataset", "webdataset", "--out", str(tmp_path / "w3"), "--shuffle-seed", "7")
    other = [json.loads(line)["key"] for line in (tmp_path / "w3" / "metadata.jsonl").read_text().splitlines()]
    assert sorted(other) == sorted(keys) and other != keys


def test_filters_keep_exactly_the_images_their_known_clip_scores_allow(digits_store, tmp_path):
    """On a copy of the store, image embeddings are set to known vectors: the first four images
    of class zero get the mean prompt embedding of class one (CLIP reads them as a one: not
    adherent); every other image gets its own prompt's embedding plus a known amount of another
    direction, so its CLIP score is known to be 1/sqrt(1 + a²)."""
    store = tmp_path / "S"
    shutil.copytree(digits_store, store)
    rows = store_images(store)
    con = sqlite3.connect(store / "synthdiv.db")
    model = con.execute("select model from embeddings where kind = 'image' limit 1").fetchone()[0]
    text = {pid: np.frombuffer(v, np.float32) for pid, v in con.execute(
        "select item_id, vector from embeddings where kind = 'text' and model = ?", [model])}
    unit = lambda v: v / np.linalg.norm(v)  # noqa: E731
    ones = unit(np.mean([unit(text[r["prompt_id"]]) for r in rows if r["label"] == 1], axis=0))
    zeros = [r for r in rows if r["label"] == 0][:4]
    rng = np.random.default_rng(0)
    expected = {}
    for r in rows:
        t = unit(text[r["prompt_id"]].astype(np.float64))
        if r in zeros:
            v = ones
        else:
            a = rng.uniform(0, 0.6)  # a small step off the prompt: still nearest its own class
            other = rng.normal(size=t.shape)
            other = unit(other - (other @ t) * t)
            v = t + a * other
            expected[r["id"]] = 1 / np.sqrt(1 + a * a)
        con.execute("update embeddings set vector = ? where kind = 'image' and item_id = ? and model = ?",
                    [np.asarray(v, np.float32).tobytes(), r["id"], model])
    con.commit()
    con.close()

    export(store, "--dataset", "imagefolder", "--out", str(tmp_path / "adh"), "--only-adherent")
    m = json.loads((tmp_path / "adh" / "synthdiv-dataset.json").read_text())
    assert m["count"] == 56 and m["dropped"]["not_adherent"] == 4 and m["per_class"]["zero"] == 2
    assert m["filter"] == {"min_clip_score": None, "only_adherent": True, "per_class": None, "select": None}

    threshold = float(np.median(list(expected.values())))
    export(store, "--dataset", "hf", "--out", str(tmp_path / "s"), "--min-clip-score", str(threshold))
    kept = hf_rows(tmp_path / "s")
    by_path = {r["path"]: r["id"] for r in rows}
    want = {i for i, s in expected.items() if s >= threshold}
    ones_score = {r["id"] for r in zeros if float(ones @ unit(text[r["prompt_id"]].astype(np.float64))) >= threshold}
    assert {by_path[k["store_path"]] for k in kept} == want | ones_score
    for k in kept:
        if by_path[k["store_path"]] in expected:
            assert k["clip_score"] == pytest.approx(expected[by_path[k["store_path"]]], abs=1e-5)

    export(store, "--dataset", "webdataset", "--out", str(tmp_path / "pc"), "--per-class", "2", "--only-adherent")
    m = json.loads((tmp_path / "pc" / "synthdiv-dataset.json").read_text())
    assert m["count"] == 20 and set(m["per_class"].values()) == {2} and m["dropped"]["not_adherent"] == 4
    by_class: dict[int, set] = {}
    for line in (tmp_path / "pc" / "metadata.jsonl").read_text().splitlines():
        by_class.setdefault(json.loads(line)["label"], set()).add(json.loads(line)["template"])
    # each class's two, one per template (class zero lost four images to the adherence filter first)
    assert [len(by_class[label]) for label in range(1, 10)] == [2] * 9

    # curation at a budget: the two highest CLIP scores of each class
    score = {**expected, **{r["id"]: float(ones @ unit(text[r["prompt_id"]].astype(np.float64))) for r in zeros}}
    export(store, "--dataset", "hf", "--out", str(tmp_path / "top"), "--select", "clip", "--per-class", "2")
    m = json.loads((tmp_path / "top" / "synthdiv-dataset.json").read_text())
    assert m["count"] == 20 and m["dropped"]["not_selected"] == 40 and m["filter"]["select"] == "clip"
    kept = {by_path[r["store_path"]] for r in hf_rows(tmp_path / "top")}
    best = set()
    for label in range(10):
        of_class = sorted((r for r in rows if r["label"] == label), key=lambda r: (-score[r["id"]], r["id"]))
        best |= {r["id"] for r in of_class[:2]}
    assert kept == best


def test_a_dataset_export_refuses_what_it_cannot_do_and_leaves_nothing_half_written(digits_store, tmp_path):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "mine.txt").write_text("keep me")
    cases = [
        (("--dataset", "hf", "--out", str(tmp_path / "full")), "already holds files"),
        (("--out", str(tmp_path / "t"), "--only-adherent"), "add --dataset"),
        (("--dataset", "hf", "--out", str(tmp_path / "x"), "--min-clip-score", "2"), "no image"),
        (("--dataset", "hf", "--out", str(tmp_path / "x"), "--per-class", "0"), "--per-class 0"),
        (("--dataset", "hf", "--out", str(tmp_path / "x"), "--format", "csv"), "--format"),
        (("--dataset", "hf", "--out", str(tmp_path / "x"), "--select", "diverse"), "give the budget with --per-class"),
        (("--dataset", "hf", "--out", str(tmp_path / "x"), "--select", "adherent", "--per-class", "2"),
         'no finished "real" training run'),
        (("--dataset", "hf", "--out", str(digits_store / "images" / "x")), "inside the store"),
    ]
    for args, says in cases:
        out = run_cli("export", str(digits_store), *args)
        assert out.returncode == 2 and says in out.stderr and "Traceback" not in out.stderr, (args, out.stderr)
    assert (tmp_path / "full" / "mine.txt").read_text() == "keep me"
    assert not (tmp_path / "x").exists()

    store = tmp_path / "S"  # a store file changed since it was made: the check names it
    shutil.copytree(digits_store, store)
    changed = store_images(store)[5]["path"]
    Image.new("RGB", (16, 16), (255, 0, 0)).save(store / changed)
    out = run_cli("export", str(store), "--dataset", "imagefolder", "--out", str(tmp_path / "c"))
    assert out.returncode == 2 and changed in out.stderr and "synthdiv check" in out.stderr
    assert not (tmp_path / "c").exists() and not list(tmp_path.glob(".c.partial*"))
