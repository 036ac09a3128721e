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
