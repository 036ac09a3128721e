"""ImageNet subsets as class sets, and {definition} in templates: the WordNet gloss of each class
(or a class file's second column), the "name + definition" prompts of Sariyildiz et al. 2023."""

from __future__ import annotations

import pytest

from synthdiv.classes import load_class_set
from synthdiv.errors import ConfigError, TemplateError
from synthdiv.templates import parse_template
from workbench.config import parse_config
from workbench.defaults import default_experiment
from workbench.plan import prompts_and_classes

TENCH = "freshwater dace-like game fish of Europe and western Asia noted for ability to survive outside water"


@pytest.mark.parametrize("name, size", [("imagenet-r", 200), ("imagenet-a", 200), ("mini-imagenet", 100)])
def test_imagenet_subsets_are_class_sets_labelled_as_in_imagenet(name, size):
    subset, full = load_class_set(name), load_class_set("imagenet")
    assert len(subset) == size and len(set(subset.labels)) == size
    assert set(subset.labels) <= set(full.labels)
    assert all(subset.prompt_names[lb] == full.prompt_names[lb] and subset.definitions[lb] for lb in subset.labels)


def test_a_definition_placeholder_is_parsed_and_rendered():
    t = parse_template("a photo of a {}, {definition}")
    assert t.uses_definition and t.render("tench", "a fish") == "a photo of a tench, a fish"
    assert not parse_template("a {class} and a {}").uses_definition
    with pytest.raises(TemplateError, match="{definition}"):
        parse_template("a {defn}")


def _config(classes: dict, template: str) -> dict:
    data = default_experiment()
    data["classes"] = classes
    data["templates"] = {"custom": [template, "a photo of a {}."]}
    data["generation"] = {**data["generation"], "model": "tiny-random"}
    data["embedding"] = {"model": "tiny-random"}
    for key in ("real", "train"):
        data.pop(key)
    return data


def test_definition_expands_to_the_wordnet_gloss(tmp_path):
    cfg = parse_config(_config({"set": "imagenet", "names": ["tench", "goldfish"]}, "a photo of a {}, {definition}"),
                       "t", tmp_path)
    prompts = {(label, tpl): text for label, tpl, text in prompts_and_classes(cfg)}
    assert prompts[("tench", "a photo of a {}, {definition}")] == f"a photo of a tench, {TENCH}"
    assert prompts[("tench", "a photo of a {}.")] == "a photo of a tench."
    from workbench.config import ExperimentConfig, to_table

    assert ExperimentConfig.from_stored(cfg.stored()) == cfg and parse_config(to_table(cfg), "t", tmp_path) == cfg


def test_a_class_file_gives_definitions_in_a_second_column_and_a_missing_one_is_refused(tmp_path):
    (tmp_path / "c.txt").write_text("red panda\tan arboreal mammal of the Himalayas\nquokka\n", encoding="utf-8")
    data = _config({"set": str(tmp_path / "c.txt"), "names": ["red panda"]}, "{}: {definition}")
    cfg = parse_config(data, "t", tmp_path)
    assert prompts_and_classes(cfg)[0][2] == "red panda: an arboreal mammal of the Himalayas"
    data["classes"]["names"] = ["red panda", "quokka"]
    with pytest.raises(ConfigError, match="class 'quokka' has no definition"):
        parse_config(data, "t", tmp_path)
    without = _config({"set": str(tmp_path / "c.txt")}, "a photo of a {}")
    assert parse_config(without, "t", tmp_path).definitions == ()  # stored only where a template needs them
