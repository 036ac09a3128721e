"""Prompt iteration for one class: try a new template on that class only, with a small batch,
and compare it with the templates it already has (diversity, adherence, CLIP score)."""

from __future__ import annotations

import dataclasses

import numpy as np

from store import embeddings, experiments
from store.core import Store
from synthdiv.analysis import compare_templates
from synthdiv.probe import class_text_vectors
from synthdiv.templates import parse_template
from workbench.config import ExperimentConfig

DEFAULT_BATCH = 8


def add_template(st: Store, experiment_id: int, cfg: ExperimentConfig, class_label: str, template: str,
                 n: int = DEFAULT_BATCH) -> int:
    """Queue ``n`` images of one class from ``template`` (checked like any template); other classes
    get no jobs from it. Seeds follow the experiment's seed rule. Returns how many jobs were new."""
    t = parse_template(template)
    prompt_name = dict(cfg.classes).get(class_label)
    if prompt_name is None:
        raise KeyError(class_label)
    if t.uses_definition and not cfg.definition_of(class_label):
        from synthdiv.errors import TemplateError

        raise TemplateError(f"the template {template[:60]!r} uses {{definition}}, and this experiment holds no definition"
                            f" of {class_label!r}", "add the template to the experiment's file (where the class set"
                            " gives definitions) and run it")
    small = dataclasses.replace(cfg, generation=dataclasses.replace(cfg.generation, images_per_prompt=int(n)))
    seeds = small.seeds_for(class_label, t.text)
    return experiments.register_plan(
        st, experiment_id, [(class_label, prompt_name)], [t.text],
        [(class_label, t.text, t.render(prompt_name, cfg.definition_of(class_label)))],
        [(class_label, t.text, s) for s in seeds])


def template_rows(st: Store, experiment_id: int, model: str, class_label: str) -> list[dict]:
    """Per template of the class: images embedded, diversity, adherence, CLIP score
    (:func:`synthdiv.analysis.compare_templates`); templates with no embedded image yet show n = 0."""
    classes = experiments.classes_of(st, experiment_id)
    index = {c["id"]: i for i, c in enumerate(classes)}
    class_pos = next((i for i, c in enumerate(classes) if c["name"] == class_label), None)
    if class_pos is None:
        raise KeyError(class_label)
    class_id = classes[class_pos]["id"]
    templates = experiments.templates_of(st, experiment_id)
    text_of = {t["id"]: t["text"] for t in templates}
    text_rows, text = embeddings.load(st, experiment_id, "text", model)
    img_rows, img = embeddings.load(st, experiment_id, "image", model, class_id)  # this class's only
    prompt_template = {p["id"]: p["template_id"] for p in experiments.prompts_of(st, experiment_id, class_id)}
    rows: list[dict] = []
    if img_rows and len(text_rows):
        vectors = class_text_vectors(text, np.array([index[r["class_id"]] for r in text_rows]), len(classes))
        prompt_vec = {r["id"]: text[i] for i, r in enumerate(text_rows)}
        have_prompts = all(r["prompt_id"] in prompt_vec for r in img_rows)
        rows = compare_templates(
            img, [text_of[prompt_template[r["prompt_id"]]] for r in img_rows],
            np.stack([prompt_vec[r["prompt_id"]] for r in img_rows]) if have_prompts else None,
            vectors, class_pos)
    seen = {r["template"] for r in rows}
    used = set(prompt_template.values())
    order = {t["text"]: k for k, t in enumerate(templates)}
    rows += [{"template": text_of[tid], "n": 0, "diversity": None, "adherence": None, "clip_score": None}
             for tid in used if text_of[tid] not in seen]
    return sorted(rows, key=lambda r: order[r["template"]])
