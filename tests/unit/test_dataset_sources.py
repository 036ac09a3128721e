"""Hugging Face datasets and webdataset shards as real image sources: labels by their own names
(ClassLabel, text, WordNet ids) or a mapping, splits as the dataset has them, bytes copied
unchanged into the store, and clear refusals."""

from __future__ import annotations

import hashlib
import io
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from store import open_store
from synthdiv.errors import ConfigError, SynthdivError
from tests.helpers import write_config
from workbench.config import load_config, to_table

CLASSES = '''name = "real-datasets"
[classes]
set = "imagenet"
names = ["goldfish", "tabby cat", "golden retriever"]
[templates]
custom = ["a photo of a {{}}."]
[generation]
model = "tiny-random"
[real]
source = "{source}"
{more}
'''


def jpeg(seed: int) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 256, (12, 10, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "JPEG", quality=90)
    return out.getvalue()


def config(tmp_path, source: str, more: str = ""):
    return load_config(write_config(tmp_path, CLASSES.format(source=source, more=more)))


def items(cfg):
    from synthdiv.real import real_source

    src = real_source(cfg.real, cfg.real_mapping, cfg.real_test_fraction, split=cfg.real_split,
                      label_column=cfg.real_label_column)
    return src.items(dict(cfg.classes))


@pytest.fixture
def hf_dataset(tmp_path):
    """A DatasetDict (train 9 rows, validation 6, test 3 unlabelled) saved with save_to_disk; class
    names as ImageNet datasets write them: underscores, a WordNet id, and a class the experiment lacks."""
    import datasets

    names = ["goldfish", "tabby_cat", "n02099601", "hammerhead"]  # n02099601: golden retriever
    features = datasets.Features({"image": datasets.Image(), "label": datasets.ClassLabel(names=names)})

    def split(n, offset, labelled=True):
        return datasets.Dataset.from_dict(
            {"image": [{"bytes": jpeg(offset + i), "path": None} for i in range(n)],
             "label": [(i % 4) if labelled else -1 for i in range(n)]}, features=features)

    folder = tmp_path / "hfds"
    datasets.DatasetDict({"train": split(9, 0), "validation": split(6, 100), "test": split(3, 200, False)}
                         ).save_to_disk(str(folder))
    return folder


def test_a_saved_dataset_gives_train_and_validation_as_splits_with_its_own_class_names(tmp_path, hf_dataset):
    cfg = config(tmp_path, "hf:hfds")
    assert cfg.real == f"hf:{hf_dataset.resolve()}"
    got = items(cfg)
    # train rows 0..8 with labels i % 4: hammerhead (3) is not in the experiment
    fish, cat, dog = (label for label, _ in cfg.classes)
    by_split = {s: sorted(it.label for it in got if it.split == s) for s in ("train", "test")}
    assert by_split["train"] == sorted([fish, cat, dog] * 2 + [fish])
    assert by_split["test"] == sorted([fish, cat, dog, fish, cat])  # validation; the unlabelled test split unused
    assert all(it.name.startswith("hf/") and it.name.endswith(".jpg") for it in got)
    # the round trip through the stored table keeps the source
    assert to_table(cfg)["real"]["source"] == cfg.real


def test_the_store_holds_each_image_byte_for_byte(tmp_path, hf_dataset):
    from workbench.control import prepare
    from workbench.real import register_real

    cfg = config(tmp_path, "hf:hfds", 'split = "train"')
    with open_store(tmp_path / "S", create=True) as st:
        exp_id = prepare(st, cfg).experiment_id
        rows = st.conn.execute("select path, sha256, width, height, split from real_images").fetchall()
        assert register_real(st, exp_id, cfg) == 0  # registered once, by prepare; nothing twice
    assert len(rows) == 7 and {r["split"] for r in rows} <= {"train", "test"}
    wanted = {hashlib.sha256(jpeg(i)).hexdigest() for i in range(9) if i % 4 != 3}
    assert {r["sha256"] for r in rows} == wanted
    for r in rows:
        data = (tmp_path / "S" / r["path"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == r["sha256"] and (r["width"], r["height"]) == (10, 12)


def test_parquet_files_and_a_string_label_column(tmp_path):
    import datasets

    ds = datasets.Dataset.from_dict(
        {"img": [{"bytes": jpeg(i), "path": None} for i in range(8)],
         "species": ["Goldfish", "golden-retriever", "tabby cat", "unicorn"] * 2},
        features=datasets.Features({"img": datasets.Image(), "species": datasets.Value("string")}))
    (tmp_path / "pq").mkdir()
    ds.to_parquet(str(tmp_path / "pq" / "part-0.parquet"))
    cfg = config(tmp_path, "hf:pq", 'label_column = "species"\ntest_fraction = 0.5')
    got = items(cfg)
    assert sorted(it.label for it in got) == sorted([label for label, _ in cfg.classes] * 2)
    assert {it.split for it in got} <= {"train", "test"}
    with pytest.raises(ConfigError, match="has no label column 'label'.*img, species"):
        config(tmp_path, "hf:pq")


def test_dataset_refusals_name_the_input_and_the_fix(tmp_path, hf_dataset):
    with pytest.raises(ConfigError, match="real.split names 'val', which .* does not have.*train, validation, test"):
        config(tmp_path, "hf:hfds", 'split = "val"')
    with pytest.raises(ConfigError, match="does not exist"):
        config(tmp_path, "hf:nowhere")
    # a datasets folder given as a plain folder is named for what it is, with the spelling that reads it
    with pytest.raises(ConfigError, match="holds a Hugging Face datasets folder") as err:
        config(tmp_path, "hfds")
    assert f'source = "hf:{hf_dataset.resolve()}"' in err.value.fix
    with pytest.raises(ConfigError, match="real.split and real.label_column are for a dataset source"):
        config(tmp_path, "hfds", 'split = "train"')


def test_without_the_hf_extra_the_run_exits_2_naming_it(tmp_path, hf_dataset):
    path = write_config(tmp_path, CLASSES.format(source="hf:hfds", more=""))
    code = ("import sys; sys.modules['datasets'] = None\n"  # as if datasets were not installed
            "from workbench.cli import main\n"
            f"sys.exit(main(['run', {str(path)!r}, '--store', {str(tmp_path / 'S')!r}]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    said = out.stdout + out.stderr
    assert out.returncode == 2, said
    assert 'needs the optional extra \'hf\'' in said and 'pip install "synthdiv[hf]"' in said, said
    assert "Traceback" not in said and not (tmp_path / "S").exists()


@pytest.fixture
def shards(tmp_path):
    """webdataset shards written by the webdataset package: numbered labels (cls) and text labels."""
    import webdataset

    folder = tmp_path / "shards"
    folder.mkdir()
    for part, offset in (("train", 0), ("val", 50)):
        with webdataset.TarWriter(str(folder / f"imagenet-{part}-000000.tar")) as sink:
            for i in range(6):
                sink.write({"__key__": f"sample{offset + i:04d}", "jpg": jpeg(offset + i), "cls": i % 3,
                            "txt": ["goldfish", "tabby_cat", "n02099601"][i % 3]})
    return folder


def test_webdataset_shards_with_text_labels_and_named_splits(tmp_path, shards):
    cfg = config(tmp_path, "wds:shards", 'label_column = "txt"\nsplit = "train,val"')
    got = items(cfg)
    assert len(got) == 12
    assert sorted(it.label for it in got if it.split == "test") == sorted([label for label, _ in cfg.classes] * 2)
    assert {it.name.rsplit("/", 2)[1] for it in got if it.split == "test"} == {"imagenet-val-000000"}
    first = next(it for it in got if it.name.endswith("sample0050.jpg"))
    assert first.load() == jpeg(50)  # the image's bytes, read from the shard by offset


def test_numbered_webdataset_labels_need_a_mapping_and_a_pattern_names_shards(tmp_path, shards):
    with pytest.raises(ConfigError, match="labels in .* are numbers") as err:
        config(tmp_path, "wds:shards")
    assert "number,class" in err.value.fix
    (tmp_path / "map.csv").write_text("0,goldfish\n1,tabby cat\n2,Golden Retriever\n")
    cfg = config(tmp_path, "wds:shards/imagenet-train-000000.tar", 'mapping = "map.csv"')
    assert len(items(cfg)) == 6
    (tmp_path / "shards" / "imagenet-train-000001.tar").write_bytes(b"")
    cfg = config(tmp_path, "wds:shards/imagenet-train-{000000..000000}.tar", 'mapping = "map.csv"')
    assert len(items(cfg)) == 6
    with pytest.raises(SynthdivError, match="no shard file .*imagenet-train-000002.tar"):
        config(tmp_path, "wds:shards/imagenet-train-{000000..000002}.tar", 'mapping = "map.csv"')
