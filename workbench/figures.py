"""Paper figures of an experiment (``synthdiv figures STORE --out DIR``), drawn with matplotlib (the
optional ``figures`` extra), and ``figures.md`` beside them: each figure's caption, with the
numbers' provenance (store, experiment, models, counts, when the analysis was computed).

The figures:

- ``heatmap-NAME``: each class × class matrix of the analysis — text similarity, synthetic
  image · class text, synthetic · real centroid cosine (one fixed diverging scale, −1 to 1, in
  every figure), and the synthetic-trained probe's confusion on the real test images (shares of
  each row, 0 to 1, with each row's n);
- ``four-causes``: per class, the gap real→real − synthetic→real with its paired interval, then a
  panel per cause (adherence: share of the synthetic images read as the class, by the [train] judge
  where it ran, else CLIP open set; diversity: Vendi ratio synthetic ÷ real; ambiguity: share of the
  synthetic images nearer another WordNet sense of the name than their own), largest gap first;
- ``diversity-adherence``: per class, the Vendi ratio against adherence, both axes fitted to the
  data, the classes named where their labels do not collide;
- ``sweep-MEASURE``: for a store whose experiments sweep one numeric key, each headline number
  against it with its 95 % bootstrap interval as a band;
- ``samples-CLASS``: a class's synthetic images over its templates, each above its nearest real
  image in CLIP space (with that image's class and cosine).

One style throughout: a 7-inch page width, 8-point text, text kept as text in PDF and SVG
(TrueType, searchable), no LaTeX or mathtext, so a class name is drawn as typed.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from store import embeddings, experiments, images, real
from synthdiv.decode import open_rgb
from synthdiv.errors import MissingExtra, SynthdivError
from synthdiv.metrics import normalise
from store.images import generation_settings
from workbench.export import md_text
from screens.labels import HEADLINE_NAMES as LABELS
from workbench.results import Results

FORMATS = ("png", "pdf", "svg")
PAGE_W = 7.0  # inches: a two-column paper's page width
SAMPLES = 8  # synthetic images per class in a sample grid
MAX_SAMPLE_CLASSES = 50  # sample grids for at most this many classes (the worst first)
MAX_LABELLED = 40  # a matrix with more classes than this loses its tick labels
MAX_BARS = 30  # classes in the four-causes panels (the worst first)
MAX_SCATTER_LABELS = 30  # the diversity–adherence scatter names its classes up to this many
SHARES = ("synthetic_to_real", "pixel_synthetic_to_real", "adherence", "coverage")  # headline numbers in [0, 1]

# (four-causes column, panel title, better) for the four panels
CAUSE_PANELS = (
    ("gap", "gap\nreal − synthetic-trained", "lower"),
    ("adherence_main", "adherence\nread as the class", "higher"),
    ("diversity_vendi_ratio", "diversity\nVendi synthetic ÷ real", "higher"),
    ("sense_confusion", "ambiguity\nnearer another sense", "lower"),
)
MATRIX_WORDS = {
    "similarity_text": ("Cosine similarity between the classes' mean prompt embeddings", "class", "class"),
    "similarity_synthetic_text": ("Cosine similarity between each class's synthetic images (rows) and each class's "
                                  "mean prompt embedding (columns)", "synthetic images of", "prompts of"),
    "similarity_real_text": ("Cosine similarity between each class's real test images (rows) and each class's "
                             "mean prompt embedding (columns)", "real images of", "prompts of"),
    "similarity_synthetic_real": ("Cosine similarity between the centroids of each class's synthetic images (rows) "
                                  "and each class's real images (columns)", "synthetic images of", "real images of"),
    "confusion": ("Confusion of the linear probe trained on synthetic embeddings, on the real test images "
                  "(rows: true class, columns: predicted; each row's counts as shares of the row)", "true class", "predicted class"),
}

Progress = Callable[[str, int, int], None]


def pyplot():
    """matplotlib's pyplot on the Agg backend with the figures' style, or exit 2 naming the extra."""
    try:
        import matplotlib
    except ImportError:
        raise MissingExtra("synthdiv figures", "figures") from None
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    plt.rcdefaults()
    plt.rcParams.update({
        "font.size": 8, "axes.titlesize": 8, "axes.labelsize": 8, "xtick.labelsize": 7, "ytick.labelsize": 7,
        "legend.fontsize": 7, "axes.spines.top": False, "axes.spines.right": False, "figure.dpi": 100,
        "savefig.dpi": 200, "savefig.bbox": "tight", "pdf.fonttype": 42, "ps.fonttype": 42,
        "svg.fonttype": "none", "text.usetex": False, "text.parse_math": False,  # a '$' in a name is a '$'
        "svg.hashsalt": "synthdiv", "image.cmap": "viridis",
    })
    return plt


def _fitted(values: np.ndarray, ref: float | None = None, bounds: tuple[float | None, float | None] | None = None,
            margin: float = 0.08, min_span: float = 0.05) -> tuple[float, float]:
    """Axis limits fitted to ``values`` (and ``ref``, a reference line that must show inside the
    frame): their range, widened to ``min_span`` about its middle where it is narrower (so that
    equal values do not fill the axis with noise), plus ``margin`` of it each side, kept within
    ``bounds`` (and half a margin beyond, for the markers)."""
    v = np.asarray(values, float)
    v = v[np.isfinite(v)]
    if ref is not None:
        v = np.append(v, ref)
    if not len(v):
        return (0.0, 1.0)
    lo, hi = float(v.min()), float(v.max())
    if hi - lo < min_span:
        mid = (lo + hi) / 2
        lo, hi = mid - min_span / 2, mid + min_span / 2
        if bounds is not None and bounds[1] is not None and hi > bounds[1]:
            lo, hi = lo - (hi - bounds[1]), bounds[1]
        if bounds is not None and bounds[0] is not None and lo < bounds[0]:
            lo, hi = bounds[0], hi + (bounds[0] - lo)
    pad = (hi - lo) * margin
    lo, hi = lo - pad, hi + pad
    if bounds is not None:
        if bounds[0] is not None:
            lo = max(lo, bounds[0] - pad / 2)
        if bounds[1] is not None:
            hi = min(hi, bounds[1] + pad / 2)
    return lo, hi


def place_labels(ax, x: np.ndarray, y: np.ndarray, labels: list[str]) -> None:
    """Name each point, placing each label where it overlaps no label placed before it and no
    point (eight positions tried around the point, then farther out: a simple repulsion), joined
    to its point by a thin line."""
    fig = ax.figure
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    pts = ax.transData.transform(np.column_stack([x, y]))
    placed: list = []
    order = np.argsort(-pts[:, 1])  # from the top down
    for i in order:
        best = None
        for dist in (8, 14, 22):
            for dx, dy in ((1, 0), (-1, 0), (1, 1), (1, -1), (-1, 1), (-1, -1), (0, 1), (0, -1)):
                t = ax.annotate(labels[i], (x[i], y[i]), xytext=(dx * dist, dy * dist), textcoords="offset points",
                                fontsize=6, ha="left" if dx > 0 else "right" if dx < 0 else "center",
                                va="bottom" if dy > 0 else "top" if dy < 0 else "center")
                box = t.get_window_extent(renderer).expanded(1.05, 1.1)
                hits = sum(box.overlaps(b) for b in placed) + sum(
                    box.contains(px, py) for j, (px, py) in enumerate(pts) if j != i)
                inside = ax.bbox.contains(box.x0, box.y0) and ax.bbox.contains(box.x1, box.y1)
                score = hits * 10 + (0 if inside else 3) + dist / 100
                if best is None or score < best[0]:
                    if best is not None:
                        best[1].remove()
                    best = (score, t, box, dist)
                else:
                    t.remove()
                if best[0] < 0.5:
                    break
            if best[0] < 0.5:
                break
        # drawn again with a thin leader line to its point (measured without it): whose label it is
        # reads without guessing
        score, chosen, box, _ = best
        chosen.remove()
        ax.annotate(labels[i], (x[i], y[i]), xytext=chosen.xyann, textcoords="offset points", fontsize=6,
                    ha=chosen.get_ha(), va=chosen.get_va(),
                    arrowprops={"arrowstyle": "-", "color": "0.55", "lw": 0.4, "shrinkA": 0, "shrinkB": 2.5})
        placed.append(box)


def slug(text: str) -> str:
    """A file-name-safe form of ``text`` (for a figure's name)."""
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()[:60] or "x"


class Figures:
    """Draws one experiment's figures into a folder; :meth:`all` draws every one."""

    def __init__(self, res: Results, out: Path, formats: list[str], progress: Progress | None = None) -> None:
        self.res, self.out, self.formats = res, out, formats
        self.plt = pyplot()
        self.progress = progress or (lambda what, i, n: None)
        self.captions: list[tuple[str, list[Path], str]] = []  # (title, files, caption)

    # --- writing ---------------------------------------------------------------------------------

    def save(self, fig, name: str, title: str, caption: str) -> None:
        files = []
        for f in self.formats:
            path = self.out / f"{name}.{f}"
            fig.savefig(path, format=f, metadata=self._metadata(f))
            files.append(path)
        self.plt.close(fig)
        self.captions.append((title, files, caption))

    def _metadata(self, fmt: str) -> dict:
        """What the file says made it (PNG text chunks, PDF info, SVG metadata); a fixed date keeps
        two runs on the same store byte-comparable."""
        who = f"synthdiv {__import__('synthdiv').__version__}"
        if fmt == "png":
            return {"Software": who}
        if fmt == "pdf":
            return {"Creator": who, "Producer": who, "CreationDate": None}
        return {"Creator": who, "Date": None}

    # --- the figures ----------------------------------------------------------------------------

    @property
    def result(self) -> dict:
        return self.res.result

    def heatmaps(self) -> None:
        from synthdiv.analysis import MATRICES

        classes = self.result["classes"]
        n = len(classes)
        for name in MATRICES:
            m = np.array(self.result[name], dtype=float) if self.result.get(name) else None
            if m is None or m.size == 0 or m.shape != (n, n):
                continue
            counts = m.sum(axis=1) if name == "confusion" else None
            if name == "confusion":  # counts → each true class's shares
                m = m / np.maximum(m.sum(axis=1, keepdims=True), 1)
            side = min(PAGE_W, max(2.8, 0.28 * n + 1.6))
            fig, ax = self.plt.subplots(figsize=(side + 0.8, side))
            # one fixed scale per kind, the same in every figure: shares 0–1 (sequential), cosines −1–1 (diverging)
            lo, hi, cmap = (0.0, 1.0, "viridis") if name == "confusion" else (-1.0, 1.0, "RdBu_r")
            im = ax.imshow(m, vmin=lo, vmax=hi, cmap=cmap, interpolation="nearest")
            what, rows, cols = MATRIX_WORDS[name]
            ax.set_ylabel(rows)
            ax.set_xlabel(cols)
            row_labels = classes if counts is None else [f"{c} (n={int(k)})" for c, k in zip(classes, counts, strict=True)]
            if n <= MAX_LABELLED:
                ax.set_xticks(range(n), classes, rotation=90)
                ax.set_yticks(range(n), row_labels)
            else:
                ax.set_xticks([])
                ax.set_yticks([])
            if n <= 12:
                for i in range(n):
                    for j in range(n):
                        dark = m[i, j] < 0.55 if name == "confusion" else abs(m[i, j]) > 0.6
                        ax.text(j, i, f"{m[i, j]:.2f}", ha="center", va="center", fontsize=6,
                                color="white" if dark else "black")
            fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="share of row" if name == "confusion" else "cosine")
            n_text = "" if counts is None else (f"; n per row: the class's real test images ({int(counts.min())}–"
                                                f"{int(counts.max())})")
            scale = "colour scale 0–1, fixed" if name == "confusion" else "colour scale −1 to 1, fixed, diverging"
            self.save(fig, f"heatmap-{slug(name)}", f"Heatmap: {name}",
                      f"{what}; {n} classes in the experiment's order" + ("" if n <= MAX_LABELLED else
                                                                         " (too many to label)") + f"{n_text}; {scale}"
                      " (the same in every synthdiv figure, so colours compare across figures).")

    def four_causes(self) -> None:
        rows = self.result["four_causes"][:MAX_BARS]
        if not rows:
            return
        names = [r["class"] for r in rows]
        fig, axes = self.plt.subplots(1, len(CAUSE_PANELS), figsize=(PAGE_W, max(2.0, 0.16 * len(rows) + 0.9)),
                                      sharey=True)
        y = np.arange(len(rows))
        for ax, (key, title, better) in zip(axes, CAUSE_PANELS, strict=True):
            v = np.array([np.nan if r.get(key) is None else r[key] for r in rows], float)
            low, high = self._interval(rows, key)
            ok = np.isfinite(v)
            colour = "#0072B2" if better == "higher" else "#D55E00"  # Okabe–Ito blue and vermillion
            ax.plot(v[ok], y[ok], "o" if better == "higher" else "s", color=colour, ms=3.2, zorder=3)
            has = ok & np.isfinite(low) & np.isfinite(high)
            if has.any():
                ax.errorbar(v[has], y[has], xerr=[(v - low)[has], (high - v)[has]], fmt="none", ecolor="0.25", lw=0.7,
                            capsize=1.5, zorder=2)
            ax.set_title(title, loc="left")
            ax.set_xlabel(f"{better} is better")
            ax.grid(axis="y", color="0.92", lw=0.5)
            ref = {"gap": 0.0, "diversity_vendi_ratio": 1.0}.get(key)
            if ref is not None:
                ax.axvline(ref, color="0.4", lw=0.6, ls="--")
            ax.set_xlim(*_fitted(np.concatenate([v[ok], low[has], high[has]]), ref,
                                 (0.0, 1.0) if key in ("adherence_main", "sense_confusion") else None))
            if key == "sense_confusion":  # a class without another sense has nothing to be confused with
                left = ax.get_xlim()[0]
                for yi in y[~ok]:
                    ax.text(left, yi, " no other sense", va="center", fontsize=6, color="0.45")
        axes[0].set_yticks(y, names)
        axes[0].invert_yaxis()
        more = len(self.result["four_causes"]) - len(rows)
        self.save(fig, "four-causes", "The four causes per class",
                  "The four causes of failure per class, largest gap first" + (f" ({len(rows)} of "
                  f"{len(self.result['four_causes'])} classes)" if more else "") + ": the gap (accuracy on the class's "
                  "real test images of the classifier trained on real images minus that of the one trained on synthetic"
                  f" images, by the {next((r['gap_by'] for r in rows if r.get('gap_by')), 'classifiers')}; whiskers: paired"
                  " 95 % interval; dashed: no gap), adherence (share of the class's synthetic images read as the class,"
                  f" by {self._adherence_reader(rows)}, with its 95 % interval), diversity (Vendi score of the synthetic images ÷ that of "
                  "the real ones at equal n; dashed: as diverse as real), ambiguity (share of the class's synthetic "
                  "images nearer another WordNet sense of its name than their own, where its name has another sense, with its 95 %"
                  " interval). Each axis is fitted to its values; circles: higher is better, squares: lower is better.")

    @staticmethod
    def _interval(rows: list[dict], key: str) -> tuple[np.ndarray, np.ndarray]:
        """The per-class interval ends of a four-causes panel's column (NaN where it has none): its
        own, or for the adherence panel the interval of the reader that gave it."""
        def ends(r):
            if key == "adherence_main":
                by = (r.get("adherence_by") or "")
                src = "adherence_judge" if "judge" in by else "open_set_adherence" if "open" in by else None
            else:
                src = key
            if src is None or r.get(src + "_low") is None or r.get(src + "_high") is None:
                return np.nan, np.nan
            return r[src + "_low"], r[src + "_high"]

        pairs = np.array([ends(r) for r in rows], float).reshape(len(rows), 2)
        return pairs[:, 0], pairs[:, 1]

    @staticmethod
    def _adherence_reader(rows: list[dict]) -> str:
        readers = sorted({r["adherence_by"] for r in rows if r.get("adherence_by")})
        return " and ".join(readers) if readers else "no reader"

    def diversity_adherence(self) -> None:
        rows = [r for r in self.result["four_causes"]
                if r.get("adherence") is not None and r.get("diversity_vendi_ratio") is not None]
        if len(rows) < 2:
            return
        fig, ax = self.plt.subplots(figsize=(PAGE_W / 2, PAGE_W / 2 * 0.85))
        x = np.array([r["adherence"] for r in rows], float)
        y = np.array([r["diversity_vendi_ratio"] for r in rows], float)
        ax.scatter(x, y, s=14, color="#0072B2", edgecolors="0.2", linewidths=0.3, zorder=3)
        ax.axhline(1.0, color="0.5", lw=0.6, ls="--", zorder=1)  # as diverse as the real images
        ax.set_xlim(*_fitted(x, None, (0.0, 1.0)))
        ax.set_ylim(*_fitted(y, 1.0, (0.0, None)))  # the reference line inside the frame, not on it
        ax.set_xlabel("adherence (CLIP zero-shot accuracy on the synthetic images)")
        ax.set_ylabel("Vendi ratio (synthetic ÷ real, equal n)")
        labelled = len(rows) <= MAX_SCATTER_LABELS
        if labelled:
            place_labels(ax, x, y, [r["class"] for r in rows])
        self.save(fig, "diversity-adherence", "Diversity against adherence",
                  f"Per class ({len(rows)} classes{'' if labelled else ', unlabelled: too many'}): the diversity of the"
                  " synthetic images (Vendi score ÷ that of the real images at equal n; dashed: as diverse as real)"
                  " against prompt adherence (CLIP zero-shot accuracy on them). Both axes are fitted to the classes'"
                  " values.")

    def sweep(self) -> None:
        if len(experiments.names_of(self.res.st)) < 2:
            return
        from synthdiv.measures import HEADLINE
        from workbench.compare import PLOTTED, comparison_of

        try:
            comparison = comparison_of(self.res.st, baseline=self.res.exp["name"])
        except SynthdivError:
            return  # fewer than two experiments have embeddings
        axis = comparison.get("axis")
        if not axis:
            return
        for m in (m for m in HEADLINE if m.key in PLOTTED):
            pts = sorted((r[axis], r[m.key], r.get(m.key + "_low"), r.get(m.key + "_high"))
                         for r in comparison["experiments"] if r.get(m.key) is not None)
            if len(pts) < 2:
                continue
            x = np.array([p[0] for p in pts], float)
            v = np.array([p[1] for p in pts], float)
            fig, ax = self.plt.subplots(figsize=(PAGE_W / 2, PAGE_W / 2 * 0.7))
            if all(p[2] is not None for p in pts):
                ax.fill_between(x, [p[2] for p in pts], [p[3] for p in pts], alpha=0.25, color="#4c72b0", lw=0,
                                label="95 % interval")
            ax.plot(x, v, "o-", color="#4c72b0", ms=3, lw=1, label=LABELS.get(m.key, m.key))
            if m.key in SHARES:
                ax.set_ylim(-0.02, 1.02)  # a share: its whole range
            ax.set_xlabel(axis)
            ax.set_ylabel(LABELS.get(m.key, m.key))
            ax.legend(frameon=False)
            self.save(fig, f"sweep-{slug(m.key)}", f"Sweep: {LABELS.get(m.key, m.key)} against {axis}",
                      f"{LABELS.get(m.key, m.key)} ({m.what}) for each of the store's {len(pts)} experiments against "
                      f"{axis}; band: the 95 % bootstrap interval.")

    def samples(self) -> None:
        st, exp_id, model = self.res.st, self.res.exp["id"], self.res.model
        worst = [r["class"] for r in self.result["four_causes"]][:MAX_SAMPLE_CLASSES]
        order = [c for c in self.result["classes"] if c in worst]  # the worst, in the experiment's order
        real_rows, real_x = embeddings.load(st, exp_id, "real", model)
        real_x = normalise(real_x) if len(real_x) else real_x
        ids = {c["name"]: c["id"] for c in experiments.classes_of(st, exp_id)}
        from workbench.dataset import over_templates  # the same order as the dataset export's

        every = over_templates(images.every(st, exp_id))
        template_of = {t["id"]: i + 1 for i, t in enumerate(experiments.templates_of(st, exp_id))}
        for i, name in enumerate(order):
            self.progress("sample grids", i, len(order))
            chosen = [r for r in every if r["class_id"] == ids[name]][:SAMPLES]
            if not chosen:
                continue
            vec = embeddings.vectors(st, "image", [r["id"] for r in chosen], model)
            near: list[dict | None] = []
            for r in chosen:
                if r["id"] not in vec or not len(real_x):
                    near.append(None)
                    continue
                sims = real_x @ normalise(vec[r["id"]][None, :])[0]
                j = int(np.argmax(sims))
                row = real.rows(st, [real_rows[j]["id"]])[real_rows[j]["id"]]
                near.append({**row, "cosine": float(sims[j])})
            k = len(chosen)
            fig, axes = self.plt.subplots(2, k, figsize=(min(PAGE_W, 0.9 * k + 0.4), 2.2), squeeze=False)
            for col, (r, nb) in enumerate(zip(chosen, near, strict=True)):
                self._show(axes[0, col], st.root / r["path"], f"t{template_of[r['template_id']]} · {r['seed']}")
                if nb is None:
                    axes[1, col].axis("off")
                else:
                    path = Path(nb["path"])
                    self._show(axes[1, col], path if path.is_absolute() else st.root / path,
                               f"{nb['class_name'][:12]} {nb['cosine']:.2f}",
                               mark="✓" if nb["class_name"] == name else "✗")
            axes[0, 0].set_ylabel("synthetic", fontsize=7)
            axes[1, 0].set_ylabel("nearest real", fontsize=7)
            fig.suptitle(name, x=0.01, ha="left", fontsize=8)
            position = self.result["classes"].index(name)
            self.save(fig, f"samples-{position:04d}-{slug(name)}", f"Samples: {name}",
                      f"{k} synthetic images of class {name!r} (top row; under each, its template's number in the experiment and its seed), each "
                      "above its nearest real image by CLIP cosine (bottom row: that image's class and the cosine; "
                      "✓ in blue: the same class, ✗ in vermillion: another).")

    def _show(self, ax, path: Path, label: str, mark: str = "") -> None:
        """An image without axes, ``label`` under it; ``mark`` ✓ or ✗ before the label, in a
        colour-blind-safe blue or vermillion (the shape carries it without colour too)."""
        colour = {"✓": "#0072B2", "✗": "#D55E00"}.get(mark, "black")
        label = f"{mark} {label}" if mark else label
        try:
            ax.imshow(np.asarray(open_rgb(path)), interpolation="nearest")
        except (OSError, ValueError) as exc:
            ax.text(0.5, 0.5, f"cannot read\n({type(exc).__name__})", ha="center", va="center", fontsize=6)
        ax.set_xticks([])
        ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_visible(False)
        ax.set_xlabel(label, fontsize=6, color=colour)

    # --- all of them ----------------------------------------------------------------------------

    def all(self) -> Path:
        """Draw every figure and write ``figures.md``; return its path."""
        steps = (("heatmaps", self.heatmaps), ("four causes", self.four_causes),
                 ("diversity against adherence", self.diversity_adherence), ("sweep curves", self.sweep),
                 ("sample grids", self.samples))
        for i, (what, draw) in enumerate(steps):
            self.progress(what, i, len(steps))
            draw()
        return self._write_captions()

    def _write_captions(self) -> Path:
        res, a = self.res, self.res.analysis
        c = a["result"]["counts"]
        gen = generation_settings(res.st, res.exp["id"])
        lines = [f"# Figures: {md_text(res.exp['name'])}", "",
                 "Provenance of every number below:", "",
                 f"- store: {md_text(str(res.st.root))}, experiment {md_text(res.exp['name'])}",
                 f"- embeddings: {md_text(res.model)}; analysis computed "
                 f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(a['computed_at']))} from {c['synthetic']} synthetic, "
                 f"{c['real_train']} real train and {c['real_test']} real test images"]
        for g in gen:
            model = g["model_id"] + (f" @ {g['model_revision']}" if g["model_revision"] else "") + (
                f" (sha256 {g['model_hash'][:12]})" if g["model_hash"] else "")
            lines.append(f"- generated: {g['images']} images by {md_text(model)}, {md_text(g['scheduler'] or '')}, "
                         f"{g['steps']} steps, guidance {g['guidance']:g}, {g['width']}×{g['height']}")
        lines += [f"- drawn by synthdiv {__import__('synthdiv').__version__} on "
                  f"{time.strftime('%Y-%m-%d', time.gmtime())}", ""]
        for title, files, caption in self.captions:
            lines += [f"## {md_text(title)}", "", " · ".join(f"[{p.name}]({p.name})" for p in files), "",
                      md_text(caption), ""]
        path = self.out / "figures.md"
        path.write_text("\n".join(lines), encoding="utf-8")
        return path


def draw_figures(res: Results, out: Path, formats: list[str], progress: Progress | None = None) -> tuple[list[Path], Path]:
    """Every figure of the experiment in each format into ``out``, and ``figures.md``: (files, captions)."""
    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        raise SynthdivError(f"unknown figure format {','.join(bad) or '(none)'}", f"use one or more of {', '.join(FORMATS)}")
    figures = Figures(res, out, formats, progress)
    captions = figures.all()
    return [p for _, files, _ in figures.captions for p in files], captions
