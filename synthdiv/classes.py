"""Class sets: ImageNet's 1000 names (as open_clip ships them), the ten digits, or a text file.

A class set is an ordered list of classes, each with a unique *label* (how synthdiv names the
class in tables, the store and configs) and the *name* that goes into prompts. They are equal
except where a set names two classes alike: ImageNet has two "missile" and two "sunglasses"
classes (an ambiguity the study is about); the second is labelled "missile #2" and is still
prompted as "missile". Order is stable: it fixes the row and column order of every per-class
table and matrix.
"""

from __future__ import annotations

import difflib
import importlib.util
from functools import lru_cache
from pathlib import Path
from dataclasses import dataclass
from types import ModuleType

from synthdiv.errors import ClassSetError
from synthdiv.text import NAME_LIMIT, check_text

DIGITS: tuple[str, ...] = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
)

BUILTIN_SETS = ("imagenet", "imagenet-raw", "imagenet-r", "imagenet-a", "mini-imagenet", "digits")


@dataclass(frozen=True)
class ClassSet:
    """An ordered class set: ``labels`` are unique; ``prompt_names[label]`` goes into prompts."""

    name: str
    labels: tuple[str, ...]
    prompt_names: dict[str, str]
    definitions: dict[str, str] | None = None  # label → definition ({definition} in templates), where known
    wnids: dict[str, str] | None = None  # label → WordNet id, where the set is ImageNet's

    @classmethod
    def from_names(cls, set_name: str, names: tuple[str, ...]) -> "ClassSet":
        """Label repeated names ``name #2``, ``name #3``… in order of appearance."""
        seen: dict[str, int] = {}
        labels, prompt_names = [], {}
        for name in names:
            seen[name] = seen.get(name, 0) + 1
            label = name if seen[name] == 1 else f"{name} #{seen[name]}"
            labels.append(label)
            prompt_names[label] = name
        return cls(set_name, tuple(labels), prompt_names)

    def __len__(self) -> int:
        return len(self.labels)


@lru_cache(maxsize=1)
def open_clip_metadata() -> ModuleType:
    """open_clip's ``zero_shot_metadata`` module, loaded without importing torch.

    The module is plain data (ImageNet class names and the OpenAI prompt templates); loading it
    by file keeps ``synthdiv classes`` and config validation fast.
    """
    spec = importlib.util.find_spec("open_clip")
    if spec is None or not spec.submodule_search_locations:
        raise ClassSetError(
            "the package open_clip_torch is not installed",
            "install synthdiv with its dependencies (see README.md)",
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "zero_shot_metadata.py"
    meta_spec = importlib.util.spec_from_file_location("_synthdiv_open_clip_metadata", path)
    module = importlib.util.module_from_spec(meta_spec)
    meta_spec.loader.exec_module(module)
    return module


def imagenet_classes() -> tuple[str, ...]:
    """The 1000 ImageNet class names in class-index order, as open_clip ships them."""
    return tuple(open_clip_metadata().IMAGENET_CLASSNAMES)


def read_class_file(path: str | Path, with_definitions: bool = False):
    """Class names from a UTF-8 text file: one per line; blank lines and ``#`` comments skipped.
    A line may hold a definition after a tab (``name<TAB>definition``, for ``{definition}`` in
    templates). ``with_definitions``: (names, definitions, "" where none) instead of the names."""
    path = Path(path).expanduser()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ClassSetError(
            f"class file {path} does not exist",
            "give imagenet, digits, or the path of a text file with one class name per line",
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ClassSetError(f"cannot read class file {path} ({exc})", "check the file") from None
    # split on newlines only: str.splitlines would also split at U+2028 and other separators,
    # cutting a name in two without a word; check_text refuses those characters instead
    names, glosses = [], []
    for number, line in enumerate(text.removeprefix("\ufeff").split("\n"), 1):
        raw, _, gloss = line.partition("\t")
        name = raw.strip(" \t\r")
        if name and not name.startswith("#"):
            names.append(check_text(name, f"the class name on line {number} of {path}", NAME_LIMIT, ClassSetError))
            gloss = gloss.strip(" \t\r")
            glosses.append(check_text(gloss, f"the definition on line {number} of {path}", 1000, ClassSetError)
                           if gloss else "")
    if not names:
        raise ClassSetError(f"class file {path} has no class names", "write one name per line")
    seen: set[str] = set()
    for name in names:
        key = name.casefold()
        if key in seen:
            raise ClassSetError(
                f"class file {path} names {name!r} twice", "keep each class name once"
            )
        seen.add(key)
    return (tuple(names), tuple(glosses)) if with_definitions else tuple(names)


def load_class_set(spec: str, base_dir: str | Path | None = None) -> ClassSet:
    """The class set ``"imagenet"``, ``"digits"``, or one read from a text file.

    A relative path is taken relative to ``base_dir`` (the config file's folder) when given.
    """
    key = spec.strip().lower()
    if key == "imagenet":
        from synthdiv import wordnet

        return _imagenet_set("imagenet", imagenet_classes())
    if key == "imagenet-raw":  # WordNet's first lemmas: "crane" twice, "cardigan", "maillot" twice
        from synthdiv import wordnet

        return _imagenet_set("imagenet-raw", wordnet.first_lemmas(wordnet.imagenet_wnids()))
    if key in ("imagenet-r", "imagenet-a", "mini-imagenet"):  # ImageNet subsets, labelled as in ImageNet
        from synthdiv import wordnet

        full, label_of = load_class_set("imagenet"), wordnet.imagenet_label_of()
        labels = tuple(label_of[w] for w in wordnet.subset_wnids(key))
        return ClassSet(key, labels, {lb: full.prompt_names[lb] for lb in labels},
                        {lb: full.definitions[lb] for lb in labels}, {lb: full.wnids[lb] for lb in labels})
    if key == "digits":
        return ClassSet.from_names("digits", DIGITS)
    path = Path(spec).expanduser()
    if not path.is_absolute() and base_dir is not None:
        path = Path(base_dir) / path
    if not path.exists() and "/" not in spec and "." not in spec:
        raise ClassSetError(
            f"unknown class set {spec!r}",
            f"use {', '.join(BUILTIN_SETS)}, or the path of a text file with one class name per line",
        )
    names, glosses = read_class_file(path, with_definitions=True)
    made = ClassSet.from_names(str(path), names)
    defined = {label: g for label, g in zip(made.labels, glosses, strict=True) if g}
    return ClassSet(made.name, made.labels, made.prompt_names, defined or None)


def _imagenet_set(name: str, names: tuple[str, ...]) -> ClassSet:
    """ImageNet-1k under ``names`` (in class-index order), with each class's WordNet id and gloss."""
    from synthdiv import wordnet

    made, ids, gloss = ClassSet.from_names(name, names), wordnet.imagenet_wnids(), wordnet.definitions()
    return ClassSet(made.name, made.labels, made.prompt_names,
                    {label: gloss.get(w, "") for label, w in zip(made.labels, ids, strict=True)},
                    dict(zip(made.labels, ids, strict=True)))


def select_classes(class_set: ClassSet, names: list[str] | None) -> tuple[str, ...]:
    """The labels of the chosen classes, in the order given; all of the set when ``names`` is None.

    Labels match exactly or ignoring case; an unknown one raises with the closest matches.
    """
    available, set_name = class_set.labels, class_set.name
    if names is None:
        return available
    by_fold = {name.casefold(): name for name in available}
    chosen: list[str] = []
    for name in names:
        found = name if name in available else by_fold.get(str(name).strip().casefold())
        if found is None:
            close = difflib.get_close_matches(str(name), available, n=3, cutoff=0.6)
            hint = f"did you mean {', '.join(repr(c) for c in close)}? " if close else ""
            raise ClassSetError(
                f"unknown class {name!r} in class set {set_name}",
                f"{hint}list the names with `synthdiv classes {set_name}`",
            )
        if found in chosen:
            raise ClassSetError(f"class {found!r} is chosen twice", "name each class once")
        chosen.append(found)
    if not chosen:
        raise ClassSetError("no classes chosen", "name at least one class, or leave names out")
    return tuple(chosen)
