"""Stored analyses: each computed set of result tables, with the counts it was computed from.

Every number of an analysis is also a row of ``metrics``, so that other tools read them with plain
SQL (docs/store.md): ``name`` the measure or column, ``scope`` the class ("" for the experiment),
``subset`` the result table it comes from (``headline``, ``accuracy``, ``diversity``,
``four_causes``, ``geometry``), ``model`` the embedding model, ``value``, ``n`` — the count the
number rests on (the real test images of the class for an accuracy on them, the smaller set for an
equal-n comparison, the classes or images a headline interval resampled) —, ``low``/``high`` its
interval at ``level`` drawn by ``interval`` (the method, in words), and ``params`` (JSON: its
unit and the column its n comes from). The pixel classifiers' numbers join when their runs finish
(:func:`save_metrics` with the result they fill in).
"""

from __future__ import annotations

import json
import time

from store.core import Store
from synthdiv import dictionary
from synthdiv.confidence import LEVEL

PER_CLASS = ("accuracy", "diversity", "four_causes")
_INSERT = ("insert into metrics (experiment_id, name, scope, subset, model, value, n, low, high, level, interval,"
           " params, computed_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
           " on conflict (experiment_id, name, scope, subset, model) do update set value = excluded.value,"
           " n = excluded.n, low = excluded.low, high = excluded.high, level = excluded.level,"
           " interval = excluded.interval, params = excluded.params, computed_at = excluded.computed_at")


def _number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def metric_rows(result: dict, counts: dict) -> list[dict]:
    """Every number of an analysis's ``result`` as a ``metrics`` row (without the experiment,
    model and time): headline measures with their intervals, per-class columns with theirs and
    the n each rests on, the geometry of the whole sets (``counts``: the analysis's own counts
    where the result holds them, which split the real images)."""
    counts = result.get("counts") or counts
    rows = []
    for h in result.get("headline", []):
        if _number(h.get("value")):
            rows.append({"name": h["measure"], "scope": "", "subset": "headline", "value": float(h["value"]),
                         "n": h.get("n"), "low": h.get("low"), "high": h.get("high"),
                         "interval": dictionary.interval_of_measure(h["measure"]) if h.get("low") is not None else None,
                         "params": {"unit": dictionary.unit_of_measure(h["measure"]),
                                    "n_counts": h.get("resampled") or "classes"}})
    by_class = {t: {r.get("class"): r for r in result.get(t, [])} for t in PER_CLASS}
    for table in PER_CLASS:
        for row in result.get(table, []):
            for key, value in row.items():
                if not _number(value) or key.startswith("n_") or key.endswith(("_low", "_high")) \
                        or key == "pixel_n_test":
                    continue
                n_col = dictionary.n_column(table, key)
                where, _, col = n_col.rpartition(".")
                n = by_class.get(where or table, {}).get(row.get("class"), {}).get(col) if col else None
                low, high = row.get(key + "_low"), row.get(key + "_high")
                rows.append({"name": key, "scope": row["class"], "subset": table, "value": float(value),
                             "n": n if _number(n) else None, "low": low, "high": high,
                             "interval": dictionary.interval(table, key) if low is not None else None,
                             "params": {"unit": dictionary.unit(table, key), "n_column": n_col}})
    for row in result.get("geometry", []):
        for key, value in row.items():
            if _number(value):
                n = counts.get("real_test" if key.endswith("_real") else "synthetic")
                rows.append({"name": key, "scope": "", "subset": "geometry", "value": float(value), "n": n,
                             "low": None, "high": None, "interval": None,
                             "params": {"unit": dictionary.unit("geometry", key)}})
    return rows


def write_metrics(conn, experiment_id: int, model: str, result: dict, counts: dict, now: float) -> int:
    """Insert or update the ``metrics`` rows of ``result`` on ``conn``; how many."""
    rows = [(experiment_id, r["name"], r["scope"], r["subset"], model, r["value"], r["n"], r["low"], r["high"],
             LEVEL if r["low"] is not None else None, r["interval"], json.dumps(r["params"], sort_keys=True), now)
            for r in metric_rows(result, counts)]
    conn.executemany(_INSERT, rows)
    return len(rows)


def save_metrics(store: Store, experiment_id: int, model: str, result: dict, counts: dict) -> int:
    """Write (or update) the ``metrics`` rows of ``result``; how many. In the caller's
    transaction if there is one."""
    if store.conn.in_transaction:
        return write_metrics(store.conn, experiment_id, model, result, counts, time.time())
    with store.immediate():
        return write_metrics(store.conn, experiment_id, model, result, counts, time.time())


def rederive(conn) -> None:
    """Make ``metrics`` again from each experiment's newest analysis of each model (the schema's
    migration to the columns of n, interval and model)."""
    conn.execute("delete from metrics")
    for experiment_id, model, counts, result, at in conn.execute(
            "select experiment_id, model, counts, result, computed_at from analyses a where id ="
            " (select max(id) from analyses b where b.experiment_id = a.experiment_id and b.model = a.model)").fetchall():
        write_metrics(conn, experiment_id, model, json.loads(result), json.loads(counts), at)


def save(store: Store, experiment_id: int, model: str, counts: dict, result: dict,
         metrics_result: dict | None = None) -> int:
    """Store an analysis and its ``metrics`` rows (``metrics_result``: the result they are made
    from, when more is known than the analysis holds, such as the pixel classifiers' numbers)."""
    now = time.time()
    with store.immediate():
        analysis_id = store.conn.execute(
            "insert into analyses (experiment_id, model, counts, result, computed_at) values (?, ?, ?, ?, ?)",
            [experiment_id, model, json.dumps(counts, sort_keys=True), json.dumps(result), now],
        ).lastrowid
        save_metrics(store, experiment_id, model, metrics_result or result, counts)
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
