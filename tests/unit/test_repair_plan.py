"""``synthdiv repair``'s plan on constructed evidence: which classes, which remedies within a
budget, the experiments that make them, the winners and the recipe; and its refusals."""

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

import pytest

from tests.helpers import write_config
from workbench.config import from_experiment, load_config, parse_config
from workbench.repair import (RepairRefused, check_measurable, chosen_rows, plan, recipe, remedy_configs,
                              winners)

DIGITS = """
name = "d"
[classes]
set = "digits"
[classes.overrides.seven]
negative_prompt = "a letter"
[templates]
custom = ["a photo of the digit {}", "{}"]
[generation]
model = "mini-digits"
guidance = 5.0
width = 16
height = 16
images_per_prompt = 3
[repair.remedies.sketch]
templates = ["a sketch of the digit {}"]
"""


def _row(label: str, gap: float, low: float, high: float, causes: str = "diversity") -> dict:
    return {"class": label, "gap": gap, "gap_low": low, "gap_high": high, "causes": causes}


ROWS = [_row("zero", 0.02, -0.01, 0.05), _row("four", 0.09, 0.02, 0.18), _row("seven", 0.12, 0.04, 0.2, "adherence"),
        _row("nine", 0.05, -0.02, 0.1)]


def test_the_classes_are_those_whose_gap_interval_lies_above_zero_or_those_asked_for():
    assert [r["class"] for r in chosen_rows(ROWS, None, None)] == ["four", "seven"]
    assert [r["class"] for r in chosen_rows(ROWS, None, 3)] == ["seven", "four", "nine"]
    assert [r["class"] for r in chosen_rows(ROWS, ["Nine", "zero"], None)] == ["nine", "zero"]
    with pytest.raises(RepairRefused, match="no class's gap interval lies above 0 .the largest gap: nine"):
        chosen_rows([ROWS[0], ROWS[3]], None, None)
    with pytest.raises(RepairRefused, match="--classes names 'ten'"):
        chosen_rows(ROWS, ["ten"], None)


def test_the_plan_tries_each_cause_s_remedies_and_the_user_s_within_the_budget(tmp_path):
    cfg = load_config(write_config(tmp_path, DIGITS))
    p = plan(cfg, chosen_rows(ROWS, None, None), None, None)
    tried = [(label, c.remedy) for label, c in p.tried()]
    assert tried == [("four", "control"), ("four", "guidance-down"), ("four", "contexts"), ("four", "more-seeds"),
                     ("four", "sketch"), ("seven", "control"), ("seven", "guidance-up"), ("seven", "judge-filter"),
                     ("seven", "sketch")]
    assert p.images == 6 + 6 + 6 + 12 + 3 + 6 + 6 + 12 + 3
    small = plan(cfg, chosen_rows(ROWS, None, None), None, 20)
    assert small.images <= 20 and ("four", "more-seeds") in small.dropped


def test_each_remedy_is_an_experiment_of_its_classes_with_their_overrides(tmp_path):
    cfg = load_config(write_config(tmp_path, DIGITS))
    configs = {c.name: c for c in remedy_configs(cfg, plan(cfg, chosen_rows(ROWS, None, None), None, None))}
    assert set(configs) == {f"d/repair/{r}" for r in ("control", "guidance-down", "contexts", "more-seeds", "sketch",
                                                      "guidance-up", "judge-filter")}
    up = configs["d/repair/guidance-up"]
    assert up.classes == (("seven", "seven"),) and up.repair_of == "d" and up.real == "" and up.train.runs == ()
    own = dict(up.overrides)["seven"]
    assert own.guidance == 10.0 and own.negative_prompt == "a letter"  # the base's own override is kept under it
    both = configs["d/repair/control"]
    assert [label for label, _ in both.classes] == ["four", "seven"] and dict(both.overrides)["seven"].guidance is None
    assert configs["d/repair/judge-filter"].repair_keep == (("seven", "adherent", 6),)
    for c in configs.values():  # each is a valid experiment file, and round-trips
        from workbench.config import to_table

        assert parse_config(to_table(c), "remedy", tmp_path) == c


def test_winners_gain_above_zero_at_equal_n_and_never_the_control(tmp_path):
    rows = [{"class": "four", "remedy": "control", "gain": 0.05, "gain_low": 0.01, "gain_high": 0.1, "equal_n": True},
            {"class": "four", "remedy": "more-seeds", "gain": 0.2, "gain_low": 0.1, "gain_high": 0.3, "equal_n": False},
            {"class": "four", "remedy": "guidance-down", "gain": 0.07, "gain_low": 0.02, "gain_high": 0.12,
             "equal_n": True, "override": {"guidance": 2.5}, "what": "guidance 5 → 2.5"},
            {"class": "seven", "remedy": "guidance-up", "gain": 0.04, "gain_low": -0.01, "gain_high": 0.09,
             "equal_n": True}]
    won = winners(rows)
    assert {k: v["remedy"] for k, v in won.items()} == {"four": "guidance-down"}
    cfg = load_config(write_config(tmp_path, DIGITS))
    text = recipe(cfg, won)
    data = tomllib.loads(text)
    assert data["name"] == "d-repaired" and data["classes"]["overrides"]["four"] == {"guidance": 2.5}
    assert data["classes"]["overrides"]["seven"] == {"negative_prompt": "a letter"}
    assert "#   four: guidance-down (guidance 5 → 2.5), gain +0.070 [+0.020, +0.120]" in text
    (tmp_path / "repair").mkdir()
    again = load_config(write_config(tmp_path / "repair", text, "recipe.toml"))
    assert again.store == str(tmp_path) and dict(again.overrides)["four"].guidance == 2.5


def test_repair_refuses_a_store_it_cannot_measure_a_gain_in(tmp_path):
    from store import experiments, open_store
    from tests.functional import stores
    from workbench.config import from_experiment

    stores.build(tmp_path / "S")
    with open_store(tmp_path / "S") as st:
        exp = experiments.get(st, "tiny")
        with pytest.raises(RepairRefused, match="no finished synthetic and real training run"):
            check_measurable(st, exp, from_experiment(exp))
    stores.add_training(tmp_path / "S")
    with open_store(tmp_path / "S") as st:
        with pytest.raises(RepairRefused, match="recorded before runs kept their predictions"):
            check_measurable(st, exp, from_experiment(exp))
        st.db.execute("update real_images set split = 'train'")
        with pytest.raises(RepairRefused, match="has no real test split"):
            check_measurable(st, exp, from_experiment(exp))


def test_a_winning_judge_filter_trains_the_recipe_on_the_filter_s_choice(tmp_path):
    text = DIGITS + '[real]\nsource = "digits"\n[train]\nruns = ["synthetic", "real"]\n'
    cfg = load_config(write_config(tmp_path, text))
    won = {"seven": {"remedy": "judge-filter", "what": "make 2× the images, keep the 6 the judge reads as the class",
                     "override": {"images_per_prompt": 6}, "select": "adherent", "keep": 6, "gain": 0.1,
                     "gain_low": 0.02, "gain_high": 0.2}}
    data = tomllib.loads(recipe(cfg, won))
    assert data["train"]["runs"] == ["synthetic", "real", "adherent-6"]
    assert data["classes"]["overrides"]["seven"] == {"negative_prompt": "a letter", "images_per_prompt": 6}
    (tmp_path / "repair").mkdir()
    load_config(write_config(tmp_path / "repair", recipe(cfg, won), "recipe.toml"))  # a valid experiment


def test_a_concept_class_is_offered_the_base_s_real_image_mix_measured_against_synthetic(tmp_path):
    import json

    import numpy as np

    from store import experiments, open_store, training
    from tests.functional import stores
    from workbench.repair import real_mixes

    stores.build(tmp_path / "S")
    stores.add_training(tmp_path / "S")
    truth = [0] * 4 + [1] * 4 + [2] * 4
    mix_pred = [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2]  # the mix gets every tabby cat right
    with open_store(tmp_path / "S") as st:
        e = experiments.get(st, "tiny")["id"]
        for r in training.runs(st, e):
            result = dict(r["result"] or {"test": {}, "n_train": 24})
            result["test_truth"] = truth
            if r["name"] == "mix-1x":
                result["test_pred"] = mix_pred
            st.db.execute("update train_runs set result = ?, state = 'done' where id = ?", [json.dumps(result), r["id"]])
        syn = next(r for r in training.runs(st, e) if r["name"] == "synthetic")
        cfg = from_experiment(experiments.get(st, "tiny"))
        rows = [{"class": "golden retriever", "gap": 0.5, "gap_low": 0.1, "gap_high": 0.9, "causes": "concept"},
                {"class": "goldfish", "gap": 0.25, "gap_low": 0.1, "gap_high": 0.5, "causes": "adherence"}]
        p = plan(cfg, rows, None, None)
        names = experiments.class_names(st, e)
        found = real_mixes(st, e, syn, names, p)
    assert [(r["class"], r["remedy"]) for r in found] == [("golden retriever", "mix-1x")]
    k = names.index("golden retriever")
    before = np.array(syn["result"]["test_pred"])[np.array(truth) == k] == k
    assert found[0]["gain"] == pytest.approx(float(np.mean(1.0 - before)))  # the mix gets all four right
    assert not found[0]["equal_n"] and winners(found) == {}
