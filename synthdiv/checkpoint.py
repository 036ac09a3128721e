"""Training checkpoints without pickle: tensors in a safetensors file, everything else as JSON.

A training loop's state (model and optimiser state dicts, a learning-rate schedule, a random
generator's state, step counts, loss history) is a tree of dicts, lists, tuples, numbers, strings
and tensors. :func:`save_state` writes the tensors with safetensors and the rest of the tree as
JSON in the same file's metadata, in one atomic rename; :func:`load_state` rebuilds the tree.
Loading runs no code from the file (``torch.load`` of a pickle would: a crafted checkpoint could
do anything), and anything that is not plain data is refused when saving.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch

from synthdiv.errors import SynthdivError

STATE_KEY = "synthdiv:state"
FORMAT = 1


def _encode(obj: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(obj, torch.Tensor):
        name = f"t{len(tensors)}"
        tensors[name] = obj.detach().to("cpu").clone().contiguous()  # a copy: no shared storage
        return {"$tensor": name}
    if isinstance(obj, dict):
        return {"$dict": [[_encode(k, tensors), _encode(v, tensors)] for k, v in obj.items()]}
    if isinstance(obj, tuple):
        return {"$tuple": [_encode(v, tensors) for v in obj]}
    if isinstance(obj, list):
        return [_encode(v, tensors) for v in obj]
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise TypeError(f"a checkpoint holds tensors and plain data only, not {type(obj).__name__}")


def _decode(obj: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(obj, list):
        return [_decode(v, tensors) for v in obj]
    if isinstance(obj, dict):
        if set(obj) == {"$tensor"}:
            return tensors[obj["$tensor"]]
        if set(obj) == {"$tuple"}:
            return tuple(_decode(v, tensors) for v in obj["$tuple"])
        if set(obj) == {"$dict"}:
            return {_decode(k, tensors): _decode(v, tensors) for k, v in obj["$dict"]}
        raise ValueError(f"unexpected entry {sorted(obj)[:3]}")
    return obj


def save_state(path: Path, state: dict[str, Any]) -> None:
    """Write ``state`` (a tree of plain data and tensors) to ``path`` atomically."""
    from safetensors.torch import save_file

    tensors: dict[str, torch.Tensor] = {}
    plain = json.dumps({"format": FORMAT, "state": _encode(state, tensors)})
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    save_file(tensors, str(tmp), metadata={STATE_KEY: plain})
    os.replace(tmp, path)


def load_state(path: Path) -> dict[str, Any]:
    """The state :func:`save_state` wrote to ``path``; a clear error for anything else."""
    from safetensors import safe_open

    fix = f"delete {path} to start that training over"
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
            tensors = {name: f.get_tensor(name) for name in f.keys()}
        plain = json.loads(meta[STATE_KEY])
        if plain.get("format") != FORMAT:
            raise ValueError(f"format {plain.get('format')!r}")
        return _decode(plain["state"], tensors)
    except Exception as exc:  # noqa: BLE001 - any unreadable or foreign file gets the same answer
        raise SynthdivError(f"checkpoint {path} is not a synthdiv checkpoint ({type(exc).__name__}: {exc})",
                            fix) from None
