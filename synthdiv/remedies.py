"""Remedies: for each of the four causes, the changes to a class's prompts or settings that may
close its synthetic→real gap, declared as data.

A :class:`Remedy` is a function from a :class:`Case` (the class, its four-causes evidence and the
base experiment's settings for it) to a :class:`Candidate`: an override of the class's own
settings (the keys of ``[classes.overrides]``: ``templates``, ``guidance``, ``negative_prompt``,
``images_per_prompt``) and, for a filtering remedy, a selection that keeps ``n`` of the images it
makes. ``synthdiv repair`` makes each candidate's images for the class alone (the same seeds where
the templates are the same), retrains the pixel classifier with the other classes' images
unchanged and measures the gain; a remedy is a hypothesis until then.

Which remedy answers which cause, and why (docs/repair.md gives the same with its sources):

- **ambiguity** (the name's other WordNet sense is drawn): name the sense. ``gloss`` appends the
  own sense's gloss to each template, the "name + definition" prompts of Sariyildiz et al. (2023,
  "Fake it till you make it", CVPR); ``lemma`` prompts with a lemma of the own sense that no other
  synset shares (WordNet synonyms: "crane" → "whooping crane" has siblings, a sibling-free one has
  none); ``negative-sense`` puts the confused sense (the first other sense the images are read as,
  else the first other sense) in the negative prompt, which classifier-free guidance steers away
  from (Ho & Salimans 2022).
- **adherence** (the images are not read as the class): ``guidance-up`` doubles the guidance
  scale, trading diversity for prompt fidelity (Ho & Salimans 2022; Sariyildiz et al. 2023 found
  lower scales train better, so this is tried, not assumed); ``judge-filter`` makes twice the
  images and keeps the ``n`` the real-trained judge (else CLIP) reads as the class, at equal n —
  filtering is a remedy too (He et al. 2023, "Is synthetic data from generative models ready for
  image recognition?", ICLR, filter by CLIP).
- **diversity** (the images are alike): ``guidance-down`` halves the guidance scale (Sariyildiz et
  al. 2023; Fan et al. 2024, "Scaling laws of synthetic images", CVPR: lower guidance, more
  diverse images); ``contexts`` mixes the class's templates with neutral backgrounds and
  viewpoints (:data:`CONTEXTS`), one image per (template, context) prompt at the same n, as
  Sariyildiz et al. (2023) vary backgrounds; ``more-seeds`` doubles the class's images (not at
  equal n: the gain it buys is data, and the report says so).
- **concept** (the model cannot draw it): no prompt remedy. :func:`plan` says so and points at the
  measured alternative, a real-image mix (``[train] runs = ["mix-1x"]``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from synthdiv import senses

# neutral backgrounds and viewpoints for the context mixture (synthdiv's own list, in the spirit of
# the backgrounds of Sariyildiz et al. 2023): none names an object class
CONTEXTS: tuple[str, ...] = (
    "on a plain white background", "on a wooden table", "outdoors", "indoors", "in bright daylight",
    "in dim light", "seen from above", "seen from the side", "close up", "from a distance",
    "in black and white", "slightly blurred",
)
GUIDANCE_FACTOR = 2.0  # guidance-up multiplies the scale by this; guidance-down divides by it
GUIDANCE_MAX = 30.0  # guidance-up stays at or below this
GUIDANCE_MIN = 1.0  # guidance-down stays at or above this (1: no classifier-free guidance at all)
FILTER_FACTOR = 2  # judge-filter makes this many images per image it keeps


@dataclass(frozen=True)
class Case:
    """One class to remedy: its label and prompt name, its evidence (the four-causes row: causes,
    gap, read_as, …) and how the base experiment makes its images."""

    label: str
    prompt_name: str
    evidence: dict
    templates: tuple[str, ...]
    guidance: float
    negative_prompt: str = ""
    images_per_prompt: int = 1
    wnid: str | None = None
    definition: str = ""

    @property
    def causes(self) -> tuple[str, ...]:
        text = self.evidence.get("causes") or ""
        return tuple(c.strip() for c in text.split(",") if c.strip() and c.strip() != "none")

    @property
    def n(self) -> int:
        """The images the base experiment makes of the class."""
        return len(self.templates) * self.images_per_prompt


@dataclass(frozen=True)
class Candidate:
    """What a remedy proposes for one class: ``override`` (``[classes.overrides]`` keys) and, for a
    filter, ``select`` (a :mod:`synthdiv.curation` selection) keeping ``keep`` of the images."""

    remedy: str
    cause: str
    override: dict
    what: str  # in words, for the plan and the report
    select: str = ""
    keep: int = 0  # images kept per class after the selection (0: all it makes)
    equal_n: bool = True  # whether the class trains on as many images as before

    def images(self, case: Case) -> int:
        """How many images the candidate makes of the class."""
        templates = self.override.get("templates", case.templates)
        return len(templates) * self.override.get("images_per_prompt", case.images_per_prompt)


@dataclass(frozen=True)
class Remedy:
    name: str
    cause: str
    what: str
    source: str
    make: Callable[[Case], Candidate | None] = field(repr=False)


def _stem(template: str) -> str:
    """A template without its closing full stop, for a phrase to follow it."""
    return template.rstrip().rstrip(".").rstrip()


def _literal(text: str) -> str:
    """Text as a template takes it literally (braces doubled)."""
    return text.replace("{", "{{").replace("}", "}}")


def _own_sense(case: Case) -> senses.ClassSenses:
    return senses.senses_of(case.prompt_name, case.wnid, case.definition or None)


def _gloss(case: Case) -> Candidate | None:
    found = _own_sense(case)
    gloss = case.definition or (found.own.gloss if found.own else "")
    if not gloss:
        return None
    templates = [f"{_stem(t)}, {_literal(gloss)}" for t in case.templates]
    return Candidate("gloss", "ambiguity", {"templates": templates}, f"each template + the sense's gloss: “{gloss}”")


def sibling_free_lemma(wnid: str) -> str | None:
    """A lemma of the synset ``wnid`` that no other ImageNet-21k synset shares, or None."""
    table = senses.by_lemma()
    for lemma in senses.lemmas().get(wnid, ()):
        if table.get(lemma.casefold(), ()) == (wnid,):
            return lemma
    return None


def _lemma(case: Case) -> Candidate | None:
    found = _own_sense(case)
    if found.own is None:
        return None
    lemma = sibling_free_lemma(found.own.wnid)
    if lemma is None or lemma.casefold() == case.prompt_name.casefold():
        return None
    return Candidate("lemma", "ambiguity", {"templates": [named(t, lemma) for t in case.templates]},
                     f"prompt the class as “{lemma}” (a name no other WordNet sense has)")


def named(template: str, name: str) -> str:
    """``template`` with its class placeholders replaced by ``name`` as literal text (a class's own
    template: ``{definition}`` stays a placeholder)."""
    from synthdiv.templates import DEFINITION, parse_template

    t = parse_template(template, placeholder=False)
    out = [_literal(t.pieces[0])]
    for f, piece in zip(t.fields, t.pieces[1:], strict=True):
        out += [DEFINITION if f == DEFINITION else _literal(name), _literal(piece)]
    return "".join(out)


def _confused_sense(case: Case, others: tuple[senses.Sense, ...]) -> senses.Sense | None:
    read = (case.evidence.get("read_as") or "").casefold()
    for s in others:
        if s.lemma.casefold() in read or s.wnid.casefold() in read:
            return s
    return others[0] if others else None


def _negative_sense(case: Case) -> Candidate | None:
    found = _own_sense(case)
    confused = _confused_sense(case, found.others)
    if confused is None:
        return None
    gloss = confused.gloss.split(";")[0].strip()
    text = f"{confused.lemma}, {gloss}" if gloss else confused.lemma
    negative = f"{case.negative_prompt}, {text}" if case.negative_prompt else text
    return Candidate("negative-sense", "ambiguity", {"negative_prompt": negative},
                     f"negative prompt: the confused sense “{text}”")


def _guidance_up(case: Case) -> Candidate | None:
    g = min(GUIDANCE_MAX, round(max(case.guidance, GUIDANCE_MIN) * GUIDANCE_FACTOR, 3))
    if g <= case.guidance:
        return None
    return Candidate("guidance-up", "adherence", {"guidance": g}, f"guidance {case.guidance:g} → {g:g}")


def _judge_filter(case: Case) -> Candidate | None:
    return Candidate("judge-filter", "adherence", {"images_per_prompt": case.images_per_prompt * FILTER_FACTOR},
                     f"make {FILTER_FACTOR}× the images, keep the {case.n} the judge reads as the class",
                     select="adherent", keep=case.n)


def _guidance_down(case: Case) -> Candidate | None:
    g = max(GUIDANCE_MIN, round(case.guidance / GUIDANCE_FACTOR, 3))
    if g >= case.guidance:
        return None
    return Candidate("guidance-down", "diversity", {"guidance": g}, f"guidance {case.guidance:g} → {g:g}")


def context_templates(templates: tuple[str, ...], n: int) -> list[str]:
    """``n`` distinct templates (one image each): the class's templates × :data:`CONTEXTS`,
    context-major so that every template gets the same number of contexts (± 1), or all of them
    when there are fewer than ``n``."""
    pairs = list(dict.fromkeys(f"{_stem(t)}, {c}" for c in CONTEXTS for t in templates))
    return pairs[:n]


def _contexts(case: Case) -> Candidate | None:
    templates = context_templates(case.templates, case.n)
    if len(templates) < case.n:
        return None  # too few (template, context) prompts for one image each at the same n
    return Candidate("contexts", "diversity", {"templates": templates, "images_per_prompt": 1},
                     f"{len(templates)} prompts: the templates × {min(len(CONTEXTS), -(-case.n // len(case.templates)))}"
                     " neutral backgrounds and viewpoints, one image each")


def _more_seeds(case: Case) -> Candidate | None:
    return Candidate("more-seeds", "diversity", {"images_per_prompt": case.images_per_prompt * 2},
                     f"twice the images ({case.n} → {2 * case.n}; not at equal n)", equal_n=False)


REMEDIES: tuple[Remedy, ...] = (
    Remedy("gloss", "ambiguity", "append the own sense's gloss to every template",
           "Sariyildiz et al. 2023 (name + definition prompts)", _gloss),
    Remedy("lemma", "ambiguity", "prompt with a lemma no other WordNet sense shares", "WordNet synonyms", _lemma),
    Remedy("negative-sense", "ambiguity", "name the confused sense in the negative prompt",
           "Ho & Salimans 2022 (classifier-free guidance steers from the negative prompt)", _negative_sense),
    Remedy("guidance-up", "adherence", f"guidance × {GUIDANCE_FACTOR:g}", "Ho & Salimans 2022", _guidance_up),
    Remedy("judge-filter", "adherence", f"make {FILTER_FACTOR}× the images, keep those the judge reads as the class"
           " (equal n)", "He et al. 2023 (CLIP filtering)", _judge_filter),
    Remedy("guidance-down", "diversity", f"guidance ÷ {GUIDANCE_FACTOR:g}",
           "Sariyildiz et al. 2023; Fan et al. 2024", _guidance_down),
    Remedy("contexts", "diversity", "templates × neutral backgrounds and viewpoints, one image each (equal n)",
           "Sariyildiz et al. 2023 (backgrounds)", _contexts),
    Remedy("more-seeds", "diversity", "twice the images (not at equal n)", "—", _more_seeds),
)
CONCEPT_NOTE = ("no prompt remedy: the model does not draw what the real images show. The measured alternative is"
                " a real-image mix: add \"mix-1x\" to [train] runs (real train images plus as many synthetic ones)")


def by_name(name: str) -> Remedy:
    for r in REMEDIES:
        if r.name == name:
            return r
    raise KeyError(name)


def for_cause(cause: str) -> tuple[Remedy, ...]:
    return tuple(r for r in REMEDIES if r.cause == cause)


@dataclass(frozen=True)
class Planned:
    """A class's remedies: the candidates to try, and what was said of the causes with none."""

    case: Case
    candidates: tuple[Candidate, ...]
    notes: tuple[str, ...]


def plan(case: Case, user: tuple[tuple[str, dict], ...] = (), only: tuple[str, ...] = ()) -> Planned:
    """The candidates for one class: every built-in remedy of each of its causes that applies
    (``only``: just these by name, whatever the causes), then the user's (``user``: (name,
    override) pairs; with ``only``, those it names), and the control first. A class with no cause
    named (a gap that crosses no threshold but concept) gets concept's note."""
    out, notes = _asked(case, only) if only else _for_causes(case)
    out += [Candidate(name, "yours", dict(override), "your remedy: " + ", ".join(f"{k} {v!r}" for k, v in override.items()))
            for name, override in user if not only or name in only]
    return Planned(case, tuple([control(), *out] if out else ()), tuple(notes))


def _asked(case: Case, only: tuple[str, ...]) -> tuple[list[Candidate], list[str]]:
    """The built-in remedies named, whatever the class's causes, and those that do not apply."""
    out = [c for r in REMEDIES if r.name in only if (c := r.make(case)) is not None]
    made = {c.remedy for c in out}
    return out, [f"{r.name}: does not apply to this class" for r in REMEDIES if r.name in only and r.name not in made]


def _for_causes(case: Case) -> tuple[list[Candidate], list[str]]:
    """Each of the class's causes' remedies that apply (one candidate per distinct change), and
    what was said of the causes with none."""
    out: list[Candidate] = []
    notes: list[str] = []
    for cause in case.causes or ("concept",):
        if cause == "concept":
            notes.append(CONCEPT_NOTE)
            continue
        made = [c for r in for_cause(cause) if (c := r.make(case)) is not None]
        if not made:
            notes.append(f"{cause}: no built-in remedy applies to this class")
        out += [c for c in made if all(c.override != o.override or c.select != o.select for o in out)]
    return out, notes


CONTROL = "control"


def control() -> Candidate:
    """The null remedy: the base's own settings again, so the same images (the same seeds), retrained.
    Its "gain" is what retraining alone moves (training is not bit-for-bit reproducible on every
    device): the noise floor the remedies' gains are read against. It never wins."""
    return Candidate(CONTROL, "—", {}, "the base's own images again, retrained: the noise floor")


def gain(before_correct, after_correct, seed: int = 0):
    """A remedy's gain on one class: the mean of ``after − before`` over the class's real test
    images (each 1 where the classifier trained with the base images, ``before``, or with the
    remedied ones, ``after``, gets the image right, else 0; the same images in the same order), with
    its paired percentile bootstrap interval (:func:`synthdiv.confidence.paired_difference`): the
    gap closes by this much, since the real→real side is the same. An interval above 0 is a gain."""
    from synthdiv import confidence

    return confidence.paired_difference(after_correct, before_correct, seed=seed)
