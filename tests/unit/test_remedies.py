"""Remedies for each cause on constructed evidence, curation selections with known answers, and
the paired gain interval computed independently."""

import numpy as np
import pytest

from synthdiv import curation, remedies
from synthdiv.templates import parse_template

CRANE_BIRD = "n02012849"
TEMPLATES = ("a photo of a {}.", "a drawing of a {class}")


def _case(causes: str, **kw) -> remedies.Case:
    base = dict(label="crane", prompt_name="crane", evidence={"causes": causes}, templates=TEMPLATES, guidance=7.5,
                images_per_prompt=4, wnid=CRANE_BIRD)
    return remedies.Case(**{**base, **kw})


def _by_name(planned) -> dict:
    found = {c.remedy: c for c in planned.candidates}
    assert not found or planned.candidates[0].remedy == "control" and found.pop("control").override == {}
    return found


def test_ambiguity_names_the_sense_by_its_gloss_and_puts_the_confused_sense_in_the_negative_prompt():
    found = _by_name(remedies.plan(_case("ambiguity", evidence={"causes": "ambiguity",
                                                                 "read_as": "crane (n03126707) 0.40, stork 0.1"})))
    assert set(found) == {"gloss", "negative-sense"}  # "crane" has no sibling-free lemma in WordNet
    gloss = found["gloss"].override["templates"]
    assert gloss == ["a photo of a {}, large long-necked wading bird of marshes and plains in many parts of the world",
                     "a drawing of a {class}, large long-necked wading bird of marshes and plains in many parts of the"
                     " world"]
    assert [parse_template(t).render("crane") for t in gloss][0].startswith("a photo of a crane, large long-necked")
    assert found["negative-sense"].override == {"negative_prompt": "crane, lifts and moves heavy objects"}
    assert all(c.equal_n and c.images(_case("ambiguity")) == 8 for c in found.values())


def test_a_sibling_free_lemma_replaces_the_ambiguous_name_literally():
    # "tabby" (n02123045) is shared by the cat and a cloth; "tabby cat" names only the cat
    assert remedies.sibling_free_lemma("n02123045") == "tabby cat"
    tabby = remedies.plan(_case("ambiguity", label="tabby", prompt_name="tabby", wnid="n02123045"))
    assert _by_name(tabby)["lemma"].override == {"templates": ["a photo of a tabby cat.", "a drawing of a tabby cat"]}
    own = remedies.named("a {} {{sic}} and {class}", "whooping crane")
    assert own == "a whooping crane {{sic}} and whooping crane"
    assert parse_template(own, placeholder=False).render("ignored") == "a whooping crane {sic} and whooping crane"


def test_weak_adherence_raises_the_guidance_and_filters_by_the_judge_at_equal_n():
    found = _by_name(remedies.plan(_case("adherence")))
    assert found["guidance-up"].override == {"guidance": 15.0}
    f = found["judge-filter"]
    assert f.override == {"images_per_prompt": 8} and f.select == "adherent" and f.keep == 8 and f.equal_n
    assert f.images(_case("adherence")) == 16
    capped = _by_name(remedies.plan(_case("adherence", guidance=remedies.GUIDANCE_MAX)))
    assert "guidance-up" not in capped  # already at the cap: nothing higher to try


def test_low_diversity_lowers_the_guidance_and_mixes_contexts_at_the_same_n():
    case = _case("diversity", templates=("a photo of the digit {}", "{}", "a handwritten {}."), images_per_prompt=6)
    found = _by_name(remedies.plan(case))
    assert found["guidance-down"].override == {"guidance": 3.75}
    mix = found["contexts"].override
    assert mix["images_per_prompt"] == 1 and len(mix["templates"]) == len(set(mix["templates"])) == case.n == 18
    per_template = [sum(t.startswith(stem) for t in mix["templates"]) for stem in ("a photo of the digit {},", "{},",
                                                                                    "a handwritten {},")]
    assert per_template == [6, 6, 6]  # every template gets the same contexts
    assert mix["templates"][0] == "a photo of the digit {}, on a plain white background"
    assert found["more-seeds"].override == {"images_per_prompt": 12} and not found["more-seeds"].equal_n
    no_guidance = _by_name(remedies.plan(_case("diversity", guidance=1.0)))
    assert "guidance-down" not in no_guidance


def test_concept_gets_no_prompt_remedy_and_says_what_to_measure_instead():
    planned = remedies.plan(_case("concept"))
    assert planned.candidates == () and "mix-1x" in planned.notes[0]
    assert remedies.plan(_case("none")).notes == planned.notes  # a gap no threshold explains is concept's


def test_user_remedies_are_tried_beside_the_built_in_ones():
    planned = remedies.plan(_case("diversity"), user=(("my-sketch", {"templates": ["a sketch of a {}"]}),),
                            only=("guidance-down", "my-sketch"))
    assert [c.remedy for c in planned.candidates] == ["control", "guidance-down", "my-sketch"]
    assert planned.candidates[2].override == {"templates": ["a sketch of a {}"]}


def test_remedies_asked_for_are_tried_whatever_the_causes():
    planned = remedies.plan(_case("concept"), only=("guidance-up", "lemma"))
    assert [c.remedy for c in planned.candidates] == ["control", "guidance-up"]
    assert planned.notes == ("lemma: does not apply to this class",)


def test_every_remedy_cites_its_source_and_serves_one_of_the_causes():
    assert {r.cause for r in remedies.REMEDIES} == {"ambiguity", "adherence", "diversity"}
    assert all(r.source and r.what for r in remedies.REMEDIES)
    assert len({r.name for r in remedies.REMEDIES}) == len(remedies.REMEDIES)


# --- curation ---------------------------------------------------------------------------------------

def test_random_is_a_seeded_sample_without_replacement():
    a, b = curation.random_subset(10, 4, seed=3), curation.random_subset(10, 4, seed=3)
    assert (a == b).all() and len(set(a.tolist())) == 4
    with pytest.raises(ValueError, match="cannot keep 11 of 10"):
        curation.random_subset(10, 11)


def test_clip_keeps_the_highest_scores_and_breaks_ties_by_index():
    assert curation.top_scored(np.array([0.2, 0.9, 0.5, 0.9, 0.1]), 3).tolist() == [1, 3, 2]


def test_adherent_keeps_the_judged_images_first_by_confidence():
    judged = np.array([1, 0, 0, 2, 0])
    p_own = np.array([0.3, 0.6, 0.9, 0.1, 0.6])
    assert curation.adherent(judged, p_own, 0, 4).tolist() == [2, 1, 4, 0]


def test_diverse_covers_the_spread_not_the_mode():
    # nine near-copies of one image and three distinct ones: k-centre takes one copy and the three
    rng = np.random.default_rng(0)
    mode = np.array([1.0, 0, 0, 0])
    x = np.vstack([mode + rng.normal(0, 0.01, 4) for _ in range(9)] + [np.eye(4)[1], np.eye(4)[2], np.eye(4)[3]])
    chosen = curation.k_centre(x, 4)
    assert sorted(chosen.tolist()[1:]) == [9, 10, 11] and chosen[0] < 9
    # the greedy farthest-point rule, by hand, on four points on a line (cosine distance on 2-d unit vectors)
    angles = np.array([0.0, 0.1, 0.5, 1.5])
    pts = np.stack([np.cos(angles), np.sin(angles)], 1)
    mean_nearest = int(np.argmax(pts @ pts.mean(0)))
    assert curation.k_centre(pts, 2).tolist() == [mean_nearest, 3 if mean_nearest != 3 else 0]


def test_select_names_what_a_selection_needs():
    with pytest.raises(ValueError, match="needs the real-trained judge"):
        curation.select("adherent", 2, embeddings=np.ones((3, 2)))
    with pytest.raises(ValueError, match="unknown selection 'best'"):
        curation.select("best", 2, n=3)
    assert curation.select("diverse", 2, embeddings=np.eye(3)).tolist() == [0, 1]


# --- the paired gain ---------------------------------------------------------------------------------

def test_the_gain_is_the_paired_mean_difference_with_its_percentile_bootstrap_interval():
    rng = np.random.default_rng(1)
    before = (rng.random(60) < 0.5).astype(float)
    after = np.where(rng.random(60) < 0.3, 1.0, before)
    g = remedies.gain(before, after, seed=7)
    d = after - before
    assert g.value == pytest.approx(d.mean()) and g.n == 60
    # the same interval, computed here: resample the 60 pairs 1000 times with the same seeded draws
    idx = np.random.default_rng(7).integers(0, 60, size=(1000, 60))
    low, high = np.quantile(d[idx].mean(axis=1), [0.025, 0.975])
    assert (g.low, g.high) == pytest.approx((low, high), abs=1e-12)
    assert g.excludes(0.0) == (low > 0 or high < 0)
    same = remedies.gain(before, before)
    assert same.value == same.low == same.high == 0.0 and not same.excludes(0.0)
