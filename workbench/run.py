"""``synthdiv run``: a headless experiment from a config file to images and embeddings.

Checks the whole config first (bad input changes nothing), records the plan in the store,
puts back jobs of dead workers, starts a generation and an embedding worker process (unless
live ones already serve the experiment, which it then follows), shows progress, and exits
0 when every job is done and every image embedded.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from store import check_writable, embeddings, experiments, jobs, open_store, workers
from store.core import Store
from store.images import slug
from synthdiv.embed import embedder_identity, resolve_embedder
from workbench.config import ExperimentConfig, load_config
from workbench.plan import expand

POLL_S = 0.5


@dataclass
class Progressed:
    done: int
    total: int
    failed: int
    embedded: int
    texts_embedded: int
    prompts: int


def default_store(cfg: ExperimentConfig) -> Path:
    """The store folder: the config's ``store`` key, else ``runs/<name>`` in the working folder."""
    return Path(cfg.store) if cfg.store else Path("runs") / slug(cfg.name, 80)


def start_worker(root: Path, experiment: str, kind: str) -> subprocess.Popen:
    """Start a worker process; its output goes to ``logs/<kind>.log`` in the store."""
    logs = root / "logs"
    logs.mkdir(exist_ok=True)
    log = open(logs / f"{kind}.log", "ab")
    return subprocess.Popen(
        [sys.executable, "-m", "workbench.worker", kind, str(root), experiment],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def measure(st: Store, experiment_id: int, model: str) -> Progressed:
    c = jobs.counts(st, experiment_id)
    one = lambda sql, *a: st.conn.execute(sql, a).fetchone()[0]  # noqa: E731
    embedded = one(
        "select count(*) from embeddings e join images i on i.id = e.item_id"
        " where e.kind = 'image' and e.model = ? and i.experiment_id = ?", model, experiment_id)
    texts = one(
        "select count(*) from embeddings e join prompts p on p.id = e.item_id"
        " where e.kind = 'text' and e.model = ? and p.experiment_id = ?", model, experiment_id)
    prompts = one("select count(*) from prompts where experiment_id = ?", experiment_id)
    return Progressed(c["done"], sum(c.values()), c["failed"], embedded, texts, prompts)


def run_experiment(config_path: str, store_dir: str | None, console: Console) -> int:
    cfg = load_config(config_path)
    plan = expand(cfg)
    model_name, _ = embedder_identity(resolve_embedder(cfg.embedding.model, cfg.embedding.pretrained))
    root = check_writable(store_dir or default_store(cfg))
    started = time.monotonic()
    with open_store(root, create=True) as st:
        exp_id = experiments.ensure(st, cfg.name, cfg.stored(), cfg.settings())
        added = experiments.register_plan(st, exp_id, plan.classes, plan.templates, plan.prompts, plan.jobs)
        reclaimed = jobs.reclaim(st, exp_id)
        retried = jobs.retry_failed(st, exp_id)
        for note in cfg.notes():
            console.print(f"[yellow]note:[/yellow] {note}")
        console.print(
            f"Experiment [bold]{cfg.name}[/bold]: {len(plan.classes)} classes × {len(plan.templates)} templates"
            f" × {cfg.generation.images_per_prompt} seeds = {len(plan.jobs)} images, store {root}"
        )
        if added and added != len(plan.jobs):
            console.print(f"{added} new jobs added to the experiment.")
        if reclaimed:
            console.print(f"Resuming: {reclaimed} jobs left unfinished by a stopped worker go back to the queue.")
        if retried:
            console.print(f"Retrying {retried} jobs that failed before.")
        before = measure(st, exp_id, model_name)
        if before.done == before.total and before.embedded >= before.done and before.texts_embedded >= before.prompts:
            console.print(
                f"Nothing to do: all {before.total} images are generated and embedded "
                f"({before.texts_embedded} prompt embeddings). See: synthdiv status {root}"
            )
            return 0
        live_gen = workers.running(st, exp_id, "generation")
        live_emb = workers.running(st, exp_id, "embedding")
        procs: dict[str, subprocess.Popen] = {}
        if before.done < before.total and not live_gen:
            procs["generation"] = start_worker(root, cfg.name, "generation")
        if not live_emb:
            procs["embedding"] = start_worker(root, cfg.name, "embedding")
        for w in live_gen + live_emb:
            console.print(f"Following the {w['kind']} worker already running (pid {w['pid']} on {w['host']}).")
        try:
            status = _watch(st, exp_id, model_name, procs, before, console)
        except KeyboardInterrupt:
            for p in procs.values():
                if p.poll() is None:
                    p.send_signal(signal.SIGTERM)
            for p in procs.values():
                try:
                    p.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    p.kill()
            jobs.reclaim(st, exp_id)
            console.print("Stopped. Run the same command again to resume; nothing finished is lost.")
            return 130
        after = measure(st, exp_id, model_name)
        elapsed = time.monotonic() - started
        made = after.done - before.done
        rate = f" ({made / elapsed:.2f} images/s)" if made and elapsed > 0 else ""
        console.print(
            f"Generated {made} images{rate}; the experiment has {after.done}/{after.total} images,"
            f" {after.embedded} image embeddings and {after.texts_embedded} prompt embeddings"
            f" ({model_name}). {elapsed:.0f} s."
        )
        if status != 0 or after.failed or after.done < after.total or after.embedded < after.done:
            _report_failures(st, exp_id, console)
            return 1
        console.print(f"Store: {root}  ·  details: synthdiv status {root}")
        return 0


def _watch(st: Store, exp_id: int, model: str, procs: dict, before: Progressed, console: Console) -> int:
    """Show progress until every started worker has exited; the first non-zero exit status, else 0."""
    columns = (TextColumn("{task.description:<10}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.fields[rate]}"), TimeElapsedColumn())
    t0, status = time.monotonic(), 0
    with Progress(*columns, console=console, transient=False) as bar:
        gen = bar.add_task("generate", total=before.total, completed=before.done, rate="")
        emb = bar.add_task("embed", total=before.total, completed=before.embedded, rate="")
        drained = False
        while True:
            now = measure(st, exp_id, model)
            dt = max(time.monotonic() - t0, 1e-9)
            bar.update(gen, total=now.total, completed=now.done,
                       rate=f"{(now.done - before.done) / dt:.2f} img/s" if now.done > before.done else "")
            bar.update(emb, total=now.total, completed=now.embedded,
                       rate=f"{(now.embedded - before.embedded) / dt:.2f} img/s" if now.embedded > before.embedded else "")
            codes = {k: p.poll() for k, p in procs.items()}
            for k, code in codes.items():
                if code not in (None, 0):
                    status = status or code
            g = procs.get("generation")
            e = procs.get("embedding")
            if g is not None and codes["generation"] not in (None, 0) and e is not None and not drained:
                e.send_signal(signal.SIGUSR1)  # generation failed: embed what exists, then stop
                drained = True
            if all(code is not None for code in codes.values()):
                if not procs and (now.done < now.total or now.embedded < now.done):
                    # following workers of another process: wait while any of them lives
                    if workers.running(st, exp_id):
                        time.sleep(POLL_S)
                        continue
                final = measure(st, exp_id, model)
                bar.update(gen, completed=final.done)
                bar.update(emb, completed=final.embedded)
                return status
            time.sleep(POLL_S)


def _report_failures(st: Store, exp_id: int, console: Console) -> None:
    for w in workers.recent(st, exp_id, limit=4):
        if w["state"] in ("failed", "lost") and w["error"]:
            console.print(f"[red]{w['kind']} worker failed:[/red] {w['error'].strip().splitlines()[0]}")
    for j in jobs.errors(st, exp_id, limit=3):
        console.print(f"[red]job {j['id']} ({j['class_name']}, seed {j['seed']}, {j['state']}):[/red] "
                      f"{(j['error'] or '').strip().splitlines()[0] if j['error'] else ''}")
    console.print(f"Worker logs: {st.root / 'logs'}. Run the same command again to retry.")
