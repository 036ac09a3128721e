"""Where models run and in what precision: the devices and dtypes of every backend (generation,
embedding, image encoders, training) and of the config's checks. torch is imported only when a
device is checked or picked."""

from __future__ import annotations

from synthdiv.errors import SynthdivError


def check_device(device: str, what: str = "device") -> str:
    """``device`` if this machine has it: ``auto``, ``cpu``, ``cuda``, ``cuda:N`` (N below the
    number of GPUs) or ``mps``; else an error naming it and what there is. Checked when a config
    is read, so a bad device stops before anything is written (not in a worker, after)."""
    import re

    text = device.strip().lower()
    if text in ("auto", "cpu"):
        return text
    match = re.fullmatch(r"(cuda|mps)(?::(\d+))?", text)
    if match is None:
        raise SynthdivError(f"{what} is {device!r}", "use auto, cpu, cuda or cuda:N (a GPU's number)")
    import torch

    if match[1] == "mps":
        if not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
            raise SynthdivError(f"{what} is {device!r} but this machine has no Apple GPU", "use auto or cpu")
        return text
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if count == 0:
        raise SynthdivError(f"{what} is {device!r} but CUDA is not available here", "use auto or cpu")
    if match[2] is not None and int(match[2]) >= count:
        raise SynthdivError(f"{what} is {device!r} but this machine has {count} GPU{'s' if count > 1 else ''}"
                            f" (cuda:0 to cuda:{count - 1})", "name one of them, or use auto")
    return text


def pick_device(device: str = "auto"):
    """A ``torch.device``: CUDA when available for ``auto``, else the one named."""
    import torch

    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise SynthdivError(f"device {device!r} asked for but CUDA is not available", "use auto or cpu")
    return dev


DTYPES = ("auto", "float16", "bfloat16", "float32")


BF16_FAMILIES = ("Flux", "StableDiffusion3")  # pipelines (by class name) that overflow in fp16


def check_dtype(name: str, what: str = "dtype") -> str:
    """``name`` if it is one of :data:`DTYPES`; else an error naming it."""
    if name not in DTYPES:
        raise SynthdivError(f"{what} is {name!r}", f"use {', '.join(DTYPES)}")
    return name


def resolve_dtype(name: str, device_type: str, family: str = ""):
    """The torch dtype ``name`` stands for: ``auto`` is float32 on the CPU, and on CUDA bfloat16 for
    the families that overflow in float16 (FLUX, SD3: :data:`BF16_FAMILIES`) and float16 for
    the others."""
    import torch

    if name != "auto":
        return getattr(torch, name)
    if device_type != "cuda":
        return torch.float32
    return torch.bfloat16 if family.startswith(BF16_FAMILIES) else torch.float16
