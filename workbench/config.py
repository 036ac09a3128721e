"""Experiment configuration: a TOML file, checked in full before anything is written.

Every key is documented in ``docs/config.md``. Unknown keys are refused (a typo must not be
silently ignored). Paths in the file are relative to the file's folder; the stored form of a
config has them resolved, so workers and a later ``synthdiv open`` need no file at all.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import tomllib

from synthdiv.classes import load_class_set, select_classes
from synthdiv.embed import check_embedder_available, resolve_embedder
from synthdiv.errors import ConfigError
from synthdiv.generate import check_device, check_dtype, check_scheduler
from synthdiv.pipelines import check_supported, family_of
from synthdiv.sources import PRESET_NOTE, check_hub_available, resolve_source
from synthdiv.templates import builtin_templates, parse_templates
from synthdiv.text import NAME_LIMIT, TEXT_LIMIT, check_text
from workbench.placement import AUTO, as_toml, check_devices

SEED_MODES = ("distinct", "shared")


@dataclass(frozen=True)
class GenerationConfig:
    model: str = "tiny-random"
    revision: str = ""
    base_config: str = ""  # a single-file checkpoint's base: the diffusers folder or hub id with its configs
    scheduler: str = "default"
    steps: int = 25
    guidance: float = 7.5
    width: int = 512
    height: int = 512
    negative_prompt: str = ""
    images_per_prompt: int = 4
    seed: int = 0
    seeds: str = "distinct"
    batch_size: int = 4  # 0: automatic (the largest that fits, see auto_batch_size)
    device: str = "auto"  # the older one-device key: devices = [device]
    devices: str = "auto"  # placement (workbench.placement): "auto", "cuda:0,cuda:2" or a CPU worker count "3"
    compile: bool = False  # torch.compile the UNet on CUDA (slow first batch, faster after)
    dtype: str = "auto"  # auto | float16 | bfloat16 | float32 (synthdiv.generate.resolve_dtype)


@dataclass(frozen=True)
class EmbeddingConfig:
    model: str = "tiny-random"
    pretrained: str = ""
    batch_size: int = 64
    device: str = "auto"
    devices: str = "auto"
    dtype: str = "auto"  # auto: float16 on CUDA, float32 on the CPU
    image_models: tuple[str, ...] = ()  # image-only encoders (synthdiv.image_encoders), resolved


ENGINES = ("local", "ray")


@dataclass(frozen=True)
class ClusterConfig:
    """The ``[cluster]`` section: where the generation and embedding models run. ``local`` (the
    default): worker processes on this machine's devices (``devices`` of each section). ``ray``:
    actors on a Ray cluster, fed by one process here that owns the store (:mod:`workbench.cluster`).
    How an experiment runs, not what it makes: changing it never changes an image."""

    engine: str = "local"
    address: str = "auto"  # auto | local | HOST:PORT | ray://HOST:10001 (workbench.cluster.connect)
    actors: int = 0  # generation actors; 0: one per GPU of the cluster (one on a cluster without GPUs)
    in_flight: int = 2  # batches handed to each actor at once (back-pressure: the head holds no more)
    shared_dir: str = ""  # a folder every node and this machine see at this path: the actors write the images there


TRAIN_RUN = re.compile(r"mix-([1-9][0-9]?)x")  # real train images + K× as many synthetic ones
OPTIMIZERS = ("adamw", "sgd")


@dataclass(frozen=True)
class TrainConfig:
    """The ``[train]`` section: image classifiers trained on the experiment's pixels
    (:mod:`synthdiv.classifier`) and tested on the real test split. No ``runs``: no training."""

    runs: tuple[str, ...] = ()  # "synthetic", "real", "mix-1x", "mix-2x", … (docs/config.md)
    model: str = "digits-cnn"  # a preset of synthdiv.classifier or any timm architecture name
    weights: str = ""  # a local .safetensors file to start from (resolved); "" = from scratch
    epochs: int = 30
    batch_size: int = 128
    lr: float = 1e-3
    optimizer: str = "adamw"
    weight_decay: float = 0.05
    image_size: int = 0  # 0: the generated images' width
    crop_scale: float = 0.08  # random resized crop: the least share of the image kept (1: no crop)
    flip: bool = True  # random horizontal flips
    real_per_class: int = 0  # real train images per class in the real and mix runs; 0: as many as synthetic
    seed: int = 0
    compile: bool = False  # torch.compile the model on CUDA
    device: str = "auto"
    devices: str = "auto"


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
    real_test_fraction: float = 0.5  # share of a folder source's images in the test split
    real_split: str = ""  # a dataset source's splits (synthdiv.real_hf, synthdiv.real_wds)
    real_label_column: str = ""  # a dataset source's label column ("": label for hf:, cls for wds:)
    definitions: tuple[str, ...] = ()  # each class's definition, in class order, when a template uses {definition}

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
            real_test_fraction=d.get("real_test_fraction", 0.5),
            real_split=d.get("real_split", ""),
            real_label_column=d.get("real_label_column", ""),
            definitions=tuple(d.get("definitions", ())),
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
            }
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
        g = self.generation
        if g.seeds == "shared":
            return [g.seed + i for i in range(g.images_per_prompt)]
        out = []
        for i in range(g.images_per_prompt):
            key = f"{g.seed}\0{class_label}\0{template}\0{i}".encode()
            out.append(int.from_bytes(hashlib.sha256(key).digest()[:4], "big") & 0x7FFFFFFF)
        return out


_SECTIONS = {
    "": {"name", "store", "classes", "templates", "generation", "embedding", "real", "train", "cluster", "sweep"},
    "real": {"source", "mapping", "test_fraction", "split", "label_column"},
    "classes": {"set", "names"},
    "templates": {"builtin", "custom"},
    "generation": set(GenerationConfig.__dataclass_fields__),
    "embedding": set(EmbeddingConfig.__dataclass_fields__),
    "train": set(TrainConfig.__dataclass_fields__),
    "cluster": set(ClusterConfig.__dataclass_fields__),
}


def _check_keys(table: dict, section: str, where: str) -> None:
    known = _SECTIONS[section]
    for key in table:
        if key not in known:
            full = f"{section}.{key}" if section else key
            raise ConfigError(
                f"{where}: unknown key {full!r}",
                f"known keys{' in [' + section + ']' if section else ''}: {', '.join(sorted(known))} "
                "(see docs/config.md)",
            )


def _typed(table: dict, key: str, kind: type, default: Any, where: str, section: str) -> Any:
    value = table.get(key, default)
    ok = isinstance(value, kind) and not (kind in (int, float) and isinstance(value, bool))
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value, ok = float(value), True
    if not ok:
        raise ConfigError(
            f"{where}: {section}.{key} must be {'a number' if kind is float else kind.__name__}, not {value!r}",
            "fix the value (see docs/config.md)",
        )
    return value


def _int_range(value: int, lo: int, hi: int, name: str, where: str) -> int:
    if not lo <= value <= hi:
        raise ConfigError(f"{where}: {name} is {value}", f"use a value from {lo} to {hi}")
    return value


def parse_config(data: dict[str, Any], where: str, base_dir: Path) -> ExperimentConfig:
    """Check a config table (as read from TOML) and return the experiment it describes."""
    _check_keys(data, "", where)
    if "sweep" in data:
        raise ConfigError(f"{where}: a sweep is not allowed here", "run a sweep file with synthdiv run")
    name = data.get("name")
    if name is not None and not isinstance(name, str):
        raise ConfigError(f"{where}: name must be a string, not {name!r}", f'write it in quotes: name = "{name}"')
    if not name or not name.strip():
        raise ConfigError(f"{where}: name is missing", 'add a line such as name = "my-experiment" at the top')
    name = check_text(name.strip(), f"{where}: name", NAME_LIMIT, ConfigError)

    classes_t = data.get("classes", {})
    templates_t = data.get("templates", {})
    gen_t = data.get("generation", {})
    emb_t = data.get("embedding", {})
    real_t = data.get("real", {})
    train_t = data.get("train", {})
    cluster_t = data.get("cluster", {})
    for section, table in (("classes", classes_t), ("templates", templates_t), ("generation", gen_t),
                           ("embedding", emb_t), ("real", real_t), ("train", train_t), ("cluster", cluster_t)):
        if not isinstance(table, dict):
            raise ConfigError(f"{where}: {section} must be a table", f"write it as [{section}]")
        _check_keys(table, section, where)

    set_spec = _typed(classes_t, "set", str, "digits", where, "classes")
    class_set = load_class_set(set_spec, base_dir)
    names = classes_t.get("names")
    if names is not None and (not isinstance(names, list) or not all(isinstance(n, str) for n in names)):
        raise ConfigError(f"{where}: classes.names must be a list of strings", 'e.g. names = ["goldfish", "tabby cat"]')
    for n in names or []:
        check_text(n, f"{where}: the class name {n[:40]!r} in classes.names", NAME_LIMIT, ConfigError)
    labels = select_classes(class_set, names)

    texts: list[str] = []
    if _typed(templates_t, "builtin", bool, False, where, "templates"):
        texts += builtin_templates()
    custom = templates_t.get("custom", [])
    if not isinstance(custom, list) or not all(isinstance(t, str) for t in custom):
        raise ConfigError(f"{where}: templates.custom must be a list of strings", 'e.g. custom = ["a photo of a {}."]')
    texts += custom
    if not texts:
        raise ConfigError(
            f"{where}: no prompt templates", 'set templates.builtin = true or list templates.custom = ["a photo of a {}."]'
        )
    templates = parse_templates(texts)

    d = GenerationConfig()
    g = {k: _typed(gen_t, k, type(getattr(d, k)), getattr(d, k), where, "generation")
         for k in _SECTIONS["generation"] - {"devices"}}
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
    family = family_of(source, g["revision"] or None, f"{where}: generation.model")
    if family is not None:  # None: a hub model not in the cache yet, checked when it loads
        check_supported(family, scheduler=g["scheduler"], negative_prompt=g["negative_prompt"],
                        what=f"{where}: generation")
    g["device"] = check_device(g["device"], f"{where}: generation.device")
    g["devices"] = check_devices(gen_t.get("devices", AUTO), g["device"], f"{where}: generation.devices")
    _int_range(g["steps"], 1, 1000, "generation.steps", where)
    if not 0.0 <= g["guidance"] <= 100.0:
        raise ConfigError(f"{where}: generation.guidance is {g['guidance']}", "use a value from 0 to 100")
    for k in ("width", "height"):
        _int_range(g[k], 8, 4096, f"generation.{k}", where)
        if g[k] % 8:
            raise ConfigError(f"{where}: generation.{k} is {g[k]}", "use a multiple of 8")
    _int_range(g["images_per_prompt"], 1, 100_000, "generation.images_per_prompt", where)
    _int_range(g["seed"], 0, 2**31 - 1, "generation.seed", where)
    _int_range(g["batch_size"], 0, 4096, "generation.batch_size", where)
    if g["seeds"] not in SEED_MODES:
        raise ConfigError(f"{where}: generation.seeds is {g['seeds']!r}", "use distinct or shared")

    e_d = EmbeddingConfig()
    emb = {k: _typed(emb_t, k, type(getattr(e_d, k)), getattr(e_d, k), where, "embedding")
           for k in _SECTIONS["embedding"] - {"devices", "image_models"}}
    emb["image_models"] = _image_models(emb_t.get("image_models", []), where, base_dir)
    spec = resolve_embedder(emb["model"], emb["pretrained"], base_dir)
    check_embedder_available(spec, f"{where}: embedding.model")
    emb["model"], emb["pretrained"] = spec.model, spec.pretrained
    _int_range(emb["batch_size"], 1, 65536, "embedding.batch_size", where)
    check_dtype(emb["dtype"], f"{where}: embedding.dtype")
    emb["device"] = check_device(emb["device"], f"{where}: embedding.device")
    emb["devices"] = check_devices(emb_t.get("devices", AUTO), emb["device"], f"{where}: embedding.devices")

    store = data.get("store", "")
    if not isinstance(store, str):
        raise ConfigError(f"{where}: store must be a folder path", 'e.g. store = "runs/tiny"')
    if store:
        p = Path(store).expanduser()
        store = str(p if p.is_absolute() else (base_dir / p))

    real = _typed(real_t, "source", str, "", where, "real").strip()
    mapping = _typed(real_t, "mapping", str, "", where, "real").strip()
    test_fraction = _typed(real_t, "test_fraction", float, 0.5, where, "real")
    real_split = _typed(real_t, "split", str, "", where, "real").strip()
    label_column = _typed(real_t, "label_column", str, "", where, "real").strip()
    if not 0.0 < test_fraction < 1.0:
        raise ConfigError(f"{where}: real.test_fraction is {test_fraction}", "use a value between 0 and 1")
    from synthdiv.real import real_source

    source = real_source(real, mapping, test_fraction, base_dir, known=class_set.labels, split=real_split,
                         label_column=label_column)
    if source is not None:
        real, mapping = source.spec, source.mapping  # a folder's paths resolved
        source.check({label: class_set.prompt_names[label] for label in labels}, where)

    definitions: tuple[str, ...] = ()
    if any(t.uses_definition for t in templates):
        known = class_set.definitions or {}
        missing = [label for label in labels if not known.get(label)]
        if missing:
            raise ConfigError(f"{where}: a template uses {{definition}}, and class {missing[0]!r} has no definition",
                              "use an ImageNet class set (WordNet glosses), or give the class file a second column"
                              " after a tab: name<TAB>definition")
        definitions = tuple(known[label] for label in labels)

    per_class = len(templates) * g["images_per_prompt"]
    train = _parse_train(train_t, where, base_dir, source, per_class)

    cluster = _parse_cluster(cluster_t, where, base_dir)

    return ExperimentConfig(
        name=name,
        definitions=definitions,
        train=train,
        cluster=cluster,
        real=real,
        real_mapping=mapping,
        real_test_fraction=test_fraction,
        real_split=real_split,
        real_label_column=label_column,
        class_set=class_set.name,
        classes=tuple((label, class_set.prompt_names[label]) for label in labels),
        templates=tuple(t.text for t in templates),
        generation=GenerationConfig(**g),
        embedding=EmbeddingConfig(**emb),
        store=store,
    )


def _parse_cluster(t: dict, where: str, base_dir: Path) -> ClusterConfig:
    d = ClusterConfig()
    c = {k: _typed(t, k, type(getattr(d, k)), getattr(d, k), where, "cluster") for k in _SECTIONS["cluster"]}
    c["engine"] = c["engine"].strip().lower()
    if c["engine"] not in ENGINES:
        raise ConfigError(f"{where}: cluster.engine is {c['engine']!r}",
                          'use "local" (this machine\'s devices) or "ray" (a Ray cluster)')
    c["address"] = check_address(c["address"], f"{where}: cluster.address")
    _int_range(c["actors"], 0, 100_000, "cluster.actors", where)
    _int_range(c["in_flight"], 1, 16, "cluster.in_flight", where)
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
    d = TrainConfig()
    tr = {k: _typed(t, k, type(getattr(d, k)), getattr(d, k), where, "train")
          for k in _SECTIONS["train"] - {"devices", "runs"}}
    runs = t.get("runs", [])
    if not isinstance(runs, list) or not all(isinstance(r, str) for r in runs):
        raise ConfigError(f"{where}: train.runs must be a list of strings", 'e.g. runs = ["synthetic", "real", "mix-1x"]')
    for r in runs:
        if r not in ("synthetic", "real") and not TRAIN_RUN.fullmatch(r):
            raise ConfigError(f"{where}: train.runs has {r[:40]!r}",
                              'use "synthetic" (train on synthetic, test on real), "real" (the real→real ceiling)'
                              ' or "mix-Kx" (real train images plus K× as many synthetic ones, K from 1 to 99)')
    if len(set(runs)) != len(runs):
        raise ConfigError(f"{where}: train.runs lists a run twice", "list each run once")
    if runs and source is None:
        raise ConfigError(f"{where}: train.runs needs real images to test on", "set [real] source")
    if source is not None and "train" not in source.splits and any(r != "synthetic" for r in runs):
        raise ConfigError(f"{where}: train.runs {[r for r in runs if r != 'synthetic'][0]!r} needs real train images,"
                          f" and real.source {source.spec} has none", 'use real.source = "digits", or runs = ["synthetic"]')
    from synthdiv.classifier import check_model

    check_model(tr["model"], "train.model")
    if tr["weights"]:
        w = Path(tr["weights"]).expanduser()
        w = (w if w.is_absolute() else base_dir / w).resolve()
        if w.suffix != ".safetensors" or not w.is_file():
            raise ConfigError(f"{where}: train.weights {w} is not a .safetensors file",
                              "give the path of a local .safetensors weights file (pickled .pt/.pth files are never loaded)")
        tr["weights"] = str(w)
    _int_range(tr["epochs"], 1, 10_000, "train.epochs", where)
    _int_range(tr["batch_size"], 1, 65536, "train.batch_size", where)
    _int_range(tr["image_size"], 0, 4096, "train.image_size", where)
    _int_range(tr["real_per_class"], 0, 10_000_000, "train.real_per_class", where)
    _int_range(tr["seed"], 0, 2**31 - 1, "train.seed", where)
    if not 0.0 < tr["lr"] <= 10.0:
        raise ConfigError(f"{where}: train.lr is {tr['lr']}", "use a learning rate above 0 and at most 10 (e.g. 0.001)")
    if not 0.0 <= tr["weight_decay"] <= 10.0:
        raise ConfigError(f"{where}: train.weight_decay is {tr['weight_decay']}", "use a value from 0 to 10 (e.g. 0.05)")
    if not 0.0 < tr["crop_scale"] <= 1.0:
        raise ConfigError(f"{where}: train.crop_scale is {tr['crop_scale']}", "use a share above 0 and at most 1 (1: no crop)")
    if tr["optimizer"] not in OPTIMIZERS:
        raise ConfigError(f"{where}: train.optimizer is {tr['optimizer']!r}", f"use {' or '.join(OPTIMIZERS)}")
    real_n = tr["real_per_class"] or synthetic_per_class
    for r in runs:
        m = TRAIN_RUN.fullmatch(r)
        if m and int(m.group(1)) * real_n > synthetic_per_class:
            raise ConfigError(
                f"{where}: train.runs {r!r} needs {int(m.group(1))} × {real_n} = {int(m.group(1)) * real_n} synthetic"
                f" images per class, and the plan makes {synthetic_per_class}",
                f"set train.real_per_class to at most {synthetic_per_class // int(m.group(1))}, or make more images")
    tr["device"] = check_device(tr["device"], f"{where}: train.device")
    tr["devices"] = check_devices(t.get("devices", AUTO), tr["device"], f"{where}: train.devices")
    return TrainConfig(runs=tuple(runs), **tr)


def to_table(cfg: ExperimentConfig) -> dict[str, Any]:
    """The config table (as TOML or the setup screen holds it) of a checked experiment: every key
    of docs/config.md, so that ``parse_config(to_table(cfg))`` gives ``cfg`` back. The one way back
    from an experiment to a file: ``experiment.toml``, the setup screen and the stored config use it."""
    from dataclasses import asdict

    data: dict[str, Any] = {
        "name": cfg.name,
        "classes": {"set": cfg.class_set, "names": [label for label, _ in cfg.classes]},
        "templates": {"builtin": False, "custom": list(cfg.templates)},
        "generation": {**asdict(cfg.generation), "devices": as_toml(cfg.generation.devices)},
        "embedding": {**asdict(cfg.embedding), "devices": as_toml(cfg.embedding.devices),
                      "image_models": list(cfg.embedding.image_models)},
    }
    if cfg.train.runs:
        data["train"] = {**asdict(cfg.train), "runs": list(cfg.train.runs), "devices": as_toml(cfg.train.devices)}
    if cfg.cluster != ClusterConfig():
        data["cluster"] = asdict(cfg.cluster)
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
