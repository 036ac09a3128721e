"""Where a model comes from: a built-in preset, a local folder or file, or a hub id.

:func:`resolve_source` resolves a ``generation.model`` setting once, to a :class:`ModelSource`
of its kind that loads the pipeline (in a dtype), names its family, gives its tokenizer and
records its provenance; the generator backend (:mod:`synthdiv.generate`) loads through it and
knows no kinds. The presets (``tiny-random``, ``mini-digits``) are registered :class:`Preset`
objects, for generation and embedding alike. Resolving imports no torch, so a config can be
checked in a fraction of a second before any worker starts.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from synthdiv import __version__
from synthdiv.errors import ModelError, first_line_of
from synthdiv.pipelines import Family, check_single_file, pipeline_type, read_family, safetensors_header

_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.\-]*(/[\w.\-]+)?$")
SYNTHDIV_REVISION = "synthdiv-" + __version__  # what a preset's images record as their model's revision


# --- presets: built-in pairs of models, registered by name -----------------------------------------

class Preset:
    """A built-in pair of models known by name to both sections: ``generation.model`` (a
    text-to-image pipeline) and ``embedding.model`` (an open_clip model). Each preset is one
    subclass in :data:`PRESETS`; nothing else branches on a preset's name."""

    name = ""
    note = ""  # what a user must know when the preset is used (shown when a config is read)
    open_set_note = ""  # what its CLIP's open-set numbers (ImageNet-1k names, WordNet glosses) are worth, if little

    # the text-to-image half
    def family(self) -> Family:
        raise NotImplementedError

    def folder(self) -> Path | None:
        """The diffusers folder the preset's pipeline is saved in (None: built in memory)."""
        return None

    def pipeline(self, dtype):
        raise NotImplementedError

    def tokenizer(self):
        """What the pipeline reads prompts with (no weights loaded)."""
        raise NotImplementedError

    def provenance(self) -> dict[str, str]:
        return {"model_hash": "", "model_revision": SYNTHDIV_REVISION}

    # the CLIP half
    def clip_folder(self) -> Path | None:
        """The open_clip folder its CLIP is saved in (None: built in memory by :meth:`clip`)."""
        return None

    def clip(self):
        """A CLIP built in memory: the open_clip model (on the CPU, float32), its tokenizer and its
        image transform."""
        raise NotImplementedError

    def clip_identity(self) -> tuple[str, str]:
        """(the name its embeddings are stored under, the content hash of its weights or "")."""
        folder = self.clip_folder()
        if folder is None:
            return self.name, ""
        digest = content_hash(folder)
        return f"{self.name}@{digest[:12]}", digest


class TinyRandom(Preset):
    """A tiny Stable Diffusion pipeline and a tiny CLIP with seeded random weights, built from
    configs: for tests, their images and numbers mean nothing."""

    name = "tiny-random"
    note = ("tiny-random models have random weights: their images and numbers mean nothing; "
            "use them to exercise the pipeline, not to draw conclusions")
    open_set_note = ("the tiny-random CLIP has random weights: its open-set adherence, what it reads the images as and"
                     " its sense confusion mean nothing")

    def family(self) -> Family:
        return Family("StableDiffusionPipeline", "DDIMScheduler")  # synthdiv.presets.tiny_random_pipeline

    def pipeline(self, dtype):
        from synthdiv.presets import tiny_random_pipeline

        return tiny_random_pipeline().to(dtype=dtype)

    def tokenizer(self):
        from synthdiv.tokenizer import clip_tokenizer

        return clip_tokenizer(77)

    def clip(self):
        from synthdiv.presets import tiny_random_clip

        return tiny_random_clip()


class MiniDigits(Preset):
    """synthdiv's own mini pair, trained on the real digits and shipped with the package
    (:mod:`synthdiv.mini.bundle`)."""

    name = "mini-digits"
    open_set_note = ("the mini CLIP learned digit captions only: its open-set adherence, what it reads the images as"
                     " and its sense confusion (ImageNet-1k names, WordNet glosses) mean nothing")

    def family(self) -> Family:
        return read_family(self.folder())

    def folder(self) -> Path:
        from synthdiv.mini import bundle

        return bundle.shipped() / "t2i"

    def pipeline(self, dtype):
        from synthdiv.mini import bundle

        return bundle.load_pipeline(self.folder(), dtype)

    def tokenizer(self):
        from synthdiv.mini.bundle import pixel_tokenizer

        return pixel_tokenizer()

    def provenance(self) -> dict[str, str]:
        return {"model_hash": content_hash(self.folder()), "model_revision": SYNTHDIV_REVISION}

    def clip_folder(self) -> Path:
        from synthdiv.mini import bundle

        return bundle.shipped() / "clip"


PRESETS: dict[str, Preset] = {p.name: p for p in (TinyRandom(), MiniDigits())}
PRESET_NOTE = {name: p.note for name, p in PRESETS.items() if p.note}


# --- model sources: what a generation.model setting names, resolved once ------------------------------

@dataclass(frozen=True)
class ModelSource:
    """A text-to-image model as :func:`resolve_source` found it: ``ref`` (a preset's name, a
    path or a hub id) and, for a single file, its ``base`` (the diffusers folder or hub id whose
    configs, tokenizers and scheduler describe it). Each kind is a subclass that knows how to
    load its pipeline, name its family, give its tokenizer and record its provenance."""

    ref: str
    base: str = ""
    kind: ClassVar[str] = ""

    def base_source(self) -> "ModelSource | None":
        """A single file's base as a source of its own (a local folder or a hub id)."""
        return None

    def folder(self, revision: str | None = None) -> Path | None:
        """The diffusers folder (with ``model_index.json``) that describes the model here; None
        where there is none (a preset built in memory, a hub id not in the cache)."""
        return None

    def check_available(self, what: str, revision: str | None = None) -> None:
        """Offline, a hub model must already be in the local cache (nothing to check for others)."""

    def family(self, revision: str | None = None, what: str = "generation.model") -> Family | None:
        """The model's pipeline and scheduler classes; None where they cannot be known before it
        loads (a hub model not in the cache). A folder that is no pipeline is refused here."""
        raise NotImplementedError

    def pipeline_class(self, revision: str | None = None) -> str:
        """The diffusers pipeline class the model names ("" when unknown)."""
        try:
            family = self.family(revision)
        except ModelError:
            return ""
        return family.pipeline if family is not None else ""

    def load(self, dtype, revision: str | None = None):
        """The diffusers pipeline, in ``dtype``, on the CPU."""
        raise NotImplementedError

    def tokenizer(self, revision: str | None = None):
        """The tokenizer the pipeline reads prompts with (its first text encoder's), loaded without
        any weights; None when it cannot be found here (a hub model not in the cache)."""
        return folder_tokenizer(self.folder(revision))

    def provenance(self, revision: str | None = None) -> dict[str, str]:
        """What every image records of the model: ``model_hash`` (local weights) and
        ``model_revision`` (the commit, the base, or synthdiv's version for a preset)."""
        return {"model_hash": "", "model_revision": revision or ""}


@dataclass(frozen=True)
class PresetSource(ModelSource):
    kind: ClassVar[str] = "preset"

    @property
    def preset(self) -> Preset:
        return PRESETS[self.ref]

    def folder(self, revision=None):
        return self.preset.folder()

    def family(self, revision=None, what="generation.model"):
        return self.preset.family()

    def load(self, dtype, revision=None):
        return self.preset.pipeline(dtype)

    def tokenizer(self, revision=None):
        return self.preset.tokenizer()

    def provenance(self, revision=None):
        return self.preset.provenance()


@dataclass(frozen=True)
class FolderSource(ModelSource):
    """A local folder written by ``save_pretrained`` (or synthdiv's own pixel pipeline)."""

    kind: ClassVar[str] = "path"

    def folder(self, revision=None):
        return Path(self.ref)

    def family(self, revision=None, what="generation.model"):
        folder = Path(self.ref)
        family = read_family(folder) if folder.is_dir() else None
        if family is None:
            raise ModelError(
                f"{what}: {folder} is not a diffusers pipeline folder (it has no readable model_index.json)",
                "give the folder that save_pretrained wrote (the one holding model_index.json, unet/ or"
                " transformer/, vae/, scheduler/ …), a hub id, or tiny-random")
        if pipeline_type(family.pipeline) is None:
            raise ModelError(f"{what}: {folder} holds a {family.pipeline}, which this diffusers does not know",
                             "upgrade diffusers (pip install -U diffusers), or use another model")
        return family

    def load(self, dtype, revision=None):
        from synthdiv.mini import bundle

        if bundle.is_pixel_pipeline(self.ref):
            return bundle.load_pipeline(self.ref, dtype)
        return _from_pretrained(self.ref, torch_dtype=dtype, local_files_only=True)

    def provenance(self, revision=None):
        return {"model_hash": content_hash(self.ref), "model_revision": revision or ""}


@dataclass(frozen=True)
class HubSource(ModelSource):
    """A hub id (``org/name``), loaded from the cache when ``HF_HUB_OFFLINE`` is set."""

    kind: ClassVar[str] = "hub"

    def folder(self, revision=None):
        return hub_snapshot(self.ref, revision)

    def check_available(self, what, revision=None):
        if offline() and hub_snapshot(self.ref, revision) is None:
            raise ModelError(
                f"{what}: hub model {self.ref} is not in the local cache and HF_HUB_OFFLINE is set",
                "download it on a machine with network access, or give a local folder",
            )

    def family(self, revision=None, what="generation.model"):
        snap = hub_snapshot(self.ref, revision)
        return read_family(snap) if snap is not None else None

    def load(self, dtype, revision=None):
        self.check_available("generation.model", revision)
        return _from_pretrained(self.ref, torch_dtype=dtype, revision=revision, local_files_only=offline())

    def provenance(self, revision=None):
        snap = hub_snapshot(self.ref, revision)
        return {"model_hash": "", "model_revision": snap.name if snap is not None else revision or ""}


@dataclass(frozen=True)
class FileSource(ModelSource):
    """A single-file ``.safetensors`` checkpoint, rebuilt with its ``base``'s configs."""

    kind: ClassVar[str] = "file"

    def base_source(self) -> ModelSource:
        return FolderSource(self.base) if Path(self.base).is_dir() else HubSource(self.base)

    def folder(self, revision=None):
        return self.base_source().folder()  # a single file reads prompts with its base's tokenizer

    def family(self, revision=None, what="generation.model"):
        key = what.split(": ")[-1].rsplit(".", 1)[0] + ".base_config"
        family = self.base_source().family(None, key)
        if family is not None:
            check_single_file(Path(self.ref), self.folder(), family, what)
        return family

    def load(self, dtype, revision=None):
        """Through its pipeline's ``from_single_file``, with the configs, tokenizers and scheduler of
        its base model (``generation.base_config``)."""
        import warnings

        base = self.base_source()
        family = self.family(None, "generation.model")
        cls = pipeline_type(family.pipeline) if family is not None else None
        if cls is None:  # a hub base not in the cache yet: the file's own text encoders tell SDXL from SD
            import diffusers

            xl = any(name.startswith("conditioner.") for name in safetensors_header(Path(self.ref)))
            cls = diffusers.StableDiffusionXLPipeline if xl else diffusers.StableDiffusionPipeline
        try:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=".*torch_dtype.*", category=FutureWarning)
                return cls.from_single_file(self.ref, config=base.ref, torch_dtype=dtype,
                                            local_files_only=base.kind == "path" or offline())
        except Exception as exc:  # noqa: BLE001 - any load failure becomes one clear message
            first = first_line_of(exc)
            raise ModelError(f"cannot load single-file checkpoint {self.ref} with base {base.ref} ({first[:300]})",
                             "check that generation.base_config is the model the file was made from") from None

    def provenance(self, revision=None):
        base = self.base_source()  # the configs it was rebuilt with are part of what made its images
        snap = hub_snapshot(base.ref) if base.kind == "hub" else None
        mark = snap.name if snap is not None else content_hash(base.ref)[:12] if base.kind == "path" else ""
        return {"model_hash": content_hash(self.ref), "model_revision": f"base {base.ref}" + (f"@{mark}" if mark else "")}


def _from_pretrained(ref: str, **kwargs):
    """A diffusers pipeline from a folder or hub id, or one clear error naming it."""
    from diffusers import DiffusionPipeline

    from synthdiv.loading import from_pretrained

    try:
        return from_pretrained(DiffusionPipeline, ref, **kwargs)
    except Exception as exc:  # noqa: BLE001 - any load failure becomes one clear message
        first = first_line_of(exc)
        raise ModelError(
            f"cannot load diffusers pipeline {ref} ({first})",
            "give a folder written by save_pretrained (with model_index.json), or a hub id "
            "that is cached or reachable",
        ) from None


def folder_tokenizer(folder: Path | None):
    """The tokenizer of the pipeline saved in ``folder`` (its ``tokenizer/``, or the one synthdiv's
    pixel pipeline rebuilds); None when there is none to read."""
    if folder is None or not folder.is_dir():
        return None
    if (folder / "tokenizer").is_dir():
        from transformers import AutoTokenizer

        try:
            return AutoTokenizer.from_pretrained(str(folder / "tokenizer"), local_files_only=True)
        except Exception:  # noqa: BLE001 - a tokenizer that does not load: nothing to check against
            return None
    from synthdiv.mini import bundle

    if bundle.is_pixel_pipeline(folder):
        return bundle.pixel_tokenizer()
    return None


SINGLE_FILE_SUFFIX = ".safetensors"
PICKLE_SUFFIXES = (".ckpt", ".pt", ".pth", ".bin", ".pkl")


def offline() -> bool:
    """True when the Hugging Face hub must not be contacted (``HF_HUB_OFFLINE`` is set)."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def _looks_like_path(spec: str) -> bool:
    return (
        spec.startswith(("/", "./", "../", "~", "."))
        or spec.count("/") > 1
        or "\\" in spec
        or Path(spec).suffix.lower() in {".safetensors", ".bin", ".pt", ".pth", ".ckpt"}
    )


def _existing(spec: str, base_dir: str | Path | None) -> Path | None:
    candidates = [Path(spec).expanduser()]
    if base_dir is not None and not candidates[0].is_absolute():
        candidates.insert(0, Path(base_dir) / spec)
    for path in candidates:
        if path.exists() and path.name not in PRESETS:
            return path.resolve()
    return None


def resolve_source(spec: str, what: str, base_dir: str | Path | None = None, base_config: str = "") -> ModelSource:
    """Classify a model spec. ``what`` names the setting in messages (e.g. ``generation.model``).

    An existing folder (relative to ``base_dir`` when given, else to the working folder) is a
    local source; an existing ``.safetensors`` file is a single-file checkpoint, which needs
    ``base_config`` (a diffusers folder or hub id with the model's configs); a pickle file
    (``.ckpt``, ``.pt``, ``.bin`` …) is refused, as it can run code when loaded; a spec that looks
    like a path but does not exist is an error; anything else of the form ``org/name`` is a hub id.
    """
    spec, base_config = str(spec).strip(), str(base_config or "").strip()
    if not spec:
        raise ModelError(f"{what} is empty", "name a preset (tiny-random), a local folder, or a hub id")
    if spec in PRESETS:
        return PresetSource(spec)
    path = _existing(spec, base_dir)
    if path is not None and path.is_file():
        return _single_file(path, what, base_dir, base_config)
    if path is not None:
        return FolderSource(str(path))
    if _looks_like_path(spec) or not _HUB_ID.match(spec):
        raise ModelError(
            f"{what}: model folder or file {spec} does not exist",
            "give an existing local folder, a hub id such as stabilityai/sd-turbo, or tiny-random",
        )
    return HubSource(spec)


def _single_file(path: Path, what: str, base_dir, base_config: str) -> ModelSource:
    key = what.split(": ")[-1].rsplit(".", 1)[0] + ".base_config"
    if path.suffix.lower() in PICKLE_SUFFIXES:
        raise ModelError(
            f"{what}: {path.name} is a pickled checkpoint ({path.suffix}), which can run code when it is loaded;"
            " synthdiv loads only .safetensors files",
            "use the model's .safetensors download, or convert it once where you trust the file")
    if path.suffix.lower() != SINGLE_FILE_SUFFIX:
        raise ModelError(f"{what}: {path} is a file but not a .safetensors checkpoint",
                         "give a diffusers folder (with model_index.json), a .safetensors checkpoint, or a hub id")
    if not base_config:
        raise ModelError(
            f"{what}: {path.name} is a single-file checkpoint, and {key} is not set: the file holds weights but"
            " not the configs, tokenizers and scheduler needed to rebuild its pipeline",
            f'set {key} to the diffusers folder or hub id of its base model, e.g. {key} ='
            ' "stable-diffusion-v1-5/stable-diffusion-v1-5" (SD 1.x) or'
            ' "stabilityai/stable-diffusion-xl-base-1.0" (SDXL)')
    base = _existing(base_config, base_dir)
    if base is not None and not base.is_dir():
        raise ModelError(f"{key}: {base} is a file", "give the base model's diffusers folder (with model_index.json)"
                         " or its hub id")
    if base is None and (_looks_like_path(base_config) or not _HUB_ID.match(base_config)):
        raise ModelError(f"{key}: folder {base_config} does not exist",
                         "give the base model's diffusers folder or its hub id")
    source = FileSource(str(path), str(base) if base is not None else base_config)
    check_hub_available(source.base_source(), key)
    return source


def hub_snapshot(repo_id: str, revision: str | None = None) -> Path | None:
    """The local snapshot folder of a hub model if it is in the cache, else None (never downloads)."""
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(repo_id, revision=revision, local_files_only=True))
    except Exception:  # noqa: BLE001 - any failure means "not available offline"
        return None


def check_hub_available(source: ModelSource, what: str, revision: str | None = None) -> None:
    """Offline, a hub id must already be in the local cache; say how to fix it if not."""
    source.check_available(what, revision)


def _cache_file() -> Path:
    root = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(root) / "synthdiv" / "file-hashes.json"


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def content_hash(path: str | Path) -> str:
    """sha256 of a model file, or of a folder: the sorted (relative path, file sha256) pairs.

    Hidden files and folders are left out. File hashes are cached by (path, size, mtime) in the
    user cache folder so a multi-gigabyte model is read once, not at every worker start.
    """
    root = Path(path)
    files = [root] if root.is_file() else sorted(
        p for p in root.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts)
    )
    cache_path = _cache_file()
    try:
        cache = json.loads(cache_path.read_text())
    except (OSError, ValueError):
        cache = {}
    changed = False
    outer = hashlib.sha256()
    for f in files:
        st = f.stat()
        key = f"{f.resolve()}|{st.st_size}|{st.st_mtime_ns}"
        digest = cache.get(key)
        if digest is None:
            digest = cache[key] = _file_sha256(f)
            changed = True
        rel = f.name if root.is_file() else f.relative_to(root).as_posix()
        outer.update(f"{rel}\0{digest}\n".encode())
    if changed:
        try:
            cache_path.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache_path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(cache))
            tmp.replace(cache_path)
        except OSError:
            pass  # a cache we cannot write only costs time
    return outer.hexdigest()
