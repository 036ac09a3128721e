"""Running an experiment's models on a Ray cluster (``[cluster] engine = "ray"``, ``synthdiv run
--ray``; docs/ray.md).

The store stays on this machine (SQLite is never opened over a network file system): one
process here per kind (generation, embedding; :mod:`workbench.cluster_generation`,
:mod:`workbench.cluster_embedding`) claims the work from the store, hands it to actors on the
cluster's nodes (:mod:`workbench.actors`: the model loaded once per actor, one per GPU), and
records what comes back exactly as a local worker does. Ray is an optional extra.

Where the actors go: on a cluster with GPUs, each generation actor asks for
:data:`GENERATION_GPU` of a GPU (so one lands on each GPU) and the one embedding actor for
:data:`EMBEDDING_GPU` (so it fits beside generation on one of them, as a local embedding worker
shares the last GPU); on a cluster without GPUs, the generation actors share the CPUs and the
embedding actor reserves none.
"""

from __future__ import annotations

import os
import re
import socket

from synthdiv.errors import ConfigError, MissingExtra, SynthdivError, describe, first_line_of

USAGE_STATS = "RAY_USAGE_STATS_ENABLED"
SERVED = "SYNTHDIV_RAY_ADDRESS"  # the cluster a run's supervisor joined, for its workers to join
GENERATION_GPU = 0.9
EMBEDDING_GPU = 0.1
MAX_LOSSES = 5  # actors of a kind lost in a row, with nothing made between: the worker stops and says why


JOIN_FIX = ("start one with ray start --head (docs/ray.md) and give the address it prints, e.g. --ray 10.0.0.1:6379,"
            " or use --ray local for one on this machine")


def require_ray():
    """The ``ray`` module; :class:`MissingExtra` (exit 2, naming ``synthdiv[ray]``) without it."""
    try:
        import ray
    except ImportError:
        raise MissingExtra('a Ray cluster ([cluster] engine = "ray", or --ray)', "ray") from None
    return ray


def connect(address: str):
    """Join the Ray cluster at ``address`` (once per process) and return the ``ray`` module.

    ``auto``: the cluster named by ``RAY_ADDRESS``, or the one ``ray start`` started on this
    machine, or else a new one on this machine; ``local``: always a new one on this machine;
    ``HOST:PORT`` or ``ray://HOST:PORT``: that cluster. A cluster synthdiv starts itself sends
    Ray's usage statistics nowhere (``RAY_USAGE_STATS_ENABLED=0`` unless set otherwise)."""
    ray = require_ray()
    if ray.is_initialized():
        return ray
    os.environ.setdefault(USAGE_STATS, "0")
    target = os.environ.get(SERVED) or (None if address == "auto" else address)
    named = target or os.environ.get("RAY_ADDRESS", "")
    if named and named not in ("auto", "local"):
        answers(named)  # Ray itself retries an address where nothing listens for many minutes
    try:
        ray.init(address=target, include_dashboard=False,
                 logging_level="error", configure_logging=True)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise SynthdivError(f"cannot join the Ray cluster at {address} ({first_line_of(exc)})",
                            f"{JOIN_FIX}; a cluster with token authentication also needs RAY_AUTH_MODE=token here,"
                            " and its token in ~/.ray/auth_token or RAY_AUTH_TOKEN (docs/ray.md)") from None
    return ray


def answers(address: str, timeout_s: float = 10.0) -> None:
    """Check that something listens at the cluster ``address`` (``HOST:PORT`` or
    ``ray://HOST:PORT``); a :class:`SynthdivError` naming it at once when nothing does."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s).close()
    except (OSError, ValueError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else first_line_of(exc)
        raise SynthdivError(f"cannot join the Ray cluster at {address}: nothing answers there ({why})", JOIN_FIX) from None


def serve(cfg) -> str | None:
    """For an experiment on a Ray cluster, join the cluster (starting one on this machine for
    ``local``, or for ``auto`` when none runs) and return its address, which the experiment's
    workers join (:data:`SERVED`): generation and embedding share one cluster, and one that
    synthdiv started lasts as long as the run that started it. None for a local experiment."""
    if cfg.cluster.engine != "ray":
        return None
    return connect(cfg.cluster.address).get_runtime_context().gcs_address


def cluster_gpus(ray) -> int:
    """How many GPUs the cluster has (all its nodes)."""
    return int(ray.cluster_resources().get("GPU", 0))


def generation_actors(ray, wanted: int) -> tuple[int, dict]:
    """How many generation actors to start (``wanted``: ``[cluster] actors``, 0 for one per GPU)
    and the Ray options of each."""
    resources = ray.cluster_resources()
    gpus = int(resources.get("GPU", 0))
    if gpus:
        n = wanted or gpus
        if n > gpus:
            raise ConfigError(f"cluster.actors is {n}, but the cluster has {gpus} GPUs",
                              "ask for at most one generation actor per GPU, or 0 for one on each")
        return n, {"num_gpus": GENERATION_GPU, "num_cpus": 1}
    n = wanted or 1
    return n, {"num_cpus": max(1, int(resources.get("CPU", 1)) // n)}


def embedding_actor_options(ray) -> dict:
    """The Ray options of the embedding actor."""
    return {"num_gpus": EMBEDDING_GPU, "num_cpus": 0} if cluster_gpus(ray) else {"num_cpus": 0}


def where_am_i(ray, index: int) -> dict:
    """Where an actor runs, as its worker row and its images record it: node, pid, the device its
    model uses, and ``seat`` (``ray:NODE/gpuN``, or ``ray:NODE/cpuI`` for the I-th CPU actor)."""
    context = ray.get_runtime_context()
    gpus = [str(g) for g in ray.get_gpu_ids()]
    node = socket.gethostname()
    cpus = context.get_assigned_resources().get("CPU", 0)
    return {
        "node": node, "ip": ray.util.get_node_ip_address(), "pid": os.getpid(),
        "device": "cuda" if gpus else "cpu", "gpus": gpus, "cpus": cpus,
        "seat": f"ray:{node}/" + (f"gpu{','.join(gpus)}" if gpus else f"cpu{index}"),
    }


ANSI = re.compile(r"\x1b\[[0-9;]*m")  # Ray colours the actor names in its messages


def actor_error(exc: BaseException) -> str:
    """What a failed actor call says, in one line: the error the actor raised (not Ray's wrapping
    of it), also when it was raised while the actor started (Ray then gives its traceback)."""
    cause = getattr(exc, "cause", None)
    if isinstance(cause, BaseException):
        text = describe(cause)
    else:
        lines = [ANSI.sub("", line).strip() for line in str(exc).splitlines() if line.strip()]
        if len(lines) > 1 and "creation task" in lines[0]:  # its traceback's last line says what went wrong
            return f"{_unqualified(lines[-1])} (raised as the actor started)"
        text = describe(exc)
    text = ANSI.sub("", text).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _unqualified(line: str) -> str:
    """``pkg.module.SomeError: text`` as ``SomeError: text`` (a line without a colon as it is)."""
    name, colon, text = line.partition(": ")
    return f"{name.rpartition('.')[2]}: {text}" if colon and " " not in name else line


def losses() -> tuple[type[BaseException], ...]:
    """The Ray errors that mean an actor's work is lost with it: the actor died or cannot be
    reached (its node went away), or what it made was lost before it came back."""
    from ray import exceptions as e

    return (e.RayActorError, e.ObjectLostError, e.NodeDiedError, e.ActorUnschedulableError)


def record_actor(st, worker_id: int, info: dict, label: str) -> int:
    """Record a ready actor (``info``: :func:`where_am_i`) as a part of worker ``worker_id``, say so
    in the log, and return its worker row."""
    from store import workers

    print(f"{label} is ready on {info['node']} ({info['ip']}, pid {info['pid']}, {info['seat']})", flush=True)
    return workers.register_part(st, worker_id, info["seat"], info["node"], info["pid"])


def check_losses(kind: str, losses: int, why: str) -> None:
    """Stop the worker, saying why, once ``losses`` actors of ``kind`` were lost in a row."""
    if losses >= MAX_LOSSES:
        raise SynthdivError(f"{losses} {kind} actors in a row were lost on the cluster; the last {why}",
                            "see the worker's log and the Ray logs of the nodes; fix the cause and run again")


def let_go(ray, handle) -> None:
    """End an actor (one already gone is fine)."""
    try:
        ray.kill(handle)
    except Exception:  # noqa: BLE001 - already gone, or its node is
        pass
