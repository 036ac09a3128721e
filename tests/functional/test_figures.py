"""``synthdiv figures``: every figure in every format on the digits store, with captions and
provenance; a sweep's curves with bands; names drawn as typed; the extra named when it is missing."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from PIL import Image

from tests.functional import stores
from tests.helpers import run_cli, write_config

pytestmark = pytest.mark.slow

FIGURES = ["four-causes", "diversity-adherence", "heatmap-similarity-text", "heatmap-similarity-synthetic-text",
           "heatmap-similarity-real-text", "heatmap-similarity-synthetic-real", "heatmap-confusion"]
DIGITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]


def test_every_figure_in_every_format_with_captions(digits_store, tmp_path):
    out = run_cli("figures", str(digits_store), "--out", str(tmp_path / "F"))
    assert out.returncode == 0, out.stdout + out.stderr
    F = tmp_path / "F"
    names = FIGURES + [f"samples-{i:04d}-{d}" for i, d in enumerate(DIGITS)]
    for name in names:
        png, pdf, svg = (F / f"{name}.{ext}" for ext in ("png", "pdf", "svg"))
        with Image.open(png) as im:
            assert im.format == "PNG" and im.width >= 300 and im.height >= 150
        data = pdf.read_bytes()
        assert data.startswith(b"%PDF") and b"/FontFile2" in data and b"Type3" not in data  # TrueType text, not glyph paths
        assert "<text" in svg.read_text()  # text stays text
    assert not list(F.glob("sweep-*"))  # one experiment: no sweep
    svg = (F / "four-causes.svg").read_text()
    words = re.sub(r"<[^>]+>", " ", svg)  # the SVG's text elements, as text
    assert all(f" {d} " in words for d in DIGITS) and "real − synthetic-trained" in words and "read as the class" in words
    md = (F / "figures.md").read_text()
    assert md.count("\n## ") == len(names)
    for name in names:
        assert f"[{name}.png]({name}.png)" in md and f"[{name}.pdf]({name}.pdf)" in md
    assert str(digits_store) in md and "mini-digits" in md and "60 synthetic" in md and "DDIMScheduler" in md

    again = run_cli("figures", str(digits_store), "--out", str(tmp_path / "G"), "--format", "svg")
    assert again.returncode == 0 and not list((tmp_path / "G").glob("*.png"))
    assert (tmp_path / "G" / "four-causes.svg").read_text() == svg  # the same store draws the same figure


def test_a_sweep_gets_curves_with_interval_bands(tmp_path):
    root = tmp_path / "S"
    for i, guidance in enumerate((2.0, 5.0, 8.0)):
        stores.build(root, name=f"g{guidance:g}", guidance=guidance, image_scale=0.3 + 0.3 * i)
    out = run_cli("figures", str(root), "--experiment", "g2", "--out", str(tmp_path / "F"), "--format", "png,svg")
    assert out.returncode == 0, out.stdout + out.stderr
    sweeps = sorted(p.stem for p in (tmp_path / "F").glob("sweep-*.svg"))
    assert "sweep-synthetic-to-real" in sweeps and "sweep-adherence" in sweeps
    svg = re.sub(r"<[^>]+>", " ", (tmp_path / "F" / "sweep-adherence.svg").read_text())
    assert "generation.guidance" in svg and "95 % interval" in svg
    md = (tmp_path / "F" / "figures.md").read_text()
    assert "3 experiments against generation.guidance" in md.replace("\\", "")


def test_names_are_drawn_and_captioned_as_typed(tmp_path):
    name = "price $5 or $6 <b>x</b> #_y_"
    (tmp_path / "classes.txt").write_text(f"{name}\nplain cat\n", encoding="utf-8")
    config = write_config(tmp_path, """
name = "money"
[classes]
set = "classes.txt"
[templates]
custom = ["a photo of a {}."]
[generation]
model = "tiny-random"
steps = 2
width = 32
height = 32
images_per_prompt = 3
[embedding]
model = "tiny-random"
""")
    assert run_cli("run", str(config), "--store", str(tmp_path / "D")).returncode == 0
    out = run_cli("figures", str(tmp_path / "D"), "--out", str(tmp_path / "F"), "--format", "svg")
    assert out.returncode == 0, out.stderr
    svg = (tmp_path / "F" / "samples-0000-price-5-or-6-b-x-b-y.svg").read_text()
    assert "price $5 or $6 &lt;b&gt;x&lt;/b&gt; #_y_" in svg  # no mathtext, no markup: the name as typed
    md = (tmp_path / "F" / "figures.md").read_text()
    assert "## Samples: price $5 or $6 &lt;b&gt;x&lt;/b&gt; #\\_y\\_\n" in md


def test_without_matplotlib_it_exits_2_naming_the_extra(digits_store, tmp_path):
    code = ("import sys; sys.modules['matplotlib'] = None; from workbench.cli import main; "
            f"sys.exit(main(['figures', {str(digits_store)!r}, '--out', {str(tmp_path / 'F')!r}]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and 'pip install "synthdiv[figures]"' in out.stderr and "Traceback" not in out.stderr
    assert not (tmp_path / "F").exists()
    bad = run_cli("figures", str(digits_store), "--out", str(tmp_path / "F"), "--format", "gif")
    assert bad.returncode == 2 and "unknown figure format" in bad.stderr


def _svg_words(path) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", path.read_text()))


def test_figures_a_reviewer_reads_right(digits_store, tmp_path):
    """Every label is in the drawn text, the heatmaps share one fixed scale, the scatter's axes fit
    its points with the reference line inside, the confusion matrix states n per row, the four
    causes carry intervals, and same/other-class marks do not rest on red and green."""
    import csv
    import json

    out = run_cli("figures", str(digits_store), "--out", str(tmp_path / "F"), "--format", "png,svg")
    assert out.returncode == 0, out.stdout + out.stderr
    F = tmp_path / "F"
    report = json.loads(run_cli("report", str(digits_store), "--json").stdout)
    for name in FIGURES:
        with Image.open(F / f"{name}.png") as im:
            assert 300 <= im.width <= 2000 and 150 <= im.height <= 2000, (name, im.size)  # 7 in at 200 dpi at most
    scatter = (F / "diversity-adherence.svg").read_text()
    words = _svg_words(F / "diversity-adherence.svg")
    assert all(f" {d} " in words for d in DIGITS)  # every class named
    assert "<image" not in scatter and "colorbar" not in scatter.lower()  # no colour scale that encodes nothing
    # the axes are fitted: the ticks span little more than the points (and the reference line, 1.0)
    rows = [r for r in report["four_causes"] if r["adherence"] is not None]
    ys = [r["diversity_vendi_ratio"] for r in rows] + [1.0]
    labels = re.findall(r'text-anchor: (\w+)"[^>]*>(−?[0-9.]+)</text>', scatter)
    ticks = {anchor: [float(v.replace("−", "-")) for a, v in labels if a == anchor] for anchor in ("end", "middle")}
    xs = [r["adherence"] for r in rows]
    for tick, data in ((ticks["end"], ys), (ticks["middle"], xs)):  # y ticks right-aligned, x ticks centred
        assert tick and max(tick) - min(tick) <= (max(data) - min(data)) * 1.6 + 0.1, (tick, data)
        assert min(tick) <= min(data) + 0.05 and max(tick) >= max(data) - 0.05
    confusion = _svg_words(F / "heatmap-confusion.svg")
    for a in report["accuracy"]:
        assert f"{a['class']} (n={a['n_real_test']})" in confusion
    for name in ("heatmap-similarity-text", "heatmap-similarity-synthetic-real"):
        colourbar = _svg_words(F / f"{name}.svg")
        assert "−1.00" in colourbar and "1.00" in colourbar  # the fixed diverging scale's ends, in every heatmap
    causes = (F / "four-causes.svg").read_text()
    assert causes.count('id="LineCollection_') >= 2  # whiskers: the gap's and adherence's intervals
    for path in F.glob("samples-*.svg"):
        text = path.read_text().lower()
        assert "#008000" not in text and "#ff0000" not in text  # not matplotlib's green and red
        assert "✓" in text or "✗" in text


def test_the_terminal_heatmap_ramp_is_viridis():
    import matplotlib

    from screens.heatmap import viridis

    cmap = matplotlib.colormaps["viridis"]
    for t in [i / 50 for i in range(51)]:
        assert all(abs(a - round(b * 255)) <= 6 for a, b in zip(viridis(t), cmap(t)[:3], strict=True)), t
