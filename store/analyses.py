"""Stored analyses: each computed set of result tables, with the counts it was computed from.

Per-class and summary numbers are also written to ``metrics`` (name, scope = class or "",
subset, value, n), so other tools can query them with plain SQL.
"""

from __future__ import annotations

import json
import time

from store.core import Store


def save(store: Store, experiment_id: int, model: str, counts: dict, result: dict) -> int:
    now = time.time()
    rows = []
    for row in result.get("diversity", []) + result.get("accuracy", []):
        n = row.get("n_synthetic")
        for key, value in row.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool) and not key.startswith("n_"):
                rows.append((experiment_id, key, row["class"], model, float(value), n, now))
    for row in result.get("summary", []) + result.get("geometry", []):
        for key, value in row.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                rows.append((experiment_id, key, "", model, float(value), counts.get("synthetic"), now))
    with store.immediate():
        analysis_id = store.conn.execute(
            "insert into analyses (experiment_id, model, counts, result, computed_at) values (?, ?, ?, ?, ?)",
            [experiment_id, model, json.dumps(counts, sort_keys=True), json.dumps(result), now],
        ).lastrowid
        store.conn.executemany(
            "insert into metrics (experiment_id, name, scope, subset, value, n, computed_at) values (?, ?, ?, ?, ?, ?, ?)"
            " on conflict (experiment_id, name, scope, subset) do update set value = excluded.value, n = excluded.n,"
            " computed_at = excluded.computed_at",
            rows,
        )
        return analysis_id


def latest_id(store: Store, experiment_id: int) -> int | None:
    """The id of the newest analysis, without reading its (possibly large) tables."""
    row = store.conn.execute("select max(id) from analyses where experiment_id = ?", [experiment_id]).fetchone()
    return row[0]


def latest(store: Store, experiment_id: int, model: str | None = None) -> dict | None:
    """The newest analysis (of ``model`` when given): id, model, counts, result, computed_at."""
    sql = "select * from analyses where experiment_id = ?"
    args: list = [experiment_id]
    if model:
        sql += " and model = ?"
        args.append(model)
    row = store.conn.execute(sql + " order by id desc limit 1", args).fetchone()
    if row is None:
        return None
    out = dict(row)
    out["counts"], out["result"] = json.loads(out["counts"]), json.loads(out["result"])
    return out


def history(store: Store, experiment_id: int, key: str, limit: int = 200) -> list[tuple[int, float]]:
    """(synthetic images analysed, summary value ``key``) of the last ``limit`` analyses, oldest
    first; analyses where the value was not computed are left out."""
    rows = store.conn.execute(
        "select json_extract(counts, '$.synthetic'), json_extract(result, '$.summary[0].' || ?) from"
        " (select counts, result, id from analyses where experiment_id = ? order by id desc limit ?) order by id",
        [key, experiment_id, int(limit)]).fetchall()
    return [(int(n), float(v)) for n, v in rows if n is not None and v is not None]
