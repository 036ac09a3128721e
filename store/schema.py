"""The schema of the SQLite store, as an ordered list of migrations.

``PRAGMA user_version`` holds the number of migrations applied. A store written by a newer
synthdiv (a higher version than this code knows) is refused rather than guessed at. The
migrations run in one transaction, with foreign keys off (a migration may make a table again) and
every key checked before the commit, so a store is never left half-migrated or inconsistent.

Times are Unix seconds (REAL). Embeddings are float32 blobs with their model name and dimension.
"""

from __future__ import annotations

import re
import sqlite3
from typing import Callable

import sqlite_utils


def _v1(db: sqlite_utils.Database) -> None:
    db["experiments"].create(
        {"id": int, "name": str, "config": str, "settings": str, "created_at": float},
        pk="id", not_null={"name", "config", "settings"},
    )
    db["experiments"].create_index(["name"], unique=True)

    db["classes"].create(
        {"id": int, "experiment_id": int, "position": int, "name": str, "prompt_name": str},
        pk="id", not_null={"experiment_id", "position", "name", "prompt_name"},
        foreign_keys=[("experiment_id", "experiments", "id")],
    )
    db["classes"].create_index(["experiment_id", "name"], unique=True)

    db["templates"].create(
        {"id": int, "experiment_id": int, "position": int, "text": str},
        pk="id", not_null={"experiment_id", "position", "text"},
        foreign_keys=[("experiment_id", "experiments", "id")],
    )
    db["templates"].create_index(["experiment_id", "text"], unique=True)

    db["prompts"].create(
        {"id": int, "experiment_id": int, "class_id": int, "template_id": int, "text": str},
        pk="id", not_null={"experiment_id", "class_id", "template_id", "text"},
        foreign_keys=[
            ("experiment_id", "experiments", "id"),
            ("class_id", "classes", "id"),
            ("template_id", "templates", "id"),
        ],
    )
    db["prompts"].create_index(["experiment_id", "class_id", "template_id"], unique=True)

    db["workers"].create(
        {
            "id": int, "experiment_id": int, "kind": str, "pid": int, "pid_start": str,
            "host": str, "state": str, "started_at": float, "heartbeat_at": float,
            "stopped_at": float, "processed": int, "error": str,
        },
        pk="id", not_null={"experiment_id", "kind", "pid", "host", "state"},
        defaults={"processed": 0},
        foreign_keys=[("experiment_id", "experiments", "id")],
    )
    db["workers"].create_index(["experiment_id", "kind", "state"])

    db["jobs"].create(
        {
            "id": int, "experiment_id": int, "class_id": int, "template_id": int,
            "prompt_id": int, "seed": int, "state": str, "worker_id": int,
            "attempts": int, "error": str, "claimed_at": float, "finished_at": float,
        },
        pk="id", not_null={"experiment_id", "class_id", "template_id", "prompt_id", "seed", "state"},
        defaults={"state": "pending", "attempts": 0},
        foreign_keys=[
            ("experiment_id", "experiments", "id"),
            ("class_id", "classes", "id"),
            ("template_id", "templates", "id"),
            ("prompt_id", "prompts", "id"),
        ],
    )
    db["jobs"].create_index(["experiment_id", "class_id", "template_id", "seed"], unique=True)
    db["jobs"].create_index(["experiment_id", "state"])

    db["images"].create(
        {
            "id": int, "experiment_id": int, "job_id": int, "class_id": int, "template_id": int,
            "prompt_id": int, "class_name": str, "template": str, "prompt": str,
            "negative_prompt": str, "seed": int, "path": str, "sha256": str,
            "width": int, "height": int, "model_id": str, "model_revision": str,
            "model_hash": str, "scheduler": str, "steps": int, "guidance": float,
            "dtype": str, "device": str, "worker_id": int, "created_at": float,
        },
        pk="id",
        not_null={"experiment_id", "job_id", "class_id", "template_id", "prompt_id", "prompt",
                  "seed", "path", "sha256", "width", "height", "model_id", "steps", "guidance"},
        foreign_keys=[
            ("experiment_id", "experiments", "id"),
            ("job_id", "jobs", "id"),
            ("class_id", "classes", "id"),
            ("template_id", "templates", "id"),
            ("prompt_id", "prompts", "id"),
        ],
    )
    db["images"].create_index(["experiment_id", "class_id", "template_id", "seed"], unique=True)
    db["images"].create_index(["job_id"], unique=True)
    db["images"].create_index(["path"], unique=True)

    db["real_images"].create(
        {
            "id": int, "experiment_id": int, "class_id": int, "source": str, "path": str,
            "sha256": str, "width": int, "height": int, "created_at": float,
        },
        pk="id", not_null={"experiment_id", "class_id", "source", "path"},
        foreign_keys=[("experiment_id", "experiments", "id"), ("class_id", "classes", "id")],
    )
    db["real_images"].create_index(["experiment_id", "source", "path"], unique=True)

    # kind: "image" (images.id), "real" (real_images.id) or "text" (prompts.id)
    db["embeddings"].create(
        {"id": int, "kind": str, "item_id": int, "model": str, "dim": int,
         "vector": bytes, "created_at": float},
        pk="id", not_null={"kind", "item_id", "model", "dim", "vector"},
    )
    db["embeddings"].create_index(["kind", "model", "item_id"], unique=True)

    # scope: "" for the whole experiment, else a class name or another label the metric names
    db["metrics"].create(
        {"id": int, "experiment_id": int, "name": str, "scope": str, "subset": str,
         "value": float, "n": int, "params": str, "computed_at": float},
        pk="id", not_null={"experiment_id", "name", "scope", "subset"},
        defaults={"scope": "", "subset": ""},
        foreign_keys=[("experiment_id", "experiments", "id")],
    )
    db["metrics"].create_index(["experiment_id", "name", "scope", "subset"], unique=True)


def _v2(db: sqlite_utils.Database) -> None:
    """Real images get a split (train / test) and an error for files that cannot be read;
    analyses hold each computed set of result tables with the counts they came from."""
    db["real_images"].add_column("split", str, not_null_default="test")
    db["real_images"].add_column("error", str)
    db["analyses"].create(
        {"id": int, "experiment_id": int, "model": str, "counts": str, "result": str, "computed_at": float},
        pk="id", not_null={"experiment_id", "model", "counts", "result"},
        foreign_keys=[("experiment_id", "experiments", "id")],
    )
    db["analyses"].create_index(["experiment_id", "model", "id"])


# Every row a count is taken of adds one to its tally and every deletion takes one off, in the
# same transaction (triggers), so the counts the dashboard shows each second are read from a few
# rows per class instead of scanning millions.
_TALLY = ("insert into tallies (experiment_id, class_id, what, n) values ({e}, {c}, {what}, {n})"
          " on conflict (experiment_id, class_id, what) do update set n = n + excluded.n;")
_ITEM = {"image": "images", "real": "real_images", "text": "prompts"}


def _embedding_tally(row: str, n: int) -> str:
    return "\n".join(
        f"insert into tallies (experiment_id, class_id, what, n) select t.experiment_id, t.class_id,"
        f" 'emb:{kind}:' || {row}.model, {n} from {table} t where {row}.kind = '{kind}' and t.id = {row}.item_id"
        " on conflict (experiment_id, class_id, what) do update set n = n + excluded.n;"
        for kind, table in _ITEM.items())


def _v3(db: sqlite_utils.Database) -> None:
    """Tallies (jobs by state, images and embeddings per class) kept by triggers; an index for
    recent images (throughput) and a partial index for the latest job errors."""
    c = db.conn
    c.execute("create table tallies (experiment_id integer not null, class_id integer not null,"
              " what text not null, n integer not null, primary key (experiment_id, class_id, what))")
    triggers = {
        "tally_jobs_insert": ("after insert on jobs", [("new", "'job:' || new.state", 1)]),
        "tally_jobs_delete": ("after delete on jobs", [("old", "'job:' || old.state", -1)]),
        "tally_jobs_state": ("after update of state on jobs when old.state is not new.state",
                             [("old", "'job:' || old.state", -1), ("new", "'job:' || new.state", 1)]),
        "tally_images_insert": ("after insert on images", [("new", "'images'", 1)]),
        "tally_images_delete": ("after delete on images", [("old", "'images'", -1)]),
    }
    for name, (when, changes) in triggers.items():  # one statement each: executescript would commit
        body = "\n".join(_TALLY.format(e=f"{row}.experiment_id", c=f"{row}.class_id", what=what, n=n)
                         for row, what, n in changes)
        c.execute(f"create trigger {name} {when} begin\n{body}\nend")
    c.execute(f"create trigger tally_embeddings_insert after insert on embeddings begin\n{_embedding_tally('new', 1)}\nend")
    c.execute(f"create trigger tally_embeddings_delete after delete on embeddings begin\n{_embedding_tally('old', -1)}\nend")
    c.execute("insert into tallies select experiment_id, class_id, 'job:' || state, count(*) from jobs"
              " group by experiment_id, class_id, state")
    c.execute("insert into tallies select experiment_id, class_id, 'images', count(*) from images"
              " group by experiment_id, class_id")
    for kind, table in _ITEM.items():
        c.execute(f"insert into tallies select t.experiment_id, t.class_id, 'emb:{kind}:' || e.model, count(*)"
                  f" from embeddings e join {table} t on t.id = e.item_id where e.kind = '{kind}'"
                  " group by t.experiment_id, t.class_id, e.model")
    c.execute("create index images_recent on images (experiment_id, created_at)")
    c.execute("create index jobs_errors on jobs (experiment_id, id) where error is not null")


def _v4(db: sqlite_utils.Database) -> None:
    """What the model read of each image's prompt: its token count, and the text it saw when the
    text encoder cut it (NULL when it read it all; NULL counts for images made before this)."""
    db["images"].add_column("prompt_tokens", int)
    db["images"].add_column("prompt_seen", str)


def _v5(db: sqlite_utils.Database) -> None:
    """Several workers of a kind, one per device: each worker row records its device (NULL for
    workers recorded before this, which ran on the experiment's one device)."""
    db["workers"].add_column("device", str)


def _v6(db: sqlite_utils.Database) -> None:
    """Training runs (image classifiers trained on the experiment's pixels, :mod:`store.training`):
    one row per run and its settings, with its state, result and error; one row per finished epoch."""
    db["train_runs"].create(
        {"id": int, "experiment_id": int, "name": str, "settings": str, "settings_key": str, "planned": int,
         "state": str, "worker_id": int, "epochs": int, "epoch": int, "error": str, "result": str,
         "created_at": float, "started_at": float, "finished_at": float},
        pk="id", not_null={"experiment_id", "name", "settings", "settings_key", "state", "epochs"},
        defaults={"state": "pending", "epoch": 0, "planned": 1},
        foreign_keys=[("experiment_id", "experiments", "id")],
    )
    db["train_runs"].create_index(["experiment_id", "name", "settings_key"], unique=True)
    db["train_epochs"].create(
        {"run_id": int, "epoch": int, "loss": float, "train_accuracy": float, "test_accuracy": float,
         "lr": float, "seconds": float, "images_per_s": float},
        pk=("run_id", "epoch"), not_null={"run_id", "epoch"},
        foreign_keys=[("run_id", "train_runs", "id")],
    )


def _v7(db: sqlite_utils.Database) -> None:
    """Workers that are parts of another worker: the actors a cluster run's process here feeds on
    the cluster's nodes (:mod:`workbench.cluster`) each have a row, with the id of that process's
    row in ``parent_id`` (NULL for a worker process of its own). A part is alive while its parent is."""
    db["workers"].add_column("parent_id", int)


def _v8(db: sqlite_utils.Database) -> None:
    """The open-set vocabulary (:mod:`store.vocabulary`): texts shared by the store's experiments
    (ImageNet-1k's class texts, WordNet senses), embedded as embeddings of kind ``vocab``, which no
    tally counts; and each text tower's fingerprint (a CLIP's, a generator's text encoder), to tell
    when the CLIP that judges adherence is the generator's own text encoder."""
    db["vocabulary"].create({"id": int, "text": str}, pk="id", not_null={"text"})
    db["vocabulary"].create_index(["text"], unique=True)
    db["text_towers"].create({"role": str, "model": str, "fingerprint": str, "recorded_at": float},
                             pk=("role", "model"), not_null={"role", "model", "fingerprint"})


def _v9(db: sqlite_utils.Database) -> None:
    """``metrics`` rows say what they rest on: the embedding model in a column of its own
    (``subset`` had held it; it now names the result table), the n the number rests on, its
    interval (``low``, ``high``, ``level``, the method in ``interval``) and ``params`` (unit, n's
    column). The rows are made again from each experiment's newest analyses (they are derived)."""
    from store.analyses import rederive

    for name, kind in (("model", str), ("low", float), ("high", float), ("level", float), ("interval", str)):
        db["metrics"].add_column(name, kind)
    db.conn.execute("drop index if exists idx_metrics_experiment_id_name_scope_subset")
    db["metrics"].create_index(["experiment_id", "name", "scope", "subset", "model"], unique=True)
    rederive(db.conn)


# The foreign keys v1 could not declare (the workers a job, image or run belongs to, a part's parent).
_WORKER_REFERENCES = {"workers": "parent_id", "jobs": "worker_id", "images": "worker_id", "train_runs": "worker_id"}


def _with_reference(create_sql: str, table: str, column: str, target: str) -> str:
    """``create_sql`` (a table's CREATE TABLE text, as sqlite_master holds it) for a table named
    ``_new_TABLE`` whose ``column`` (an INTEGER column with no constraint) references ``target``'s id."""
    head = re.match(r'\s*CREATE\s+TABLE\s+(?:\[[^\]]+\]|"[^"]+"|`[^`]+`|\w+)', create_sql, re.IGNORECASE)
    quoted = r'(?:\[{0}\]|"{0}"|`{0}`|\b{0}\b)'.format(re.escape(column))
    definitions = list(re.finditer(quoted + r'\s+INTEGER\b', create_sql[head.end():] if head else "", re.IGNORECASE))
    if head is None or len(definitions) != 1:
        raise sqlite3.DatabaseError(f"cannot read the definition of {table}.{column} to add its foreign key")
    at = head.end() + definitions[0].end()
    return f"CREATE TABLE [_new_{table}]" + create_sql[head.end():at] + f" REFERENCES [{target}]([id])" + create_sql[at:]


def _v10(db: sqlite_utils.Database) -> None:
    """The worker references become foreign keys: ``jobs``, ``images`` and ``train_runs``
    ``worker_id`` and ``workers.parent_id`` reference ``workers.id``. SQLite cannot add a foreign
    key to a table, so each table is made again (SQLite's twelve-step procedure: a new table with
    the key, every row copied, the old one dropped, the new one renamed, its indexes made again);
    the triggers (tallies) are dropped first and made again last, unchanged, as they name the
    tables. A reference to a worker row that does not exist (none is ever deleted) becomes NULL.
    Runs with foreign keys off, as every migration does; :func:`store.core._migrate` checks every
    key before it commits."""
    c = db.conn
    triggers = [r[0] for r in c.execute("select sql from sqlite_master where type = 'trigger' and sql is not null")]
    for (name,) in c.execute("select name from sqlite_master where type = 'trigger'").fetchall():
        c.execute(f"drop trigger [{name}]")
    for table, column in _WORKER_REFERENCES.items():
        c.execute(f"update [{table}] set [{column}] = null where [{column}] is not null"
                  f" and [{column}] not in (select id from workers)")
        create_sql = c.execute("select sql from sqlite_master where type = 'table' and name = ?", (table,)).fetchone()[0]
        indexes = [r[0] for r in c.execute(
            "select sql from sqlite_master where type = 'index' and tbl_name = ? and sql is not null", (table,))]
        c.execute(_with_reference(create_sql, table, column, "workers"))
        c.execute(f"insert into [_new_{table}] select * from [{table}]")
        c.execute(f"drop table [{table}]")
        c.execute(f"alter table [_new_{table}] rename to [{table}]")
        for sql in indexes:
            c.execute(sql)
        keys = {(r["from"], r["table"]) for r in c.execute(f"pragma foreign_key_list([{table}])")}
        if (column, "workers") not in keys:
            raise sqlite3.DatabaseError(f"{table}.{column} did not become a foreign key of workers.id")
    for sql in triggers:
        c.execute(sql)


def _v11(db: sqlite_utils.Database) -> None:
    """What a running worker's heartbeat says of its machine and priority: its niceness (``nice``),
    the machine's load average and cores (``load``, ``cpus``), and when what it ``processed`` last
    grew (``progress_at``), so status can tell a worker starved by load from one at work."""
    for name, kind in (("nice", int), ("load", float), ("cpus", int), ("progress_at", float)):
        db["workers"].add_column(name, kind)


MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [_v1, _v2, _v3, _v4, _v5, _v6, _v7, _v8, _v9, _v10, _v11]
SCHEMA_VERSION = len(MIGRATIONS)
# The oldest schema that read-only commands can read as it is (they never migrate): v4 only added
# image columns that no bulk read selects, v5 a worker column that readers take when present, v6
# the training tables, which readers take as empty when absent (store.training.has_tables), v7 a
# worker column that readers take when present, v8 the vocabulary and text-tower tables, which
# readers take as empty when absent (store.vocabulary.has_tables), v9 metrics columns no reader of
# synthdiv selects, v10 foreign keys, v11 worker columns that readers take when present.
# A migration that adds what readers need raises this.
READABLE_SINCE = 3
