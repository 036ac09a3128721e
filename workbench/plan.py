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


PLAN_CAP = 2_000_000  # images in a plan above which synthdiv run asks for --yes


def size(cfg: ExperimentConfig) -> int:
    """How many images the plan holds, without expanding it."""
    if not cfg.overrides:
        return len(cfg.classes) * len(cfg.templates) * cfg.generation.images_per_prompt
    return sum(len(cfg.templates_for(label)) * cfg.images_per_prompt_for(label) for label, _ in cfg.classes)


def check_size(cfg: ExperimentConfig, yes: bool, how: str = "pass --yes to run it anyway") -> int:
    """The plan's size; a :class:`ConfigError` when it is over :data:`PLAN_CAP` and ``yes`` is not
    given (a typo of a few zeros must not start years of work, nor fill the disk with a queue)."""
    from synthdiv.errors import ConfigError

    n = size(cfg)
    if n > PLAN_CAP and not yes:
        raise ConfigError(
            f"the plan of {cfg.name!r} has {n:,} images ({len(cfg.classes):,} classes × {len(cfg.templates):,} "
            f"templates × {cfg.generation.images_per_prompt:,} per prompt"
            f"{', with the classes’ overrides' if cfg.overrides else ''}), more than {PLAN_CAP:,}",
            f"check classes, templates and images_per_prompt, or {how}")
    return n


def jobs_of(cfg: ExperimentConfig):
    """Every job (class label, template, seed), one at a time, in the order of :func:`expand`."""
    for label, _ in cfg.classes:
        for template in cfg.templates_for(label):
            for s in cfg.seeds_for(label, template):
                yield label, template, s


def prompts_and_classes(cfg: ExperimentConfig) -> list[tuple[str, str, str]]:
    """Every prompt (class label, template, prompt text): classes × their templates, small beside the jobs."""
    parsed = {t: parse_template(t, placeholder=False) for t in cfg.all_templates()}  # checked when read
    defined = dict(zip((c for c, _ in cfg.classes), cfg.definitions))
    return [(label, t, parsed[t].render(name, defined.get(label, ""))) for label, name in cfg.classes
            for t in cfg.templates_for(label)]


def expand(cfg: ExperimentConfig) -> Plan:
    """Every prompt and every job of the experiment, in class-major, template-minor order, as lists
    (for small plans and tests; :func:`jobs_of` gives the jobs one at a time)."""
    return Plan(list(cfg.classes), list(cfg.all_templates()), prompts_and_classes(cfg), list(jobs_of(cfg)))


def long_prompt_notes(cfg: ExperimentConfig) -> list[str]:
    """Warnings for prompts longer than the generation model's text encoder reads (it drops the
    rest without a word: templates that differ only after the cut make the same images)."""
    from synthdiv.prompts import too_long
    from synthdiv.sources import resolve_source

    source = resolve_source(cfg.generation.model, "generation.model", base_config=cfg.generation.base_config)
    tokenizer = source.tokenizer(cfg.generation.revision or None)
    if tokenizer is None:
        return []
    limit, long = too_long(tokenizer, (prompt for _, _, prompt in prompts_and_classes(cfg)))
    if not long:
        return []
    prompt, n = long[0]
    shown = prompt if len(prompt) <= 90 else prompt[:87] + "…"
    return [f"{len(long)} prompt{'s are' if len(long) > 1 else ' is'} longer than the text encoder of "
            f"{cfg.generation.model} reads ({limit} tokens): the longest, {shown!r}, has {n} tokens. The model "
            "sees only the first ones, so templates that differ after that make the same images; each image "
            "records its prompt's token count and the text the model saw. Shorten the templates to use every word."]
