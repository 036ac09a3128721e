"""Fingerprints of text towers: is the CLIP that judges adherence the generator's own text encoder?

Stable Diffusion 1.x reads its prompts with OpenAI's CLIP ViT-L/14 text tower; judging its images
with the same CLIP's zero-shot asks the model's own encoder whether it followed itself (a circular
adherence). The two load through different libraries (open_clip, transformers), with different
parameter names and often different dtypes, so the fingerprint is of values, not of files: the
SHA-256 of the token embedding matrix and the final layer norm's weight, each with its shape and
cast to float16 (a float32 tower and its float16 copy give the same fingerprint).
"""

from __future__ import annotations

import hashlib


def fingerprint(token_embedding, final_norm) -> str:
    """The fingerprint of a text tower from its two tensors (torch, any dtype or device)."""
    import torch

    h = hashlib.sha256()
    for t in (token_embedding, final_norm):
        t = t.detach().to("cpu", torch.float16).contiguous()
        h.update(repr(tuple(t.shape)).encode())
        h.update(t.numpy().tobytes())
    return h.hexdigest()[:32]


def of_open_clip(model) -> str | None:
    """An open_clip model's text tower fingerprint (None: a tower of another layout)."""
    emb, norm = getattr(model, "token_embedding", None), getattr(model, "ln_final", None)
    if emb is None or norm is None:
        return None
    return fingerprint(emb.weight, norm.weight)


def of_text_encoder(text_encoder) -> str | None:
    """A transformers CLIP text encoder's fingerprint (a diffusers pipeline's ``text_encoder``;
    None: none, or one of another layout)."""
    if text_encoder is None:
        return None
    inner = getattr(text_encoder, "text_model", text_encoder)  # transformers 5 has no text_model level
    norm = getattr(inner, "final_layer_norm", None)
    if norm is None or not hasattr(text_encoder, "get_input_embeddings"):
        return None
    return fingerprint(text_encoder.get_input_embeddings().weight, norm.weight)
