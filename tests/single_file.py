"""A diffusers Stable Diffusion 1.x pipeline written back as one original-layout ``.safetensors``
file — the kind researchers download (``v1-5-pruned-emaonly.safetensors``) — so the tests can
load one through ``from_single_file`` without a download.

The layout is the one diffusers' own single-file loader reads (``diffusers.loaders.
single_file_utils``: ``model.diffusion_model.`` UNet, ``first_stage_model.`` VAE,
``cond_stage_model.transformer.`` CLIP text encoder); this module inverts those renames for a
UNet of any depth and a VAE of any number of blocks.
"""

from __future__ import annotations

from pathlib import Path

_RESNET = (("norm1", "in_layers.0"), ("conv1", "in_layers.2"), ("norm2", "out_layers.0"),
           ("conv2", "out_layers.3"), ("time_emb_proj", "emb_layers.1"), ("conv_shortcut", "skip_connection"))
_VAE_ATTN = (("group_norm", "norm"), ("to_q", "q"), ("to_k", "k"), ("to_v", "v"), ("to_out.0", "proj_out"))


def _resnet(rest: str) -> str:
    head, _, tail = rest.partition(".")
    return dict(_RESNET).get(head, head) + "." + tail


def _unet_key(key: str, layers: int, attn_blocks: set[int]) -> str | None:
    from diffusers.loaders.single_file_utils import DIFFUSERS_TO_LDM_MAPPING

    fixed = {**DIFFUSERS_TO_LDM_MAPPING["unet"]["layers"], **DIFFUSERS_TO_LDM_MAPPING["unet"]["addition_embed_type"]}
    if key in fixed:
        return fixed[key]
    parts = key.split(".")
    per = layers + 1
    if parts[0] == "down_blocks":
        b, kind = int(parts[1]), parts[2]
        if kind == "downsamplers":  # down_blocks.b.downsamplers.0.conv.X
            return f"input_blocks.{b * per + layers + 1}.0.op.{parts[-1]}"
        i = b * per + int(parts[3]) + 1
        rest = ".".join(parts[4:])
        return f"input_blocks.{i}.0.{_resnet(rest)}" if kind == "resnets" else f"input_blocks.{i}.1.{rest}"
    if parts[0] == "mid_block":
        n, rest = int(parts[2]), ".".join(parts[3:])
        return f"middle_block.{2 * n}.{_resnet(rest)}" if parts[1] == "resnets" else f"middle_block.1.{rest}"
    if parts[0] == "up_blocks":
        b, kind = int(parts[1]), parts[2]
        if kind == "upsamplers":  # after the last layer's resnet (and attention, if the block has them)
            return f"output_blocks.{b * per + layers}.{2 if b in attn_blocks else 1}.conv.{parts[-1]}"
        i = b * per + int(parts[3])
        rest = ".".join(parts[4:])
        return f"output_blocks.{i}.0.{_resnet(rest)}" if kind == "resnets" else f"output_blocks.{i}.1.{rest}"
    return None


def _vae_key(key: str, blocks: int) -> str:
    from diffusers.loaders.single_file_utils import DIFFUSERS_TO_LDM_MAPPING

    fixed = DIFFUSERS_TO_LDM_MAPPING["vae"]
    if key in fixed:
        return fixed[key]
    parts = key.split(".")
    coder, where = parts[0], parts[1]
    if where in ("down_blocks", "up_blocks"):
        i = int(parts[2])
        level = i if where == "down_blocks" else blocks - 1 - i
        name = "down" if where == "down_blocks" else "up"
        if parts[3] in ("downsamplers", "upsamplers"):
            return f"{coder}.{name}.{level}.{name}sample.conv.{parts[-1]}"
        rest = ".".join(parts[5:]).replace("conv_shortcut", "nin_shortcut")
        return f"{coder}.{name}.{level}.block.{parts[4]}.{rest}"
    if where == "mid_block" and parts[2] == "resnets":
        rest = ".".join(parts[4:]).replace("conv_shortcut", "nin_shortcut")
        return f"{coder}.mid.block_{int(parts[3]) + 1}.{rest}"
    if where == "mid_block" and parts[2] == "attentions":
        rest = ".".join(parts[4:])
        for new, old in _VAE_ATTN:
            if rest.startswith(new + "."):
                rest = old + rest[len(new):]
        return f"{coder}.mid.attn_1.{rest}"
    raise KeyError(key)


def original_state_dict(pipe) -> dict:
    """The pipeline's UNet, VAE and text encoder weights under their original (LDM) names."""
    unet, vae = pipe.unet, pipe.vae
    layers = unet.config.layers_per_block
    attn_blocks = {i for i, t in enumerate(unet.config.up_block_types) if "CrossAttn" in t}
    out = {}
    for key, value in unet.state_dict().items():
        new = _unet_key(key, layers, attn_blocks)
        if new is None:
            raise KeyError(key)
        out["model.diffusion_model." + new] = value
    for key, value in vae.state_dict().items():
        new = _vae_key(key, len(vae.config.down_block_types))
        if ".mid.attn_1." in new and value.ndim == 2:  # the original attention projections are 1×1 convolutions
            value = value[:, :, None, None]
        out["first_stage_model." + new] = value
    for key, value in pipe.text_encoder.state_dict().items():  # transformers 5 names them without text_model.
        out["cond_stage_model.transformer." + ("" if key.startswith("text_model.") else "text_model.") + key] = value
    return out


def save_single_file(pipe, path: Path) -> Path:
    """``pipe`` (a StableDiffusionPipeline) as one original-layout safetensors file at ``path``."""
    from safetensors.torch import save_file

    save_file({k: v.contiguous() for k, v in original_state_dict(pipe).items()}, str(path))
    return path
