"""The shipped mini models: where they are, and how they load with no network.

Package data ``synthdiv/data/mini``: ``t2i/`` (a ``PixelDiffusionPipeline`` folder without its
tokenizer, which is rebuilt from open_clip's vocabulary at load time), ``clip/`` (an open_clip
``local-dir`` folder), and ``manifest.json`` (training command, seed, versions, quality).
Weights are stored in fp16 to keep the bundle small and computed in fp32 on the CPU.
"""

from __future__ import annotations

import json
from pathlib import Path

from synthdiv.errors import ModelError

SHIPPED = Path(__file__).resolve().parent.parent / "data" / "mini"
PIPELINE_CLASS = "PixelDiffusionPipeline"


def shipped() -> Path:
    """The folder of the shipped mini models; a clear error if the package lacks them."""
    if not (SHIPPED / "t2i" / "model_index.json").is_file() or not (SHIPPED / "clip").is_dir():
        raise ModelError(
            f"the mini models are missing from {SHIPPED}",
            "reinstall synthdiv, or train them with synthdiv mini train --out " + str(SHIPPED),
        )
    return SHIPPED


def manifest(root: str | Path | None = None) -> dict:
    path = Path(root or shipped()) / "manifest.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def is_pixel_pipeline(folder: str | Path) -> bool:
    """Whether ``folder`` holds a saved ``PixelDiffusionPipeline``."""
    index = Path(folder) / "model_index.json"
    try:
        return json.loads(index.read_text()).get("_class_name") == PIPELINE_CLASS
    except (OSError, ValueError):
        return False


def pixel_tokenizer():
    """What a ``PixelDiffusionPipeline`` reads prompts with: CLIP's BPE tokenizer at the mini
    text encoder's context length (rebuilt from open_clip's vocabulary; no files needed)."""
    from synthdiv.mini.train import CONTEXT
    from synthdiv.tokenizer import clip_tokenizer

    return clip_tokenizer(CONTEXT)


def load_pipeline(folder: str | Path, dtype=None):
    """Load a ``PixelDiffusionPipeline`` from ``folder`` (rebuilding the tokenizer if it is absent)."""
    import torch

    from synthdiv.loading import from_pretrained, quiet_libraries
    from synthdiv.mini.pipeline import PixelDiffusionPipeline

    quiet_libraries()
    folder = Path(folder)
    dtype = dtype or torch.float32
    extra = {} if (folder / "tokenizer").is_dir() else {"tokenizer": pixel_tokenizer()}
    if (folder / "text_encoder" / TEXT_ENCODER_WEIGHTS).is_file():
        extra["text_encoder"] = load_text_encoder(folder / "text_encoder", dtype)
    return from_pretrained(PixelDiffusionPipeline, folder, torch_dtype=dtype, local_files_only=True, **extra)


TEXT_ENCODER_WEIGHTS = "model.safetensors"
_TEXT_MODEL = "text_model."


def load_text_encoder(folder: str | Path, dtype=None):
    """The pipeline's ``CLIPTextModel`` from ``folder`` (its ``config.json`` and
    ``model.safetensors``), whichever transformers wrote it, loaded strictly.

    transformers 5 saves a CLIPTextModel's weights without the ``text_model.`` prefix that 4.x
    writes and expects; 4.x's ``from_pretrained`` then leaves every layer randomly initialised with
    only a warning, and the pipeline draws noise. Here the weights are renamed to the layout this
    transformers builds, and a weight missing or left over is an error naming the folder."""
    import torch
    from safetensors.torch import load_file
    from transformers import CLIPTextConfig, CLIPTextModel

    folder = Path(folder)
    model = CLIPTextModel(CLIPTextConfig.from_pretrained(str(folder)))
    weights = load_file(str(folder / TEXT_ENCODER_WEIGHTS))
    want = set(model.state_dict())
    bare = {k.removeprefix(_TEXT_MODEL): v for k, v in weights.items()}
    layouts = (bare, {_TEXT_MODEL + k: v for k, v in bare.items()})
    match = next((w for w in layouts if set(w) == want), None)
    if match is None:
        missing = sorted(min((want - set(w) for w in layouts), key=len))[:3]
        raise ModelError(f"the text encoder in {folder} does not match its config.json ({len(weights)} weights"
                         f" in the file, {len(want)} expected; missing: {', '.join(missing) or 'none'})",
                         "train the mini models again: synthdiv mini train --out DIR")
    model.load_state_dict(match, strict=True)
    return model.to(dtype or torch.float32).eval()
