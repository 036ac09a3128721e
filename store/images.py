"""Generated images: where their PNG files live in the store folder, and their rows.

A PNG is written to a temporary name and renamed into place before its row is committed
(see :func:`store.jobs.finish`), so a row always has its file. A file whose row never got
written (the process died in between) is made again, byte for byte, when its job is re-run.
"""

from __future__ import annotations

import re
import time

from store import tallies
from store.core import IMAGES_DIR, Store


def slug(text: str, limit: int = 40) -> str:
    """A file-name-safe lower-case form of ``text``."""
    s = re.sub(r"[^a-z0-9]+", "-", text.casefold()).strip("-")
    return s[:limit].rstrip("-") or "x"


def relative_path(class_id: int, class_name: str, template_id: int, seed: int) -> str:
    """The image's path relative to the store folder (unique per class id, template id and seed)."""
    return f"{IMAGES_DIR}/c{class_id:04d}-{slug(class_name)}/t{template_id:04d}-s{seed}.png"


def consistency(store: Store) -> dict[str, list[str]]:
    """PNG files with no row, and rows with no PNG file, across the store (relative paths)."""
    on_disk = {
        p.relative_to(store.root).as_posix()
        for p in (store.root / IMAGES_DIR).rglob("*.png")
        if not p.name.startswith(".")
    }
    in_db = {r[0] for r in store.conn.execute("select path from images")}
    return {"files_without_rows": sorted(on_disk - in_db), "rows_without_files": sorted(in_db - on_disk)}



def requeue(store: Store, image_ids: list[int], reason: str) -> list[str]:
    """Put the jobs of images whose files are missing or broken back in the queue, to be made again.

    In one transaction: the images' embeddings and rows go (a row without a readable file is not
    an image), and their jobs return to ``pending`` with ``reason`` as their last error. Seeds and
    settings are kept, so the image made again is the one that was lost. Returns the paths."""
    if not image_ids:
        return []
    paths = []
    with store.immediate():
        for start in range(0, len(image_ids), 500):
            chunk = [int(i) for i in image_ids[start:start + 500]]
            marks = ",".join("?" * len(chunk))
            rows = store.conn.execute(f"select id, job_id, path from images where id in ({marks})", chunk).fetchall()
            if not rows:
                continue
            paths += [r["path"] for r in rows]
            ids, job_ids = [r["id"] for r in rows], [r["job_id"] for r in rows]
            marks = ",".join("?" * len(ids))
            store.conn.execute(f"delete from embeddings where kind = 'image' and item_id in ({marks})", ids)
            store.conn.execute(f"delete from images where id in ({marks})", ids)
            store.conn.execute(
                f"update jobs set state = 'pending', worker_id = null, error = ?, finished_at = null"
                f" where id in ({marks})", [reason[:2000], *job_ids])
    return paths


def _problem(path, sha256: str | None) -> str:
    """What is wrong with an image file ("" when nothing): missing, unreadable, or (when
    ``sha256`` is given) changed."""
    import hashlib

    if sha256 is None:
        return "" if path.is_file() else "missing"
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except FileNotFoundError:
        return "missing"
    except OSError as exc:
        return f"unreadable ({exc.strerror or exc})"
    return "" if digest == sha256 else "changed (SHA-256 differs)"


def damaged_files(store: Store, experiment_id: int, progress=None, read: bool = True) -> list[dict]:
    """The experiment's image rows whose PNG file is missing or differs from its recorded SHA-256
    (``id``, ``path``, ``problem``): every file read in full; with ``read=False`` only whether it
    exists (one ``stat`` per image: what every run checks). ``progress(done, total)`` is called
    as it goes."""
    rows = [dict(r) for r in store.conn.execute(
        "select id, path, sha256 from images where experiment_id = ? order by id", [experiment_id])]
    out = []
    for i, r in enumerate(rows):
        problem = _problem(store.root / r["path"], r["sha256"] if read else None)
        if problem:
            out.append({"id": r["id"], "path": r["path"], "problem": problem})
        if progress is not None and (i % 256 == 0 or i + 1 == len(rows)):
            progress(i + 1, len(rows))
    return out


_PAGE = """
select i.id, i.path, i.seed, i.prompt, i.negative_prompt, i.class_name, i.template, i.class_id,
       i.template_id, i.model_id, i.model_revision, i.model_hash, i.scheduler, i.steps, i.guidance,
       i.width, i.height, i.created_at
from images i where i.experiment_id = ?{where} order by i.class_id, i.template_id, i.id limit ? offset ?
"""


def _filter(class_id: int | None, template_id: int | None) -> tuple[str, list]:
    where, args = "", []
    if class_id is not None:
        where += " and i.class_id = ?"
        args.append(class_id)
    if template_id is not None:
        where += " and i.template_id = ?"
        args.append(template_id)
    return where, args


def page(store: Store, experiment_id: int, class_id: int | None = None, template_id: int | None = None,
         offset: int = 0, limit: int = 12) -> list[dict]:
    """One page of the experiment's images (of one class and/or template when given), in class,
    template, creation order: everything that reproduces each image."""
    where, args = _filter(class_id, template_id)
    return [dict(r) for r in store.conn.execute(_PAGE.format(where=where),
                                                [experiment_id, *args, int(limit), int(offset)])]


def every(store: Store, experiment_id: int) -> list[dict]:
    """Every image of the experiment, with every column of its row (provenance, path, sha256), in
    class, template, seed order."""
    return [dict(r) for r in store.conn.execute(
        "select * from images where experiment_id = ? order by class_id, template_id, seed, id", [experiment_id])]


def count(store: Store, experiment_id: int, class_id: int | None = None, template_id: int | None = None) -> int:
    """How many images (of one class and/or template); without a template, read from the tallies."""
    if template_id is None:
        if class_id is None:
            return tallies.total(store, experiment_id, "images")
        return tallies.per_class(store, experiment_id, "images").get(class_id, 0)
    where, args = _filter(class_id, template_id)
    return store.conn.execute(f"select count(*) from images i where i.experiment_id = ?{where}",
                              [experiment_id, *args]).fetchone()[0]


def rate(store: Store, experiment_id: int, window_s: float = 60.0, now: float | None = None) -> float:
    """Images per second over the last ``window_s`` seconds: the images made in it divided by the
    time from the first of them to ``now`` (at least 1 s). A run that just started is not diluted by
    the empty part of the window, a finished batch does not read as an instant burst, and the rate
    falls to 0 once generation stops."""
    now = time.time() if now is None else now
    n, first = store.conn.execute(
        "select count(*), min(created_at) from images where experiment_id = ? and created_at >= ?",
        [experiment_id, now - window_s]).fetchone()
    return n / max(now - first, 1.0) if n else 0.0


def generation_settings(st: Store, experiment_id: int) -> list[dict]:
    """How the experiment's images were made: one row per distinct model, revision, hash,
    scheduler, steps, guidance, size, dtype and device, with how many ``images`` each."""
    return [dict(r) for r in st.conn.execute(
        "select model_id, model_revision, model_hash, scheduler, steps, guidance, width, height, dtype, device,"
        " count(*) as images from images where experiment_id = ? group by model_id, model_revision, model_hash,"
        " scheduler, steps, guidance, width, height, dtype, device", [experiment_id])]
