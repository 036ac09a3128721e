"""ImageNet as it lies on disk: WordNet-id class folders without a mapping, a full 1,000-line
mapping for a 3-class experiment, and an ILSVRC root whose train/ and val/ are the splits."""

from __future__ import annotations

import pytest
from PIL import Image

from synthdiv.errors import ConfigError
from synthdiv.wordnet import imagenet_label_of, imagenet_wnids
from workbench.config import parse_config
from workbench.defaults import default_experiment

THREE = ["tench", "goldfish", "tabby cat"]
WNIDS = {"tench": "n01440764", "goldfish": "n01443537", "tabby cat": "n02123045"}


def _folders(root, per: int = 4, wnids=WNIDS.values(), extra=("n09999999",)):
    for wnid in [*wnids, *extra]:
        (root / wnid).mkdir(parents=True, exist_ok=True)
        for i in range(per):
            Image.new("RGB", (8, 8), (i * 40, 0, 0)).save(root / wnid / f"{wnid}_{i}.JPEG")


def _config(tmp_path, real: dict) -> dict:
    data = default_experiment()
    data["classes"] = {"set": "imagenet", "names": THREE}
    data["generation"] = {**data["generation"], "model": "tiny-random"}
    data["embedding"] = {"model": "tiny-random"}
    data["real"] = real
    del data["train"]
    return data


def test_timm_synsets_line_up_with_open_clips_class_names():
    wnids = imagenet_wnids()
    assert len(wnids) == 1000 and wnids[0] == "n01440764" and len(set(wnids)) == 1000
    assert imagenet_label_of()["n01440764"] == "tench" and imagenet_label_of()["n02123045"] == "tabby cat"


def test_wordnet_id_folders_need_no_mapping(tmp_path):
    from store import open_store, real
    from workbench.real import register_real

    _folders(tmp_path / "imagenet")
    cfg = parse_config(_config(tmp_path, {"source": str(tmp_path / "imagenet")}), "t", tmp_path)
    with open_store(tmp_path / "S", create=True) as st:
        from workbench.control import prepare

        exp = prepare(st, cfg).experiment_id
        rows = st.conn.execute("select c.name, r.path from real_images r join classes c on c.id = r.class_id").fetchall()
        assert real.count(st, exp) == 12 and register_real(st, exp, cfg) == 0  # n09999999: not a chosen class
    assert {name for name, _ in rows} == set(THREE)
    assert all(f"/{WNIDS[name]}/" in path for name, path in rows)


def test_a_full_mapping_serves_an_experiment_of_three_classes(tmp_path):
    _folders(tmp_path / "src", wnids=[f"class{i:04d}" for i in range(3)], extra=())
    names = [imagenet_label_of()[w] for w in imagenet_wnids()]
    lines = [f"class{i:04d},{names[i]}" for i in range(1000)]  # folder i holds ImageNet class i
    (tmp_path / "map.csv").write_text("\n".join(["folder,class", *lines]) + "\n")
    cfg = parse_config(_config(tmp_path, {"source": str(tmp_path / "src"), "mapping": str(tmp_path / "map.csv")}),
                       "t", tmp_path)
    assert [c for c, _ in cfg.classes] == THREE
    bad = tmp_path / "bad.csv"
    bad.write_text("class0000,tenchh\n")
    with pytest.raises(ConfigError, match="'tenchh', which the experiment does not have and its class set"):
        parse_config(_config(tmp_path, {"source": str(tmp_path / "src"), "mapping": str(bad)}), "t", tmp_path)


def test_an_ilsvrc_root_gives_train_as_train_and_val_as_test(tmp_path):
    from synthdiv.real import real_source

    root = tmp_path / "ILSVRC2012"
    _folders(root / "train", per=5)
    _folders(root / "val", per=2)
    cfg = parse_config(_config(tmp_path, {"source": str(root), "test_fraction": 0.9}), "t", tmp_path)
    items = real_source(cfg.real, cfg.real_mapping, cfg.real_test_fraction).items(dict(cfg.classes))
    by_split = {s: [it for it in items if it.split == s] for s in ("train", "test")}
    assert len(by_split["train"]) == 15 and len(by_split["test"]) == 6  # test_fraction is not used here
    assert all("/train/" in it.path for it in by_split["train"]) and all("/val/" in it.path for it in by_split["test"])
