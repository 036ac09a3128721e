"""A second image encoder (timm) beside CLIP: ``[embedding] image_models`` embeds every synthetic and
real image with it, and the image-only tables are computed and shown per encoder in the report
and the export, next to CLIP's."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from store import open_store
from tests.helpers import run_cli, write_config

TEXT = """name = "two-encoders"
[classes]
set = "digits"
names = ["zero", "one", "two"]
[templates]
custom = ["a photo of the digit {{}}."]
[generation]
model = "tiny-random"
steps = 2
width = 32
height = 32
images_per_prompt = 6
batch_size = 6
[embedding]
model = "tiny-random"
image_models = [{models}]
[real]
source = "digits"
"""


@pytest.fixture(scope="module")
def encoder(tmp_path_factory):
    """A tiny timm ViT with seeded random weights, saved as timm saves models for the hub."""
    import timm
    import torch

    torch.manual_seed(3)
    args = dict(img_size=32, patch_size=8, embed_dim=32, depth=2, num_heads=2)
    model = timm.create_model("vit_tiny_patch16_224", num_classes=0, **args)
    folder = tmp_path_factory.mktemp("encoders") / "tiny-vit"
    timm.models.save_for_hf(model, str(folder), model_args=args, safe_serialization=True)
    return folder


@pytest.mark.slow
def test_an_image_encoders_tables_stand_next_to_clips_in_report_and_export(tmp_path, encoder):
    from synthdiv.image_encoders import ImageEncoderSpec, encoder_identity

    name = encoder_identity(ImageEncoderSpec("local-dir", str(encoder)))
    out = run_cli("run", str(write_config(tmp_path, TEXT.format(models=f'"{encoder}"'))), "--store", str(tmp_path / "S"),
                  cwd=tmp_path, timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr
    with open_store(tmp_path / "S", readonly=True) as st:
        got = {(r[0], r[1]): r[2] for r in st.conn.execute("select model, kind, count(*) from embeddings group by 1, 2")}
        images, reals = (st.conn.execute(f"select count(*) from {t}").fetchone()[0] for t in ("images", "real_images"))
    # every synthetic and real image by both encoders; prompts by CLIP only
    assert got[(name, "image")] == got[("tiny-random", "image")] == images == 18
    assert got[(name, "real")] == got[("tiny-random", "real")] == reals
    assert (name, "text") not in got and got[("tiny-random", "text")] == 3

    report = run_cli("report", str(tmp_path / "S"))
    said = " ".join(report.stdout.split())
    assert report.returncode == 0, report.stderr
    assert "Headline numbers (CLIP tiny-random" in said and f"Headline numbers (image encoder {name}" in said
    assert f"Per class, image encoder {name}" in said

    export = run_cli("export", str(tmp_path / "S"), "--format", "csv,json", "--out", str(tmp_path / "tables"))
    assert export.returncode == 0, export.stderr
    slug = name.replace(":", "-").replace("@", "-")
    with open(tmp_path / "tables" / f"diversity.{slug}.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["class"] for r in rows] == ["zero", "one", "two"] and all(r["vendi_synthetic"] for r in rows)
    data = json.loads((tmp_path / "tables" / "synthdiv-report.json").read_text())
    mine = {r["measure"]: r["value"] for r in data["image_encoders"][name]["headline"]}
    clip = {r["measure"]: r["value"] for r in data["headline"]}
    # image-only measures per encoder, each its own number; the text-image ones stay CLIP's
    for measure in ("synthetic_to_real", "real_to_real", "vendi_ratio", "precision", "frechet", "cmmd"):
        assert mine[measure] is not None and clip[measure] is not None, measure
    assert mine["frechet"] != clip["frechet"]
    assert mine["adherence"] is None and clip["adherence"] is not None
    assert data["metadata"]["image_encoders"] == [name]


def test_image_models_entries_that_cannot_load_are_refused_naming_them(tmp_path, encoder):
    bad = tmp_path / "not-timm"
    bad.mkdir()
    cases = [('"resnet18"', "'resnet18' has no pretrained tag, and random weights give meaningless numbers"),
             ('"no_such_net.tag"', "'no_such_net' is not a timm model"),
             (f'"{bad}"', "is not a timm model folder (it has no config.json)"),
             ('"hf-hub:timm/not-downloaded"', "hub model timm/not-downloaded is not in the local cache"),
             (f'"{encoder}", "{encoder}"', "lists " + str(encoder) + " twice"),
             ('"a", 3', "embedding.image_models must be a list of strings")]
    for models, message in cases:
        out = run_cli("run", str(write_config(tmp_path, TEXT.format(models=models))), "--store", str(tmp_path / "S"),
                      cwd=tmp_path)
        said = " ".join((out.stdout + out.stderr).split())
        assert out.returncode == 2 and message in said and "Traceback" not in said, (models, said)
    assert not (tmp_path / "S").exists()


def test_an_analysis_without_texts_leaves_the_text_measures_out_and_keeps_the_rest():
    from synthdiv.analysis import Inputs, analyse

    rng = np.random.default_rng(0)
    centres = np.eye(3, 16) * 5
    def draw(n):
        y = np.repeat(np.arange(3), n)
        return centres[y] + rng.normal(0, 0.3, (len(y), 16)), y
    syn, syn_y = draw(10)
    real, real_y = draw(12)
    split = np.array(["train", "test"] * (len(real_y) // 2))
    result = analyse(Inputs(["a", "b", "c"], syn, syn_y, real, real_y, split, np.zeros((0, 16)), np.zeros(0, int)))
    head = {r["measure"]: r["value"] for r in result["headline"]}
    assert head["synthetic_to_real"] == 1.0 and head["real_to_real"] == 1.0  # separable clusters
    assert head["adherence"] is None and head["zero_shot_real"] is None
    assert result["similarity_text"] is None and result["geometry"][0]["modality_gap"] is None
    assert all(r["confusability_name_similarity"] is None for r in result["four_causes"])
    assert any("image-only encoder" in note for note in result["notes"])
