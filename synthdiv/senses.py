"""A class name's WordNet senses, and the open-set vocabulary the adherence and ambiguity measures read.

**Senses.** timm ships ``imagenet_synset_to_lemma.txt`` (each of the 21,844 ImageNet-21k WordNet
synsets with its lemmas, ``crane`` for both the bird n02012849 and the machine n03126707) and
``imagenet_synset_to_definition.txt`` (each one's gloss). A class's *own* sense is its WordNet id
where the class set gives one (the ImageNet sets), else the synset that one of its lemmas names,
chosen in this order: the one whose gloss is the class's definition, the single ImageNet-1k synset
among them, the first listed (``own_by`` says which rule chose it). Its *other senses* are every
other synset that shares a lemma with the own sense or with the class's name: the study's
ambiguity ("crane", "maillot", "cardigan" the dog and the sweater).

**Vocabulary.** Each sense is embedded as its first lemma plus its gloss (``a photo of a crane, large
long-necked wading bird …``), and every ImageNet-1k class as ``a photo of a {name}.`` with
open_clip's cleaned names. A class's open-set candidates are all 1,000 ImageNet-1k classes (its own
in place of the ImageNet class it is, if it is one), its own text where it is not one, and its other
senses: :func:`plan` lays them out as one text list and one boolean mask per class, so the analysis
scores every image against every candidate in one matrix product.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from synthdiv import wordnet
from synthdiv.classes import imagenet_classes

# how the own sense was found (ClassSenses.own_by)
BY_ID = "WordNet id"
BY_DEFINITION = "the class's definition"
BY_IMAGENET = "the ImageNet-1k sense"
BY_FIRST = "the first sense listed"


@dataclass(frozen=True)
class Sense:
    wnid: str
    lemma: str  # the first lemma
    gloss: str

    @property
    def text(self) -> str:
        """What the CLIP text tower embeds for this sense: its name and its gloss."""
        return f"a photo of a {self.lemma}, {self.gloss}" if self.gloss else f"a photo of a {self.lemma}."

    @property
    def label(self) -> str:
        return f"{self.lemma} ({self.wnid})"


@dataclass(frozen=True)
class ClassSenses:
    own: Sense | None  # None: no synset has the class's name as a lemma
    own_by: str | None
    others: tuple[Sense, ...]


@lru_cache(maxsize=1)
def lemmas() -> dict[str, tuple[str, ...]]:
    """WordNet id → its lemmas, for the 21,844 ImageNet-21k synsets."""
    out = {}
    for line in wordnet.lines("imagenet_synset_to_lemma.txt"):
        wnid, _, names = line.partition("\t")
        out[wnid] = tuple(n.strip() for n in names.split(",") if n.strip())
    return out


@lru_cache(maxsize=1)
def by_lemma() -> dict[str, tuple[str, ...]]:
    """A lemma (case-folded) → the synsets that have it, in the file's order."""
    out: dict[str, list[str]] = {}
    for wnid, names in lemmas().items():
        for name in names:
            ids = out.setdefault(name.casefold(), [])
            if wnid not in ids:
                ids.append(wnid)
    return {k: tuple(v) for k, v in out.items()}


def sense(wnid: str) -> Sense:
    names = lemmas().get(wnid, ())
    return Sense(wnid, names[0] if names else wnid, wordnet.definitions().get(wnid, ""))


def _name_keys(name: str) -> list[str]:
    key = name.casefold().strip()
    return list(dict.fromkeys((key, key.replace("_", " "), key.replace(" ", "_"))))


def _own(candidates: list[str], definition: str | None) -> tuple[str | None, str | None]:
    if not candidates:
        return None, None
    if definition:
        gloss = wordnet.definitions()
        hit = [w for w in candidates if gloss.get(w, "").casefold() == definition.strip().casefold()]
        if hit:
            return hit[0], BY_DEFINITION
    in_1k = set(wordnet.imagenet_wnids())
    one_k = [w for w in candidates if w in in_1k]
    if len(one_k) == 1:
        return one_k[0], BY_IMAGENET
    return candidates[0], BY_FIRST


def senses_of(name: str, wnid: str | None = None, definition: str | None = None) -> ClassSenses:
    """The own sense and the other senses of a class prompted as ``name`` (see the module docstring)."""
    table = by_lemma()
    named = [w for key in _name_keys(name) for w in table.get(key, ())]
    named = list(dict.fromkeys(named))
    own_id, own_by = (wnid, BY_ID) if wnid else _own(named, definition)
    shared = set(named)
    if own_id:
        for lemma in lemmas().get(own_id, ()):
            shared.update(table.get(lemma.casefold(), ()))
    others = tuple(sense(w) for w in sorted(shared) if w != own_id)
    return ClassSenses(sense(own_id) if own_id else None, own_by, others)


@lru_cache(maxsize=1)
def _imagenet_index() -> dict[str, int]:
    return {w: i for i, w in enumerate(wordnet.imagenet_wnids())}


@dataclass(frozen=True)
class Plan:
    """The open-set candidates of an experiment's classes, laid out for one matrix product.

    ``texts[j]`` is candidate j's text and ``labels[j]`` its name in tables; ``own[c]`` is the
    column of class c's own text; ``allowed[c, j]`` says whether j is one of class c's candidates;
    ``sense_columns[c]`` are the columns of class c's other senses (in ``senses[c].others`` order),
    ``own_sense_columns[c]`` that of its own sense's text: an image read as either own column is
    read as the class.
    """

    texts: tuple[str, ...]
    labels: tuple[str, ...]
    own: np.ndarray
    allowed: np.ndarray
    sense_columns: tuple[tuple[int, ...], ...]
    senses: tuple[ClassSenses, ...]
    own_sense_columns: tuple[int | None, ...]  # the column of each class's own sense text (None: no sense)


def plan(prompt_names: list[str], wnids: list[str | None] | None = None,
         definitions: list[str | None] | None = None) -> Plan:
    """The vocabulary of an experiment whose classes are prompted as ``prompt_names`` (with their
    WordNet ids and definitions where the class set knows them)."""
    n = len(prompt_names)
    wnids = list(wnids) if wnids is not None else [None] * n
    definitions = list(definitions) if definitions is not None else [None] * n
    names_1k = imagenet_classes()
    texts: list[str] = [f"a photo of a {name}." for name in names_1k]
    labels: list[str] = list(names_1k)
    column = {t: j for j, t in enumerate(texts)}

    def col(text: str, label: str) -> int:
        if text not in column:
            column[text] = len(texts)
            texts.append(text)
            labels.append(label)
        return column[text]

    by_name = {name.casefold(): i for i, name in enumerate(names_1k)}
    index, own, senses, sense_cols, own_sense_cols = _imagenet_index(), [], [], [], []
    for c, name in enumerate(prompt_names):
        wnid = wnids[c]
        if wnid is None and name.casefold() in by_name:  # a user's name that is an ImageNet-1k class
            wnid = wordnet.imagenet_wnids()[by_name[name.casefold()]]
        found = senses_of(name, wnid, definitions[c])
        senses.append(found)
        own.append(index[wnid] if wnid in index else col(f"a photo of a {name}.", name))
        sense_cols.append(tuple(col(s.text, s.label) for s in found.others))
        own_sense_cols.append(col(found.own.text, found.own.label) if found.own else None)
    allowed = np.zeros((n, len(texts)), bool)
    allowed[:, :len(names_1k)] = True
    in_1k = [index.get(w) for w in (s.own.wnid if s.own else None for s in senses)]
    for c in range(n):
        if wnids[c] is None and in_1k[c] is not None and own[c] != in_1k[c]:
            allowed[c, in_1k[c]] = False  # the own sense's ImageNet class stands for the class itself
        allowed[c, own[c]] = True
        allowed[c, list(sense_cols[c])] = True
        if own_sense_cols[c] is not None:  # its own sense's gloss reads as the class too
            allowed[c, own_sense_cols[c]] = True
    return Plan(tuple(texts), tuple(labels), np.array(own, int), allowed, tuple(sense_cols), tuple(senses),
                tuple(own_sense_cols))
