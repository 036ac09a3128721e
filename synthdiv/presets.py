"""Built-in model presets that need no download.

``tiny-random``: a Stable Diffusion pipeline and an open_clip model, both tiny, built from
configs with weights drawn from a fixed seed. They run the real code paths (VAE, cross-attention
UNet, scheduler, ViT, text transformer) in a fraction of a second, for tests and smoke runs.
Their outputs are noise-like and every number computed from them is meaningless.
"""

from __future__ import annotations

import torch

TINY_SEED = 20231101
TINY_CLIP = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 32, "patch_size": 8, "width": 64, "layers": 2, "head_width": 32},
    "text_cfg": {"context_length": 32, "vocab_size": 49408, "width": 32, "heads": 4, "layers": 2},
}


def tiny_random_pipeline():
    """A tiny ``StableDiffusionPipeline`` (latent 4×(s/2)×(s/2), 2-block UNet) with seeded weights."""
    from diffusers import AutoencoderKL, DDIMScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    from synthdiv.tokenizer import clip_tokenizer

    torch.manual_seed(TINY_SEED)
    unet = UNet2DConditionModel(
        sample_size=16,
        in_channels=4,
        out_channels=4,
        block_out_channels=(16, 32),
        layers_per_block=1,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=32,
        attention_head_dim=4,
        norm_num_groups=8,
    )
    vae = AutoencoderKL(
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D", "DownEncoderBlock2D"),
        up_block_types=("UpDecoderBlock2D", "UpDecoderBlock2D"),
        block_out_channels=(8, 16),
        latent_channels=4,
        norm_num_groups=8,
        sample_size=32,
    )
    text_encoder = CLIPTextModel(
        CLIPTextConfig(
            hidden_size=32,
            intermediate_size=64,
            num_attention_heads=4,
            num_hidden_layers=2,
            vocab_size=49408,
            max_position_embeddings=77,
            bos_token_id=49406,
            eos_token_id=49407,
            pad_token_id=49407,
        )
    )
    scheduler = DDIMScheduler(
        beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", clip_sample=False,
        set_alpha_to_one=False, steps_offset=1,
    )
    pipe = StableDiffusionPipeline(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=clip_tokenizer(77),
        unet=unet,
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    return pipe


def tiny_random_clip():
    """A tiny open_clip ``CLIP`` with seeded weights, its tokenizer and its eval transform."""
    from open_clip.model import CLIP
    from open_clip.tokenizer import SimpleTokenizer
    from open_clip.transform import image_transform

    torch.manual_seed(TINY_SEED)
    model = CLIP(
        embed_dim=TINY_CLIP["embed_dim"],
        vision_cfg=dict(TINY_CLIP["vision_cfg"]),
        text_cfg=dict(TINY_CLIP["text_cfg"]),
    )
    tokenizer = SimpleTokenizer(context_length=TINY_CLIP["text_cfg"]["context_length"])
    preprocess = image_transform(TINY_CLIP["vision_cfg"]["image_size"], is_train=False)
    return model, tokenizer, preprocess
