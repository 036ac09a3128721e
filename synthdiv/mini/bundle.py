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
    extra = {} if (folder / "tokenizer").is_dir() else {"tokenizer": pixel_tokenizer()}
    return from_pretrained(PixelDiffusionPipeline, folder, torch_dtype=dtype or torch.float32,
                           local_files_only=True, **extra)
