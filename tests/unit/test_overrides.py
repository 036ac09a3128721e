"""Per-class overrides (``[classes.overrides."LABEL"]``): parsing, the plan they make, the round
trip through the one parse/serialise pair, the refusals, and what the store lets change."""

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib
from dataclasses import replace

import pytest

from synthdiv.errors import SynthdivError
from synthdiv.generate import GenerationSettings
from tests.helpers import TINY, write_config
from workbench.config import ExperimentConfig, load_config, parse_config, to_table
from workbench.control import prepare, to_toml
from workbench.generation import class_settings, make_batch, png_text, settings_of
from workbench.plan import expand, size

OWN = '''
[classes.overrides."tabby cat"]
templates = ["a photo of a {}, a small house cat.", "a sketch of a {}."]
guidance = 2.0
images_per_prompt = 3

[classes.overrides.goldfish]
negative_prompt = "a cartoon"
'''


def _with(tmp_path):
    return load_config(write_config(tmp_path, TINY.read_text().replace("[templates]", OWN + "\n[templates]")))


def _changed(cfg, label: str, **values):
    """``cfg`` with class ``label``'s override changed."""
    return replace(cfg, overrides=tuple((c, replace(o, **values) if c == label else o) for c, o in cfg.overrides))


def test_a_class_override_changes_only_its_own_jobs_and_settings(tmp_path):
    plain, own = load_config(TINY), _with(tmp_path)
    cat = [j for j in expand(own).jobs if j[0] == "tabby cat"]
    assert len(cat) == 2 * 3 and {t for _, t, _ in cat} == {"a photo of a {}, a small house cat.", "a sketch of a {}."}
    others = [j for j in expand(own).jobs if j[0] != "tabby cat"]
    assert others == [j for j in expand(plain).jobs if j[0] != "tabby cat"]  # the same templates and seeds
    assert size(own) == len(expand(own).jobs) == 8 + 6 + 8
    assert settings_of(own, "tabby cat").guidance == 2.0 and settings_of(own, "goldfish").negative_prompt == "a cartoon"
    assert settings_of(own, "golden retriever") == settings_of(plain)
    assert own.settings()["generation"] == plain.settings()["generation"]
    assert own.settings()["classes"] == {"tabby cat": {"guidance": 2.0}, "goldfish": {"negative_prompt": "a cartoon"}}
    assert "classes" not in plain.settings()  # older experiments' settings are unchanged
    prompts = [p for c, _, p in expand(own).prompts if c == "tabby cat"]
    assert prompts == ["a photo of a tabby cat, a small house cat.", "a sketch of a tabby cat."]


def test_overrides_round_trip_through_the_file_and_the_stored_form(tmp_path):
    cfg = _with(tmp_path)
    text = to_toml(to_table(cfg))
    assert '[classes.overrides."tabby cat"]' in text and "[classes.overrides.goldfish]" in text
    assert parse_config(tomllib.loads(text), "round trip", tmp_path) == cfg
    assert ExperimentConfig.from_stored(cfg.stored()) == cfg
    assert load_config(TINY).stored()["overrides"] == {}


def test_override_labels_match_as_class_names_do(tmp_path):
    cfg = load_config(write_config(tmp_path, TINY.read_text().replace(
        "[templates]", '[classes.overrides."Tabby Cat"]\nguidance = 3\n\n[templates]')))
    assert cfg.overrides[0][0] == "tabby cat" and cfg.overrides[0][1].guidance == 3.0


@pytest.mark.parametrize("table, message, fix", [
    ('[classes.overrides.tench]\nguidance = 2', "classes.overrides names 'tench', which is not a class of this experiment",
     "goldfish, tabby cat, Golden Retriever"),
    ('[classes.overrides.goldfish]\nsteps = 8', "generation.steps cannot be set per class: it shapes every image",
     "templates, guidance, negative_prompt, images_per_prompt"),
    ('[classes.overrides.goldfish]\nwidth = 64', "generation.width cannot be set per class", "[sweep]"),
    ('[classes.overrides.goldfish]\nmodel = "x"', "generation.model cannot be set per class", ""),
    ('[classes.overrides.goldfish]\ncolour = "red"', "'colour' is not a per-class key", "guidance"),
    ('[classes.overrides.goldfish]\nguidance = 200', "generation.guidance is 200", "0 to 100"),
    ('[classes.overrides.goldfish]\nguidance = "high"', "generation.guidance must be a number", ""),
    ('[classes.overrides.goldfish]\ntemplates = []', "templates is empty", ""),
    ('[classes.overrides.goldfish]\ntemplates = ["a {0} goldfish"]', "has '{0}'", ""),
    ('[classes.overrides.goldfish]\nimages_per_prompt = 0', "generation.images_per_prompt is 0", ""),
    ('[classes]\noverrides = 3', "classes.overrides must be a table of per-class tables", "[classes.overrides."),
])
def test_bad_overrides_are_refused_naming_the_key(tmp_path, table, message, fix):
    text = TINY.read_text()
    if table.startswith("[classes]"):
        text = text.replace('names = ["goldfish", "tabby cat", "golden retriever"]',
                            'names = ["goldfish", "tabby cat", "golden retriever"]\noverrides = 3')
    else:
        text = text.replace("[templates]", table + "\n\n[templates]")
    with pytest.raises(SynthdivError) as err:
        load_config(write_config(tmp_path, text))
    assert message in str(err.value) and fix in str(err.value)


def test_a_class_made_otherwise_is_made_in_a_call_of_its_own(tmp_path):
    cfg = _with(tmp_path)
    calls = []

    class Fake:
        def generate_fitting(self, prompts, seeds, settings, fits):
            calls.append((prompts, settings.guidance, settings.negative_prompt))
            return [f"{p}@{settings.guidance}" for p in prompts], fits

        def readings(self, prompts):
            return [None] * len(prompts)

    batch = [{"class_name": c, "prompt": f"{c} {i}", "seed": i, "template": "{}"} for i, c in
             enumerate(["goldfish", "tabby cat", "golden retriever", "tabby cat"])]
    images, _, _ = make_batch(Fake(), batch, class_settings(cfg), 8)
    assert images == ["goldfish 0@5.0", "tabby cat 1@2.0", "golden retriever 2@5.0", "tabby cat 3@2.0"]
    assert sorted((g, n) for _, g, n in calls) == [(2.0, ""), (5.0, ""), (5.0, "a cartoon")]
    prov = {"model_id": "m", "scheduler": "s"}
    assert png_text(batch[1], class_settings(cfg), prov)["synthdiv:guidance"] == 2.0
    assert png_text(batch[0], class_settings(cfg), prov)["synthdiv:negative_prompt"] == "a cartoon"
    assert "synthdiv:negative_prompt" not in png_text(batch[2], class_settings(cfg), prov)
    assert isinstance(class_settings(load_config(TINY)), GenerationSettings)  # one for all without overrides


def test_a_changed_override_adds_jobs_for_its_class_and_refuses_to_mix_a_class_images(tmp_path):
    from store import open_store

    cfg = _with(tmp_path)
    with open_store(tmp_path / "store", create=True) as st:
        p = prepare(st, cfg)
        assert p.added == 22
        # pretend the cat's first image was made (its file too: a missing file goes back in the queue)
        (st.root / "x.png").write_bytes(b"png")
        job = dict(next(iter(st.db.query(
            "select j.* from jobs j join classes c on c.id = j.class_id where c.name = 'tabby cat' limit 1"))))
        st.db["images"].insert({"experiment_id": p.experiment_id, "class_id": job["class_id"],
                                "template_id": job["template_id"], "prompt_id": job["prompt_id"], "job_id": job["id"],
                                "seed": job["seed"], "path": "x.png", "class_name": "tabby cat", "template": "t", "prompt": "p", "model_id": "m", "steps": 4, "sha256": "0" * 64, "width": 32, "height": 32,
                                "guidance": 2.0})
        more = _changed(cfg, "tabby cat", images_per_prompt=4)
        again = prepare(st, more)
        assert again.added == 2  # one more seed per cat template; nothing else
        goldfish = _changed(more, "goldfish", negative_prompt="a drawing")
        prepare(st, goldfish)  # the goldfish has no image yet: its settings may change
        changed = _changed(goldfish, "tabby cat", guidance=4.0)
        with pytest.raises(SynthdivError) as err:
            prepare(st, changed)
        assert "1 images of class 'tabby cat' made with other settings" in str(err.value)
        assert "classes.overrides.tabby cat.guidance 2.0 → 4.0" in str(err.value)
        assert sum(1 for _ in st.db.query("select id from images")) == 1


@pytest.mark.parametrize("runs, message", [
    ('["synthetic", "adherent-4"]', 'list "real" before \'adherent-4\''),
    ('["synthetic", "diverse-99"]', "keeps 99 synthetic images per class, and the plan makes 8"),
    ('["synthetic", "best-4"]', '"SELECTION-N"'),
])
def test_curated_runs_are_checked_against_the_plan_and_the_judge(tmp_path, runs, message):
    text = TINY.read_text() + f'\n[real]\nsource = "{tmp_path}"\n[train]\nruns = {runs}\n'
    for label in ("goldfish", "tabby cat", "golden retriever"):
        (tmp_path / label).mkdir()
        from PIL import Image

        for i in range(2):
            Image.new("RGB", (8, 8)).save(tmp_path / label / f"{i}.png")
    with pytest.raises(SynthdivError) as err:
        load_config(write_config(tmp_path, text))
    assert message in str(err.value)


def test_curated_runs_are_planned_with_their_selection(tmp_path):
    from workbench.training import wanted_runs

    text = TINY.read_text() + f'\n[real]\nsource = "{tmp_path}"\n[train]\nruns = ["synthetic", "real", "adherent-4",' \
                              ' "random-4"]\n'
    for label in ("goldfish", "tabby cat", "golden retriever"):
        (tmp_path / label).mkdir()
        from PIL import Image

        for i in range(2):
            Image.new("RGB", (8, 8)).save(tmp_path / label / f"{i}.png")
    runs = wanted_runs(load_config(write_config(tmp_path, text)))
    assert [r[0] for r in runs] == ["synthetic", "real", "adherent-4", "random-4"]
    assert len({r[2] for r in runs}) == 4
