"""Where a model comes from: a built-in preset, a local folder or file, or a hub id.

Resolving a source imports no torch, so a config can be checked in a fraction of a second
before any worker starts. Loading is the backends' business (``generate.py``, ``embed.py``).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from synthdiv.errors import ModelError

PRESETS = ("tiny-random", "mini-digits")
PRESET_NOTE = {
    "tiny-random": "tiny-random models have random weights: their images and numbers mean nothing; "
    "use them to exercise the pipeline, not to draw conclusions",
}
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.\-]*(/[\w.\-]+)?$")


@dataclass(frozen=True)
class ModelSource:
    """``kind`` is ``preset``, ``path`` (a local folder), ``file`` (a single-file checkpoint) or
    ``hub``; ``ref`` the name or path. A ``file`` has a ``base``: the diffusers folder or hub id
    whose configs (and tokenizers, scheduler) describe it."""

    kind: str
    ref: str
    base: str = ""

    def base_source(self) -> "ModelSource | None":
        """A single file's base as a source of its own (a local folder or a hub id)."""
        if self.kind != "file":
            return None
        return ModelSource("path" if Path(self.base).is_dir() else "hub", self.base)


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
        return ModelSource("preset", spec)
    path = _existing(spec, base_dir)
    if path is not None and path.is_file():
        return _single_file(path, what, base_dir, base_config)
    if path is not None:
        return ModelSource("path", str(path))
    if _looks_like_path(spec) or not _HUB_ID.match(spec):
        raise ModelError(
            f"{what}: model folder or file {spec} does not exist",
            "give an existing local folder, a hub id such as stabilityai/sd-turbo, or tiny-random",
        )
    return ModelSource("hub", spec)


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
    source = ModelSource("file", str(path), str(base) if base is not None else base_config)
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
    if source.kind == "hub" and offline() and hub_snapshot(source.ref, revision) is None:
        raise ModelError(
            f"{what}: hub model {source.ref} is not in the local cache and HF_HUB_OFFLINE is set",
            "download it on a machine with network access, or give a local folder",
        )


def model_folder(source: ModelSource, revision: str | None = None) -> Path | None:
    """The diffusers folder (with ``model_index.json``) that describes ``source`` here: a local
    folder, a cached hub snapshot, a single file's base; None for a preset or an uncached hub id."""
    if source.kind == "file":
        return model_folder(source.base_source())
    if source.kind == "path":
        return Path(source.ref)
    if source.kind == "hub":
        return hub_snapshot(source.ref, revision)
    return None


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
