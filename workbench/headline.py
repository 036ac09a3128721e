"""The headline numbers printed at the end of ``synthdiv run``: a first answer, per experiment.

Computed from the stored CLIP embeddings of the configured model: prompt adherence (CLIP
zero-shot on the synthetic images), zero-shot accuracy on the real set, synthetic→real accuracy
of a linear probe trained on the synthetic images, and diversity (mean pairwise cosine distance,
synthetic ÷ real, averaged over classes).
"""

from __future__ import annotations

import warnings

import numpy as np
from rich.console import Console
from rich.table import Table

from store import embeddings
from store.core import Store
from synthdiv.metrics import mean_pairwise_cosine_distance
from synthdiv.probe import class_text_vectors, linear_probe, zero_shot_predict


def headline(st: Store, experiment_id: int, model: str) -> dict | None:
    """The numbers, or None when there is too little to compute them from."""
    names = [r[0] for r in st.conn.execute(
        "select name from classes where experiment_id = ? order by position", [experiment_id])]
    syn_y, syn = embeddings.load_labelled(st, experiment_id, "image", model)
    txt_y, txt = embeddings.load_labelled(st, experiment_id, "text", model)
    real_y, real = embeddings.load_labelled(st, experiment_id, "real", model)
    if len(syn) < 2 or len(txt) == 0:
        return None
    classes = class_text_vectors(txt, txt_y, len(names))
    out: dict = {"classes": names, "n_synthetic": int(len(syn)), "n_real": int(len(real)),
                 "adherence": float((zero_shot_predict(syn, classes) == syn_y).mean())}

    def div(x, y):
        vals = [mean_pairwise_cosine_distance(x[y == c]) for c in range(len(names)) if (y == c).sum() >= 2]
        return float(np.mean(vals)) if vals else float("nan")

    out["diversity_synthetic"] = div(syn, syn_y)
    if len(real) >= 2:
        out["zero_shot_real"] = float((zero_shot_predict(real, classes) == real_y).mean())
        out["diversity_ratio"] = out["diversity_synthetic"] / div(real, real_y)
        if len(np.unique(syn_y)) >= 2:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                pred = linear_probe(syn, syn_y).predict(real / np.linalg.norm(real, axis=1, keepdims=True))
            out["synthetic_to_real"] = float((pred == real_y).mean())
            out["per_class_synthetic_to_real"] = {
                names[c]: float((pred[real_y == c] == c).mean()) for c in np.unique(real_y)}
    return out


def print_headline(st: Store, experiment_id: int, model: str, console: Console) -> None:
    h = headline(st, experiment_id, model)
    if h is None:
        return
    table = Table(title=f"Headline numbers (CLIP {model}; {h['n_synthetic']} synthetic, {h['n_real']} real images)",
                  title_justify="left", show_header=False, box=None)
    table.add_column(style="bold")
    table.add_column(justify="right")
    table.add_column(style="dim")
    table.add_row("prompt adherence", f"{h['adherence']:.3f}", "synthetic images CLIP reads as their class")
    if "zero_shot_real" in h:
        table.add_row("CLIP zero-shot, real", f"{h['zero_shot_real']:.3f}", "the same on the real set")
    if "synthetic_to_real" in h:
        table.add_row("synthetic→real", f"{h['synthetic_to_real']:.3f}", "real accuracy of a probe trained on synthetic")
    if "diversity_ratio" in h:
        table.add_row("diversity ratio", f"{h['diversity_ratio']:.3f}", "pairwise cosine distance, synthetic ÷ real")
    else:
        table.add_row("diversity", f"{h['diversity_synthetic']:.3f}", "mean pairwise cosine distance within a class")
    console.print(table)
    if "per_class_synthetic_to_real" in h:
        worst = sorted(h["per_class_synthetic_to_real"].items(), key=lambda kv: kv[1])[:3]
        console.print("weakest classes (synthetic→real): " + ", ".join(f"{k} {v:.2f}" for k, v in worst))
