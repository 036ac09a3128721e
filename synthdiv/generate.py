"""The generator backend: text-to-image over diffusers.

``Generator(model)`` loads a pipeline from a preset, a local folder (``from_pretrained`` with
``local_files_only``) or a hub id (``local_files_only`` when ``HF_HUB_OFFLINE`` is set). It runs
in fp16 on CUDA and fp32 on CPU, with progress bars silenced. Every image gets its own
``torch.Generator`` seeded from the image's own seed, on the CPU, so an image depends on its seed
and settings only — not on the batch it was made in, nor on the device that drew its noise.
"""

from __future__ import annotations

import inspect
import logging
import warnings
from dataclasses import dataclass
from pathlib import Path

from synthdiv.errors import ModelError, SynthdivError, first_line_of
from synthdiv.settings import default
from synthdiv.sources import (
    ModelSource,
    check_hub_available,
    content_hash,
    hub_snapshot,
    offline,
)

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


def check_device(device: str, what: str = "device") -> str:
    """``device`` if this machine has it: ``auto``, ``cpu``, ``cuda``, ``cuda:N`` (N below the
    number of GPUs) or ``mps``; else an error naming it and what there is. Checked when a config
    is read, so a bad device stops before anything is written (not in a worker, after)."""
    import re

    text = device.strip().lower()
    if text in ("auto", "cpu"):
        return text
    match = re.fullmatch(r"(cuda|mps)(?::(\d+))?", text)
    if match is None:
        raise SynthdivError(f"{what} is {device!r}", "use auto, cpu, cuda or cuda:N (a GPU's number)")
    import torch

    if match[1] == "mps":
        if not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
            raise SynthdivError(f"{what} is {device!r} but this machine has no Apple GPU", "use auto or cpu")
        return text
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if count == 0:
        raise SynthdivError(f"{what} is {device!r} but CUDA is not available here", "use auto or cpu")
    if match[2] is not None and int(match[2]) >= count:
        raise SynthdivError(f"{what} is {device!r} but this machine has {count} GPU{'s' if count > 1 else ''}"
                            f" (cuda:0 to cuda:{count - 1})", "name one of them, or use auto")
    return text


def pick_device(device: str = "auto"):
    """A ``torch.device``: CUDA when available for ``auto``, else the one named."""
    import torch

    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise SynthdivError(f"device {device!r} asked for but CUDA is not available", "use auto or cpu")
    return dev


def from_pretrained(cls, ref, **kwargs):
    """``cls.from_pretrained(ref, **kwargs)`` without the torch_dtype → dtype rename warning."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*torch_dtype.*", category=FutureWarning)
        return cls.from_pretrained(ref, **kwargs)


@dataclass(frozen=True)
class GenerationSettings:
    """What shapes an image besides its prompt and seed."""

    steps: int = default("generation", "steps")
    guidance: float = default("generation", "guidance")
    width: int = default("generation", "width")
    height: int = default("generation", "height")
    negative_prompt: str = default("generation", "negative_prompt")


def quiet_libraries() -> None:
    """Silence diffusers' and transformers' progress bars and chatter."""
    for name in ("diffusers", "transformers"):
        logging.getLogger(name).setLevel(logging.ERROR)
    try:
        from diffusers.utils import logging as dlog
        from transformers.utils import logging as tlog

        dlog.set_verbosity_error()
        dlog.disable_progress_bar()
        tlog.set_verbosity_error()
        tlog.disable_progress_bar()
    except Exception:  # noqa: BLE001 - quieting is best effort
        pass


DTYPES = ("auto", "float16", "bfloat16", "float32")
BF16_FAMILIES = ("Flux", "StableDiffusion3")  # pipelines (by class name) that overflow in fp16


def check_dtype(name: str, what: str = "dtype") -> str:
    """``name`` if it is one of :data:`DTYPES`; else an error naming it."""
    if name not in DTYPES:
        raise SynthdivError(f"{what} is {name!r}", f"use {', '.join(DTYPES)}")
    return name


def pipeline_class(source: ModelSource, revision: str | None = None) -> str:
    """The diffusers pipeline class a model names in ``model_index.json`` ("" when unknown)."""
    from synthdiv.pipelines import family_of

    try:
        family = family_of(source, revision)
    except ModelError:
        return ""
    return family.pipeline if family is not None else ""


def resolve_dtype(name: str, device_type: str, family: str = ""):
    """The torch dtype ``name`` stands for: ``auto`` is float32 on the CPU, and on CUDA bfloat16 for
    the families that overflow in float16 (FLUX, SD3: :data:`BF16_FAMILIES`) and float16 for
    the others."""
    import torch

    if name != "auto":
        return getattr(torch, name)
    if device_type != "cuda":
        return torch.float32
    return torch.bfloat16 if family.startswith(BF16_FAMILIES) else torch.float16


class BadImage:
    """An image that came out non-finite or blank: never stored; its job fails with ``reason``."""

    def __init__(self, reason: str) -> None:
        self.reason = reason


def judge(pixels, dtype_name: str):
    """A pipeline's image as float pixels in [0, 1] (h, w, c): the PIL image, or a
    :class:`BadImage` when it is non-finite (NaN or inf) or blank (a single colour) — what an
    overflowing half-precision model makes."""
    import numpy as np
    from diffusers.utils import numpy_to_pil

    if dtype_name == "float32":
        fix = ("in float32 that is not a half-precision overflow: check the model's weights and the scheduler"
               " (generation.scheduler) against the model")
    else:
        wider = '"bfloat16" (or "float32")' if dtype_name == "float16" else '"float32"'
        fix = (f"the likely cause is overflow in {dtype_name}: set generation.dtype = {wider} in the experiment file"
               " and run it again")
    if not np.isfinite(pixels).all():
        return BadImage(f"the image came out non-finite (NaN or inf values) in {dtype_name}; {fix}")
    if float(pixels.max() - pixels.min()) < 1.0 / 255.0:
        return BadImage(f"the image came out blank (one colour, {float(pixels.mean()):.3f}) in {dtype_name}; {fix}")
    return numpy_to_pil(pixels[None])[0]


def denoisers(pipe) -> list[str]:
    """The pipeline's denoising networks by attribute: ``unet`` (SD 1.x/2.x/XL) and/or
    ``transformer`` (SD3, FLUX, PixArt)."""
    return [attr for attr in ("unet", "transformer") if getattr(pipe, attr, None) is not None]


class Generator:
    """A loaded text-to-image pipeline plus what is needed to reproduce its images."""

    def __init__(
        self,
        source: ModelSource,
        *,
        revision: str | None = None,
        scheduler: str = "default",
        device: str = "auto",
        compile_unet: bool = False,
        dtype: str = "auto",
    ) -> None:
        quiet_libraries()
        self.source = source
        self.device = pick_device(device)
        self.dtype = resolve_dtype(check_dtype(dtype), self.device.type, pipeline_class(source, revision))
        self.pipe = self._load(source, revision)
        from synthdiv.pipelines import Family, check_supported

        # what the config could not check (a hub model not yet in the cache) is checked once loaded
        self.family = Family(type(self.pipe).__name__, type(self.pipe.scheduler).__name__)
        if scheduler != "default":
            import diffusers

            check_supported(self.family, scheduler=check_scheduler(scheduler))
            cls = getattr(diffusers, SCHEDULERS[scheduler])
            self.pipe.scheduler = cls.from_config(self.pipe.scheduler.config)
        self.pipe.to(self.device)
        self.pipe.set_progress_bar_config(disable=True)
        self.speedups = self._speed_up(compile_unet) if self.device.type == "cuda" else []
        self._call_params = set(inspect.signature(self.pipe.__call__).parameters)
        self.tokenizer = getattr(self.pipe, "tokenizer", None)  # what reads the prompts (first encoder)
        self.provenance = {
            "model_id": source.ref,
            "model_revision": revision or "",
            "model_hash": "",
            "scheduler": type(self.pipe.scheduler).__name__,
            "dtype": str(self.dtype).removeprefix("torch."),
            "device": self.device.type,
        }
        if source.kind in ("path", "file"):
            self.provenance["model_hash"] = content_hash(source.ref)
        if source.kind == "file":  # the configs it was rebuilt with are part of what made its images
            base = source.base_source()
            snap = hub_snapshot(base.ref) if base.kind == "hub" else None
            mark = snap.name if snap is not None else content_hash(base.ref)[:12] if base.kind == "path" else ""
            self.provenance["model_revision"] = f"base {base.ref}" + (f"@{mark}" if mark else "")
        elif source.kind == "hub":
            snap = hub_snapshot(source.ref, revision)
            if snap is not None:
                self.provenance["model_revision"] = snap.name
        elif source.ref == "mini-digits":
            from synthdiv.mini import bundle

            self.provenance["model_hash"] = content_hash(bundle.shipped() / "t2i")
            self.provenance["model_revision"] = "synthdiv-" + __import__("synthdiv").__version__
        elif source.kind == "preset":
            self.provenance["model_revision"] = "synthdiv-" + __import__("synthdiv").__version__

    def _speed_up(self, compile_unet: bool) -> list[str]:
        """The GPU path: the dtype (chosen at load), PyTorch's scaled-dot-product attention
        (diffusers' default attention processor on torch ≥ 2), channels-last memory for a UNet's
        convolutions, VAE slicing (decode a batch one image at a time: large batches fit), and
        optionally ``torch.compile`` of the denoiser — the UNet, or the transformer of DiT
        pipelines (SD3, FLUX, PixArt). Returns what was applied, for the log."""
        import torch

        done = [str(self.dtype).removeprefix("torch.")]
        for attr in denoisers(self.pipe):
            net = getattr(self.pipe, attr)
            processors = {type(p).__name__ for p in getattr(net, "attn_processors", {}).values()}
            if processors:
                done.append(f"{attr} attention " + "/".join(sorted(processors)))
            if attr == "unet":
                net.to(memory_format=torch.channels_last)
                done.append("channels_last")
            if compile_unet:
                setattr(self.pipe, attr, torch.compile(net, mode="reduce-overhead", fullgraph=False))
                done.append(f"torch.compile of the {attr}")
        if hasattr(self.pipe, "enable_vae_slicing") and getattr(self.pipe, "vae", None) is not None:
            self.pipe.enable_vae_slicing()
            done.append("vae slicing")
        return done

    def _load(self, source: ModelSource, revision: str | None):
        from diffusers import DiffusionPipeline

        if source.kind == "preset" and source.ref == "mini-digits":
            from synthdiv.mini import bundle

            return bundle.load_pipeline(bundle.shipped() / "t2i", self.dtype)
        if source.kind == "preset":
            from synthdiv.presets import tiny_random_pipeline

            return tiny_random_pipeline().to(dtype=self.dtype)
        check_hub_available(source, "generation.model", revision)
        if source.kind == "file":
            return self._load_single_file(source)
        kwargs = {"torch_dtype": self.dtype}
        if source.kind == "path":
            kwargs["local_files_only"] = True
        else:
            kwargs["revision"] = revision
            kwargs["local_files_only"] = offline()
        if source.kind == "path":
            from synthdiv.mini import bundle

            if bundle.is_pixel_pipeline(source.ref):
                return bundle.load_pipeline(source.ref, self.dtype)
        try:
            return from_pretrained(DiffusionPipeline, source.ref, **kwargs)
        except Exception as exc:  # noqa: BLE001 - any load failure becomes one clear message
            first = first_line_of(exc)
            raise ModelError(
                f"cannot load diffusers pipeline {source.ref} ({first})",
                "give a folder written by save_pretrained (with model_index.json), or a hub id "
                "that is cached or reachable",
            ) from None

    def _load_single_file(self, source: ModelSource):
        """A single ``.safetensors`` checkpoint through its pipeline's ``from_single_file``, with the
        configs, tokenizers and scheduler of its base model (``generation.base_config``)."""
        from synthdiv.pipelines import family_of, pipeline_type

        base = source.base_source()
        family = family_of(source, None, "generation.model")
        cls = pipeline_type(family.pipeline) if family is not None else None
        if cls is None:  # a hub base not in the cache yet: the file's own text encoders tell SDXL from SD
            import diffusers

            from synthdiv.pipelines import safetensors_header

            xl = any(name.startswith("conditioner.") for name in safetensors_header(Path(source.ref)))
            cls = diffusers.StableDiffusionXLPipeline if xl else diffusers.StableDiffusionPipeline
        try:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=".*torch_dtype.*", category=FutureWarning)
                return cls.from_single_file(source.ref, config=base.ref, torch_dtype=self.dtype,
                                            local_files_only=base.kind == "path" or offline())
        except Exception as exc:  # noqa: BLE001 - any load failure becomes one clear message
            first = first_line_of(exc)
            raise ModelError(f"cannot load single-file checkpoint {source.ref} with base {base.ref} ({first[:300]})",
                             "check that generation.base_config is the model the file was made from") from None

    def readings(self, prompts: list[str]) -> list:
        """What the model reads of each prompt (:class:`synthdiv.prompts.Reading`); token counts
        are None for a pipeline without a tokenizer."""
        from synthdiv.prompts import Reading, readings

        if self.tokenizer is None:
            return [Reading(None, None) for _ in prompts]
        return readings(self.tokenizer, prompts)

    def generate_fitting(self, prompts: list[str], seeds: list[int], settings: GenerationSettings,
                         limit: int | None = None) -> tuple[list, int]:
        """One PIL image per (prompt, seed), in calls of at most ``limit`` (all at once when None).

        On CUDA out-of-memory the call is retried with half as many images (freeing the cache
        first), down to one image, so a batch that does not fit is made in smaller pieces instead of
        failing. Images do not depend on the batch they are made in (one generator per image).
        Returns the images and the batch size to use for the next call: ``limit`` unless CUDA ran
        out of memory (a short last batch is not a smaller fit).
        """
        import torch

        fits = max(1, limit or len(prompts))  # what this call may use; only an out-of-memory lowers it
        size = min(fits, len(prompts))  # a short last batch is not a smaller fit
        out: list = []
        while len(out) < len(prompts):
            start = len(out)
            try:
                out += self.generate(prompts[start:start + size], seeds[start:start + size], settings)
            except torch.cuda.OutOfMemoryError:
                if size == 1:
                    raise
                size //= 2
                fits = size
                if torch.cuda.is_available():
                    torch.cuda.empty_cache()
        return out, fits

    def generate(self, prompts: list[str], seeds: list[int], settings: GenerationSettings):
        """One PIL image per (prompt, seed), made in a single batched call; a :class:`BadImage`
        in place of one that came out non-finite or blank (:func:`judge`)."""
        import torch

        if len(prompts) != len(seeds):
            raise ValueError("one seed per prompt is needed")
        if settings.negative_prompt:
            from synthdiv.pipelines import check_supported

            check_supported(self.family, negative_prompt=settings.negative_prompt)
        generators = [torch.Generator("cpu").manual_seed(int(s)) for s in seeds]
        kwargs = {
            "prompt": list(prompts),
            "num_inference_steps": settings.steps,
            "guidance_scale": settings.guidance,
            "height": settings.height,
            "width": settings.width,
            "generator": generators,
            "output_type": "np",  # floats, so NaN and blank images are seen (judge) before they become PNGs
        }
        if settings.negative_prompt and "negative_prompt" in self._call_params:
            kwargs["negative_prompt"] = [settings.negative_prompt] * len(prompts)
        if "use_resolution_binning" in self._call_params:  # PixArt: make the size asked for (and recorded)
            kwargs["use_resolution_binning"] = False
        kwargs = {k: v for k, v in kwargs.items() if k in self._call_params or k == "prompt"}
        with torch.inference_mode():
            out = self.pipe(**kwargs)
        name = str(self.dtype).removeprefix("torch.")
        return [judge(pixels, name) for pixels in out.images]
