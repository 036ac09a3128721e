"""Where an experiment stands, as the supervisor and the worker kinds' ``needed`` rules read it."""

from __future__ import annotations

from dataclasses import dataclass

from store import embeddings, experiments, jobs, real, training
from store.core import Store


@dataclass
class Progressed:
    done: int
    total: int
    failed: int
    embedded: int
    texts_embedded: int
    prompts: int
    real: int = 0
    real_embedded: int = 0
    train_runs: int = 0  # planned training runs
    train_open: int = 0  # of them pending or running
    train_failed: int = 0
    epochs_done: int = 0
    epochs_total: int = 0
    encoders_missing: int = 0  # images and real images an image-only encoder has not embedded yet
    vocabulary_missing: int = 0  # open-set vocabulary texts the CLIP has not embedded yet (workbench.vocabulary)

    @property
    def generating(self) -> bool:
        """Jobs remain that no worker has finished or given up on."""
        return self.done + self.failed < self.total

    @property
    def embedding_done(self) -> bool:
        return (self.embedded >= self.done and self.texts_embedded >= self.prompts
                and self.real_embedded >= self.real and self.encoders_missing == 0 and self.vocabulary_missing == 0)

    @property
    def training_done(self) -> bool:
        """No planned training run is left to train (each finished or failed)."""
        return self.train_open == 0

    @property
    def finished(self) -> bool:
        """Nothing left to make: every job done, everything embedded, every run trained."""
        return self.done == self.total and self.embedding_done and self.training_done


def measure(st: Store, experiment_id: int, model: str, encoders: tuple[str, ...] = ()) -> Progressed:
    """Where the experiment stands: jobs, embeddings from the configured model (and from the
    image-only ``encoders``, by stored name: embedding is done when they have every image too),
    training runs."""
    c = jobs.counts(st, experiment_id)
    t = training.counts(st, experiment_id)
    n_real = real.count(st, experiment_id)
    missing = sum(max(0, c["done"] - embeddings.count(st, experiment_id, "image", m))
                  + max(0, n_real - embeddings.count(st, experiment_id, "real", m)) for m in encoders)
    return Progressed(
        done=c["done"], total=sum(c.values()), failed=c["failed"],
        embedded=embeddings.count(st, experiment_id, "image", model),
        texts_embedded=embeddings.count(st, experiment_id, "text", model),
        prompts=experiments.prompt_count(st, experiment_id),
        real=n_real,
        real_embedded=embeddings.count(st, experiment_id, "real", model),
        train_runs=sum(t[s] for s in training.STATES), train_open=t["pending"] + t["running"],
        train_failed=t["failed"], epochs_done=t["epochs_done"], epochs_total=t["epochs_total"],
        encoders_missing=missing,
        vocabulary_missing=_vocabulary_missing(st, experiment_id, model),
    )


def _vocabulary_missing(st: Store, experiment_id: int, model: str) -> int:
    """How many of the experiment's open-set vocabulary texts ``model`` has not embedded (0 for an
    image-only encoder, or where the store cannot hold them)."""
    from store import vocabulary as stored
    from synthdiv.image_encoders import is_image_encoder
    from workbench import vocabulary
    from workbench.config import from_experiment

    if is_image_encoder(model) or not stored.has_tables(st):
        return 0
    return vocabulary.missing_count(st, from_experiment(experiments.by_id(st, experiment_id)), model)
