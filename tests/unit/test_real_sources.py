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


def test_sources_come_from_one_registry_and_check_themselves(tmp_path):
    from synthdiv.errors import ConfigError
    from synthdiv.real import SOURCES, DigitsSource, FolderSource, real_source

    assert real_source("") is None
    assert set(SOURCES) == {"digits", "digits-test"}
    digits = real_source("digits")
    assert isinstance(digits, DigitsSource) and digits.splits == ("test", "train")
    assert real_source("digits-test").splits == ("test",)
    items = digits.items({"zero": "zero", "one": "one"})
    assert {it.label for it in items} == {"zero", "one"} and {it.split for it in items} == {"train", "test"}
    assert all(it.path == "" and it.pixels.shape == (16, 16) and it.name.startswith(f"digits/{it.split}/")
               for it in items)
    with pytest.raises(ConfigError, match="has no images of 'cat'"):
        digits.check({"cat": "cat"})
    (tmp_path / "real" / "cat").mkdir(parents=True)
    folder = real_source("real", base_dir=tmp_path)
    assert isinstance(folder, FolderSource) and folder.spec == str((tmp_path / "real").resolve())
    with pytest.raises(ConfigError, match="no class folder"):
        folder.check({"dog": "dog"})
