"""The generator backend: text-to-image over diffusers.

``Generator(source)`` loads the pipeline of a resolved model source (:mod:`synthdiv.sources`:
a preset, a local folder or single file, a hub id — the source knows how it loads and what it
records), moves it to its device and runs it. It runs
in fp16 on CUDA and fp32 on CPU, with progress bars silenced. Every image gets its own
``torch.Generator`` seeded from the image's own seed, on the CPU, so an image depends on its seed
and settings only — not on the batch it was made in, nor on the device that drew its noise.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass

from synthdiv.devices import check_dtype, pick_device, resolve_dtype
from synthdiv.loading import quiet_libraries
from synthdiv.pipelines import SCHEDULERS, check_scheduler
from synthdiv.settings import default
from synthdiv.sources import ModelSource


@dataclass(frozen=True)
class GenerationSettings:
    """What shapes an image besides its prompt and seed."""

    steps: int = default("generation", "steps")
    guidance: float = default("generation", "guidance")
    width: int = default("generation", "width")
    height: int = default("generation", "height")
    negative_prompt: str = default("generation", "negative_prompt")


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
        self.dtype = resolve_dtype(check_dtype(dtype), self.device.type, source.pipeline_class(revision))
        self.pipe = source.load(self.dtype, revision)
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
        self.provenance.update(source.provenance(revision))
        from synthdiv.towers import of_text_encoder

        self.text_fingerprint = of_text_encoder(getattr(self.pipe, "text_encoder", None))  # synthdiv.towers

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
