"""The mini text encoder loads to the same weights whichever transformers saved it (4.x writes a
``text_model.`` prefix, 5.x none), and a file that does not match its config is refused rather
than loaded as random layers (what transformers 4.x's own loader does, with only a warning)."""

import shutil

import pytest
import torch
from safetensors.torch import load_file, save_file

from synthdiv.errors import ModelError
from synthdiv.mini import bundle

SHIPPED = bundle.shipped() / "t2i" / "text_encoder"
IDS = torch.tensor([[49406, 320, 1125, 539, 49407, 49407, 49407, 49407]])


def saved_as(tmp_path, rename) -> str:
    folder = tmp_path / "text_encoder"
    shutil.copytree(SHIPPED, folder)
    weights = load_file(str(SHIPPED / "model.safetensors"))
    save_file({rename(k): v for k, v in weights.items() if rename(k)}, str(folder / "model.safetensors"))
    return folder


def encoded(folder) -> torch.Tensor:
    with torch.no_grad():
        return bundle.load_text_encoder(folder)(IDS).last_hidden_state


def test_both_key_layouts_load_the_same_weights(tmp_path):
    shipped = encoded(SHIPPED)
    prefixed = encoded(saved_as(tmp_path / "a", lambda k: "text_model." + k.removeprefix("text_model.")))
    bare = encoded(saved_as(tmp_path / "b", lambda k: k.removeprefix("text_model.")))
    assert torch.equal(prefixed, shipped) and torch.equal(bare, shipped)
    # and they are the file's weights, not a fresh initialisation
    weights = load_file(str(SHIPPED / "model.safetensors"))
    token = next(v for k, v in weights.items() if k.endswith("token_embedding.weight"))
    model = bundle.load_text_encoder(SHIPPED)
    assert torch.equal(model.get_input_embeddings().weight, token.float())


def test_a_weight_missing_is_an_error_naming_the_folder(tmp_path):
    folder = saved_as(tmp_path, lambda k: None if "layers.1.mlp.fc2.weight" in k else k)
    with pytest.raises(ModelError, match="text_encoder.*does not match.*fc2.weight"):
        bundle.load_text_encoder(folder)
