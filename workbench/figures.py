"""Paper figures of an experiment (``synthdiv figures STORE --out DIR``), drawn with matplotlib (the
optional ``figures`` extra), and ``figures.md`` beside them: each figure's caption, with the
numbers' provenance (store, experiment, models, counts, when the analysis was computed).

The figures:

- ``heatmap-NAME``: each class × class matrix of the analysis — text similarity, synthetic
  image · class text, synthetic · real centroid cosine, and the synthetic-trained probe's
  confusion on the real test images;
- ``four-causes``: per class, the gap real→real − synthetic→real with its paired interval, then a
  panel per cause (adherence: share of the synthetic images read as the class, by the [train] judge
  where it ran, else CLIP open set; diversity: Vendi ratio synthetic ÷ real; ambiguity: share of the
  synthetic images nearer another WordNet sense of the name than their own), largest gap first;
- ``diversity-adherence``: per class, the Vendi ratio against adherence, coloured by synthetic→real;
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
            if name == "confusion":  # counts → each true class's shares
                m = m / np.maximum(m.sum(axis=1, keepdims=True), 1)
            side = min(PAGE_W, max(2.8, 0.28 * n + 1.6))
            fig, ax = self.plt.subplots(figsize=(side + 0.8, side))
            lo, hi = (0.0, 1.0) if name == "confusion" else (float(np.nanmin(m)), float(np.nanmax(m)))
            im = ax.imshow(m, vmin=lo, vmax=hi, cmap="magma" if name == "confusion" else "viridis",
                           interpolation="nearest")
            what, rows, cols = MATRIX_WORDS[name]
            ax.set_ylabel(rows)
            ax.set_xlabel(cols)
            if n <= MAX_LABELLED:
                ax.set_xticks(range(n), classes, rotation=90)
                ax.set_yticks(range(n), classes)
            else:
                ax.set_xticks([])
                ax.set_yticks([])
            if n <= 12:
                for i in range(n):
                    for j in range(n):
                        ax.text(j, i, f"{m[i, j]:.2f}", ha="center", va="center", fontsize=6,
                                color="white" if m[i, j] < lo + 0.6 * (hi - lo) else "black")
            fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="share of row" if name == "confusion" else "cosine")
            self.save(fig, f"heatmap-{slug(name)}", f"Heatmap: {name}",
                      f"{what}; {n} classes in the experiment's order" + ("" if n <= MAX_LABELLED else
                                                                         " (too many to label)") + ".")

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
            ax.barh(y, np.nan_to_num(v), color="#4c72b0" if better == "higher" else "#c44e52", height=0.7)
            ax.set_title(title, loc="left")
            ax.set_xlabel(f"{better} is better")
            if key == "gap":  # with its paired 95 % interval; 0: as good as trained on real images
                low = np.array([np.nan if r.get("gap_low") is None else r["gap_low"] for r in rows], float)
                high = np.array([np.nan if r.get("gap_high") is None else r["gap_high"] for r in rows], float)
                ok = np.isfinite(low) & np.isfinite(high)
                ax.errorbar(np.nan_to_num(v)[ok], y[ok], xerr=[(v - low)[ok], (high - v)[ok]], fmt="none",
                            ecolor="0.2", lw=0.7, capsize=1.5)
                ax.axvline(0.0, color="0.4", lw=0.6, ls="--")
                span = np.concatenate([low[ok], high[ok], [0.0, 0.1]])
                ax.set_xlim(min(-0.05, float(span.min()) - 0.02), float(span.max()) + 0.02)
            elif key == "diversity_vendi_ratio":
                ax.axvline(1.0, color="0.4", lw=0.6, ls="--")  # as diverse as the real images
                ax.set_xlim(0, max(1.2, float(np.nanmax(v)) * 1.05 if np.isfinite(v).any() else 1.2))
            else:
                ax.set_xlim(0, 1)
                ax.set_xticks([0, 0.5, 1])
            if key == "sense_confusion":  # a class without another sense has nothing to be confused with
                for yi in y[~np.isfinite(v)]:
                    ax.text(0.02, yi, "no other sense", va="center", fontsize=6, color="0.45")
        axes[0].set_yticks(y, names)
        axes[0].invert_yaxis()
        more = len(self.result["four_causes"]) - len(rows)
        self.save(fig, "four-causes", "The four causes per class",
                  "The four causes of failure per class, largest gap first" + (f" ({len(rows)} of "
                  f"{len(self.result['four_causes'])} classes)" if more else "") + ": the gap (accuracy on the class's "
                  "real test images of the classifier trained on real images minus that of the one trained on synthetic"
                  f" images, by the {next((r['gap_by'] for r in rows if r.get('gap_by')), 'classifiers')}; bars: paired"
                  " 95 % interval; dashed: no gap), adherence (share of the class's synthetic images read as the class,"
                  f" by {self._adherence_reader(rows)}), diversity (Vendi score of the synthetic images ÷ that of "
                  "the real ones at equal n; dashed: as diverse as real), ambiguity (share of the class's synthetic "
                  "images nearer another WordNet sense of its name than their own, where its name has another sense).")

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
        c = [np.nan if r.get("concept_synthetic_to_real") is None else r["concept_synthetic_to_real"] for r in rows]
        sc = ax.scatter(x, y, c=c, vmin=0, vmax=1, s=14, cmap="viridis", edgecolors="0.2", linewidths=0.3)
        if len(rows) <= 20:
            for r, xi, yi in zip(rows, x, y, strict=True):
                ax.annotate(r["class"], (xi, yi), xytext=(3, 2), textcoords="offset points", fontsize=6)
        ax.axhline(1.0, color="0.5", lw=0.6, ls="--")
        ax.set_xlim(-0.03, 1.03)  # a share: the whole range, so that a cluster is not blown up
        ax.set_xlabel("adherence (zero-shot accuracy on synthetic)")
        ax.set_ylabel("Vendi ratio (synthetic ÷ real)")
        fig.colorbar(sc, ax=ax, label="synthetic→real accuracy")
        self.save(fig, "diversity-adherence", "Diversity against adherence",
                  f"Per class ({len(rows)} classes): the diversity of the synthetic images (Vendi score ÷ that of the "
                  "real images at equal n; dashed: as diverse as real) against prompt adherence (CLIP zero-shot "
                  "accuracy on them), coloured by the synthetic-trained probe's accuracy on real test images.")

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
                               colour="green" if nb["class_name"] == name else "red")
            axes[0, 0].set_ylabel("synthetic", fontsize=7)
            axes[1, 0].set_ylabel("nearest real", fontsize=7)
            fig.suptitle(name, x=0.01, ha="left", fontsize=8)
            position = self.result["classes"].index(name)
            self.save(fig, f"samples-{position:04d}-{slug(name)}", f"Samples: {name}",
                      f"{k} synthetic images of class {name!r} (top row; under each, its template's number in the experiment and its seed), each "
                      "above its nearest real image by CLIP cosine (bottom row: that image's class and the cosine; "
                      "green: the same class, red: another).")

    def _show(self, ax, path: Path, label: str, colour: str = "black") -> None:
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
