"""Every generator family a researcher brings (SD 1.x, SD 2.x v-prediction, SDXL, SD3, FLUX,
PixArt), tiny and built from configs, runs through a real ``synthdiv run`` from a plain folder
and from a hub-cache snapshot with ``HF_HUB_OFFLINE=1``, and records where each image came from;
what a family cannot do is refused at config time, before a store exists."""

from __future__ import annotations

import pytest
from PIL import Image

from store import open_store
from store.images import consistency
from synthdiv.sources import content_hash
from tests.families import FAMILIES, HUB_IDS, save_folder, save_hub_cache
from tests.helpers import run_cli, write_config

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def family_models(tmp_path_factory):
    """Each family saved once per test session: {family: (folder, hub commit)}, and the HF_HOME."""
    root = tmp_path_factory.mktemp("families")
    hf_home = root / "hf"
    made = {}
    for family in FAMILIES:
        folder = save_folder(family, root / family)
        made[family] = (folder, save_hub_cache(folder, hf_home, HUB_IDS[family]))
    return made, hf_home


def family_text(models: list[str], embedder: str = "tiny-random", **generation) -> str:
    lines = "\n".join(f"{k} = {v!r}" if not isinstance(v, str) else f'{k} = "{v}"' for k, v in generation.items())
    sweep = f'\n[sweep]\n"generation.model" = {models!r}\n'.replace("'", '"') if len(models) > 1 else ""
    model = "" if sweep else f'model = "{models[0]}"\n'
    return f"""name = "family"
[classes]
set = "imagenet"
names = ["goldfish", "tabby cat"]
[templates]
custom = ["a photo of a {{}}."]
[generation]
{model}steps = 2
guidance = 3.0
width = 32
height = 32
images_per_prompt = 2
batch_size = 2
{lines}
[embedding]
model = "{embedder}"
{sweep}"""


@pytest.fixture
def run_family(tmp_path, family_models, monkeypatch):
    """``synthdiv run`` of an experiment file's text into ``tmp_path/S``, with the families' hub cache."""
    monkeypatch.setenv("HF_HOME", str(family_models[1]))

    def run(text):
        return run_cli("run", str(write_config(tmp_path, text)), "--store", str(tmp_path / "S"), cwd=tmp_path,
                       timeout=600)
    return run


def test_every_family_runs_from_a_folder_and_from_the_offline_hub_cache(tmp_path, family_models, run_family):
    made = family_models[0]
    # one run holds every family twice: from its folder and by its hub id (offline, from the cache)
    models = [str(made[f][0]) for f in FAMILIES] + [HUB_IDS[f] for f in FAMILIES]
    out = run_family(family_text(models))
    assert out.returncode == 0, out.stdout + out.stderr
    with open_store(tmp_path / "S", readonly=True) as st:
        assert consistency(st) == {"files_without_rows": [], "rows_without_files": []}
        rows = st.conn.execute("select model_id, model_revision, model_hash, scheduler, dtype, device, width, height, "
                               "path, class_name, seed from images").fetchall()
        embedded = st.conn.execute("select count(*) from embeddings where kind = 'image'").fetchone()[0]
    assert embedded == len(rows) == 4 * len(models)
    by_model = {}
    for row in rows:
        by_model.setdefault(row["model_id"], []).append(row)
    assert set(by_model) == set(models)
    schedulers = {"sd1": "DDIMScheduler", "sd2-v": "DDIMScheduler", "sdxl": "EulerDiscreteScheduler",
                  "sdxl-turbo": "EulerAncestralDiscreteScheduler",
                  "sd3": "FlowMatchEulerDiscreteScheduler", "flux": "FlowMatchEulerDiscreteScheduler",
                  "pixart": "DPMSolverMultistepScheduler"}
    for family in FAMILIES:
        folder, commit = made[family]
        from_folder, from_hub = by_model[str(folder)], by_model[HUB_IDS[family]]
        assert {r["model_hash"] for r in from_folder} == {content_hash(folder)}, family
        assert {r["model_revision"] for r in from_hub} == {commit}, family  # the snapshot's commit
        for r in from_folder + from_hub:
            assert (r["scheduler"], r["dtype"], r["device"]) == (schedulers[family], "float32", "cpu"), family
            # the size asked for is the size made (PixArt would snap it to a resolution bin)
            assert (r["width"], r["height"]) == (32, 32)
            with Image.open(tmp_path / "S" / r["path"]) as im:
                assert im.size == (32, 32), family
        # the snapshot holds the same files as the folder, so it makes the same pixels from the same seeds
        # (the PNG files differ: each records its model's name)
        assert pixels_by_seed(tmp_path / "S", from_folder) == pixels_by_seed(tmp_path / "S", from_hub), family


def pixels_by_seed(store, rows):
    out = {}
    for r in rows:
        with Image.open(store / r["path"]) as im:
            out[(r["class_name"], r["seed"])] = im.convert("RGB").tobytes()
    return out


@pytest.mark.parametrize("family, scheduler", [("sd3", "euler"), ("flux", "euler"), ("flux", "euler-a"),
                                               ("flux", "unipc"), ("sd3", "ddim")])
def test_a_scheduler_the_model_cannot_take_is_refused_before_a_store_exists(tmp_path, family_models, run_family, family,
                                                                          scheduler):
    for model in (str(family_models[0][family][0]), HUB_IDS[family]):
        out = run_family(family_text([model], scheduler=scheduler))
        said = out.stdout + out.stderr
        assert out.returncode == 2, said
        assert f"scheduler {scheduler!r}" in said and "FlowMatchEulerDiscreteScheduler" in said, said
        assert 'scheduler = "default"' in said and "Traceback" not in said, said
        assert not (tmp_path / "S").exists()


def test_a_scheduler_the_model_can_take_is_used(tmp_path, family_models, run_family):
    out = run_family(family_text([str(family_models[0]["sd2-v"][0])], scheduler="dpm++"))
    assert out.returncode == 0, out.stdout + out.stderr
    with open_store(tmp_path / "S", readonly=True) as st:
        assert {r[0] for r in st.conn.execute("select scheduler from images")} == {"DPMSolverMultistepScheduler"}


def test_a_negative_prompt_flux_does_not_use_is_refused_and_one_sd3_uses_is_kept(tmp_path, family_models,
                                                                                 run_family):
    out = run_family(family_text([HUB_IDS["flux"]], negative_prompt="blurry"))
    said = out.stdout + out.stderr
    assert out.returncode == 2 and "FluxPipeline does not use a negative prompt" in said, said
    assert "remove generation.negative_prompt" in said and not (tmp_path / "S").exists()
    out = run_family(family_text([str(family_models[0]["sd3"][0])], negative_prompt="blurry"))
    assert out.returncode == 0, out.stdout + out.stderr
    with open_store(tmp_path / "S", readonly=True) as st:
        assert {r[0] for r in st.conn.execute("select negative_prompt from images")} == {"blurry"}




def test_an_hf_hub_embedder_is_stored_with_its_snapshot_commit(tmp_path, family_models, run_family, monkeypatch):
    from synthdiv.mini import bundle

    commit = save_hub_cache(bundle.shipped() / "clip", family_models[1], "tiny-org/clip")
    out = run_family(family_text(["tiny-random"], embedder="hf-hub:tiny-org/clip"))
    assert out.returncode == 0, out.stdout + out.stderr
    with open_store(tmp_path / "S", readonly=True) as st:
        names = {r[0] for r in st.conn.execute("select distinct model from embeddings")}
    assert names == {f"hf-hub:tiny-org/clip@{commit[:12]}"}
    here = run_cli("report", str(tmp_path / "S"))
    assert here.returncode == 0, here.stderr
    # read where the hub cache lacks the model (the store copied to another machine): same numbers
    monkeypatch.setenv("HF_HOME", str(tmp_path / "empty-cache"))
    elsewhere = run_cli("report", str(tmp_path / "S"))
    assert elsewhere.returncode == 0, elsewhere.stderr
    assert elsewhere.stdout == here.stdout and "synthetic" in here.stdout and "no embeddings" not in here.stdout


def test_an_hf_hub_embedder_missing_offline_is_refused_before_anything_is_made(tmp_path, run_family):
    out = run_family(family_text(["tiny-random"], embedder="hf-hub:tiny-org/not-downloaded"))
    said = out.stdout + out.stderr
    assert out.returncode == 2, said
    assert "tiny-org/not-downloaded is not in the local cache and HF_HUB_OFFLINE is set" in said, said
    assert "huggingface-cli download tiny-org/not-downloaded" in said and "Traceback" not in said
    assert not (tmp_path / "S").exists()


@pytest.fixture(scope="session")
def single_file(family_models, tmp_path_factory):
    """The SD 1.x family's pipeline as one original-layout .safetensors file (what users download)."""
    from tests.families import build
    from tests.single_file import save_single_file

    return save_single_file(build("sd1"), tmp_path_factory.mktemp("single") / "tiny-sd1.safetensors")


def test_a_single_file_checkpoint_runs_with_its_base_config_and_records_both(tmp_path, family_models, single_file,
                                                                             run_family):
    base = family_models[0]["sd1"][0]
    out = run_family(family_text([str(single_file)], base_config=str(base)))
    assert out.returncode == 0, out.stdout + out.stderr
    with open_store(tmp_path / "S", readonly=True) as st:
        rows = st.conn.execute("select distinct model_id, model_hash, model_revision, scheduler from images").fetchall()
        assert st.conn.execute("select count(*) from images").fetchone()[0] == 4
    assert [tuple(r) for r in rows] == [(str(single_file), content_hash(single_file),
                                         f"base {base}@{content_hash(base)[:12]}", "DDIMScheduler")]


def test_a_single_file_loads_the_same_weights_as_the_folder_it_was_made_from(family_models, single_file):
    import torch

    from synthdiv.generate import Generator
    from synthdiv.sources import FileSource, FolderSource

    base = family_models[0]["sd1"][0]
    one = Generator(FileSource(str(single_file), str(base)), device="cpu").pipe
    folder = Generator(FolderSource(str(base)), device="cpu").pipe
    for part in ("unet", "vae", "text_encoder"):
        a, b = getattr(one, part).state_dict(), getattr(folder, part).state_dict()
        assert set(a) == set(b) and all(torch.equal(a[k].reshape(b[k].shape), b[k]) for k in a), part


def _refused(out, *said_parts):
    said = out.stdout + out.stderr
    assert out.returncode == 2, said
    for part in said_parts:
        assert part in " ".join(said.split()), said
    assert "Traceback" not in said, said


def test_single_files_that_cannot_load_are_refused_before_a_store_exists(tmp_path, family_models, single_file,
                                                                        run_family):
    made = family_models[0]
    out = run_family(family_text([str(single_file)]))
    _refused(out, "tiny-sd1.safetensors is a single-file checkpoint, and generation.base_config is not set",
             'set generation.base_config to the diffusers folder or hub id of its base model')
    pickle = tmp_path / "model.ckpt"
    pickle.write_bytes(b"\x80\x04not really")
    _refused(run_family(family_text([str(pickle)])), "model.ckpt is a pickled checkpoint (.ckpt)",
             "synthdiv loads only .safetensors files")
    _refused(run_family(family_text([str(single_file)], base_config=str(made["sdxl"][0]))),
             "does not fit the base in generation.base_config: its cross-attention width is 32, the base's 64")
    _refused(run_family(family_text([str(single_file)], base_config=str(made["pixart"][0]))),
             "PixArtAlphaPipeline (the base in generation.base_config) cannot load a single-file checkpoint")
    component = made["sd1"][0] / "unet" / "diffusion_pytorch_model.safetensors"
    _refused(run_family(family_text([str(component)], base_config=str(made["sd1"][0]))),
             "holds diffusers-layout weights of one component")
    _refused(run_family(family_text([str(made["sd1"][0])], base_config=str(made["sd1"][0]))),
             "generation.base_config is set, but generation.model is not a single-file checkpoint")
    _refused(run_family(family_text([str(single_file)], base_config="tiny-org/never-downloaded")),
             "generation.base_config: hub model tiny-org/never-downloaded is not in the local cache")
    assert not (tmp_path / "S").exists()
