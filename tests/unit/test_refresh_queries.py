"""What the dashboard reads every second never scans the big tables (jobs, images, embeddings):
every statement of a refresh is checked with EXPLAIN QUERY PLAN (no timing; the times at a million
images are in ``python -m benchmarks.store``)."""

from __future__ import annotations

import re

from store import analyses, embeddings, images, jobs, open_store, training
from store.status import summary
from tests.functional.stores import build

# Tables whose size grows with classes, templates or workers, not with images: reading them whole is fine.
SMALL = ("experiments", "classes", "templates", "prompts", "workers", "tallies", "analyses", "real_images",
         "sqlite_master", "train_runs", "train_epochs")  # training: a few runs, each with its epochs
PARTIAL = ("jobs_errors",)  # partial indexes: they hold only the few rows they are for


def whole_experiment(detail: str) -> bool:
    """A plan step that reads an entry for every row of a table that grows with the images (jobs,
    images, embeddings), or for every row of one experiment in it: a scan, or an index search on
    experiment_id alone. (EXPLAIN names a table by its alias, so the small tables are listed.)"""
    m = re.match(r"(SCAN|SEARCH) (\w+)", detail)
    if not m or m.group(2) in SMALL or any(p in detail for p in PARTIAL):
        return False
    return m.group(1) == "SCAN" or detail.rstrip().endswith("(experiment_id=?)")


def plan_of(st, sql: str) -> list[str]:
    return [row[3] for row in st.conn.execute("explain query plan " + sql)]


def test_a_dashboard_refresh_scans_no_big_table(tmp_path):
    e = build(tmp_path, done=20)
    with open_store(tmp_path) as st:
        statements: list[str] = []
        st.conn.set_trace_callback(statements.append)
        summary(st)
        jobs.per_class(st, e)
        images.rate(st, e, 60.0)
        analyses.latest_id(st, e)
        training.epochs(st, [r["id"] for r in training.runs(st, e)])  # the Training tab
        st.conn.set_trace_callback(None)
        reads = [s for s in statements if s.lstrip().lower().startswith("select")]
        assert len(reads) > 10
        # the check itself catches a count over one experiment's images, aliased or not
        assert any(whole_experiment(d) for d in plan_of(st, f"select count(*) from images i where i.experiment_id = {e}"))
        assert any(whole_experiment(d) for d in plan_of(st, "select count(*) from embeddings"))
        scans = [(sql, d) for sql in reads for d in plan_of(st, sql) if whole_experiment(d)]
        assert not scans, "\n".join(f"{d}: {sql}" for sql, d in scans)


def test_the_embedding_workers_poll_reads_only_rows_it_has_not_looked_at(tmp_path):
    e = build(tmp_path, done=20)
    with open_store(tmp_path) as st:
        for kind, table in embeddings.KINDS.items():
            todo = embeddings.Unembedded(st, e, kind, "clip")
            todo.next()
            statements: list[str] = []
            st.conn.set_trace_callback(statements.append)
            todo.next(limit=8)
            st.conn.set_trace_callback(None)
            plans = {sql.split()[1]: plan_of(st, sql) for sql in statements}
            # the newest id (one step down the rowid tree), then a rowid range past the last look,
            # each row checked against the embeddings index: no scan, no sort of the experiment
            assert plans == {
                "max(id)": [f"SEARCH {table}"],
                "t.id,": ["SEARCH t USING INTEGER PRIMARY KEY (rowid>? AND rowid<?)", "CORRELATED SCALAR SUBQUERY 1",
                          ("SEARCH e USING COVERING INDEX idx_embeddings_kind_model_item_id"
                           " (kind=? AND model=? AND item_id=?)")],
            }, statements
