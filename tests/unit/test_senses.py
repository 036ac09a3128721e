"""Polysemy and open-set adherence (synthdiv.senses, synthdiv.open_set): a class name's WordNet senses
from timm's ImageNet-21k lemmas, and what CLIP reads the images as among ImageNet-1k and those
senses. Known answers on constructed embeddings: each text a direction, each image near one."""

import numpy as np
import pytest

from synthdiv import causes, senses
from synthdiv.analysis import Inputs, analyse
from synthdiv.classes import load_class_set
from synthdiv.open_set import read_as, sense_confused

BIRD, MACHINE = "n02012849", "n03126707"  # ImageNet-1k's two cranes


def test_the_raw_imagenet_set_names_both_cranes_crane_and_keeps_their_wordnet_ids():
    raw = load_class_set("imagenet-raw")
    assert len(raw) == 1000
    assert raw.prompt_names["crane"] == raw.prompt_names["crane #2"] == "crane"
    assert {raw.wnids["crane"], raw.wnids["crane #2"]} == {BIRD, MACHINE}
    assert "maillot #2" in raw.labels
    cleaned = load_class_set("imagenet")
    assert "crane" not in cleaned.labels and {"crane bird", "construction crane"} <= set(cleaned.labels)
    assert cleaned.wnids["crane bird"] == BIRD


def test_a_class_lists_the_other_synsets_that_share_its_lemmas():
    bird = senses.senses_of("crane", BIRD)
    assert bird.own.wnid == BIRD and bird.own_by == senses.BY_ID
    assert [s.wnid for s in bird.others] == [MACHINE]
    assert "lifts and moves heavy objects" in bird.others[0].gloss
    by_name = senses.senses_of("Cardigan")  # a user's name, looked up by lemma, ignoring case
    assert {by_name.own.wnid, *(s.wnid for s in by_name.others)} == {"n02113186", "n02963159"}
    assert by_name.own_by == senses.BY_FIRST  # both are ImageNet-1k classes: nothing else decides
    assert senses.senses_of("two").own is None  # no synset has the lemma
    defined = senses.senses_of("crane", definition=bird.others[0].gloss)
    assert defined.own.wnid == MACHINE and defined.own_by == senses.BY_DEFINITION


def _embed(plan: senses.Plan, dim: int = 256, seed: int = 0) -> np.ndarray:
    """One random direction per vocabulary text: in 256 dimensions they are nearly orthogonal."""
    v = np.random.default_rng(seed).normal(size=(len(plan.texts), dim))
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _near(direction: np.ndarray, n: int, rng, noise: float = 0.3) -> np.ndarray:
    return direction * 3 + rng.normal(size=(n, len(direction))) * noise / np.sqrt(len(direction)) * 3


def test_both_imagenet_cranes_drawn_as_each_other_are_ambiguous_and_read_as_the_other_sense():
    plan = senses.plan(["crane", "crane"], [BIRD, MACHINE])
    vec = _embed(plan)
    rng = np.random.default_rng(1)
    bird_sense, machine_sense = plan.own_sense_columns
    # real images show their own sense; synthetic ones the other (the prompt "crane" read the wrong way)
    syn = np.vstack([_near(vec[machine_sense], 40, rng), _near(vec[bird_sense], 40, rng)])
    real = np.vstack([_near(vec[bird_sense], 40, rng), _near(vec[machine_sense], 40, rng)])
    y = np.repeat([0, 1], 40)
    text = vec[plan.own]  # each class's prompt embedding: its own ImageNet text
    result = analyse(Inputs(classes=["crane", "crane #2"], synthetic=syn, synthetic_y=y,
                            real=np.vstack([real, real]), real_y=np.concatenate([y, y]),
                            real_split=np.array(["train"] * 80 + ["test"] * 80), text=text, text_y=np.arange(2),
                            open_set=plan, open_set_vectors=vec))
    rows = {r["class"]: r for r in result["four_causes"]}
    for name, other in (("crane", MACHINE), ("crane #2", BIRD)):
        r = rows[name]
        assert other in r["other_senses"]
        assert r["sense_confusion"] == 1.0 and r["sense_confusion_real"] == 0.0 and r["sense_confusion_low"] > 0.9
        assert "ambiguity" in r["causes"].split(", ")
        assert r["open_set_adherence"] == 0.0 and r["open_set_adherence_real"] == 1.0
        assert r["read_as"].startswith(f"crane ({other}) 1.00")


def test_open_set_adherence_counts_what_the_experiments_own_classes_cannot_see():
    """A class outside ImageNet drawn as a goldfish: closed-set zero-shot (two classes) calls every
    image adherent; open set reads each as "goldfish" and says so."""
    plan = senses.plan(["two", "three"])
    vec = _embed(plan)
    goldfish = plan.labels.index("goldfish")
    rng = np.random.default_rng(2)
    syn = np.vstack([_near(vec[goldfish], 30, rng, 0.2) + vec[plan.own[0]] * 1.0, _near(vec[plan.own[1]], 30, rng)])
    real = np.vstack([_near(vec[plan.own[0]], 30, rng), _near(vec[plan.own[1]], 30, rng)])
    y = np.repeat([0, 1], 30)
    result = analyse(Inputs(classes=["two", "three"], synthetic=syn, synthetic_y=y, real=np.vstack([real, real]),
                            real_y=np.concatenate([y, y]), real_split=np.array(["train"] * 60 + ["test"] * 60),
                            text=vec[plan.own], text_y=np.arange(2), open_set=plan, open_set_vectors=vec))
    two = next(r for r in result["four_causes"] if r["class"] == "two")
    assert two["adherence"] == 1.0  # closed set: "two" beats "three" on every image
    assert two["open_set_adherence"] == 0.0 and two["read_as"] == "goldfish 1.00"
    assert two["adherence_main"] == 0.0 and two["adherence_by"] == "CLIP, open set"
    assert "adherence" in two["causes"]
    assert two["sense_confusion"] is None and two["other_senses"] is None  # "two" has no synset


def test_read_as_and_sense_confusion_follow_their_definitions_on_a_small_case():
    plan = senses.plan(["crane"], [BIRD])
    vec = np.zeros((len(plan.texts), len(plan.texts)))
    np.fill_diagonal(vec, 1.0)  # orthogonal texts
    x = np.zeros((3, len(plan.texts)))
    own, other = plan.own_sense_columns[0], plan.sense_columns[0][0]
    x[0, own], x[0, other] = 1.0, 0.5  # nearer its own sense
    x[1, own], x[1, other] = 0.5, 1.0  # nearer the other
    x[2, plan.own[0]] = 1.0  # its ImageNet text
    y = np.zeros(3, int)
    assert sense_confused(x, y, vec, plan).tolist() == [0.0, 1.0, 0.0]
    assert read_as(x, y, vec, plan.allowed).tolist() == [own, other, plan.own[0]]


def test_without_the_vocabulary_the_columns_are_empty_and_a_note_says_why():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(20, 8))
    y = np.repeat([0, 1], 10)
    result = analyse(Inputs(classes=["a", "b"], synthetic=x, synthetic_y=y, real=x, real_y=y,
                            real_split=np.array(["train", "test"] * 10), text=x[:2], text_y=np.arange(2)))
    assert all(r["open_set_adherence"] is None and r["sense_confusion"] is None for r in result["four_causes"])
    assert any("open-set vocabulary" in n for n in result["notes"])
    assert all(r["adherence_by"] == "CLIP, the experiment's classes" for r in result["four_causes"])


def test_the_judge_comes_before_clip_and_a_circular_clip_is_named():
    row = {"adherence_judge": 0.6, "adherence_judge_real": 0.9, "open_set_adherence": 0.95,
           "open_set_adherence_real": 0.95, "adherence": 1.0, "adherence_real": 1.0}
    assert causes.adherence_evidence(row) == (0.6, 0.9, "the real-trained judge")
    assert causes._adherence(row) is True
    del row["adherence_judge"]
    assert causes.adherence_evidence(row)[2] == "CLIP, open set"
    done = causes.with_gaps([{"class": "a", **row, "adherence_circular": True}], None, causes.BY_PROBE)[0]
    assert done["adherence_by"] == "CLIP, open set (its text tower is the generator's)"


def test_a_text_towers_fingerprint_is_of_its_values_whatever_the_dtype():
    torch = pytest.importorskip("torch")
    from synthdiv import towers

    emb, norm = torch.randn(50, 8), torch.randn(8)
    assert towers.fingerprint(emb, norm) == towers.fingerprint(emb.half(), norm.half())
    assert towers.fingerprint(emb, norm) != towers.fingerprint(emb + 0.01, norm)
