"""``synthdiv --version``: synthdiv's version and those of the libraries its numbers depend on,
with the accelerator torch sees. Read from the installed packages' metadata (fast); torch is
imported only to ask for CUDA."""

from __future__ import annotations

import platform
from importlib import metadata

LIBRARIES = ("torch", "torchvision", "diffusers", "transformers", "open_clip_torch", "timm", "numpy",
             "scikit-learn", "sqlite-utils", "textual")


def installed(name: str) -> str:
    """The installed version of distribution ``name``, or ``not installed``."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def accelerator() -> str:
    """What torch sees: ``CUDA 12.8, 1 device (NVIDIA H200)``, ``CUDA 12.8 build, no GPU seen``,
    ``MPS`` or ``CPU only``."""
    try:
        import torch
    except Exception as exc:  # noqa: BLE001 - a broken torch is reported, not raised
        return f"torch does not import ({type(exc).__name__})"
    cuda = torch.version.cuda
    if torch.cuda.is_available():
        n = torch.cuda.device_count()
        return f"CUDA {cuda}, {n} device{'s' * (n != 1)} ({torch.cuda.get_device_name(0)})"
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "MPS (Apple GPU)"
    return f"CUDA {cuda} build, no GPU seen" if cuda else "CPU only"


def version_text() -> str:
    """The lines ``synthdiv --version`` prints."""
    import synthdiv

    width = max(map(len, LIBRARIES))
    lines = [f"synthdiv {synthdiv.__version__} (Python {platform.python_version()}, {platform.system()} {platform.machine()})"]
    lines += [f"  {name:<{width}}  {installed(name)}" for name in LIBRARIES]
    lines.append(f"  {'accelerator':<{width}}  {accelerator()}")
    return "\n".join(lines)
