import pytest

from synthdiv.classes import DIGITS, load_class_set, select_classes
from synthdiv.errors import ClassSetError


def test_imagenet_has_1000_unique_labels_in_index_order():
    cs = load_class_set("imagenet")
    assert len(cs) == 1000 and len(set(cs.labels)) == 1000
    assert cs.labels[0] == "tench" and cs.labels[1] == "goldfish"


def test_repeated_imagenet_names_get_labels_but_keep_their_prompt_name():
    cs = load_class_set("imagenet")
    assert "missile #2" in cs.labels and "sunglasses #2" in cs.labels
    assert cs.prompt_names["missile #2"] == "missile"


def test_digits():
    assert load_class_set("digits").labels == DIGITS == tuple("zero one two three four five six seven eight nine".split())


def test_class_file_one_name_per_line(tmp_path):
    f = tmp_path / "mine.txt"
    f.write_text("# my classes\nred fox\n\nArctic fox\n")
    cs = load_class_set("mine.txt", base_dir=tmp_path)
    assert cs.labels == ("red fox", "Arctic fox")


def test_class_file_with_a_repeated_name_is_refused(tmp_path):
    f = tmp_path / "c.txt"
    f.write_text("fox\nFox\n")
    with pytest.raises(ClassSetError, match="twice"):
        load_class_set(str(f))


def test_missing_class_file_and_unknown_set_name_the_input(tmp_path):
    with pytest.raises(ClassSetError, match="does not exist"):
        load_class_set(str(tmp_path / "nope.txt"))
    with pytest.raises(ClassSetError, match="unknown class set 'imagenett'"):
        load_class_set("imagenett")


def test_selection_ignores_case_and_keeps_order():
    cs = load_class_set("imagenet")
    assert select_classes(cs, ["Tabby Cat", "goldfish"]) == ("tabby cat", "goldfish")


def test_unknown_class_suggests_close_names():
    with pytest.raises(ClassSetError) as err:
        select_classes(load_class_set("imagenet"), ["goldfsh"])
    assert "unknown class 'goldfsh'" in err.value.message and "'goldfish'" in err.value.message
