"""The embedder backend: CLIP image and text embeddings over open_clip.

``resolve_embedder`` checks a spec without importing torch; ``Embedder`` loads it. Embeddings
are float32, L2-normalised (each row has unit length), computed in batches.

Specs (``model`` / ``pretrained``):
- ``tiny-random``: a tiny seeded random CLIP (meaningless numbers, for tests);
- ``mini-digits``: the mini CLIP shipped with synthdiv, trained on real digits;
- an open_clip architecture (``ViT-L-14``) with a pretrained tag (``openai``) or a weights file;
- a local folder holding ``open_clip_config.json`` and weights (open_clip's ``local-dir:``);
- ``hf-hub:org/repo``: stored as ``hf-hub:org/repo@COMMIT`` (the cached snapshot's commit, first 12
  digits), so two revisions of one repository never share a name.
"""

from __future__ import annotations

import difflib
import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from synthdiv.errors import ModelError, first_line_of
from synthdiv.devices import pick_device
from synthdiv.sources import PRESETS, content_hash, hub_snapshot, offline

HF_HUB = "hf-hub:"


@dataclass(frozen=True)
class EmbedderSpec:
    """``kind``: ``preset``, ``arch``, ``local-dir`` or ``hf-hub``."""

    kind: str
    model: str
    pretrained: str = ""  # a tag, or an absolute path to a weights file, for kind == "arch"

    @property
    def repo(self) -> str:
        """The hub repository of an ``hf-hub:`` spec."""
        return self.model[len(HF_HUB):].strip("/") if self.kind == "hf-hub" else ""

    @property
    def pretrained_is_file(self) -> bool:
        return bool(self.pretrained) and Path(self.pretrained).is_file()


def _open_clip_architectures() -> list[str]:
    spec = importlib.util.find_spec("open_clip")
    folder = Path(next(iter(spec.submodule_search_locations))) / "model_configs"
    return sorted(p.stem for p in folder.glob("*.json"))


def resolve_embedder(model: str, pretrained: str = "", base_dir: str | Path | None = None) -> EmbedderSpec:
    """Check an embedder spec (files exist, architecture known) and say what kind it is."""
    model, pretrained = str(model).strip(), str(pretrained or "").strip()
    fix = "give tiny-random, an open_clip architecture with a pretrained tag or weights file, or a local folder"
    if not model:
        raise ModelError("embedding.model is empty", fix)
    if model in PRESETS:
        return EmbedderSpec("preset", model)
    if model.startswith(HF_HUB):
        if not model[len(HF_HUB):].strip("/") or " " in model:
            raise ModelError(f"embedding.model {model!r} names no hub repository", "write it as hf-hub:ORG/NAME")
        return EmbedderSpec("hf-hub", model)

    def local(p: str) -> Path | None:
        path = Path(p).expanduser()
        if base_dir is not None and not path.is_absolute() and (Path(base_dir) / path).exists():
            return (Path(base_dir) / path).resolve()
        return path.resolve() if path.exists() else None

    found = local(model)
    if found is not None:
        if found.is_file():
            raise ModelError(
                f"embedding.model {model} is a file",
                "put the architecture in embedding.model and the weights file in embedding.pretrained",
            )
        if not (found / "open_clip_config.json").is_file():
            raise ModelError(
                f"embedding.model folder {model} has no open_clip_config.json",
                "give a folder saved for open_clip (open_clip_config.json + weights)",
            )
        return EmbedderSpec("local-dir", str(found))
    arches = _open_clip_architectures()
    if model not in arches:
        if "/" in model or model.startswith((".", "~")):
            raise ModelError(f"embedding.model folder {model} does not exist", fix)
        close = difflib.get_close_matches(model, arches, n=3)
        hint = f"did you mean {', '.join(close)}? " if close else ""
        raise ModelError(f"unknown open_clip architecture {model!r}", hint + fix)
    if not pretrained:
        raise ModelError(
            f"embedding.pretrained is empty for {model}",
            "give a pretrained tag (e.g. openai) or a weights file; random weights give meaningless numbers",
        )
    pfile = local(pretrained)
    if pfile is not None:
        return EmbedderSpec("arch", model, str(pfile))
    if "/" in pretrained or Path(pretrained).suffix:
        raise ModelError(f"embedding.pretrained file {pretrained} does not exist", "give an existing weights file or a tag")
    return EmbedderSpec("arch", model, pretrained)


def embedder_identity(spec: EmbedderSpec) -> tuple[str, str]:
    """(model name as stored with every embedding, content hash of local weights or "").

    Local weights are named by their hash, so two different files never share a name.
    """
    if spec.kind == "preset":
        return PRESETS[spec.model].clip_identity()
    if spec.kind == "local-dir":
        digest = content_hash(spec.model)
        return f"local-dir:{Path(spec.model).name}@{digest[:12]}", digest
    if spec.kind == "arch" and spec.pretrained_is_file:
        digest = content_hash(spec.pretrained)
        return f"{spec.model}/file:{digest[:12]}", digest
    if spec.kind == "arch":
        return f"{spec.model}/{spec.pretrained}", ""
    snapshot = hub_snapshot(spec.repo)  # hf-hub: the cached snapshot's commit names the weights
    if snapshot is None:  # not here (a store read on another machine): the name without its commit
        return spec.model, ""
    return f"{spec.model}@{snapshot.name[:12]}", snapshot.name


def check_embedder_available(spec: EmbedderSpec, what: str = "embedding.model") -> None:
    """Offline, an ``hf-hub:`` embedder must already be in the local cache: refused up front (before
    any image is generated) with how to fix it."""
    if spec.kind == "hf-hub" and offline() and hub_snapshot(spec.repo) is None:
        raise ModelError(
            f"{what} {spec.model}: hub model {spec.repo} is not in the local cache and HF_HUB_OFFLINE is set",
            f"download it where the hub can be reached (huggingface-cli download {spec.repo}), or give a local folder")


def fetch_embedder(spec: EmbedderSpec) -> Path | None:
    """Bring an ``hf-hub:`` embedder into the local hub cache if it is not there yet (the hub is
    reachable: offline, a missing one was refused by :func:`resolve_embedder`); return its
    snapshot folder (None for other kinds). Failing to fetch is a ``ModelError`` naming it."""
    if spec.kind != "hf-hub":
        return None
    found = hub_snapshot(spec.repo)
    if found is not None:
        return found
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(spec.repo))
    except Exception as exc:  # noqa: BLE001 - any failure to fetch is one clear message
        first = first_line_of(exc)
        raise ModelError(f"cannot fetch embedding.model {spec.model} from the hub ({first[:200]})",
                         "check the name and the network, or download it elsewhere and copy the cache") from None


def load_open_clip(spec: EmbedderSpec):
    """The open_clip model (on the CPU, float32), tokenizer and image transform of ``spec``."""
    if spec.kind == "preset":  # a preset's CLIP is saved in a folder (mini-digits) or built (tiny-random)
        folder = PRESETS[spec.model].clip_folder()
        return _open_clip(f"local-dir:{folder}", None, spec) if folder is not None else PRESETS[spec.model].clip()
    name = f"local-dir:{spec.model}" if spec.kind == "local-dir" else spec.model
    return _open_clip(name, spec.pretrained if spec.kind == "arch" else None, spec)


def _open_clip(name: str, pretrained: str | None, spec: EmbedderSpec):
    import open_clip

    try:
        model, _, preprocess = open_clip.create_model_and_transforms(name, pretrained=pretrained)
        tokenizer = open_clip.get_tokenizer(name)
    except Exception as exc:  # noqa: BLE001 - any load failure becomes one clear message
        first = first_line_of(exc)
        raise ModelError(
            f"cannot load open_clip model {spec.model} {spec.pretrained} ({first[:300]})".replace("  ", " "),
            "check the architecture and pretrained tag, or give a local weights file or folder",
        ) from None
    return model, tokenizer, preprocess


class Embedder:
    """A loaded CLIP model: ``embed_images`` and ``embed_texts`` give unit-length float32 rows."""

    def __init__(self, spec: EmbedderSpec, *, device: str = "auto", batch_size: int = 64, dtype: str = "auto") -> None:
        import torch

        from synthdiv.devices import check_dtype

        self.spec = spec
        self.device = pick_device(device)
        self.batch_size = max(1, int(batch_size))
        model, tokenizer, preprocess = load_open_clip(spec)
        self.model = model.to(self.device).eval()
        if check_dtype(dtype, "embedding.dtype") != "auto":
            self.model = self.model.to(getattr(torch, dtype))
        elif self.device.type == "cuda":  # auto: float16 on CUDA, float32 on the CPU
            self.model = self.model.half()
        self.tokenizer = tokenizer
        self.preprocess = preprocess
        self.dtype = next(self.model.parameters()).dtype
        with torch.inference_mode():
            probe = self.model.encode_text(self._tokens(["a"]))
        self.dim = int(probe.shape[-1])
        self.name, self.model_hash = embedder_identity(spec)
        from synthdiv.towers import of_open_clip

        self.text_fingerprint = of_open_clip(self.model)  # synthdiv.towers: is it the generator's text encoder?

    def _tokens(self, texts: list[str]):
        return self.tokenizer(list(texts)).to(self.device)

    @staticmethod
    def _normalise(x) -> np.ndarray:
        arr = x.float().cpu().numpy().astype(np.float32, copy=False)
        norms = np.linalg.norm(arr, axis=1, keepdims=True)
        return arr / np.maximum(norms, 1e-12)

    def pixels(self, image):
        """The model's input tensor for one PIL image (RGB, resized, cropped, normalised), on the
        CPU. Safe to call from several threads at once: embedding workers prepare images in
        parallel while the model runs."""
        return self.preprocess(image.convert("RGB"))

    def embed_pixels(self, pixels: list) -> np.ndarray:
        """(n, dim) unit-length float32 embeddings of :meth:`pixels` tensors, a batch at a time."""
        import torch

        out = [np.zeros((0, self.dim), np.float32)]
        for start in range(0, len(pixels), self.batch_size):
            batch = torch.stack(pixels[start : start + self.batch_size])
            with torch.inference_mode():
                feats = self.model.encode_image(batch.to(self.device, self.dtype))
            out.append(self._normalise(feats))
        return np.concatenate(out)

    def embed_images(self, images) -> np.ndarray:
        """(n, dim) unit-length float32 embeddings of PIL images (converted to RGB)."""
        out = [np.zeros((0, self.dim), np.float32)]
        for start in range(0, len(images), self.batch_size):  # a batch of inputs in memory at a time
            out.append(self.embed_pixels([self.pixels(im) for im in images[start : start + self.batch_size]]))
        return np.concatenate(out)

    def embed_texts(self, texts: list[str]) -> np.ndarray:
        """(n, dim) unit-length float32 embeddings of texts."""
        import torch

        out = [np.zeros((0, self.dim), np.float32)]
        for start in range(0, len(texts), self.batch_size):
            with torch.inference_mode():
                feats = self.model.encode_text(self._tokens(texts[start : start + self.batch_size]))
            out.append(self._normalise(feats))
        return np.concatenate(out)
