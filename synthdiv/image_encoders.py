"""Image-only encoders (timm) for the image-only measures, beside CLIP.

Generative-model evaluation now recommends self-supervised encoders such as DINOv2 over
Inception and CLIP for fidelity and diversity (Stein et al. 2023). ``[embedding] image_models``
lists any number of timm models; each embeds every synthetic and real image, stored under its own
name, and the diversity, PRDC, Fréchet/CMMD and linear-probe tables are computed per encoder.
CLIP stays the encoder of the text-image measures (adherence, CLIP score, zero-shot, modality
gap), which an image-only encoder cannot give.

Specs:
- a local folder holding timm's ``config.json`` and ``model.safetensors`` (what
  ``timm.models.save_for_hf`` writes): named ``timm:local-dir:NAME@HASH`` (its content hash);
- ``hf-hub:ORG/NAME`` (``hf-hub:timm/vit_small_patch14_dinov2.lvd142m``): named
  ``timm:hf-hub:ORG/NAME@COMMIT`` (the cached snapshot's commit); offline it must be cached;
- a timm model name with its pretrained tag (``vit_small_patch14_dinov2.lvd142m``): the hub
  weights timm names for it, as ``hf-hub:``.

A timm name without pretrained weights is refused: random weights give meaningless numbers.
Embeddings are the model's pooled pre-logits features (``num_classes=0``), L2-normalised, float32.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from synthdiv.errors import ModelError, first_line_of
from synthdiv.sources import content_hash, hub_snapshot, offline

PREFIX = "timm:"  # every stored image-encoder name starts with it
HF_HUB = "hf-hub:"


def is_image_encoder(name: str) -> bool:
    """Whether a stored embedding model name is an image-only encoder's (no text embeddings)."""
    return name.startswith(PREFIX)


@dataclass(frozen=True)
class ImageEncoderSpec:
    """``kind``: ``local-dir`` (``ref`` an absolute folder) or ``hf-hub`` (``ref`` ORG/NAME)."""

    kind: str
    ref: str

    @property
    def timm_name(self) -> str:
        return f"{self.kind}:{self.ref}"


def resolve_image_encoder(spec: str, base_dir: str | Path | None = None, what: str = "embedding.image_models") -> ImageEncoderSpec:
    """Check an image-encoder spec (see the module docstring) without loading it."""
    text = str(spec).strip()
    if not text:
        raise ModelError(f"{what} has an empty entry", "give a timm folder, hf-hub:ORG/NAME or a timm name with its tag")
    if text.startswith(HF_HUB):
        repo = text[len(HF_HUB):].strip("/")
        if "/" not in repo:
            raise ModelError(f"{what}: {text!r} names no hub repository", "write it as hf-hub:ORG/NAME")
        return _available(ImageEncoderSpec("hf-hub", repo), what)
    path = Path(text).expanduser()
    if base_dir is not None and not path.is_absolute() and (Path(base_dir) / path).exists():
        path = Path(base_dir) / path
    if path.exists():
        if not (path.is_dir() and (path / "config.json").is_file()):
            raise ModelError(f"{what}: {text} is not a timm model folder (it has no config.json)",
                             "give a folder saved by timm.models.save_for_hf (config.json + model.safetensors)")
        if not (path / "model.safetensors").is_file():
            raise ModelError(f"{what}: {text} has no model.safetensors",
                             "save it with safe_serialization=True; synthdiv does not unpickle weights")
        return ImageEncoderSpec("local-dir", str(path.resolve()))
    if "/" in text or text.startswith((".", "~")):
        raise ModelError(f"{what}: folder {text} does not exist", "give an existing timm model folder")
    import timm

    name, _, tag = text.partition(".")
    if not timm.is_model(name):
        close = timm.list_models(f"*{name[:12]}*")[:3]
        raise ModelError(f"{what}: {name!r} is not a timm model", f"did you mean {', '.join(close)}?" if close
                         else "see timm.list_models() for the names")
    if not tag:
        raise ModelError(f"{what}: {text!r} has no pretrained tag, and random weights give meaningless numbers",
                         f"name its weights, e.g. {(timm.list_pretrained(name + '.*') or [name + '.TAG'])[0]}")
    try:
        hub_id = timm.models.get_pretrained_cfg(text).hf_hub_id
    except Exception:  # noqa: BLE001 - an unknown tag
        hub_id = None
    if not hub_id:
        raise ModelError(f"{what}: timm knows no hub weights for {text!r}",
                         f"use one of {', '.join(timm.list_pretrained(name + '.*')[:3]) or 'its pretrained tags'}")
    return _available(ImageEncoderSpec("hf-hub", hub_id), what)


def _available(spec: ImageEncoderSpec, what: str) -> ImageEncoderSpec:
    if offline() and hub_snapshot(spec.ref) is None:
        raise ModelError(f"{what}: hub model {spec.ref} is not in the local cache and HF_HUB_OFFLINE is set",
                         f"download it where the hub can be reached (huggingface-cli download {spec.ref}),"
                         " or give a local timm folder")
    return spec


def stored_spec(text: str) -> ImageEncoderSpec:
    """The spec of an ``image_models`` entry as the experiment stored it (resolved: a folder's
    absolute path, or ``hf-hub:ORG/NAME``), without checking that it is here."""
    return ImageEncoderSpec("hf-hub", text[len(HF_HUB):]) if text.startswith(HF_HUB) else ImageEncoderSpec("local-dir", text)


def name_stem(spec: ImageEncoderSpec) -> str:
    """Its stored name up to the ``@`` that precedes the hash or commit."""
    return f"{PREFIX}local-dir:{Path(spec.ref).name}" if spec.kind == "local-dir" else f"{PREFIX}hf-hub:{spec.ref}"


def encoder_identity(spec: ImageEncoderSpec) -> str:
    """The name its embeddings are stored under: the weights' content hash or snapshot commit in it."""
    if spec.kind == "local-dir":
        return f"{name_stem(spec)}@{content_hash(spec.ref)[:12]}"
    snap = hub_snapshot(spec.ref)
    return name_stem(spec) + (f"@{snap.name[:12]}" if snap is not None else "")


def fetch_encoder(spec: ImageEncoderSpec) -> None:
    """Bring a hub encoder into the cache before anything is generated (no-op when it is there)."""
    if spec.kind != "hf-hub" or hub_snapshot(spec.ref) is not None:
        return
    try:
        from huggingface_hub import snapshot_download

        snapshot_download(spec.ref)
    except Exception as exc:  # noqa: BLE001 - any failure to fetch is one clear message
        first = first_line_of(exc)
        raise ModelError(f"cannot fetch image encoder {spec.ref} from the hub ({first[:200]})",
                         "check the name and the network, or give a local timm folder") from None


class ImageEncoder:
    """A loaded timm model: ``embed_pixels`` of ``pixels`` gives unit-length float32 rows. Has the
    image side of :class:`synthdiv.embed.Embedder`'s interface (``name``, ``device``,
    ``batch_size``, ``pixels``, ``embed_pixels``), so the embedding worker reads images for it alike."""

    texts = False  # no text tower: the text-image measures stay CLIP's

    def __init__(self, spec: ImageEncoderSpec, *, device: str = "auto", batch_size: int = 64, dtype: str = "auto") -> None:
        import timm
        import torch

        from synthdiv.devices import check_dtype, pick_device

        self.spec = spec
        self.device = pick_device(device)
        self.batch_size = max(1, int(batch_size))
        try:
            model = timm.create_model(spec.timm_name, pretrained=True, num_classes=0)
        except Exception as exc:  # noqa: BLE001 - any load failure becomes one clear message
            first = first_line_of(exc)
            raise ModelError(f"cannot load timm image encoder {spec.ref} ({first[:300]})",
                             "check the folder or hub id (a timm model saved with save_for_hf)") from None
        self.model = model.to(self.device).eval()
        if check_dtype(dtype, "embedding.dtype") != "auto":
            self.model = self.model.to(getattr(torch, dtype))
        elif self.device.type == "cuda":
            self.model = self.model.half()
        self.dtype = next(self.model.parameters()).dtype
        config = timm.data.resolve_data_config({}, model=self.model)
        self.preprocess = timm.data.create_transform(**config, is_training=False)
        self.dim = int(self.model.num_features)
        self.name = encoder_identity(spec)

    def pixels(self, image):
        """The model's input tensor for one PIL image (its own eval transform), on the CPU."""
        return self.preprocess(image.convert("RGB"))

    def embed_pixels(self, pixels: list) -> np.ndarray:
        """(n, dim) unit-length float32 pooled features of :meth:`pixels` tensors, a batch at a time."""
        import torch

        out = [np.zeros((0, self.dim), np.float32)]
        for start in range(0, len(pixels), self.batch_size):
            batch = torch.stack(pixels[start:start + self.batch_size]).to(self.device, self.dtype)
            with torch.inference_mode():
                feats = self.model(batch).float().cpu().numpy().astype(np.float32, copy=False)
            out.append(feats / np.maximum(np.linalg.norm(feats, axis=1, keepdims=True), 1e-12))
        return np.concatenate(out)
