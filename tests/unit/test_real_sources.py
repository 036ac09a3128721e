import numpy as np
import pytest
from PIL import Image

from synthdiv.errors import ConfigError
from synthdiv.real import folder_items, normalise_name, read_mapping, split_of

LABELS = {"goldfish": "goldfish", "tabby cat": "tabby cat", "Golden Retriever": "Golden Retriever"}


def make(folder, names, per=4):
    for name in names:
        (folder / name).mkdir(parents=True)
        for i in range(per):
            Image.fromarray(np.full((8, 8), i * 30, np.uint8)).save(folder / name / f"{i}.png")


def test_folder_names_match_ignoring_case_and_separators(tmp_path):
    make(tmp_path, ["Goldfish", "tabby_cat", "golden-retriever", "tench"])
    items = folder_items(tmp_path, LABELS)
    assert {it.label for it in items} == set(LABELS)  # tench is not in the experiment: ignored
    assert len(items) == 12 and all(it.split in ("train", "test") for it in items)
    assert normalise_name("Golden_Retriever-  X") == "golden retriever x"


def test_a_mapping_file_names_other_folders(tmp_path):
    make(tmp_path / "src", ["n01443537", "n02123045"])
    (tmp_path / "map.csv").write_text("folder,class\nn01443537,goldfish\nn02123045,tabby cat\n")
    items = folder_items(tmp_path / "src", LABELS, read_mapping(tmp_path / "map.csv"))
    assert {it.label for it in items} == {"goldfish", "tabby cat"}
    (tmp_path / "bad.csv").write_text("n01443537,unicorn\n")
    with pytest.raises(ConfigError, match="'unicorn', which the experiment does not have"):
        folder_items(tmp_path / "src", LABELS, read_mapping(tmp_path / "bad.csv"))


def test_no_matching_folder_and_missing_folder_are_clear_errors(tmp_path):
    make(tmp_path, ["n0001"])
    with pytest.raises(ConfigError, match="no class folder .* matches"):
        folder_items(tmp_path, LABELS)
    with pytest.raises(ConfigError, match="does not exist"):
        folder_items(tmp_path / "nope", LABELS)


def test_split_is_stable_and_near_the_fraction():
    paths = [f"c/{i}.png" for i in range(4000)]
    tests = [split_of(p, 0.25) for p in paths]
    assert tests == [split_of(p, 0.25) for p in paths]
    assert abs(tests.count("test") / 4000 - 0.25) < 0.03
