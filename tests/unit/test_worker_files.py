"""The workers' image files: the generation worker encodes its PNGs in parallel threads yet records
them in job order with their true digests; the embedding worker reads and prepares images in
parallel threads, one batch ahead of the model, and embeds each exactly as the model would alone."""

from __future__ import annotations

import hashlib
import threading
import time
import types

import numpy as np
import pytest
from PIL import Image

from store import embeddings, images, jobs, open_store, real, workers
from synthdiv.embed import Embedder, resolve_embedder
from synthdiv.generate import GenerationSettings
from tests.functional.stores import build
from workbench import generation
from workbench.embedding import ImageReader, embed_pending


class Overlap:
    """Wraps a function; remembers the most calls that ran at the same time, and in which threads."""

    def __init__(self, fn, hold_s: float = 0.05) -> None:
        self.fn, self.hold_s = fn, hold_s
        self.active = self.most = self.calls = 0
        self.threads: set[str] = set()
        self.lock = threading.Lock()

    def __call__(self, *args, **kwargs):
        with self.lock:
            self.active += 1
            self.calls += 1
            self.most = max(self.most, self.active)
            self.threads.add(threading.current_thread().name)
        try:
            time.sleep(self.hold_s)
            return self.fn(*args, **kwargs)
        finally:
            with self.lock:
                self.active -= 1


PROVENANCE = {"model_id": "tiny-random", "model_revision": "", "model_hash": "", "scheduler": "DDIMScheduler",
              "dtype": "float32", "device": "cpu"}


def test_the_writer_encodes_pngs_in_parallel_and_records_them_in_job_order(tmp_path, monkeypatch):
    e = build(tmp_path, done=0, analysed=False)
    encode = Overlap(generation.png_bytes)
    monkeypatch.setattr(generation, "png_bytes", encode)
    with open_store(tmp_path) as st:
        wid = workers.register(st, e, "generation")
        batch = jobs.claim(st, e, wid, 8)
        colours = [(30 * i, 255 - 30 * i, 100) for i in range(len(batch))]
        writer = generation.BatchWriter(st.root, e, wid, GenerationSettings(steps=4, guidance=5.0, width=8, height=8),
                                        PROVENANCE, types.SimpleNamespace(processed=0), encoders=4)
        writer.submit(batch, [Image.new("RGB", (8, 8), c) for c in colours])
        writer.close()
        stored = [dict(r) for r in st.conn.execute("select * from images order by id")]
    assert encode.most > 1, "the PNGs were encoded one at a time"
    assert [r["job_id"] for r in stored] == [j["id"] for j in batch]  # rows in the order of the jobs
    for row, job, colour in zip(stored, batch, colours, strict=True):
        data = (tmp_path / row["path"]).read_bytes()
        assert row["sha256"] == hashlib.sha256(data).hexdigest()
        with Image.open(tmp_path / row["path"]) as im:
            assert im.getpixel((3, 3)) == colour and im.text["synthdiv:prompt"] == job["prompt"]


def _without_image_embeddings(root):
    e = build(root, done=24, analysed=False)
    with open_store(root) as st:
        st.db.execute("delete from embeddings where kind in ('image', 'real')")
    return e


@pytest.fixture(scope="module")
def embedder():
    return Embedder(resolve_embedder("tiny-random"), batch_size=4)


def test_embedding_reads_ahead_in_parallel_and_gives_what_the_model_gives_alone(tmp_path, embedder, monkeypatch):
    e = _without_image_embeddings(tmp_path)
    read = Overlap(embedder.pixels)
    monkeypatch.setattr(embedder, "pixels", read)
    started_during_model = []
    model = embedder.embed_pixels

    def embed_pixels(pixels):
        before = read.calls
        time.sleep(0.3)
        started_during_model.append(read.calls - before)
        return model(pixels)

    monkeypatch.setattr(embedder, "embed_pixels", embed_pixels)
    with open_store(tmp_path) as st, ImageReader(st.root, embedder, threads=2, ahead=True) as reader:
        added = embed_pending(st, e, embedder, todo=None, reader=reader)
        rows = st.conn.execute("select id, path from images where experiment_id = ? order by id", [e]).fetchall()
        ids, vectors = embeddings.load(st, e, "image", embedder.name)
    assert added == 24 + 24  # generated and real
    assert read.most == 2, "images were read one at a time"
    # batches of 16 (4 × the model's batch): the second was being read while the model ran on the first
    assert started_during_model[0] > 0
    files = []
    for r in rows:
        with Image.open(tmp_path / r["path"]) as im:
            files.append(im.convert("RGB"))
    monkeypatch.undo()
    assert [r["id"] for r in ids] == [r["id"] for r in rows]
    np.testing.assert_allclose(vectors, embedder.embed_images(files), atol=1e-6)



def test_with_the_model_on_the_cpu_images_are_read_in_the_workers_own_thread(tmp_path, embedder, monkeypatch):
    e = _without_image_embeddings(tmp_path)
    read = Overlap(embedder.pixels, hold_s=0)
    monkeypatch.setattr(embedder, "pixels", read)
    with open_store(tmp_path) as st:
        assert embed_pending(st, e, embedder) == 24 + 24
    # the model's own threads need the cores: no reader thread runs beside it
    assert read.calls == 48 and read.threads == {threading.current_thread().name}

def test_an_unreadable_real_image_is_marked_and_an_unreadable_generated_one_is_made_again(tmp_path, embedder, capsys):
    e = _without_image_embeddings(tmp_path)
    with open_store(tmp_path) as st:
        real_path = st.conn.execute("select path from real_images order by id limit 1").fetchone()[0]
        (tmp_path / real_path).write_bytes(b"not a png")
        assert embed_pending(st, e, embedder) == 24 + 23
        bad = real.unreadable(st, e)
        assert [r["path"] for r in bad] == [real_path] and "UnidentifiedImageError" in bad[0]["error"]
        st.db.execute("delete from embeddings where kind = 'image'")
        image_path = st.conn.execute("select path from images order by id desc limit 1").fetchone()[0]
        truncated = tmp_path / st.conn.execute("select path from images order by id limit 1").fetchone()[0]
        truncated.write_bytes(truncated.read_bytes()[:60])  # a PNG cut short, as a full disk or a kill leaves it
        (tmp_path / image_path).unlink()
        assert embed_pending(st, e, embedder) == 22  # the others are embedded; the worker goes on
        said = capsys.readouterr().out
        for path in (truncated, tmp_path / image_path):
            assert f"image file {path} could not be read" in said and "will be made again" in said
        assert jobs.counts(st, e)["pending"] == 2 and jobs.counts(st, e)["done"] == 22
        assert images.count(st, e) == 22
        left = [r[0] for r in st.conn.execute("select error from jobs where state = 'pending'")]
        assert all("could not be read" in err for err in left)
