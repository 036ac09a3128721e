"""The store's open-set vocabulary (store.vocabulary): texts shared by experiments, embedded once
per model, read back in the order asked, never tallied; and the text towers' fingerprints."""

import numpy as np

from store import embeddings, open_store, vocabulary


def test_texts_are_embedded_once_per_model_and_read_back_in_the_order_asked(tmp_path):
    with open_store(tmp_path, create=True) as st:
        todo = vocabulary.missing(st, ["a photo of a crane.", "a photo of a goldfish.", "a photo of a crane."], "m")
        assert [r["text"] for r in todo] == ["a photo of a crane.", "a photo of a goldfish."]
        assert vocabulary.vectors(st, ["a photo of a crane."], "m") is None  # not embedded yet
        v = np.eye(2, 4, dtype=np.float32)
        assert vocabulary.add(st, [r["id"] for r in todo], "m", v) == 2
        assert vocabulary.add(st, [r["id"] for r in todo], "m", v) == 0  # again: a no-op
        assert vocabulary.missing(st, ["a photo of a goldfish."], "m") == []
        assert vocabulary.missing(st, ["a photo of a goldfish."], "other")[0]["text"] == "a photo of a goldfish."
        back = vocabulary.vectors(st, ["a photo of a goldfish.", "a photo of a crane."], "m")
        assert np.array_equal(back, v[::-1])
        assert vocabulary.count(st, ["a photo of a goldfish.", "a photo of a tench."], "m") == 1
        assert vocabulary.vectors(st, ["a photo of a goldfish.", "a photo of a tench."], "m") is None
        assert embeddings.models(st, 1, "text") == {}  # no tally counts the vocabulary


def test_a_tower_fingerprint_is_recorded_per_role_and_model_and_replaced(tmp_path):
    with open_store(tmp_path, create=True) as st:
        assert vocabulary.tower(st, "clip", "m") is None
        vocabulary.record_tower(st, "clip", "m", "aa")
        vocabulary.record_tower(st, "generator", "m", "bb")
        vocabulary.record_tower(st, "clip", "m", "cc")
        assert (vocabulary.tower(st, "clip", "m"), vocabulary.tower(st, "generator", "m")) == ("cc", "bb")
