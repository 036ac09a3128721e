"""What a text-to-image pipeline family supports, read from its files before anything runs.

A diffusers model folder names its pipeline class and its scheduler in ``model_index.json``.
From the classes themselves (no weights are read) we know which schedulers can replace the
model's own (the scheduler class's ``_compatibles``: the flow-matching schedulers of SD3 and
FLUX list none) and whether the pipeline uses a negative prompt (FLUX's ``__call__`` takes one,
but uses it only with "true" classifier-free guidance, which synthdiv does not run; its guidance
is distilled). :func:`check_supported` turns a setting the family cannot honour into an error
at config time, with the reason, instead of a worker that fails on every job or, worse, samples
wrongly in silence.
"""

from __future__ import annotations

import inspect
import json
from dataclasses import dataclass
from pathlib import Path

from synthdiv.errors import ModelError, SynthdivError

PIXEL_PIPELINE = "PixelDiffusionPipeline"  # synthdiv's own (synthdiv.mini.pipeline)

# User-facing scheduler names → diffusers scheduler classes.
SCHEDULERS = {
    "ddim": "DDIMScheduler",
    "ddpm": "DDPMScheduler",
    "pndm": "PNDMScheduler",
    "lms": "LMSDiscreteScheduler",
    "euler": "EulerDiscreteScheduler",
    "euler-a": "EulerAncestralDiscreteScheduler",
    "heun": "HeunDiscreteScheduler",
    "dpm++": "DPMSolverMultistepScheduler",
    "unipc": "UniPCMultistepScheduler",
}


def check_scheduler(name: str) -> str:
    """``name`` if it is ``default`` or a known scheduler, else a clear error."""
    if name != "default" and name not in SCHEDULERS:
        raise SynthdivError(
            f"unknown scheduler {name!r}",
            f"use default (the model's own) or one of {', '.join(SCHEDULERS)}",
        )
    return name


@dataclass(frozen=True)
class Family:
    """A model's pipeline class and scheduler class, by name (as ``model_index.json`` gives them)."""

    pipeline: str
    scheduler: str


def read_family(folder: str | Path) -> Family | None:
    """The family of the diffusers model saved in ``folder``; None when it has no readable
    ``model_index.json`` naming a pipeline class."""
    try:
        index = json.loads((Path(folder) / "model_index.json").read_text())
        pipeline = str(index["_class_name"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    entry = index.get("scheduler")
    scheduler = str(entry[1]) if isinstance(entry, list) and len(entry) == 2 and entry[1] else ""
    return Family(pipeline, scheduler)


UNET = "model.diffusion_model."  # where an original-layout (LDM) checkpoint keeps its UNet


def safetensors_header(path: Path) -> dict[str, list[int]]:
    """Tensor name → shape of a ``.safetensors`` file, read from its JSON header alone (no
    weights are read, nothing is unpickled); a ``ModelError`` if it is not such a file."""
    import struct

    try:
        with open(path, "rb") as f:
            size = struct.unpack("<Q", f.read(8))[0]
            if not 2 <= size <= 200 * 2**20:
                raise ValueError(f"a header of {size} bytes")
            header = json.loads(f.read(size))
        return {k: list(v["shape"]) for k, v in header.items() if k != "__metadata__"}
    except (OSError, ValueError, KeyError, TypeError, struct.error) as exc:
        raise ModelError(f"{path} is not a readable .safetensors file ({exc})",
                         "download it again, or give the model's diffusers folder") from None


def check_single_file(path: Path, base: Path | None, family: Family, what: str) -> None:
    """Refuse a single-file checkpoint that ``from_single_file`` could not load with the base
    model ``family`` (its folder ``base``): a pipeline without single-file loading, a file that is
    not an original-layout Stable Diffusion checkpoint, or one whose UNet differs from the base's
    (an SDXL file with an SD 1.x base). Only the file's header is read."""
    key = what.split(": ")[-1].rsplit(".", 1)[0] + ".base_config"
    cls = pipeline_type(family.pipeline)
    if cls is None or not hasattr(cls, "from_single_file"):
        raise ModelError(f"{what}: {family.pipeline} (the base in {key}) cannot load a single-file checkpoint",
                         "give the model's diffusers folder or hub id in generation.model instead")
    shapes = safetensors_header(path)
    if not any(name.startswith(UNET) for name in shapes):
        looks = ("diffusers-layout weights of one component" if any(n.startswith(("down_blocks.", "up_blocks."))
                 for n in shapes) else "no Stable Diffusion UNet (no model.diffusion_model.* weights)")
        raise ModelError(
            f"{what}: {path.name} holds {looks}; single files are read for Stable Diffusion 1.x, 2.x and XL"
            " checkpoints in their original layout",
            "give the model's diffusers folder (with model_index.json) or hub id instead")
    if base is None:
        return
    try:
        unet = json.loads((base / "unet" / "config.json").read_text())
    except (OSError, ValueError):
        raise ModelError(f"{what}: the base in {key} ({base}) has no UNet config (unet/config.json), so it is no"
                         f" base for {path.name}",
                         "give the diffusers folder or hub id of the Stable Diffusion model the file was made from") from None
    first = shapes.get(UNET + "input_blocks.0.0.weight", [])
    cross = next((shape for name, shape in sorted(shapes.items())
                  if name.startswith(UNET) and name.endswith("attn2.to_k.weight")), None)
    blocks = unet.get("block_out_channels") or [None]
    found = {"first UNet width": first[0] if first else None, "input channels": first[1] if len(first) > 1 else None,
             "cross-attention width": cross[1] if cross else None}
    wanted = {"first UNet width": blocks[0], "input channels": unet.get("in_channels"),
              "cross-attention width": unet.get("cross_attention_dim")}
    for name in found:
        want = wanted[name][0] if isinstance(wanted[name], list) else wanted[name]
        if found[name] is not None and want is not None and found[name] != want:
            raise ModelError(
                f"{what}: {path.name} does not fit the base in {key}: its {name} is {found[name]}, the base's"
                f" {want} (an SDXL file has 2048, SD 2.x 1024, SD 1.x 768)",
                f"set {key} to the base model the file was made from")


def pipeline_type(name: str):
    """The pipeline class called ``name`` (diffusers', or synthdiv's pixel pipeline); None if unknown."""
    if name == PIXEL_PIPELINE:
        from synthdiv.mini.pipeline import PixelDiffusionPipeline

        return PixelDiffusionPipeline
    import diffusers

    try:
        return getattr(diffusers, name)
    except (AttributeError, ImportError):
        return None


def compatible_schedulers(scheduler: str) -> list[str]:
    """The scheduler classes that may replace ``scheduler`` (itself included)."""
    import diffusers

    try:
        cls = getattr(diffusers, scheduler)
    except (AttributeError, ImportError):
        return [scheduler]
    return sorted({scheduler, *getattr(cls, "_compatibles", [])})


def uses_negative_prompt(pipeline: str) -> bool:
    """Whether pipeline class ``pipeline`` uses a negative prompt in the calls synthdiv makes: it
    takes ``negative_prompt`` and does not reserve it for a separate "true CFG" scale."""
    cls = pipeline_type(pipeline)
    if cls is None:
        return True  # unknown: let the pipeline itself decide
    params = inspect.signature(cls.__call__).parameters
    return "negative_prompt" in params and "true_cfg_scale" not in params


def check_supported(family: Family, *, scheduler: str = "default", negative_prompt: str = "",
                    what: str = "generation") -> None:
    """Refuse (``ModelError``) a scheduler swap or a negative prompt that ``family`` cannot honour.

    ``scheduler`` is a synthdiv scheduler name (:data:`SCHEDULERS`) or ``default``.
    """
    if scheduler != "default" and family.scheduler:
        wanted = SCHEDULERS[scheduler]
        fits = compatible_schedulers(family.scheduler)
        if wanted not in fits:
            names = [name for name, cls in SCHEDULERS.items() if cls in fits]
            fix = (f"use default, or one of {', '.join(names)}" if names else
                   "use scheduler = \"default\" (the model's own): no other scheduler samples this model correctly")
            raise ModelError(
                f"{what}.scheduler {scheduler!r} ({wanted}) cannot replace this {family.pipeline}'s "
                f"{family.scheduler}: the model's scheduler lists it as incompatible", fix)
    if negative_prompt and not uses_negative_prompt(family.pipeline):
        raise ModelError(
            f"{what}.negative_prompt is set, but {family.pipeline} does not use a negative prompt "
            "(its guidance is distilled into the model), so the stored setting would be untrue",
            "remove generation.negative_prompt for this model")
