"""The Ray actors that run an experiment's models on a cluster's nodes (:mod:`workbench.cluster`).

Each loads its model once, when it starts, and then serves batches that the process owning the
store hands it. They never open the store: what they make goes back to that process (or, with
``[cluster] shared_dir``, the image files are written to the shared folder), which records it.
Ray imports this module on the nodes, so synthdiv must be installed there (docs/ray.md).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from workbench.config import ExperimentConfig


def _threads(info: dict) -> None:
    """A CPU actor's torch threads: the CPUs Ray gave it."""
    if info["device"] == "cpu" and info["cpus"] >= 1:
        import torch

        torch.set_num_threads(int(info["cpus"]))


class GenerationActor:
    """Makes batches of claimed jobs' images with the experiment's generator (on the GPU Ray gave
    it, else the CPU) and encodes each as the PNG the store keeps, provenance text and all."""

    def __init__(self, stored_config: dict, index: int, shared_dir: str = "") -> None:
        import ray

        from workbench.cluster import where_am_i
        from workbench.generation import batch_size_of, class_settings, load_generator

        self.info = where_am_i(ray, index)
        _threads(self.info)
        cfg = ExperimentConfig.from_stored(stored_config)
        cfg = replace(cfg, generation=replace(cfg.generation, device=self.info["device"]))
        self.generator = load_generator(cfg)
        self.settings = class_settings(cfg)
        self.fits = batch_size_of(cfg, self.generator.device.type)  # halved for good on CUDA out of memory
        gpus = self.info["gpus"]  # the GPU's number on its node, not the cuda:0 it is to this process
        device = f"cuda:{','.join(gpus)}" if gpus else self.generator.provenance["device"]
        self.provenance = {**self.generator.provenance, "device": f"{device}@{self.info['node']}"}
        self.shared = Path(shared_dir) if shared_dir else None

    def describe(self) -> dict:
        """Where it runs (:func:`workbench.cluster.where_am_i`) and the provenance of its images."""
        return {**self.info, "provenance": self.provenance}

    def make(self, batch: list[dict]) -> tuple[list, list, int]:
        """The batch's images, each a :class:`~synthdiv.generate.BadImage`, an
        :class:`~workbench.generation.Encoded` PNG, or (with a shared folder) a
        :class:`~workbench.generation.Written` one; what the model read of each prompt; the batch
        size that fits."""
        from synthdiv.generate import BadImage
        from workbench.generation import Encoded, Written, make_batch, png_bytes, png_text, write_image_file

        images, readings, fitted = make_batch(self.generator, batch, self.settings, self.fits)
        if fitted < self.fits:
            print(f"CUDA ran out of memory at batch {self.fits}: generating {fitted} images at a time", flush=True)
            self.fits = fitted
        out: list = []
        for job, image in zip(batch, images, strict=True):
            if isinstance(image, BadImage):
                out.append(image)
                continue
            data = png_bytes(image, png_text(job, self.settings, self.provenance))
            if self.shared is None:
                out.append(Encoded(data, image.width, image.height))
                continue
            _, digest = write_image_file(self.shared, job, data)
            out.append(Written(digest, image.width, image.height))
        return out, readings, fitted


class EmbeddingActor:
    """Embeds prompts and images with the experiment's CLIP model and image-only encoders (on the
    GPU share Ray gave it, else the CPU). Images come as decoded RGB pictures; each model prepares
    them its own way here."""

    def __init__(self, stored_config: dict) -> None:
        import ray

        from workbench.cluster import where_am_i
        from workbench.embedding import load_embedder, load_image_encoders

        self.info = where_am_i(ray, 0)
        _threads(self.info)
        cfg = ExperimentConfig.from_stored(stored_config)
        cfg = replace(cfg, embedding=replace(cfg.embedding, device=self.info["device"]))
        models = [load_embedder(cfg), *load_image_encoders(cfg)]
        self.models = {m.name: m for m in models}

    def describe(self) -> dict:
        """Where it runs and, for each model it holds, its stored name, batch size and whether it
        embeds text."""
        return {**self.info, "models": [{"name": m.name, "batch_size": m.batch_size, "texts": getattr(m, "texts", True),
                                         "text_fingerprint": getattr(m, "text_fingerprint", None)}
                                        for m in self.models.values()]}

    def embed_texts(self, model: str, texts: list[str]):
        return self.models[model].embed_texts(texts)

    def embed_images(self, model: str, images: list):
        m = self.models[model]
        return m.embed_pixels([m.pixels(im) for im in images])
