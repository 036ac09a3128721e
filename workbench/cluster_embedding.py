"""Embedding on a Ray cluster: the embedding worker's loop (:func:`workbench.embedding.follow_with`)
runs here, beside the store, and its models run in one embedding actor on the cluster
(:class:`~workbench.actors.EmbeddingActor`).

The worker reads the stored images here (an image that cannot be read is made again, as always),
sends each batch to the actor, and stores the vectors that come back; one batch is in flight at a
time, while the next is read. An actor lost mid-batch is replaced and the batch sent again (an
embedding is stored only once it has come back, so nothing is lost or stored twice); after
:data:`~workbench.cluster.MAX_LOSSES` losses in a row the worker stops and says why.
"""

from __future__ import annotations

from types import SimpleNamespace

from store import workers
from store.core import Store
from synthdiv.errors import SynthdivError
from workbench.cluster import check_losses, let_go
from workbench.config import ExperimentConfig
from workbench.embedding import follow_with
from workbench.vocabulary import embed as embed_vocabulary
from workbench.placement import Seat



class RemoteEmbedding:
    """The embedding actor as the worker keeps it: started, described, replaced when lost."""

    def __init__(self, ray, st: Store, cfg: ExperimentConfig, worker_id: int) -> None:
        from workbench.actors import EmbeddingActor
        from workbench.cluster import embedding_actor_options

        self.ray, self.st, self.worker_id = ray, st, worker_id
        self.remote = ray.remote(**embedding_actor_options(ray), max_restarts=0)(EmbeddingActor)
        self.stored = cfg.stored()
        self.handle = None
        self.row: int | None = None
        self.processed = 0
        self.losses = 0
        info = self._start()
        # the actor's row counts images once, as CLIP (the first model) embeds them
        self.models = [RemoteModel(self, m, counts=i == 0) for i, m in enumerate(info["models"])]

    def _start(self) -> dict:
        from workbench.cluster import actor_error, losses, record_actor

        while True:
            self.handle = self.remote.remote(self.stored)
            try:
                info = self.ray.get(self.handle.describe.remote())
            except losses() as exc:
                self._lost(f"could not start: {actor_error(exc)}")
                continue
            self.row = record_actor(self.st, self.worker_id, info, "The embedding actor")
            return info

    def _lost(self, why: str) -> None:
        self.losses += 1
        if self.row is not None:
            workers.stop(self.st, self.row, "lost", f"the actor {why}", processed=self.processed)
            self.row = None
        print(f"The embedding actor {why}; starting another.", flush=True)
        check_losses("embedding", self.losses, why)
        let_go(self.ray, self.handle)

    def call(self, method: str, model: str, items: list, images: int = 0):
        """The actor's ``method`` on ``items``, sent again to a new actor when it is lost."""
        from ray.exceptions import RayTaskError

        from workbench.cluster import actor_error, losses

        while True:
            try:
                out = self.ray.get(getattr(self.handle, method).remote(model, items))
            except losses() as exc:
                self._lost(f"was lost ({actor_error(exc)})")
                self._start()
                continue
            except RayTaskError as exc:
                raise SynthdivError(f"the embedding actor failed: {actor_error(exc)}",
                                    "see the worker's log; fix the cause and run the experiment again") from None
            self.losses = 0
            if images:
                self.processed += images
                workers.heartbeat(self.st, self.row, self.processed, here=False)  # an actor: its node, not this machine
            return out

    def close(self, state: str) -> None:
        if self.row is not None:
            workers.stop(self.st, self.row, state, processed=self.processed)
        let_go(self.ray, self.handle)


class RemoteModel:
    """One model of the embedding actor, as :func:`workbench.embedding.embed_pending` uses a model:
    images are read and decoded here, and prepared for the model in the actor."""

    device = SimpleNamespace(type="cluster")  # not "cpu": the reader may use threads, no model runs here

    def __init__(self, remote: RemoteEmbedding, info: dict, counts: bool) -> None:
        self.remote, self.name, self.batch_size, self.texts = remote, info["name"], info["batch_size"], info["texts"]
        self.text_fingerprint = info.get("text_fingerprint")  # synthdiv.towers
        self.counts = counts  # whether its images count as the actor's (the image encoders' are CLIP's images again)

    def pixels(self, image):
        return image

    def embed_pixels(self, images: list):
        return self.remote.call("embed_images", self.name, images, images=len(images) if self.counts else 0)

    def embed_texts(self, texts: list[str]):
        return self.remote.call("embed_texts", self.name, texts)


def follow_on_cluster(st: Store, experiment_id: int, cfg: ExperimentConfig, worker_id: int, flag, beat,
                      seat: Seat | None = None) -> str:
    """Embed until generation is over and nothing is left, the models on the cluster; ``done`` or
    ``stopped``."""
    from workbench.cluster import connect

    remote = RemoteEmbedding(connect(cfg.cluster.address), st, cfg, worker_id)
    state = "failed"
    try:
        embed_vocabulary(st, cfg, remote.models[0])  # the open-set vocabulary, on the cluster's CLIP
        state = follow_with(st, experiment_id, remote.models, flag, beat)
        return state
    finally:
        remote.close(state)
