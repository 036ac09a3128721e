"""Expanding an experiment into its plan: classes × templates → prompts, × seeds → jobs."""

from __future__ import annotations

from dataclasses import dataclass

from synthdiv.templates import parse_template
from workbench.config import ExperimentConfig


@dataclass(frozen=True)
class Plan:
    classes: list[tuple[str, str]]  # (label, name in prompts)
    templates: list[str]
    prompts: list[tuple[str, str, str]]  # (class label, template, prompt)
    jobs: list[tuple[str, str, int]]  # (class label, template, seed)


def expand(cfg: ExperimentConfig) -> Plan:
    """Every prompt and every job of the experiment, in class-major, template-minor order."""
    parsed = [parse_template(t) for t in cfg.templates]
    prompts, jobs = [], []
    for label, name in cfg.classes:
        for template in parsed:
            prompts.append((label, template.text, template.render(name)))
            jobs += [(label, template.text, s) for s in cfg.seeds_for(label, template.text)]
    return Plan(list(cfg.classes), list(cfg.templates), prompts, jobs)


def prompts_of(cfg: ExperimentConfig):
    """Every prompt text of the experiment, one at a time (class-major, template-minor)."""
    parsed = [parse_template(t) for t in cfg.templates]
    for _, name in cfg.classes:
        for template in parsed:
            yield template.render(name)


def long_prompt_notes(cfg: ExperimentConfig) -> list[str]:
    """Warnings for prompts longer than the generation model's text encoder reads (it drops the
    rest without a word: templates that differ only after the cut make the same images)."""
    from synthdiv.prompts import prompt_tokenizer, too_long
    from synthdiv.sources import resolve_source

    tokenizer = prompt_tokenizer(resolve_source(cfg.generation.model, "generation.model"),
                                 cfg.generation.revision or None)
    if tokenizer is None:
        return []
    limit, long = too_long(tokenizer, prompts_of(cfg))
    if not long:
        return []
    prompt, n = long[0]
    shown = prompt if len(prompt) <= 90 else prompt[:87] + "…"
    return [f"{len(long)} prompt{'s are' if len(long) > 1 else ' is'} longer than the text encoder of "
            f"{cfg.generation.model} reads ({limit} tokens): the longest, {shown!r}, has {n} tokens. The model "
            "sees only the first ones, so templates that differ after that make the same images; each image "
            "records its prompt's token count and the text the model saw. Shorten the templates to use every word."]
