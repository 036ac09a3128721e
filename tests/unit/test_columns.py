"""The per-class column declarations (synthdiv.columns) and the labels they are shown under
(screens.labels): every number a per-class table holds is declared once, and every view shows
only declared numbers, each under a heading."""

import importlib

import numpy as np
import pytest

from screens import labels
from synthdiv import columns
from synthdiv.analysis import Inputs, analyse
from synthdiv.measures import HEADLINE
from workbench.trained import with_pixel


def _result() -> dict:
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(4, 16)) * 3
    y, ry = np.repeat(np.arange(4), 12), np.repeat(np.arange(4), 10)
    return analyse(Inputs(classes=["a", "b", "c", "d"], synthetic=centres[y] + rng.normal(size=(48, 16)),
                          synthetic_y=y, real=centres[ry] + rng.normal(size=(40, 16)), real_y=ry,
                          real_split=np.array(["train", "test"] * 20), text=centres, text_y=np.arange(4)))


def _run(name: str, accuracies: list[float]) -> dict:
    per_class = [{"class": c, "accuracy": a, "low": a - 0.1, "high": min(1.0, a + 0.1), "n": 5}
                 for c, a in zip("abcd", accuracies, strict=True)]
    return {"name": name, "state": "done", "result": {"test": {
        "accuracy": float(np.mean(accuracies)), "low": 0.5, "high": 0.9, "n": 20, "n_classes": 4, "per_class": per_class}}}


@pytest.mark.parametrize("table", columns.TABLES)
def test_the_analysis_rows_hold_exactly_the_declared_columns(table):
    result = _result()
    for row in result[table]:
        assert set(row) == set(columns.keys(table, "embeddings"))
    trained = with_pixel(result, [_run("synthetic", [0.8, 0.6, 1.0, 0.4]), _run("real", [1.0, 0.8, 1.0, 0.8])])
    for row in trained[table]:
        assert set(row) == set(columns.keys(table)), set(row) ^ set(columns.keys(table))


def test_every_declaration_names_a_function_that_exists_and_says_what_it_is():
    seen = set()
    for c in columns.COLUMNS:
        assert (c.table, c.key) not in seen, f"{c.table}.{c.key} is declared twice"
        seen.add((c.table, c.key))
        assert c.table in columns.TABLES and c.what and c.better in (None, "higher", "lower")
        ranks = c.key in ("class", "gap", "gap_by", "causes")  # the four-causes table's order and labels
        other = c.key.startswith("confusability_")  # confusability with the other classes: no cause (not polysemy)
        assert (c.cause is not None) == (c.table == "four_causes" and not ranks and not other), c.key
        if c.function:
            module, _, name = c.function.rpartition(".")
            assert callable(getattr(importlib.import_module(module), name)), c.function
    with pytest.raises(KeyError, match="no column 'nope'"):
        columns.column("diversity", "nope")


def test_every_view_shows_declared_columns_under_a_heading():
    for view, tables in labels.VIEW_TABLES.items():
        declared = {k for t in tables for k in columns.keys(t)}
        for key, heading, *_ in getattr(labels, view):
            assert key in declared, f"labels.{view} shows {key!r}, which no table declares"
            assert heading
    shown = {k for k, _ in labels.CAUSES}
    assert shown == set(columns.keys("four_causes")) - {"gap_by"}  # every column (gap_by: in the title)


def test_every_headline_measure_has_a_name_and_a_short_heading():
    # the compare screen had lost the pixel classifiers' headings and showed their raw keys
    for m in HEADLINE:
        assert m.key in labels.HEADLINE_NAMES and m.key in labels.HEADLINE_HEADINGS, m.key
    assert labels.HEADLINE_HEADINGS["pixel_synthetic_to_real"] == "px s→r"


def test_latex_escapes_every_special_character_in_one_pass():
    from workbench.export import _tex_escape

    assert _tex_escape("a\\b") == "a\\textbackslash{}b"  # the escape's own braces are not escaped again
    assert _tex_escape("{x}_1 & 50% #2 $3 ~ ^") == \
        "\\{x\\}\\_1 \\& 50\\% \\#2 \\$3 \\textasciitilde{} \\textasciicircum{}"
    assert _tex_escape("synthetic→real ÷ 2") == "synthetic$\\rightarrow$real $\\div$ 2"


def test_wide_latex_tables_are_cut_into_parts_that_fit_the_page():
    from workbench.export import TEXT_WIDTH_PT, _tex_columns, _tex_parts

    head = ["class"] + [f"column_{i}" for i in range(22)]
    rows = [["class name", *[0.123456] * 22] for _ in range(3)]
    parts = _tex_parts(head, rows)
    assert len(parts) > 1 and all(p[0] == 0 for p in parts)  # the class repeats in every part
    assert sorted({i for p in parts for i in p}) == list(range(23))
    widths = [w for w, _ in _tex_columns(head, rows)]
    assert all(sum(widths[i] for i in p) <= TEXT_WIDTH_PT for p in parts)
    # a column of long text wraps instead of running off the page
    kinds = _tex_columns(["class", "gloss"], [["a", "x" * 400]])
    assert kinds[1][1].startswith("p{")


def test_an_empty_table_is_written_as_a_comment_in_latex():
    from workbench.export import _tex_files

    tex = _tex_files({"memorisation": ([], []), "headline": (["measure", "value"], [["cmmd", 0.5]])},
                     "t", {}, {}, "s")["s.tex"]
    assert "% table: memorisation (empty)" in tex and tex.count("\\begin{longtable}") == 2  # headline and columns
