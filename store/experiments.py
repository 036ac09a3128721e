"""Experiments and their plan: classes, templates, prompts and the jobs that expand them.

An experiment is identified by name within a store. Its *settings* (everything that shapes an
image or an embedding: models, scheduler, steps, guidance, size…) are fixed when it is created;
running it again with other settings is refused, so one experiment never mixes two setups.
Classes, templates and seeds may be added later: the new jobs join the queue.
"""

from __future__ import annotations

import itertools
import json
import time
from typing import Any, Callable, Iterable

from store.core import Store
from store.errors import StoreError


def find(store: Store, name: str) -> dict | None:
    """The experiment row named ``name``, or None."""
    rows = list(store.db.query("select * from experiments where name = ?", [name]))
    return dict(rows[0]) if rows else None


def by_id(store: Store, experiment_id: int) -> dict:
    """The experiment row with this id."""
    return dict(next(iter(store.db.query("select * from experiments where id = ?", [experiment_id]))))


def get(store: Store, name: str | None = None) -> dict:
    """The experiment named ``name``; the only one when ``name`` is None and there is one."""
    if name is not None:
        row = find(store, name)
        if row is None:
            names = names_of(store)
            raise StoreError(
                f"store {store.root} has no experiment named {name!r}",
                f"choose one of: {', '.join(names)}" if names else "run one into it first",
            )
        return row
    rows = [dict(r) for r in store.db.query("select * from experiments order by id")]
    if len(rows) == 1:
        return rows[0]
    if not rows:
        raise StoreError(f"store {store.root} holds no experiment yet", "run one with synthdiv run CONFIG")
    raise StoreError(
        f"store {store.root} holds {len(rows)} experiments",
        f"name one with --experiment ({', '.join(r['name'] for r in rows)})",
    )


def class_names(store: Store, experiment_id: int) -> list[str]:
    """The experiment's class labels in class order (the order of every per-class table)."""
    return [r[0] for r in store.conn.execute(
        "select name from classes where experiment_id = ? order by position", [experiment_id])]


def class_index(store: Store, experiment_id: int) -> dict[int, int]:
    """Class id → the class's index in :func:`class_names` order."""
    ids = [r[0] for r in store.conn.execute(
        "select id from classes where experiment_id = ? order by position", [experiment_id])]
    return {cid: i for i, cid in enumerate(ids)}


def classes_of(store: Store, experiment_id: int) -> list[dict]:
    """The experiment's classes in class order: ``id``, ``name`` (label), ``prompt_name``."""
    return [dict(r) for r in store.conn.execute(
        "select id, name, prompt_name from classes where experiment_id = ? order by position", [experiment_id])]


def templates_of(store: Store, experiment_id: int) -> list[dict]:
    """The experiment's templates in the order they were added: ``id``, ``text``."""
    return [dict(r) for r in store.conn.execute(
        "select id, text from templates where experiment_id = ? order by position", [experiment_id])]


def prompts_of(store: Store, experiment_id: int, class_id: int | None = None) -> list[dict]:
    """The experiment's prompts (of one class when given): ``id``, ``class_id``, ``template_id``, ``text``."""
    sql, args = "select id, class_id, template_id, text from prompts where experiment_id = ?", [experiment_id]
    if class_id is not None:
        sql += " and class_id = ?"
        args.append(class_id)
    return [dict(r) for r in store.conn.execute(sql + " order by id", args)]


def prompt_count(store: Store, experiment_id: int) -> int:
    return store.conn.execute("select count(*) from prompts where experiment_id = ?", [experiment_id]).fetchone()[0]


def names_of(store: Store) -> list[str]:
    return [r["name"] for r in store.db.query("select name from experiments order by id")]


def _differences(old: dict, new: dict, prefix: str = "") -> list[str]:
    out = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            out += _differences(a, b, f"{prefix}{key}.")
        elif a != b:
            out.append(f"{prefix}{key} {a!r} → {b!r}")
    return out


def ensure(store: Store, name: str, config: dict[str, Any], settings: dict[str, Any]) -> int:
    """The id of experiment ``name``, created if new; refuses changed settings."""
    now = time.time()
    with store.immediate():
        row = find(store, name)
        if row is None:
            return store.db["experiments"].insert(
                {"name": name, "config": json.dumps(config, sort_keys=True),
                 "settings": json.dumps(settings, sort_keys=True), "created_at": now}
            ).last_pk
        old, new = json.loads(row["settings"]), json.loads(json.dumps(settings))
        diffs = _differences({k: v for k, v in old.items() if k != PER_CLASS},
                             {k: v for k, v in new.items() if k != PER_CLASS})
        if diffs:
            raise StoreError(
                f"experiment {name!r} in {store.root} was made with other settings ({'; '.join(diffs[:4])})",
                "give the experiment a new name, or use another store, so its images are not mixed",
            )
        _check_class_settings(store, row["id"], name, old.get(PER_CLASS, {}), new.get(PER_CLASS, {}))
        store.db.execute(
            "update experiments set config = ?, settings = ? where id = ?",
            [json.dumps(config, sort_keys=True), json.dumps(settings, sort_keys=True), row["id"]],
        )
        return row["id"]


PER_CLASS = "classes"  # the key of the settings that shape one class's images: {label: {key: value}}


def _check_class_settings(store: Store, experiment_id: int, name: str, old: dict, new: dict) -> None:
    """A class's own settings may change only while it has no image (its images never mix two setups)."""
    changed = sorted(label for label in set(old) | set(new) if old.get(label, {}) != new.get(label, {}))
    if not changed:
        return
    marks = ",".join("?" * len(changed))
    made = dict(store.conn.execute(
        f"select c.name, count(*) from images i join classes c on c.id = i.class_id where i.experiment_id = ?"
        f" and c.name in ({marks}) group by c.name", [experiment_id, *changed]).fetchall())
    for label in changed:
        if made.get(label):
            diffs = _differences(old.get(label, {}), new.get(label, {}), f"classes.overrides.{label}.")
            raise StoreError(
                f"experiment {name!r} in {store.root} has {made[label]} images of class {label!r} made with other"
                f" settings ({'; '.join(diffs[:3])})",
                "give the experiment a new name (synthdiv repair tries remedies in experiments of their own), or"
                " use another store, so the class's images are not mixed")


def _append(conn, table: str, columns: tuple[str, ...], experiment_id: int, rows: list[tuple]) -> None:
    """Insert the rows whose first column is new, positioned after the ones already there
    (so positions stay unique and old rows keep theirs)."""
    key = columns[0]
    have = {r[0] for r in conn.execute(f"select {key} from {table} where experiment_id = ?", [experiment_id])}
    start = conn.execute(f"select coalesce(max(position) + 1, 0) from {table} where experiment_id = ?",
                         [experiment_id]).fetchone()[0]
    new = [row for row in rows if row[0] not in have]
    marks = ", ".join("?" * (len(columns) + 2))
    conn.executemany(
        f"insert into {table} (experiment_id, position, {', '.join(columns)}) values ({marks})",
        [(experiment_id, start + i, *row) for i, row in enumerate(new)],
    )


def register_plan(
    store: Store,
    experiment_id: int,
    classes: list[tuple[str, str]],
    templates: list[str],
    prompts: Iterable[tuple[str, str, str]],
    jobs: Iterable[tuple[str, str, int]],
    batch: int = 50_000,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Insert what is missing of the plan; return how many new jobs joined the queue.

    ``classes``: (label, name used in prompts); ``prompts``: (class label, template text, prompt
    text); ``jobs``: (class label, template text, seed), any iterable — it is read ``batch`` jobs
    at a time, each batch in its own transaction, so memory stays bounded whatever the plan's size
    and an interrupted registration resumes where it stopped. ``progress(jobs seen so far)`` is
    called after each batch. Everything already there is left as it is (INSERT OR IGNORE on the
    unique keys).
    """
    e = experiment_id
    with store.immediate():
        c = store.conn
        _append(c, "classes", ("name", "prompt_name"), e, classes)
        _append(c, "templates", ("text",), e, [(t,) for t in templates])
        class_ids = dict(c.execute("select name, id from classes where experiment_id = ?", [e]).fetchall())
        template_ids = dict(c.execute("select text, id from templates where experiment_id = ?", [e]).fetchall())
        c.executemany(
            "insert or ignore into prompts (experiment_id, class_id, template_id, text) values (?, ?, ?, ?)",
            [(e, class_ids[cn], template_ids[tt], text) for cn, tt, text in prompts],
        )
        prompt_ids = {
            (ci, ti): pid
            for ci, ti, pid in c.execute(
                "select class_id, template_id, id from prompts where experiment_id = ?", [e]
            )
        }
    added = seen = 0
    it = iter(jobs)
    while True:
        rows = []
        for cn, tt, seed in itertools.islice(it, batch):
            ci, ti = class_ids[cn], template_ids[tt]
            rows.append((e, ci, ti, prompt_ids[(ci, ti)], int(seed)))
        if not rows:
            return added
        with store.immediate():
            cur = store.conn.executemany(
                "insert or ignore into jobs (experiment_id, class_id, template_id, prompt_id, seed, state)"
                " values (?, ?, ?, ?, ?, 'pending')",
                rows,
            )
            added += cur.rowcount  # rows this statement inserted (not those its triggers wrote)
        seen += len(rows)
        if progress is not None:
            progress(seen)
