"""docs/store.md lists every table and column of a new store, and is what store.documentation makes."""

from __future__ import annotations

import json

from store import open_store
from store.documentation import DOC, TABLES, UNDECLARED_REFERENCES, datasette_metadata, markdown
from tests.helpers import run_cli


def _schema(conn) -> dict[str, list[str]]:
    return {t: [r[1] for r in conn.execute(f"pragma table_info([{t}])")]
            for (t,) in conn.execute("select name from sqlite_master where type = 'table' and name not like 'sqlite_%'")}


def test_every_table_and_column_of_a_new_store_is_documented(tmp_path):
    with open_store(tmp_path / "S", create=True) as st:
        schema = _schema(st.conn)
        declared = {(t, r[3]) for t in schema for r in st.conn.execute(f"pragma foreign_key_list([{t}])")}
    assert set(schema) == set(TABLES)
    for table, columns in schema.items():
        assert set(columns) == set(TABLES[table][1]), table
        assert all(TABLES[table][1].values()), table
    assert not declared & set(UNDECLARED_REFERENCES)  # what the doc calls undeclared is not declared
    assert ("images", "experiment_id") in declared


def test_docs_store_md_is_current():
    assert DOC.read_text(encoding="utf-8") == markdown(), "run: python -m store.documentation --write"


def test_datasette_metadata_describes_every_table_and_column(tmp_path):
    with open_store(tmp_path / "S", create=True) as st:
        schema = _schema(st.conn)
    out = run_cli("export", str(tmp_path / "S"), "--datasette-metadata", str(tmp_path / "m.json"))
    assert out.returncode == 0, out.stderr
    meta = json.loads((tmp_path / "m.json").read_text())
    assert meta == datasette_metadata("synthdiv")
    tables = meta["databases"]["synthdiv"]["tables"]
    assert {t: set(v["columns"]) for t, v in tables.items()} == {t: set(c) for t, c in schema.items()}
