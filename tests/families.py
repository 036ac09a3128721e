"""Tiny text-to-image pipelines of every family a researcher brings, built from diffusers' own
classes with seeded random weights (no download), saved as a plain folder and as a Hugging Face
hub-cache snapshot.

Sizes follow ../shared/notes/model-families.md: a VAE with the real ×8 scale, one- or two-block
denoisers, two-layer text encoders. CLIP tokenizers come from open_clip's vocabulary
(synthdiv.tokenizer); a T5 tokenizer is built from a made-up Unigram vocabulary.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

SEED = 11
FAMILIES = ("sd1", "sd2-v", "sdxl", "sdxl-turbo", "sd3", "flux", "pixart")
HUB_IDS = {name: f"tiny-org/tiny-{name}" for name in FAMILIES}


def _vae(latent_channels=4, **extra):
    from diffusers import AutoencoderKL

    return AutoencoderKL(
        in_channels=3, out_channels=3, latent_channels=latent_channels, norm_num_groups=4,
        down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4,
        block_out_channels=(8, 8, 8, 8), sample_size=32, **extra,
    )


def _clip_text(projection=False, **extra):
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    settings = dict(hidden_size=32, intermediate_size=64, num_attention_heads=4, num_hidden_layers=2,
                    vocab_size=49408, max_position_embeddings=77, bos_token_id=49406, eos_token_id=49407,
                    pad_token_id=49407, projection_dim=32)
    config = CLIPTextConfig(**{**settings, **extra})
    return (CLIPTextModelWithProjection if projection else CLIPTextModel)(config)


def _t5():
    from transformers import T5Config, T5EncoderModel, T5Tokenizer

    letters = [chr(c) for c in range(ord("a"), ord("z") + 1)]
    pieces = ["<pad>", "</s>", "<unk>"] + ["\u2581" + w for w in ("a", "photo", "of", "the", "drawing")]
    pieces += ["\u2581" + c for c in letters] + letters
    vocab = [(p, 0.0 if i < 3 else -float(i)) for i, p in enumerate(pieces)]
    tokenizer = T5Tokenizer(vocab=vocab, extra_ids=0, model_max_length=32)
    model = T5EncoderModel(T5Config(vocab_size=len(pieces), d_model=32, d_kv=8, d_ff=64, num_layers=2, num_heads=4,
                                    relative_attention_num_buckets=8, pad_token_id=0, eos_token_id=1))
    return model, tokenizer


def build(family: str):
    """The tiny pipeline of ``family`` (one of :data:`FAMILIES`), weights from a fixed seed."""
    import torch
    import diffusers as d

    from synthdiv.tokenizer import clip_tokenizer

    torch.manual_seed(SEED)
    if family in ("sd1", "sd2-v"):
        v = family == "sd2-v"
        unet = d.UNet2DConditionModel(
            sample_size=4, in_channels=4, out_channels=4, block_out_channels=(16, 32), layers_per_block=1,
            down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"), up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
            cross_attention_dim=32, attention_head_dim=(2, 4) if v else 4, use_linear_projection=v, norm_num_groups=8)
        scheduler = d.DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                                    clip_sample=False, set_alpha_to_one=False, steps_offset=1,
                                    prediction_type="v_prediction" if v else "epsilon")
        text = _clip_text(**({"hidden_act": "gelu", "pad_token_id": 0} if v else {}))
        return d.StableDiffusionPipeline(vae=_vae(), text_encoder=text, tokenizer=clip_tokenizer(77), unet=unet,
                                         scheduler=scheduler, safety_checker=None, feature_extractor=None,
                                         requires_safety_checker=False)
    if family in ("sdxl", "sdxl-turbo"):  # Turbo: the SDXL pipeline with an ancestral, trailing-spaced sampler
        unet = d.UNet2DConditionModel(
            sample_size=4, in_channels=4, out_channels=4, block_out_channels=(16, 32), layers_per_block=1,
            down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"), up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
            cross_attention_dim=64, attention_head_dim=(2, 4), use_linear_projection=True, norm_num_groups=8,
            addition_embed_type="text_time", addition_time_embed_dim=8,
            projection_class_embeddings_input_dim=6 * 8 + 32, transformer_layers_per_block=(1, 1))
        return d.StableDiffusionXLPipeline(
            vae=_vae(force_upcast=True), text_encoder=_clip_text(), text_encoder_2=_clip_text(projection=True),
            tokenizer=clip_tokenizer(77), tokenizer_2=clip_tokenizer(77), unet=unet,
            scheduler=(d.EulerAncestralDiscreteScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                                                         timestep_spacing="trailing")
                       if family == "sdxl-turbo" else
                       d.EulerDiscreteScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                                                steps_offset=1)))
    if family == "sd3":
        t5, t5_tok = _t5()
        transformer = d.SD3Transformer2DModel(
            sample_size=4, patch_size=1, in_channels=4, num_layers=1, attention_head_dim=8, num_attention_heads=4,
            joint_attention_dim=32, caption_projection_dim=32, pooled_projection_dim=64, out_channels=4)
        return d.StableDiffusion3Pipeline(
            transformer=transformer, scheduler=d.FlowMatchEulerDiscreteScheduler(shift=3.0),
            vae=_vae(use_quant_conv=False, use_post_quant_conv=False, shift_factor=0.0, scaling_factor=1.5),
            text_encoder=_clip_text(projection=True), tokenizer=clip_tokenizer(77),
            text_encoder_2=_clip_text(projection=True), tokenizer_2=clip_tokenizer(77),
            text_encoder_3=t5, tokenizer_3=t5_tok)
    if family == "flux":
        t5, t5_tok = _t5()
        transformer = d.FluxTransformer2DModel(
            patch_size=1, in_channels=16, num_layers=1, num_single_layers=1, attention_head_dim=16,
            num_attention_heads=2, joint_attention_dim=32, pooled_projection_dim=32, guidance_embeds=True,
            axes_dims_rope=(4, 6, 6))
        return d.FluxPipeline(
            transformer=transformer, vae=_vae(latent_channels=4, use_quant_conv=False, use_post_quant_conv=False,
                                                        shift_factor=0.0, scaling_factor=1.5),
            text_encoder=_clip_text(), tokenizer=clip_tokenizer(77), text_encoder_2=t5, tokenizer_2=t5_tok,
            scheduler=d.FlowMatchEulerDiscreteScheduler(use_dynamic_shifting=True, base_shift=0.5, max_shift=1.15,
                                                        base_image_seq_len=4, max_image_seq_len=64))
    if family == "pixart":
        t5, t5_tok = _t5()
        transformer = d.PixArtTransformer2DModel(
            sample_size=4, num_layers=1, patch_size=1, attention_head_dim=8, num_attention_heads=4,
            in_channels=4, out_channels=8, cross_attention_dim=32, caption_channels=32,
            norm_type="ada_norm_single", norm_elementwise_affine=False, norm_eps=1e-6)
        return d.PixArtAlphaPipeline(transformer=transformer, vae=_vae(), text_encoder=t5, tokenizer=t5_tok,
                                     scheduler=d.DPMSolverMultistepScheduler())
    raise ValueError(f"unknown family {family!r}; one of {FAMILIES}")


def save_folder(family: str, folder: Path) -> Path:
    """``family``'s pipeline written by ``save_pretrained`` into ``folder``."""
    build(family).save_pretrained(folder, safe_serialization=True)
    return folder


def save_hub_cache(folder: Path, hf_home: Path, repo_id: str) -> str:
    """Lay ``folder`` out as the hub cache does under ``hf_home/hub`` for ``repo_id``; return the
    snapshot's commit (40 hex digits, from the files' contents)."""
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    commit = hashlib.sha1(b"".join(p.relative_to(folder).as_posix().encode() + p.read_bytes() for p in files)).hexdigest()
    repo = hf_home / "hub" / ("models--" + repo_id.replace("/", "--"))
    for p in files:
        blob = repo / "blobs" / hashlib.sha256(p.read_bytes()).hexdigest()
        blob.parent.mkdir(parents=True, exist_ok=True)
        if not blob.exists():
            shutil.copyfile(p, blob)
        link = repo / "snapshots" / commit / p.relative_to(folder)
        link.parent.mkdir(parents=True, exist_ok=True)
        if not link.is_symlink():
            link.symlink_to(Path("../" * (len(p.relative_to(folder).parts) + 1)) / "blobs" / blob.name)
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    (repo / "refs" / "main").write_text(commit)
    return commit
