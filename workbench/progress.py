"""Where an experiment stands, as the supervisor and the worker kinds' ``needed`` rules read it."""

from __future__ import annotations

from dataclasses import dataclass

from store import embeddings, experiments, jobs, real
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

    @property
    def generating(self) -> bool:
        """Jobs remain that no worker has finished or given up on."""
        return self.done + self.failed < self.total

    @property
    def embedding_done(self) -> bool:
        return (self.embedded >= self.done and self.texts_embedded >= self.prompts
                and self.real_embedded >= self.real)


def measure(st: Store, experiment_id: int, model: str) -> Progressed:
    """Where the experiment stands: jobs, and embeddings from the configured model."""
    c = jobs.counts(st, experiment_id)
    return Progressed(
        done=c["done"], total=sum(c.values()), failed=c["failed"],
        embedded=embeddings.count(st, experiment_id, "image", model),
        texts_embedded=embeddings.count(st, experiment_id, "text", model),
        prompts=experiments.prompt_count(st, experiment_id),
        real=real.count(st, experiment_id),
        real_embedded=embeddings.count(st, experiment_id, "real", model),
    )
