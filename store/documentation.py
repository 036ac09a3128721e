"""What every table and column of the store holds, declared once: docs/store.md is generated from
it (``python -m store.documentation --write``; a test fails when the file is stale, or when a
table or column of a new store is missing here), and so is the Datasette metadata of
``synthdiv export STORE --datasette-metadata FILE`` that gives the tables and columns their
descriptions in Datasette.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

_AT = "when, in Unix seconds (UTC)"
_EXP = "the experiment (experiments.id)"
_CLASS = "the class (classes.id)"
_WORKER = "the worker that did it (workers.id; NULL before one took it)"

TABLES: dict[str, tuple[str, dict[str, str]]] = {
    "experiments": ("One row per experiment: its name, the experiment file as read and the settings every image"
                    " depends on.", {
        "id": "the experiment's id", "name": "its name, unique in the store",
        "config": "the experiment file as parsed, JSON (docs/config.md)",
        "settings": "the settings every image depends on (model, size, steps, …), JSON: changing one under the same"
                    " name is refused", "created_at": _AT}),
    "classes": ("The experiment's classes, in its order.", {
        "id": "the class's id", "experiment_id": _EXP, "position": "its index in the experiment (the label)",
        "name": "its name", "prompt_name": "the name the prompts use"}),
    "templates": ("The experiment's prompt templates, in its order.", {
        "id": "the template's id", "experiment_id": _EXP, "position": "its index", "text": "the template, as written"}),
    "prompts": ("Every class × template prompt, as sent to the model.", {
        "id": "the prompt's id", "experiment_id": _EXP, "class_id": _CLASS,
        "template_id": "the template (templates.id)", "text": "the prompt"}),
    "jobs": ("The queue: one job per image to make (class, template, seed); workers claim them.", {
        "id": "the job's id", "experiment_id": _EXP, "class_id": _CLASS, "template_id": "the template (templates.id)",
        "prompt_id": "the prompt (prompts.id)", "seed": "the image's seed",
        "state": "pending, running, done or failed", "worker_id": _WORKER, "attempts": "failed attempts so far",
        "error": "the last failure's text", "claimed_at": _AT + " a worker claimed it",
        "finished_at": _AT + " it finished"}),
    "images": ("One row per generated image: its file and everything that reproduces it.", {
        "id": "the image's id", "experiment_id": _EXP, "job_id": "the job that made it (jobs.id)",
        "class_id": _CLASS, "template_id": "the template (templates.id)", "prompt_id": "the prompt (prompts.id)",
        "class_name": "the class's name", "template": "the template", "prompt": "the prompt",
        "negative_prompt": "the negative prompt (NULL: none)", "seed": "the seed",
        "path": "the PNG file, relative to the store folder", "sha256": "the file's SHA-256 when it was made",
        "width": "pixels", "height": "pixels", "model_id": "the generator (a preset, folder, file or hub id)",
        "model_revision": "the hub revision, where there is one", "model_hash": "a hash of the generator's weights",
        "scheduler": "the scheduler", "steps": "denoising steps", "guidance": "classifier-free guidance scale",
        "dtype": "the weights' dtype", "device": "the device it ran on", "worker_id": _WORKER, "created_at": _AT,
        "prompt_tokens": "the prompt's token count (NULL for images made before it was recorded)",
        "prompt_seen": "the text the model read when its text encoder cut the prompt (NULL: it read it all)"}),
    "real_images": ("The real images the synthetic ones are compared against (files stay where they are, or are"
                    " copied into real/ for datasets).", {
        "id": "the image's id", "experiment_id": _EXP, "class_id": _CLASS,
        "source": "the [real] source it came from", "path": "its file (absolute, or relative to the store)",
        "sha256": "its SHA-256 when recorded", "width": "pixels", "height": "pixels", "created_at": _AT,
        "split": "train (may train the real→real probe and classifier) or test (the yardstick)",
        "error": "why the file cannot be read (NULL: it can); such a file is skipped and counted"}),
    "embeddings": ("Embedding vectors of images, real images, prompts and vocabulary texts.", {
        "id": "the row's id", "kind": "image (item_id is images.id), real (real_images.id), text (prompts.id) or"
                                      " vocab (vocabulary.id)",
        "item_id": "the id of the embedded item, in the table kind names", "model": "the embedding model",
        "dim": "the vector's dimension", "vector": "dim little-endian float32 values (numpy.frombuffer(vector,"
                                                   " '<f4')), not normalised", "created_at": _AT}),
    "analyses": ("Each computed set of result tables, with the counts it was computed from.", {
        "id": "the analysis's id", "experiment_id": _EXP, "model": "the embedding model",
        "counts": "what it was computed from (synthetic, real, texts…), JSON",
        "result": "every result table, JSON (what synthdiv export writes)", "computed_at": _AT}),
    "metrics": ("Every number of the newest analyses, one per row, for plain SQL (store/analyses.py).", {
        "id": "the row's id", "experiment_id": _EXP, "name": "the measure or column (its meaning: the export's"
                                                             " columns.csv)",
        "scope": "the class's name, or '' for the experiment",
        "subset": "the result table it comes from: headline, accuracy, diversity, four_causes or geometry",
        "value": "the number", "n": "the count it rests on: images of the class (real test ones for a real-side or"
                                   " probe accuracy), the smaller set at equal n, or the classes or images a"
                                   " headline interval resampled",
        "params": "its unit and the column its n comes from, JSON", "computed_at": _AT,
        "model": "the embedding model", "low": "the lower end of its interval (NULL: none)",
        "high": "the upper end of its interval", "level": "the interval's level (0.95)",
        "interval": "how the interval was drawn, in words"}),
    "tallies": ("Counts kept by triggers in the same transaction as the rows they count (jobs by state, images and"
                " embeddings per class): what the dashboard reads each second.", {
        "experiment_id": _EXP, "class_id": _CLASS, "what": "what is counted: job:STATE, images, or"
                                                             " emb:KIND:MODEL", "n": "how many"}),
    "workers": ("One row per worker process (and per part of a cluster run).", {
        "id": "the worker's id", "experiment_id": _EXP, "kind": "generation, embedding, training or supervisor (the process that starts and watches the others)",
        "pid": "its process id", "pid_start": "its process's start time, to tell a reused pid",
        "host": "the machine", "state": "running, done, failed, lost (it died without a word; found by its heartbeat)"
                                         " or given_up (a start that never came up)", "started_at": _AT,
        "heartbeat_at": _AT + " it last said it was alive", "stopped_at": _AT, "processed": "items it finished",
        "error": "why it failed", "device": "its device (NULL for workers before devices were recorded)",
        "parent_id": "the worker it is a part of (workers.id; NULL for a process of its own)",
        "nice": "its niceness at its last heartbeat (NULL before schema 11)",
        "load": "the machine's 1-minute load average at its last heartbeat", "cpus": "the machine's cores",
        "progress_at": _AT + " its processed count last grew (NULL: not since it started)"}),
    "train_runs": ("The [train] runs: image classifiers trained on the experiment's pixels.", {
        "id": "the run's id", "experiment_id": _EXP, "name": "synthetic, real, mix-Kx, repair:CLASS, a curation…",
        "settings": "its recipe and inputs, JSON", "settings_key": "a hash of the settings",
        "planned": "1 when it is of the experiment's current settings", "state": "pending, running, done or failed",
        "worker_id": _WORKER, "epochs": "epochs planned", "epoch": "epochs done", "error": "why it failed",
        "result": "its real-test accuracy, per class, with intervals, JSON", "created_at": _AT, "started_at": _AT,
        "finished_at": _AT}),
    "train_epochs": ("One row per finished epoch of a training run.", {
        "run_id": "the run (train_runs.id)", "epoch": "the epoch, from 1", "loss": "mean training loss",
        "train_accuracy": "accuracy on its training images", "test_accuracy": "accuracy on the real test images",
        "lr": "the learning rate", "seconds": "how long it took", "images_per_s": "training images per second"}),
    "vocabulary": ("Texts shared by the store's experiments: ImageNet-1k's class texts and WordNet senses, the open"
                   " set CLIP reads images against (embeddings of kind vocab).", {
        "id": "the text's id", "text": "the text"}),
    "text_towers": ("Each text encoder's fingerprint (a CLIP's, a generator's), to tell when CLIP judges the"
                    " generator's own text encoder.", {
        "role": "clip or generator", "model": "the model", "fingerprint": "a hash of the text tower's weights",
        "recorded_at": _AT}),
}

# The one reference SQLite cannot declare: a column whose target table depends on another column.
# Every other reference is a declared foreign key (the worker references since schema v10).
UNDECLARED_REFERENCES = {("embeddings", "item_id"): "images.id, real_images.id, prompts.id or vocabulary.id, by kind"}

INTRO = """\
# The store

A store is a folder: `synthdiv.db` (SQLite), the generated images (`images/cCLASS-NAME/tTEMPLATE-sSEED.png`)
and the real images copied from a dataset (`real/…`).
Every table and column is listed here, generated from `store/documentation.py`
(`python -m store.documentation --write`; a test fails when this file is stale).

- **Times** are Unix seconds (UTC), as REAL.
- **Embeddings** are little-endian float32 blobs, `dim` values each: `numpy.frombuffer(vector, "<f4")`.
  They are stored as the model gives them (not normalised).
- **`embeddings.item_id`** depends on `kind`: `image` → `images.id`, `real` → `real_images.id`,
  `text` → `prompts.id`, `vocab` → `vocabulary.id`.
- **`metrics`** holds every number of the newest analyses with the n it rests on and its interval:
  `select scope, value, n, low, high from metrics where name = 'synthetic_to_real' and subset = 'accuracy'`.
- **Foreign keys** are declared for every reference (and enforced: `PRAGMA foreign_keys = ON`),
  `workers.id` included (schema v10 made `jobs`, `images`, `train_runs` and `workers` again to add
  them). The one reference below cannot be declared, as its table depends on `kind`; it holds for
  every row synthdiv writes.
- `synthdiv export STORE --datasette-metadata metadata.json` writes these descriptions for
  [Datasette](https://datasette.io): `datasette STORE/synthdiv.db -m metadata.json`.
"""


def markdown() -> str:
    """docs/store.md."""
    parts = [INTRO, "| column | refers to |", "|---|---|"]
    parts += [f"| `{t}.{c}` | {ref} |" for (t, c), ref in UNDECLARED_REFERENCES.items()]
    for table, (what, columns) in TABLES.items():
        parts += ["", f"## `{table}`", "", what, "", "| column | what it holds |", "|---|---|"]
        parts += [f"| `{c}` | {w} |" for c, w in columns.items()]
    return "\n".join(parts) + "\n"


def datasette_metadata(database: str = "synthdiv") -> dict:
    """Datasette's metadata for a store's database named ``database`` (the file's stem)."""
    return {"title": "synthdiv store", "description": "A synthdiv store: experiments, generated and real images,"
            " embeddings, analyses and the metrics table. Column meanings: docs/store.md.",
            "databases": {database: {"tables": {
                t: {"description": what, "columns": columns} for t, (what, columns) in TABLES.items()}}}}


DOC = Path(__file__).resolve().parent.parent / "docs" / "store.md"

if __name__ == "__main__":
    if "--write" in sys.argv:
        DOC.write_text(markdown(), encoding="utf-8")
        print(f"wrote {DOC}")
    elif "--datasette" in sys.argv:
        print(json.dumps(datasette_metadata(), indent=2))
    else:
        sys.stdout.write(markdown())
