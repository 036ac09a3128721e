"""Placement: which workers an experiment gets, on which devices.

``[generation] devices`` and ``[embedding] devices`` each take

- ``"auto"`` (the default): with GPUs, a generation worker on every visible GPU and one
  embedding worker beside generation on the last of them (an embedder reads images two orders of
  magnitude faster than a diffusion model makes them, so one keeps pace with many GPUs; this is a
  judgement, not yet measured on a multi-GPU box: ``python -m benchmarks.gpu`` measures it);
  without a GPU, one CPU worker of each kind, as before;
- a list of devices, one worker each: ``["cuda:0", "cuda:2"]``, ``["cpu"]``;
- a number N: N CPU workers (``cpu:0`` … ``cpu:N-1``), the cores shared between them.

Device numbers are torch's, in the environment synthdiv was started in (``CUDA_VISIBLE_DEVICES``
applies: with ``CUDA_VISIBLE_DEVICES=2,3``, ``cuda:0`` is the GPU the driver calls 2). Each worker
process is started with ``CUDA_VISIBLE_DEVICES`` naming its one GPU (empty for a CPU worker), so
a model can never spill onto another worker's GPU; it records the device it was given.

With ``[cluster] engine = "ray"``, each kind that can run on a cluster (generation, embedding)
gets one seat, ``ray``: one process here that feeds the cluster's actors (:mod:`workbench.cluster`);
it uses no GPU of this machine. Training is placed here as always.

The older single ``device`` key still works: ``device = "cuda:1"`` with ``devices`` unset means
``devices = ["cuda:1"]``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from typing import Any, Mapping

from synthdiv.errors import ConfigError

AUTO = "auto"
CLUSTER = "ray"  # the seat of a kind that runs on a Ray cluster


def local_device(device: str) -> str:
    """A placed device as the worker process's torch names it: its one visible GPU is ``cuda:0``;
    ``cpu:1`` (the second of several CPU workers) is ``cpu``."""
    return "cuda:0" if device.startswith("cuda") else device.partition(":")[0]


@dataclass(frozen=True)
class Seat:
    """One worker to run: its kind, the device it is recorded under, and its environment."""

    kind: str
    device: str  # "cuda:2", "cpu", "cpu:1"
    env: tuple[tuple[str, str], ...] = ()  # set in the worker's environment
    threads: int = 0  # torch CPU threads for a CPU worker that shares the cores (0: torch's default)
    share: tuple[int, int] = (0, 1)  # (i, n): worker i of the kind's n, for work split by id (embedding)


def plan(cfg, gpus: list[str] | None = None, cores: int | None = None, cluster: str | None = None) -> list[Seat]:
    """Every worker the experiment ``cfg`` gets, kind by kind (:data:`workbench.kinds.KINDS`):
    each kind placed by its config section's ``devices``. ``gpus``: :func:`visible_gpus` when None.
    ``cluster``: the address of the Ray cluster the run joined (:func:`workbench.cluster.serve`),
    which its cluster seats join."""
    from workbench.kinds import configured

    gpus = visible_gpus() if gpus is None else gpus
    out = []
    on_cluster = cfg.cluster.engine == "ray"
    for kind in configured(cfg).values():
        if on_cluster and kind.cluster_body:
            from workbench.cluster import SERVED

            served = ((SERVED, cluster),) if cluster else ()
            out.append(Seat(kind.name, CLUSTER, (("CUDA_VISIBLE_DEVICES", ""), *served)))
            continue
        section = getattr(cfg, kind.section)
        spec = section.devices
        if spec == AUTO and section.device != AUTO:  # recorded before devices existed: its one device
            spec = "cuda:0" if section.device == "cuda" else section.device
        out += seats(kind.name, spec, kind.auto, gpus, cores)
    return out


def check_devices(value: Any, legacy: str, what: str) -> str:
    """The ``devices`` setting (a TOML string, list or count) in its stored form: ``auto``, a
    count (``"3"``) or devices joined by commas (``"cuda:0,cuda:2"``). ``legacy``: the section's
    old ``device`` key (already checked)."""
    from synthdiv.devices import check_device

    if isinstance(value, bool):
        raise ConfigError(f"{what} is {value!r}", 'use "auto", a list such as ["cuda:0", "cuda:1"], or a count of CPU workers')
    if isinstance(value, int):
        if not 1 <= value <= 256:
            raise ConfigError(f"{what} is {value}", "give a count of CPU workers from 1 to 256")
        spec = str(value)
    elif isinstance(value, str) and value.strip().lower() == AUTO:
        spec = AUTO
    elif isinstance(value, str) and value.strip().isdigit():
        return check_devices(int(value.strip()), legacy, what)
    elif isinstance(value, (list, tuple, str)):
        items = value.split(",") if isinstance(value, str) else list(value)
        if not items or not all(isinstance(d, str) and d.strip() for d in items):
            raise ConfigError(f"{what} is {value!r}", 'list devices as strings, e.g. ["cuda:0", "cuda:1"]')
        names = []
        for d in items:
            name = check_device(d.strip(), what)
            if name == AUTO:
                raise ConfigError(f"{what} lists 'auto'", 'write devices = "auto" on its own, or list devices')
            name = "cuda:0" if name == "cuda" else name
            if name in names:
                raise ConfigError(f"{what} lists {name} twice", "one worker per device: list each device once")
            names.append(name)
        spec = ",".join(names)
    else:
        raise ConfigError(f"{what} is {value!r}", 'use "auto", a list such as ["cuda:0", "cuda:1"], or a count of CPU workers')
    legacy = "cuda:0" if legacy == "cuda" else legacy
    if legacy != AUTO:
        if spec != AUTO and spec != legacy:
            raise ConfigError(f"{what} and the older device key disagree ({spec} vs {legacy})",
                                "keep devices and remove device")
        spec = legacy if spec == AUTO else spec
    return spec


def as_toml(spec: str) -> Any:
    """The stored ``devices`` form as it is written in a file: ``"auto"``, a count or a list."""
    if spec == AUTO:
        return AUTO
    if spec.isdigit():
        return int(spec)
    return spec.split(",")


def visible_gpus(env: Mapping[str, str] | None = None, count: int | None = None) -> list[str]:
    """The GPUs this process may use, as the driver names them (what each worker's
    ``CUDA_VISIBLE_DEVICES`` gets), in torch's order: ``cuda:i`` is the i-th. ``count``: how many
    torch sees (asked of torch when None)."""
    env = os.environ if env is None else env
    if count is None:
        import torch

        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    listed = env.get("CUDA_VISIBLE_DEVICES")
    if listed is None:
        return [str(i) for i in range(count)]
    entries = [e.strip() for e in listed.split(",") if e.strip()]
    return entries[:count]


def _gpu_seat(kind: str, index: int, gpus: list[str], what: str) -> Seat:
    if index >= len(gpus):
        raise ConfigError(f"{what} names cuda:{index} but this machine has {len(gpus)} visible GPU"
                            f"{'' if len(gpus) == 1 else 's'}", "list devices that exist (nvidia-smi lists them)")
    return Seat(kind, f"cuda:{index}", (("CUDA_VISIBLE_DEVICES", gpus[index]),))


def seats(kind: str, spec: str, role: str, gpus: list[str], cores: int | None = None) -> list[Seat]:
    """The workers of ``kind`` for the stored ``devices`` setting ``spec``, each with its share
    (i, n). ``role``: ``"each"`` (auto means one per GPU, as generation) or ``"one"`` (auto means
    one worker, on the last GPU, as embedding). ``gpus``: :func:`visible_gpus`."""
    placed = _placed(kind, spec, role, gpus, cores)
    return [replace(seat, share=(i, len(placed))) for i, seat in enumerate(placed)]


def _placed(kind: str, spec: str, role: str, gpus: list[str], cores: int | None) -> list[Seat]:
    cores = cores or os.cpu_count() or 1
    what = f"{kind}.devices"
    hidden = (("CUDA_VISIBLE_DEVICES", ""),)
    if spec == AUTO:
        if not gpus:
            return [Seat(kind, "cpu", hidden)]
        wanted = range(len(gpus)) if role == "each" else [len(gpus) - 1]
        return [_gpu_seat(kind, i, gpus, what) for i in wanted]
    if spec.isdigit():
        n = int(spec)
        share = max(1, cores // n) if n > 1 else 0
        return [Seat(kind, f"cpu:{i}" if n > 1 else "cpu", hidden, share) for i in range(n)]
    out = []
    for name in spec.split(","):
        if name.startswith("cuda"):
            out.append(_gpu_seat(kind, int(name.partition(":")[2] or 0), gpus, what))
        else:
            out.append(Seat(kind, name, hidden if name == "cpu" else ()))
    return out
