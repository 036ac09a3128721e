"""ImageNet's WordNet ids and glosses, as timm ships them (``timm/data/_info``; read as files, so
torch is not imported).

``imagenet_synsets.txt`` lists the 1,000 ImageNet-1k WordNet ids (``n01440764`` …) in class-index
order, the order of open_clip's class names, line by line; ``imagenet_r_synsets.txt``,
``imagenet_a_synsets.txt`` and ``mini_imagenet_synsets.txt`` list the 200, 200 and 100 classes of
ImageNet-R, ImageNet-A and mini-ImageNet; ``imagenet_synset_to_definition.txt`` holds each
synset's gloss (``wnid<TAB>definition``) and ``imagenet_synset_to_lemma.txt`` its lemmas
(``wnid<TAB>lemma, lemma…``), for the 21,844 ImageNet-21k synsets (:mod:`synthdiv.senses`).
"""

from __future__ import annotations

import importlib.util
import re
from functools import lru_cache
from pathlib import Path

from synthdiv.errors import ClassSetError

WNID = re.compile(r"n\d{8}")
SUBSETS = {"imagenet-r": "imagenet_r_synsets.txt", "imagenet-a": "imagenet_a_synsets.txt",
           "mini-imagenet": "mini_imagenet_synsets.txt"}


def _info(name: str) -> Path:
    spec = importlib.util.find_spec("timm")
    if spec is None or not spec.submodule_search_locations:
        raise ClassSetError("the package timm is not installed (open_clip_torch installs it)",
                            "install synthdiv with its dependencies (see README.md)")
    return Path(next(iter(spec.submodule_search_locations))) / "data" / "_info" / name


@lru_cache(maxsize=8)
def lines(name: str) -> tuple[str, ...]:
    """The non-blank lines of one of timm's ``_info`` files, stripped."""
    return tuple(line.strip() for line in _info(name).read_text(encoding="utf-8").splitlines() if line.strip())


def imagenet_wnids() -> tuple[str, ...]:
    """The 1,000 ImageNet-1k WordNet ids in class-index order."""
    return lines("imagenet_synsets.txt")


def subset_wnids(name: str) -> tuple[str, ...]:
    """The WordNet ids of an ImageNet subset (``imagenet-r``, ``imagenet-a``, ``mini-imagenet``)."""
    return lines(SUBSETS[name])


@lru_cache(maxsize=1)
def definitions() -> dict[str, str]:
    """WordNet id → its gloss (the definition in WordNet)."""
    out = {}
    for line in lines("imagenet_synset_to_definition.txt"):
        wnid, _, gloss = line.partition("\t")
        out[wnid] = gloss.strip()
    return out


@lru_cache(maxsize=1)
def imagenet_label_of() -> dict[str, str]:
    """WordNet id → the ImageNet class label synthdiv gives it (``missile #2`` for the second)."""
    from synthdiv.classes import load_class_set

    labels = load_class_set("imagenet").labels
    wnids = imagenet_wnids()
    if len(wnids) != len(labels):
        raise ClassSetError(f"timm lists {len(wnids)} ImageNet synsets and open_clip {len(labels)} class names",
                            "reinstall timm and open_clip_torch")
    return dict(zip(wnids, labels, strict=True))


def first_lemmas(wnids: tuple[str, ...]) -> tuple[str, ...]:
    """Each synset's first lemma (WordNet's own name for it: both ImageNet cranes are "crane")."""
    first = {}
    for line in lines("imagenet_synset_to_lemma.txt"):
        wnid, _, names = line.partition("\t")
        first[wnid] = names.split(",")[0].strip()
    return tuple(first.get(w, w) for w in wnids)
