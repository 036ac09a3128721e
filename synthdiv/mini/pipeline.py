"""A pixel-space text-to-image diffusers pipeline (no VAE) for the mini model.

Components as in Stable Diffusion minus the autoencoder: a ``UNet2DConditionModel`` that
denoises grayscale pixels directly, a frozen ``CLIPTextModel`` with its ``CLIPTokenizer``, and a
scheduler. Saved and loaded with ``save_pretrained`` / ``from_pretrained`` like any pipeline.
Classifier-free guidance uses the empty prompt (or the negative prompt) as the unconditional
branch, as in training.
"""

from __future__ import annotations

import inspect

import numpy as np
import torch
from diffusers import DiffusionPipeline, ImagePipelineOutput
from diffusers.utils.torch_utils import randn_tensor


class PixelDiffusionPipeline(DiffusionPipeline):
    model_cpu_offload_seq = "text_encoder->unet"

    def __init__(self, unet, text_encoder, tokenizer, scheduler) -> None:
        super().__init__()
        self.register_modules(unet=unet, text_encoder=text_encoder, tokenizer=tokenizer, scheduler=scheduler)

    def encode(self, prompts: list[str]) -> torch.Tensor:
        """Per-token hidden states of the text encoder, (n, tokens, width)."""
        tokens = self.tokenizer(
            prompts, padding="max_length", max_length=self.tokenizer.model_max_length,
            truncation=True, return_tensors="pt",
        ).input_ids.to(self.text_encoder.device)
        return self.text_encoder(tokens)[0]

    @torch.no_grad()
    def __call__(
        self,
        prompt: str | list[str],
        num_inference_steps: int = 25,
        guidance_scale: float = 1.5,
        height: int | None = None,
        width: int | None = None,
        generator: torch.Generator | list[torch.Generator] | None = None,
        negative_prompt: str | list[str] | None = None,
        output_type: str = "pil",
    ) -> ImagePipelineOutput:
        prompts = [prompt] if isinstance(prompt, str) else list(prompt)
        n = len(prompts)
        size = self.unet.config.sample_size
        height, width = height or size, width or size
        negatives = negative_prompt if isinstance(negative_prompt, list) else [negative_prompt or ""] * n
        dtype, device = self.unet.dtype, self._execution_device
        cond = self.encode(prompts).to(dtype)
        guided = guidance_scale != 1.0
        if guided:
            cond = torch.cat([self.encode(negatives).to(dtype), cond])
        shape = (n, self.unet.config.in_channels, height, width)
        x = randn_tensor(shape, generator=generator, device=device, dtype=dtype)
        self.scheduler.set_timesteps(num_inference_steps, device=device)
        x = x * self.scheduler.init_noise_sigma
        step_takes_generator = "generator" in inspect.signature(self.scheduler.step).parameters
        for t in self.progress_bar(self.scheduler.timesteps):
            inp = torch.cat([x, x]) if guided else x
            inp = self.scheduler.scale_model_input(inp, t)
            eps = self.unet(inp, t, encoder_hidden_states=cond).sample
            if guided:
                uncond_eps, cond_eps = eps.chunk(2)
                eps = uncond_eps + guidance_scale * (cond_eps - uncond_eps)
            kwargs = {"generator": generator} if step_takes_generator else {}
            x = self.scheduler.step(eps, t, x, **kwargs).prev_sample
        pixels = ((x.float().clamp(-1, 1) + 1) / 2).cpu().permute(0, 2, 3, 1).numpy()
        if output_type == "np":
            return ImagePipelineOutput(images=pixels)
        from PIL import Image

        images = [Image.fromarray(np.round(p[..., 0] * 255).astype(np.uint8), mode="L") for p in pixels]
        return ImagePipelineOutput(images=images)
