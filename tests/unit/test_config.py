import pytest

from synthdiv.errors import SynthdivError
from tests.helpers import TINY, tiny_text, write_config
from workbench.config import load_config
from workbench.plan import expand


def test_tiny_example_expands_to_24_jobs_and_6_prompts():
    cfg = load_config(TINY)
    plan = expand(cfg)
    assert len(plan.jobs) == 24 and len(plan.prompts) == 6
    assert len(set(plan.jobs)) == 24
    assert ("goldfish", "a drawing of a {class}.", "a drawing of a goldfish.") in plan.prompts


def test_distinct_seeds_do_not_change_when_classes_are_added(tmp_path):
    small = load_config(TINY)
    bigger_text = TINY.read_text().replace('"golden retriever"]', '"golden retriever", "tench"]')
    bigger = load_config(write_config(tmp_path, bigger_text))
    old = set(expand(small).jobs)
    new = set(expand(bigger).jobs)
    assert old < new and len(new - old) == 8
    assert len({s for _, _, s in new}) == len(new)  # no two images share a seed


def test_shared_seeds_repeat_across_prompts(tmp_path):
    cfg = load_config(write_config(tmp_path, tiny_text(seeds="shared", seed=10)))
    assert {s for _, _, s in expand(cfg).jobs} == {10, 11, 12, 13}


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda t: t.replace("steps = 4", "stpes = 4"), "unknown key 'generation.stpes'"),
        (lambda t: t.replace("steps = 4", 'steps = "four"'), "generation.steps must be int"),
        (lambda t: t.replace("width = 32", "width = 30"), "generation.width is 30: use a multiple of 8"),
        (lambda t: t.replace("steps = 4", "steps = 0"), "generation.steps is 0"),
        (lambda t: t.replace('scheduler = "default"', 'scheduler = "fast"'), "unknown scheduler 'fast'"),
        (lambda t: t.replace('name = "tiny"', ""), "name is missing"),
        (lambda t: t.replace('"tabby cat"', '"taby cat"'), "unknown class 'taby cat'"),
        (lambda t: t.replace('"a photo of a {}."', '"a photo"'), "template 'a photo' has no placeholder"),
        (lambda t: t.replace('"a photo of a {}."', '"{0.__class__}"'), "template '{0.__class__}' has '{0.__class__}'"),
        (lambda t: t.replace('model = "tiny-random"\nscheduler', 'model = "./no/such/model"\nscheduler'),
         "model folder or file ./no/such/model does not exist"),
        (lambda t: t.replace('model = "tiny-random"\nbatch_size', 'model = "ViT-B-32"\nbatch_size'),
         "embedding.pretrained is empty for ViT-B-32"),
        (lambda t: t.replace('model = "tiny-random"\nbatch_size', 'model = "ViT-Q-99"\nbatch_size'),
         "unknown open_clip architecture 'ViT-Q-99'"),
        (lambda t: t + "[[oops]]\n", "unknown key 'oops'"),
        (lambda t: t.replace("[classes]", "[classes"), "is not valid TOML"),
    ],
)
def test_bad_values_name_the_key_and_the_fix(tmp_path, edit, message):
    path = write_config(tmp_path, edit(TINY.read_text()))
    with pytest.raises(SynthdivError) as err:
        load_config(path)
    assert message in err.value.message
    assert ": " in err.value.message  # a fix follows the problem


def test_offline_hub_model_not_in_cache_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    path = write_config(tmp_path, tiny_text(model="someone/not-cached"))
    with pytest.raises(SynthdivError, match="not in the local cache and HF_HUB_OFFLINE is set"):
        load_config(path)


def test_local_model_paths_are_stored_resolved(tmp_path):
    (tmp_path / "models" / "mine").mkdir(parents=True)
    (tmp_path / "models" / "mine" / "model_index.json").write_text(
        '{"_class_name": "StableDiffusionPipeline", "scheduler": ["diffusers", "PNDMScheduler"]}')
    cfg = load_config(write_config(tmp_path, tiny_text(model="models/mine")))
    assert cfg.generation.model == str((tmp_path / "models" / "mine").resolve())


def test_a_folder_that_is_no_pipeline_is_refused_naming_it(tmp_path):
    (tmp_path / "models" / "weights").mkdir(parents=True)
    (tmp_path / "models" / "weights" / "unet.safetensors").write_bytes(b"")
    with pytest.raises(SynthdivError, match="not a diffusers pipeline folder") as err:
        load_config(write_config(tmp_path, tiny_text(model="models/weights")))
    assert "model_index.json" in err.value.fix
