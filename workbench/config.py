"""Experiment configuration: a TOML file, checked in full before anything is written.

Every key is declared once in :mod:`synthdiv.settings` (type, default, range or choices, doc) and
checked here by one generic validator (:func:`checked`), then by small named cross-checks between
keys. ``docs/config.md`` documents them, its tables generated from the same declarations. Unknown keys are refused (a typo must not be
silently ignored). Paths in the file are relative to the file's folder; the stored form of a
config has them resolved, so workers and a later ``synthdiv open`` need no file at all.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10: the same parser, as a package (a declared dependency there)
    import tomli as tomllib

from synthdiv.classes import load_class_set, select_classes
from synthdiv.embed import check_embedder_available, resolve_embedder
from synthdiv.errors import ConfigError, SynthdivError
from synthdiv.devices import check_device, check_dtype
from synthdiv.pipelines import check_scheduler
from synthdiv.pipelines import check_supported
from synthdiv.settings import SECTIONS, Setting, default, section_settings, setting
from synthdiv.sources import PRESET_NOTE, check_hub_available, resolve_source
from synthdiv.templates import builtin_templates, parse_templates
from synthdiv.text import NAME_LIMIT, TEXT_LIMIT, check_text
from workbench.placement import AUTO, as_toml, check_devices

@dataclass(frozen=True)
class GenerationConfig:
    """The ``[generation]`` section (each key declared in :mod:`synthdiv.settings`)."""

    model: str = default("generation", "model")
    revision: str = default("generation", "revision")
    base_config: str = default("generation", "base_config")
    scheduler: str = default("generation", "scheduler")
    steps: int = default("generation", "steps")
    guidance: float = default("generation", "guidance")
    width: int = default("generation", "width")
    height: int = default("generation", "height")
    negative_prompt: str = default("generation", "negative_prompt")
    images_per_prompt: int = default("generation", "images_per_prompt")
    seed: int = default("generation", "seed")
    seeds: str = default("generation", "seeds")
    batch_size: int = default("generation", "batch_size")
    device: str = default("generation", "device")
    devices: str = default("generation", "devices")
    compile: bool = default("generation", "compile")
    dtype: str = default("generation", "dtype")


@dataclass(frozen=True)
class EmbeddingConfig:
    """The ``[embedding]`` section (each key declared in :mod:`synthdiv.settings`); ``image_models``
    resolved."""

    model: str = default("embedding", "model")
    pretrained: str = default("embedding", "pretrained")
    batch_size: int = default("embedding", "batch_size")
    device: str = default("embedding", "device")
    devices: str = default("embedding", "devices")
    dtype: str = default("embedding", "dtype")
    image_models: tuple[str, ...] = default("embedding", "image_models")


@dataclass(frozen=True)
class ClusterConfig:
    """The ``[cluster]`` section: where the generation and embedding models run. ``local`` (the
    default): worker processes on this machine's devices (``devices`` of each section). ``ray``:
    actors on a Ray cluster, fed by one process here that owns the store (:mod:`workbench.cluster`).
    How an experiment runs, not what it makes: changing it never changes an image."""

    engine: str = default("cluster", "engine")
    address: str = default("cluster", "address")
    actors: int = default("cluster", "actors")
    in_flight: int = default("cluster", "in_flight")
    shared_dir: str = default("cluster", "shared_dir")


@dataclass(frozen=True)
class ClassOverride:
    """One class's own settings (``[classes.overrides."LABEL"]``): each ``None`` (or empty
    ``templates``) where the class takes the experiment's. The keys are :data:`synthdiv.settings.PER_CLASS`."""

    templates: tuple[str, ...] = ()
    guidance: float | None = None
    negative_prompt: str | None = None
    images_per_prompt: int | None = None

    def table(self) -> dict[str, Any]:
        """The keys it sets, as the file writes them."""
        out: dict[str, Any] = {"templates": list(self.templates)} if self.templates else {}
        out.update({k: v for k, v in (("guidance", self.guidance), ("negative_prompt", self.negative_prompt),
                                      ("images_per_prompt", self.images_per_prompt)) if v is not None})
        return out

    def shaping(self) -> dict[str, Any]:
        """What it changes of how each image is made (not which images are made)."""
        return {k: v for k, v in (("guidance", self.guidance), ("negative_prompt", self.negative_prompt))
                if v is not None}


TRAIN_RUN = re.compile(r"mix-([1-9][0-9]?)x")  # real train images + K× as many synthetic ones
CURATED_RUN = re.compile(r"(random|clip|adherent|diverse)-([1-9][0-9]{0,5})")  # N synthetic a class, curated


@dataclass(frozen=True)
class TrainConfig:
    """The ``[train]`` section: image classifiers trained on the experiment's pixels
    (:mod:`synthdiv.classifier`) and tested on the real test split. No ``runs``: no training."""

    runs: tuple[str, ...] = default("train", "runs")
    model: str = default("train", "model")
    weights: str = default("train", "weights")
    epochs: int = default("train", "epochs")
    batch_size: int = default("train", "batch_size")
    lr: float = default("train", "lr")
    optimizer: str = default("train", "optimizer")
    weight_decay: float = default("train", "weight_decay")
    image_size: int = default("train", "image_size")
    crop_scale: float = default("train", "crop_scale")
    flip: bool = default("train", "flip")
    real_per_class: int = default("train", "real_per_class")
    seed: int = default("train", "seed")
    compile: bool = default("train", "compile")
    device: str = default("train", "device")
    devices: str = default("train", "devices")


def _train_from_stored(d: dict[str, Any] | None) -> TrainConfig:
    d = dict(d or {})
    d["runs"] = tuple(d.get("runs", ()))
    return TrainConfig(**d)


@dataclass(frozen=True)
class ExperimentConfig:
    """A checked experiment: class labels, templates, generation and embedding settings."""

    name: str
    class_set: str
    classes: tuple[tuple[str, str], ...]  # (label, name in prompts)
    templates: tuple[str, ...]
    generation: GenerationConfig = field(default_factory=GenerationConfig)
    embedding: EmbeddingConfig = field(default_factory=EmbeddingConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    cluster: ClusterConfig = field(default_factory=ClusterConfig)
    store: str = ""  # resolved store folder ("" when the file gives none)
    real: str = ""  # the real image set: "" (none), "digits", "digits-test", or a folder (resolved)
    real_mapping: str = ""  # a CSV of folder,class lines for a folder source (resolved)
    real_test_fraction: float = default("real", "test_fraction")  # share of a folder source's images in the test split
    real_split: str = ""  # a dataset source's splits (synthdiv.real_hf, synthdiv.real_wds)
    real_label_column: str = ""  # a dataset source's label column ("": label for hf:, cls for wds:)
    definitions: tuple[str, ...] = ()  # each class's definition, in class order, when a template uses {definition}
    overrides: tuple[tuple[str, ClassOverride], ...] = ()  # (class label, its own settings), in class order
    remedies: tuple[tuple[str, ClassOverride], ...] = ()  # [repair.remedies]: the user's remedies, by name
    repair_of: str = ""  # [repair] of: the experiment whose classes this one remakes (synthdiv repair)
    repair_keep: tuple[tuple[str, str, int], ...] = ()  # [repair] keep: (class label, selection, n kept)

    @property
    def trains(self) -> bool:
        """Whether the experiment has training runs: ``[train] runs``, or a repair's (``[repair] of``)."""
        return bool(self.train.runs or self.repair_of)

    def override_of(self, label: str) -> ClassOverride:
        """The class's own settings (an empty :class:`ClassOverride` when it has none)."""
        return dict(self.overrides).get(label, _NO_OVERRIDE)

    def templates_for(self, label: str) -> tuple[str, ...]:
        """The templates of one class's prompts: its own, else the experiment's."""
        return self.override_of(label).templates or self.templates

    def all_templates(self) -> tuple[str, ...]:
        """Every template some class uses: the experiment's, then the classes' own, each once."""
        shared = any(not self.override_of(label).templates for label, _ in self.classes)
        out = dict.fromkeys(self.templates if shared else ())
        for label, _ in self.classes:
            out.update(dict.fromkeys(self.templates_for(label)))
        return tuple(out)

    def images_per_prompt_for(self, label: str) -> int:
        n = self.override_of(label).images_per_prompt
        return self.generation.images_per_prompt if n is None else n

    def generation_for(self, label: str) -> "GenerationConfig":
        """The ``[generation]`` settings one class's images are made with (its overrides applied)."""
        o = self.override_of(label)
        if o == _NO_OVERRIDE:
            return self.generation
        from dataclasses import replace

        return replace(self.generation, **o.shaping(), images_per_prompt=self.images_per_prompt_for(label))

    def definition_of(self, label: str) -> str:
        """The class's definition for ``{definition}`` ("" when the experiment has none)."""
        return dict(zip((c for c, _ in self.classes), self.definitions)).get(label, "")

    def stored(self) -> dict[str, Any]:
        """The config as stored with the experiment (paths resolved; classes and templates listed)."""
        d = asdict(self)
        d["classes"] = [list(c) for c in self.classes]
        d["templates"] = list(self.templates)
        d["train"]["runs"] = list(self.train.runs)
        d["definitions"] = list(self.definitions)
        d["overrides"] = {label: o.table() for label, o in self.overrides}
        d["remedies"] = {name: o.table() for name, o in self.remedies}
        d["repair_keep"] = [list(k) for k in self.repair_keep]
        return d

    @classmethod
    def from_stored(cls, d: dict[str, Any]) -> "ExperimentConfig":
        return cls(
            name=d["name"],
            class_set=d["class_set"],
            classes=tuple(tuple(c) for c in d["classes"]),
            templates=tuple(d["templates"]),
            generation=GenerationConfig(**d["generation"]),
            embedding=EmbeddingConfig(**{**d["embedding"], "image_models": tuple(d["embedding"].get("image_models", ()))}),
            train=_train_from_stored(d.get("train")),
            cluster=ClusterConfig(**d.get("cluster", {})),
            store=d.get("store", ""),
            real=d.get("real", ""),
            real_mapping=d.get("real_mapping", ""),
            real_test_fraction=d.get("real_test_fraction", default("real", "test_fraction")),
            real_split=d.get("real_split", ""),
            real_label_column=d.get("real_label_column", ""),
            definitions=tuple(d.get("definitions", ())),
            overrides=tuple((label, _override_from(o)) for label, o in d.get("overrides", {}).items()),
            remedies=tuple((name, _override_from(o)) for name, o in d.get("remedies", {}).items()),
            repair_of=d.get("repair_of", ""),
            repair_keep=tuple((k[0], k[1], int(k[2])) for k in d.get("repair_keep", ())),
        )

    def settings(self) -> dict[str, Any]:
        """What shapes every image: fixed for the life of an experiment in a store."""
        g = self.generation
        return {
            "generation": {
                "model": g.model, "revision": g.revision, "scheduler": g.scheduler, "steps": g.steps,
                "guidance": g.guidance, "width": g.width, "height": g.height,
                "negative_prompt": g.negative_prompt, "seeds": g.seeds,
                # a single file's base shapes its images (scheduler, configs); absent otherwise, so the
                # settings of experiments stored before it existed are unchanged
                **({"base_config": g.base_config} if g.base_config else {}),
            },
            # the classes made otherwise (absent without overrides, so older experiments' settings stay)
            **({"classes": shaping} if (shaping := {label: o.shaping() for label, o in self.overrides if o.shaping()})
               else {}),
        }

    def notes(self) -> list[str]:
        """Warnings the user should see (e.g. that a preset's numbers mean nothing)."""
        out = []
        for model in {self.generation.model, self.embedding.model}:
            if model in PRESET_NOTE:
                out.append(PRESET_NOTE[model])
        return out

    def seeds_for(self, class_label: str, template: str) -> list[int]:
        """The seeds of one prompt's images.

        ``shared``: seed, seed+1, … for every prompt (paired comparisons across prompts).
        ``distinct`` (default): each (class, template, i) gets its own seed from a hash, so no two
        prompts share starting noise and adding classes or templates never changes old seeds.
        """
        g, n = self.generation, self.images_per_prompt_for(class_label)
        if g.seeds == "shared":
            return [g.seed + i for i in range(n)]
        out = []
        for i in range(n):
            key = f"{g.seed}\0{class_label}\0{template}\0{i}".encode()
            out.append(int.from_bytes(hashlib.sha256(key).digest()[:4], "big") & 0x7FFFFFFF)
        return out


_NO_OVERRIDE = ClassOverride()


def _override_from(d: dict[str, Any]) -> ClassOverride:
    return ClassOverride(templates=tuple(d.get("templates", ())), guidance=d.get("guidance"),
                         negative_prompt=d.get("negative_prompt"), images_per_prompt=d.get("images_per_prompt"))


# --- the generic validator: every key checked by its declaration (synthdiv.settings) --------------

_KNOWN = {section: {s.key for s in section_settings(section)} for section in SECTIONS}
_KNOWN[""] |= set(SECTIONS[1:]) | {"sweep"}
_PYTHON = {"string": str, "int": int, "number": float, "bool": bool}


def _check_keys(table: dict, section: str, where: str) -> None:
    known = _KNOWN[section]
    for key in table:
        if key not in known:
            full = f"{section}.{key}" if section else key
            raise ConfigError(
                f"{where}: unknown key {full!r}",
                f"known keys{' in [' + section + ']' if section else ''}: {', '.join(sorted(known))} "
                "(see docs/config.md)",
            )


def _typed(s: Setting, value: Any, where: str) -> Any:
    """``value`` as the declared kind (an int is taken as a number), or the error naming the key."""
    if s.kind == "strings":
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{where}: {s.name} must be a list of strings", f"e.g. {s.example}")
        return list(value)
    kind = _PYTHON[s.kind]
    ok = isinstance(value, kind) and not (kind in (int, float) and isinstance(value, bool))
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value, ok = float(value), True
    if not ok:
        raise ConfigError(
            f"{where}: {s.name} must be {'a number' if kind is float else kind.__name__}, not {value!r}",
            "fix the value (see docs/config.md)",
        )
    return value


def checked(table: dict, section: str, key: str, where: str, prepare=None) -> Any:
    """``[section] key`` of ``table`` (its default when absent), of its declared type, in its
    declared range and among its choices. ``prepare``: a normalisation applied before the range
    and choices are checked (``str.lower`` for a case-blind choice)."""
    s = setting(section, key)
    value = _typed(s, table.get(key, s.default), where)
    if prepare is not None:
        value = prepare(value)
    why = s.problem(value)
    if why == "multiple":
        raise ConfigError(f"{where}: {s.name} is {value}", f"use a multiple of {s.multiple_of}")
    if why:
        raise ConfigError(f"{where}: {s.name} is {value!r}" if s.choices else f"{where}: {s.name} is {value}", s.fix())
    return value


def checked_section(table: dict, section: str, where: str, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """Every declared key of a section (but ``skip``, checked by their own rules), by :func:`checked`."""
    return {s.key: checked(table, section, s.key, where) for s in section_settings(section) if s.key not in skip}


# --- the config, section by section, with the cross-checks between keys ---------------------------

def parse_config(data: dict[str, Any], where: str, base_dir: Path) -> ExperimentConfig:
    """Check a config table (as read from TOML) and return the experiment it describes."""
    _check_keys(data, "", where)
    if "sweep" in data:
        raise ConfigError(f"{where}: a sweep is not allowed here", "run a sweep file with synthdiv run")
    name = _parse_name(data.get("name"), where)
    tables = _sections(data, where)
    class_set, labels = _parse_classes(tables["classes"], where, base_dir)
    templates = _parse_templates(tables["templates"], where)
    generation = _parse_generation(tables["generation"], where, base_dir)
    embedding = _parse_embedding(tables["embedding"], where, base_dir)
    store = _parse_store(data.get("store", ""), where, base_dir)
    real, source = _parse_real(tables["real"], where, base_dir, class_set, labels)
    overrides = _parse_overrides(tables["classes"].get("overrides", {}), where, class_set, labels, generation, base_dir)
    own = dict(overrides)
    per_class = min(len(own[label].templates if label in own and own[label].templates else templates)
                    * (own[label].images_per_prompt if label in own and own[label].images_per_prompt is not None
                       else generation.images_per_prompt) for label in labels)
    every_template = list(templates) + [t for o in own.values() if o.templates for t in parse_templates(list(o.templates), placeholder=False)]
    repair = _parse_repair(tables["repair"], where, labels, generation, base_dir)
    return ExperimentConfig(
        name=name,
        overrides=overrides,
        **repair,
        definitions=_definitions(every_template, class_set, labels, where),
        train=_parse_train(tables["train"], where, base_dir, source, per_class),
        cluster=_parse_cluster(tables["cluster"], where, base_dir),
        **real,
        class_set=class_set.name,
        classes=tuple((label, class_set.prompt_names[label]) for label in labels),
        templates=tuple(t.text for t in templates),
        generation=generation,
        embedding=embedding,
        store=store,
    )


def _parse_name(name: Any, where: str) -> str:
    if name is not None and not isinstance(name, str):
        raise ConfigError(f"{where}: name must be a string, not {name!r}", f'write it in quotes: name = "{name}"')
    if not name or not name.strip():
        raise ConfigError(f"{where}: name is missing", 'add a line such as name = "my-experiment" at the top')
    return check_text(name.strip(), f"{where}: name", NAME_LIMIT, ConfigError)


def _sections(data: dict[str, Any], where: str) -> dict[str, dict]:
    """Each section's table (empty when absent), its keys checked."""
    out = {}
    for section in SECTIONS[1:]:
        table = data.get(section, {})
        if not isinstance(table, dict):
            raise ConfigError(f"{where}: {section} must be a table", f"write it as [{section}]")
        _check_keys(table, section, where)
        out[section] = table
    return out


def _parse_classes(t: dict, where: str, base_dir: Path):
    """The class set and the labels chosen from it, in the experiment's order."""
    class_set = load_class_set(checked(t, "classes", "set", where), base_dir)
    names = t.get("names")
    if names is not None:
        names = checked(t, "classes", "names", where)
    for n in names or []:
        check_text(n, f"{where}: the class name {n[:40]!r} in classes.names", NAME_LIMIT, ConfigError)
    return class_set, select_classes(class_set, names)


def _parse_overrides(table: Any, where: str, class_set, labels: list[str], generation: "GenerationConfig",
                     base_dir: Path) -> tuple[tuple[str, ClassOverride], ...]:
    """``[classes.overrides]``: each class's own settings, checked by the declarations of the keys
    they stand in for (:data:`synthdiv.settings.PER_CLASS`), in the experiment's class order."""
    if not isinstance(table, dict) or not all(isinstance(v, dict) for v in table.values()):
        raise ConfigError(f"{where}: classes.overrides must be a table of per-class tables",
                          '[classes.overrides."crane bird"] then guidance = 3.0 on the next line')
    found: dict[str, ClassOverride] = {}
    for key, o in table.items():
        label = _override_label(key, where, class_set, labels)
        here = f"{where}: classes.overrides.{json.dumps(key, ensure_ascii=False)}"
        if label in found:
            raise ConfigError(f"{here} names class {label!r} a second time", "give each class one override table")
        found[label] = _override(o, here, generation, base_dir)
    return tuple((label, found[label]) for label in labels if label in found)


def _override(o: dict, here: str, generation: "GenerationConfig", base_dir: Path) -> ClassOverride:
    """One table of per-class keys, each checked by the declaration it stands in for."""
    from synthdiv.settings import PER_CLASS

    for k in o:
        if k not in PER_CLASS:
            shapes = next((f"{sec}.{k}" for sec in ("generation", "embedding", "templates")
                           if k in _KNOWN[sec]), "")
            raise ConfigError(f"{here}: {shapes or repr(k)} " + ("cannot be set per class: it shapes every image of"
                              " the experiment" if shapes else "is not a per-class key"),
                              f"a class may set {', '.join(PER_CLASS)}; for another {k} make another experiment"
                              " (a [sweep] varies it)" if shapes else f"a class may set {', '.join(PER_CLASS)}")
    own = {k: checked({PER_CLASS[k][1]: v}, *PER_CLASS[k], here) for k, v in o.items()}
    if "templates" in own:
        if not own["templates"]:
            raise ConfigError(f"{here}: templates is empty", "list the class's templates, or leave the key out")
        own["templates"] = tuple(t.text for t in parse_templates(own["templates"], placeholder=False))
    if "negative_prompt" in own:
        check_text(own["negative_prompt"], f"{here}: negative_prompt", TEXT_LIMIT, ConfigError)
        family = resolve_source(generation.model, "generation.model", base_dir,
                                generation.base_config).family(generation.revision or None, "generation.model")
        if family is not None:
            check_supported(family, scheduler=generation.scheduler, negative_prompt=own["negative_prompt"],
                            what=here)
    return ClassOverride(**own)


def _parse_repair(t: dict, where: str, labels: list[str], generation, base_dir: Path) -> dict[str, Any]:
    """``[repair]``: the user's remedies (each checked as a class override is), and what an
    experiment made by ``synthdiv repair`` remakes."""
    from synthdiv.curation import SELECTIONS

    table = t.get("remedies", {})
    if not isinstance(table, dict) or not all(isinstance(v, dict) for v in table.values()):
        raise ConfigError(f"{where}: repair.remedies must be a table of named remedies",
                          "[repair.remedies.sketch] then templates = [\"a sketch of a {}\"] on the next line")
    remedies = []
    for name, o in table.items():
        if not o:
            raise ConfigError(f"{where}: repair.remedies.{name} changes nothing", "give it one of the per-class keys")
        remedies.append((check_text(name, f"{where}: a remedy's name", NAME_LIMIT, ConfigError),
                         _override(o, f"{where}: repair.remedies.{json.dumps(name, ensure_ascii=False)}", generation,
                                   base_dir)))
    of = checked(t, "repair", "of", where).strip()
    keep = []
    for entry in checked(t, "repair", "keep", where):
        label, _, rest = entry.rpartition(":")
        label, _, how = label.rpartition(":")
        if not label or how not in SELECTIONS or not rest.isdigit() or int(rest) < 1:
            raise ConfigError(f"{where}: repair.keep has {entry[:60]!r}",
                              f'write "CLASS:SELECTION:N" with SELECTION one of {", ".join(SELECTIONS)} and N ≥ 1')
        if label not in labels:
            raise ConfigError(f"{where}: repair.keep names {label[:60]!r}, which is not a class of this experiment",
                              "name one of the experiment's classes")
        keep.append((label, how, int(rest)))
    if keep and not of:
        raise ConfigError(f"{where}: repair.keep is set without repair.of", "set repair.of, or leave keep out")
    return {"remedies": tuple(remedies), "repair_of": of, "repair_keep": tuple(keep)}


def _override_label(key: str, where: str, class_set, labels: list[str]) -> str:
    """The experiment's class an override table is keyed by (matched as classes.names are)."""
    try:
        label = select_classes(class_set, [key])[0]
    except SynthdivError:
        label = None
    if label not in labels:
        shown = ", ".join(labels[:8]) + (" …" if len(labels) > 8 else "")
        raise ConfigError(f"{where}: classes.overrides names {key[:60]!r}, which is not a class of this experiment",
                          f"key each override by one of the experiment's classes ({shown})")
    return label


def _parse_templates(t: dict, where: str):
    texts: list[str] = []
    if checked(t, "templates", "builtin", where):
        texts += builtin_templates()
    texts += checked(t, "templates", "custom", where)
    if not texts:
        raise ConfigError(
            f"{where}: no prompt templates", 'set templates.builtin = true or list templates.custom = ["a photo of a {}."]'
        )
    return parse_templates(texts)


def _parse_generation(t: dict, where: str, base_dir: Path) -> GenerationConfig:
    g = checked_section(t, "generation", where, skip=("devices",))
    source = resolve_source(g["model"], f"{where}: generation.model", base_dir, g["base_config"])
    check_hub_available(source, "generation.model", g["revision"] or None)
    if g["base_config"] and source.kind != "file":
        raise ConfigError(f"{where}: generation.base_config is set, but generation.model is not a single-file"
                          " checkpoint (.safetensors), so it would not be used",
                          "remove generation.base_config, or point generation.model at the .safetensors file")
    g["model"], g["base_config"] = source.ref, source.base
    check_scheduler(g["scheduler"])
    check_dtype(g["dtype"], f"{where}: generation.dtype")
    check_text(g["negative_prompt"], f"{where}: generation.negative_prompt", TEXT_LIMIT, ConfigError)
    _check_family(source, g, where)
    g["device"] = check_device(g["device"], f"{where}: generation.device")
    g["devices"] = check_devices(t.get("devices", AUTO), g["device"], f"{where}: generation.devices")
    return GenerationConfig(**g)


def _check_family(source, g: dict[str, Any], where: str) -> None:
    """The model's family takes the scheduler and the negative prompt asked for (a hub model not
    in the cache yet is checked when it loads)."""
    family = source.family(g["revision"] or None, f"{where}: generation.model")
    if family is not None:
        check_supported(family, scheduler=g["scheduler"], negative_prompt=g["negative_prompt"],
                        what=f"{where}: generation")


def _parse_embedding(t: dict, where: str, base_dir: Path) -> EmbeddingConfig:
    emb = checked_section(t, "embedding", where, skip=("devices", "image_models"))
    emb["image_models"] = _image_models(t.get("image_models", []), where, base_dir)
    spec = resolve_embedder(emb["model"], emb["pretrained"], base_dir)
    check_embedder_available(spec, f"{where}: embedding.model")
    emb["model"], emb["pretrained"] = spec.model, spec.pretrained
    check_dtype(emb["dtype"], f"{where}: embedding.dtype")
    emb["device"] = check_device(emb["device"], f"{where}: embedding.device")
    emb["devices"] = check_devices(t.get("devices", AUTO), emb["device"], f"{where}: embedding.devices")
    return EmbeddingConfig(**emb)


def _parse_store(store: Any, where: str, base_dir: Path) -> str:
    if not isinstance(store, str):
        raise ConfigError(f"{where}: store must be a folder path", 'e.g. store = "runs/tiny"')
    if not store:
        return ""
    p = Path(store).expanduser()
    return os.path.normpath(p if p.is_absolute() else (base_dir / p))  # "runs/../x" as "x" (a recipe's "..")


def _parse_real(t: dict, where: str, base_dir: Path, class_set, labels) -> tuple[dict[str, Any], Any]:
    """The ``[real]`` section as ExperimentConfig's fields, and its checked source (None: none)."""
    r = {key: value.strip() if isinstance(value, str) else value
         for key, value in checked_section(t, "real", where).items()}
    from synthdiv.real import real_source

    source = real_source(r["source"], r["mapping"], r["test_fraction"], base_dir, known=class_set.labels,
                         split=r["split"], label_column=r["label_column"])
    if source is not None:
        r["source"], r["mapping"] = source.spec, source.mapping  # a folder's paths resolved
        source.check({label: class_set.prompt_names[label] for label in labels}, where)
    fields = {"real": r["source"], "real_mapping": r["mapping"], "real_test_fraction": r["test_fraction"],
              "real_split": r["split"], "real_label_column": r["label_column"]}
    return fields, source


def _definitions(templates, class_set, labels, where: str) -> tuple[str, ...]:
    """Each class's definition, when a template uses ``{definition}`` (every class must have one)."""
    if not any(t.uses_definition for t in templates):
        return ()
    known = class_set.definitions or {}
    missing = [label for label in labels if not known.get(label)]
    if missing:
        raise ConfigError(f"{where}: a template uses {{definition}}, and class {missing[0]!r} has no definition",
                          "use an ImageNet class set (WordNet glosses), or give the class file a second column"
                          " after a tab: name<TAB>definition")
    return tuple(known[label] for label in labels)


def _parse_cluster(t: dict, where: str, base_dir: Path) -> ClusterConfig:
    c = checked_section(t, "cluster", where, skip=("engine",))
    c["engine"] = checked(t, "cluster", "engine", where, prepare=lambda v: v.strip().lower())
    c["address"] = check_address(c["address"], f"{where}: cluster.address")
    if c["shared_dir"].strip():
        p = Path(c["shared_dir"].strip()).expanduser()
        c["shared_dir"] = str(p if p.is_absolute() else (base_dir / p))
    return ClusterConfig(**c)


def check_address(value: str, what: str) -> str:
    """A Ray cluster address as ``cluster.address`` or ``--ray`` take it: ``auto``, ``local``,
    ``HOST:PORT`` (the GCS port ``ray start --head`` prints) or ``ray://HOST:PORT`` (Ray Client)."""
    text = value.strip()
    if text.lower() in ("auto", "local", ""):
        return text.lower() or "auto"
    body = text.removeprefix("ray://")
    host, _, port = body.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536 or any(ch.isspace() for ch in body):
        raise ConfigError(f"{what} is {value!r}", 'use "auto", "local", HOST:PORT (e.g. "10.0.0.1:6379") or'
                          ' ray://HOST:10001')
    return text


def _image_models(value, where: str, base_dir: Path) -> tuple[str, ...]:
    """``[embedding] image_models``: each entry checked (synthdiv.image_encoders), stored resolved."""
    from synthdiv.image_encoders import resolve_image_encoder

    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: embedding.image_models must be a list of strings",
                          'e.g. image_models = ["hf-hub:timm/vit_small_patch14_dinov2.lvd142m"]')
    out = []
    for text in value:
        spec = resolve_image_encoder(text, base_dir, f"{where}: embedding.image_models")
        resolved = spec.ref if spec.kind == "local-dir" else "hf-hub:" + spec.ref
        if resolved in out:
            raise ConfigError(f"{where}: embedding.image_models lists {text} twice", "list each encoder once")
        out.append(resolved)
    return tuple(out)


def _parse_train(t: dict, where: str, base_dir: Path, source, synthetic_per_class: int) -> TrainConfig:
    """The checked ``[train]`` section; ``synthetic_per_class``: the images the plan makes per class."""
    tr = checked_section(t, "train", where, skip=("devices",))
    runs = tr.pop("runs")
    _check_runs(runs, source, where)
    from synthdiv.classifier import check_model

    check_model(tr["model"], "train.model")
    if tr["weights"]:
        tr["weights"] = _weights_file(tr["weights"], base_dir, where)
    _check_mixes(runs, tr["real_per_class"] or synthetic_per_class, synthetic_per_class, where)
    for r in runs:
        m = CURATED_RUN.fullmatch(r)
        if m and int(m.group(2)) > synthetic_per_class:
            raise ConfigError(f"{where}: train.runs {r!r} keeps {m.group(2)} synthetic images per class, and the plan"
                              f" makes {synthetic_per_class}", f"keep at most {synthetic_per_class}, or make more images")
    tr["device"] = check_device(tr["device"], f"{where}: train.device")
    tr["devices"] = check_devices(t.get("devices", AUTO), tr["device"], f"{where}: train.devices")
    return TrainConfig(runs=tuple(runs), **tr)


def _check_runs(runs: list[str], source, where: str) -> None:
    """Each run is one synthdiv trains, listed once, with the real images it needs."""
    for i, r in enumerate(runs):
        if r not in ("synthetic", "real") and not TRAIN_RUN.fullmatch(r) and not CURATED_RUN.fullmatch(r):
            raise ConfigError(f"{where}: train.runs has {r[:40]!r}",
                              'use "synthetic" (train on synthetic, test on real), "real" (the real→real ceiling),'
                              ' "mix-Kx" (real train images plus K× as many synthetic ones, K from 1 to 99) or'
                              ' "SELECTION-N" (N synthetic images a class chosen by random, clip, adherent or diverse)')
        if r.startswith("adherent-") and "real" not in runs[:i]:
            raise ConfigError(f"{where}: train.runs {r!r} keeps the images the real run reads as their class",
                              f'list "real" before {r!r}')
    if len(set(runs)) != len(runs):
        raise ConfigError(f"{where}: train.runs lists a run twice", "list each run once")
    if runs and source is None:
        raise ConfigError(f"{where}: train.runs needs real images to test on", "set [real] source")
    if source is not None and "train" not in source.splits and any(r != "synthetic" for r in runs):
        raise ConfigError(f"{where}: train.runs {[r for r in runs if r != 'synthetic'][0]!r} needs real train images,"
                          f" and real.source {source.spec} has none", 'use real.source = "digits", or runs = ["synthetic"]')


def _weights_file(text: str, base_dir: Path, where: str) -> str:
    w = Path(text).expanduser()
    w = (w if w.is_absolute() else base_dir / w).resolve()
    if w.suffix != ".safetensors" or not w.is_file():
        raise ConfigError(f"{where}: train.weights {w} is not a .safetensors file",
                          "give the path of a local .safetensors weights file (pickled .pt/.pth files are never loaded)")
    return str(w)


def _check_mixes(runs: list[str], real_n: int, synthetic_per_class: int, where: str) -> None:
    """A ``mix-Kx`` run needs K × ``real_n`` synthetic images per class."""
    for r in runs:
        m = TRAIN_RUN.fullmatch(r)
        if m and int(m.group(1)) * real_n > synthetic_per_class:
            raise ConfigError(
                f"{where}: train.runs {r!r} needs {int(m.group(1))} × {real_n} = {int(m.group(1)) * real_n} synthetic"
                f" images per class, and the plan makes {synthetic_per_class}",
                f"set train.real_per_class to at most {synthetic_per_class // int(m.group(1))}, or make more images")


def to_table(cfg: ExperimentConfig) -> dict[str, Any]:
    """The config table (as TOML or the setup screen holds it) of a checked experiment: every key
    of docs/config.md, so that ``parse_config(to_table(cfg))`` gives ``cfg`` back. The one way back
    from an experiment to a file: ``experiment.toml``, the setup screen and the stored config use it."""
    from dataclasses import asdict

    data: dict[str, Any] = {
        "name": cfg.name,
        "classes": {"set": cfg.class_set, "names": [label for label, _ in cfg.classes],
                    **({"overrides": {label: o.table() for label, o in cfg.overrides}} if cfg.overrides else {})},
        "templates": {"builtin": False, "custom": list(cfg.templates)},
        "generation": {**asdict(cfg.generation), "devices": as_toml(cfg.generation.devices)},
        "embedding": {**asdict(cfg.embedding), "devices": as_toml(cfg.embedding.devices),
                      "image_models": list(cfg.embedding.image_models)},
    }
    if cfg.train.runs:
        data["train"] = {**asdict(cfg.train), "runs": list(cfg.train.runs), "devices": as_toml(cfg.train.devices)}
    if cfg.cluster != ClusterConfig():
        data["cluster"] = asdict(cfg.cluster)
    if cfg.repair_of or cfg.repair_keep or cfg.remedies:
        data["repair"] = {"of": cfg.repair_of, "keep": [f"{label}:{how}:{n}" for label, how, n in cfg.repair_keep],
                          "remedies": {name: o.table() for name, o in cfg.remedies}}
    if cfg.store:
        data["store"] = cfg.store
    if cfg.real:
        data["real"] = {"source": cfg.real, "mapping": cfg.real_mapping, "test_fraction": cfg.real_test_fraction,
                        "split": cfg.real_split, "label_column": cfg.real_label_column}
    return data


def from_experiment(exp: dict[str, Any]) -> ExperimentConfig:
    """The config an experiment row of the store (``store.experiments.get``) was recorded with."""
    return ExperimentConfig.from_stored(json.loads(exp["config"]))


def load_config(path: str | Path) -> ExperimentConfig:
    """Read and check an experiment TOML file (of one experiment: a sweep gives several, see
    :func:`load_configs`)."""
    configs = load_configs(path)
    if len(configs) != 1:
        raise ConfigError(f"{path} is a sweep of {len(configs)} experiments", "run it with synthdiv run")
    return configs[0]


def load_configs(path: str | Path) -> list[ExperimentConfig]:
    """Read and check an experiment TOML file: its experiment, or every experiment of its sweep
    (:mod:`workbench.sweep`), each checked in full before any is run."""
    from workbench.sweep import expand
    path = Path(path).expanduser()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))  # a byte-order mark (Windows editors) is fine
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist", "give the path of an experiment .toml file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path} ({exc})", "check the file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML ({exc})", "fix the syntax at that line") from None
    if "sweep" in data and not isinstance(data.get("name"), str):
        parse_config({k: v for k, v in data.items() if k != "sweep"}, str(path), path.resolve().parent)  # says why
    return [parse_config(table, str(path), path.resolve().parent) for table in expand(data, str(path))]
