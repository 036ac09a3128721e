"""``synthdiv mini train|verify|sweep``: the embedded default models, trained and checked here."""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import sys
from pathlib import Path

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from synthdiv.errors import SynthdivError
from workbench.console import problem, text_console

METRICS = (
    ("adherence", "generated digits read as their class by a real-trained classifier"),
    ("synthetic_to_real", "real test accuracy, classifier trained on 1000 generated"),
    ("real_to_real", "real test accuracy, classifier trained on 1000 real"),
    ("diversity_ratio", "within-class spread, generated ÷ real"),
    ("clip_zero_shot", "mini CLIP zero-shot accuracy on the real test split"),
)


def _progress() -> Progress:
    return Progress(TextColumn("{task.description:<14}"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("{task.fields[info]}"), TimeElapsedColumn(), TimeRemainingColumn())


def cmd_train(args: argparse.Namespace) -> int:
    from synthdiv.mini import verify
    from synthdiv.mini.train import TrainSettings, train

    out = Path(args.out)
    if (out / "manifest.json").exists() and not (out / "checkpoints").exists() and not args.force:
        raise SynthdivError(f"{out} already holds trained mini models", "use --force to train again, or another --out")
    settings = TrainSettings.quick(args.seed) if args.quick else TrainSettings(seed=args.seed)
    command = "synthdiv mini train " + " ".join(shlex.quote(a) for a in sys.argv[3:])
    console = text_console()
    tasks: dict[str, int] = {}
    with _progress() as bar:
        def report(name: str, step: int, total: int, loss: float) -> None:
            if name not in tasks:
                tasks[name] = bar.add_task(name, total=total, info="")
            bar.update(tasks[name], completed=step, info=f"loss {loss:.4f}")

        manifest = train(out, settings, command, report)
        if not args.quick:
            task = bar.add_task("verify", total=1000, info="sampling")
            manifest["quality"] = verify.quality(out, progress=lambda i, n: bar.update(task, completed=i, total=n))
        else:
            manifest["quality"] = None  # a few steps of training: not worth measuring
        (out / "manifest.json").write_text(json.dumps(manifest, indent=2))
    shutil.rmtree(out / "checkpoints", ignore_errors=True)
    console.print(f"Trained into {out} (text-to-image {manifest['text_to_image']['parameters_unet']:,} parameters, "
                  f"CLIP {manifest['clip']['parameters']:,}).")
    if manifest["quality"]:
        _print_quality(console, manifest["quality"], None)
        failed = verify.failures(manifest["quality"])
        if failed:
            console.print(problem("below the bar:", "; ".join(failed)))
            return 1
    return 0


def _print_quality(console: Console, q: dict, recorded: dict | None) -> None:
    from synthdiv.mini.verify import THRESHOLDS

    table = Table(title=f"mini models, guidance {q['guidance']}, {q['steps']} steps", title_justify="left")
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_column("needs", justify="right")
    if recorded:
        table.add_column("manifest", justify="right")
    table.add_column("what it is")
    for key, what in METRICS:
        need = THRESHOLDS.get(key)
        ok = need is None or q[key] >= need
        row = [key, f"[{'green' if ok else 'red'}]{q[key]:.3f}[/]", f"≥ {need:.2f}" if need else ""]
        if recorded:
            row.append(f"{recorded[key]:.3f}" if key in recorded else "")
        table.add_row(*row, what)
    console.print(table)
    console.print("adherence per class: " + "  ".join(f"{k} {v:.2f}" for k, v in q["adherence_per_class"].items()))


def cmd_verify(args: argparse.Namespace) -> int:
    from synthdiv.mini import bundle, verify

    root = Path(args.dir) if args.dir else bundle.shipped()
    console = text_console()
    with _progress() as bar:
        task = bar.add_task("sampling", total=1000, info="")
        q = verify.quality(root, guidance=args.guidance, steps=args.steps,
                           progress=lambda i, n: bar.update(task, completed=i, total=n))
    recorded = bundle.manifest(root).get("quality") or None
    _print_quality(console, q, recorded)
    if args.json:
        Path(args.json).write_text(json.dumps(q, indent=2))
    failed = verify.failures(q)
    if failed:
        console.print(problem("FAILED:", "; ".join(failed)))
        return 1
    console.print("All checks pass.", style="green")
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    from synthdiv.mini import bundle, verify

    root = Path(args.dir) if args.dir else bundle.shipped()
    try:
        values = [float(v) for v in args.guidance.split(",") if v.strip()]
    except ValueError:
        raise SynthdivError(f"--guidance {args.guidance!r} is not a list of numbers", "write e.g. 1,1.5,2,3,5") from None
    pipe = bundle.load_pipeline(root / "t2i")
    rows = []
    with _progress() as bar:
        for g in values:
            task = bar.add_task(f"guidance {g:g}", total=10 * args.per_class, info="")
            rows.append(verify.quality(root, guidance=g, steps=args.steps, per_class=args.per_class, pipe=pipe,
                                       progress=lambda i, n, t=task: bar.update(t, completed=i, total=n)))
    table = Table(title=f"guidance sweep ({10 * args.per_class} digits each, {args.steps} steps)", title_justify="left")
    for col in ("guidance", "adherence", "diversity (gen ÷ real)", "synthetic→real", "real→real"):
        table.add_column(col, justify="right")
    for q in rows:
        table.add_row(f"{q['guidance']:g}", f"{q['adherence']:.3f}", f"{q['diversity_ratio']:.3f}",
                      f"{q['synthetic_to_real']:.3f}", f"{q['real_to_real']:.3f}")
    text_console().print(table)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))
    return 0


def add_parser(sub) -> None:
    mini = sub.add_parser("mini", help="the embedded default models: train, verify, guidance sweep",
                          description="The miniature text-to-image model and CLIP shipped with synthdiv, "
                          "trained on scikit-learn's real handwritten digits.")
    msub = mini.add_subparsers(dest="mini_command", metavar="ACTION", required=True)
    p = msub.add_parser("train", help="train both mini models from a seed (resumable)",
                        description="Train the text-to-image model and CLIP on the real train-split digits. "
                        "Checkpoints go to OUT/checkpoints; running again after an interruption resumes. "
                        "Ends by measuring the quality numbers into OUT/manifest.json.")
    p.add_argument("--out", default="runs/mini", help="output folder (default: runs/mini)")
    p.add_argument("--seed", type=int, default=0, help="training seed (default: 0)")
    p.add_argument("--quick", action="store_true", help="a few steps only, to test the path (numbers meaningless)")
    p.add_argument("--force", action="store_true", help="train again into a folder that holds finished models")
    p.set_defaults(func=cmd_train)
    p = msub.add_parser("verify", help="recompute the quality numbers of the shipped (or given) mini models")
    p.add_argument("--dir", help="a folder written by synthdiv mini train (default: the shipped models)")
    p.add_argument("--guidance", type=float, default=1.5, help="guidance scale (default: 1.5, the default experiment's)")
    p.add_argument("--steps", type=int, default=25, help="DDIM steps (default: 25)")
    p.add_argument("--json", metavar="FILE", help="also write the numbers as JSON")
    p.set_defaults(func=cmd_verify)
    p = msub.add_parser("sweep", help="adherence, diversity and synthetic→real accuracy across guidance scales")
    p.add_argument("--guidance", default="1,1.5,2,2.5,3,5", help="comma-separated scales (default: 1,1.5,2,2.5,3,5)")
    p.add_argument("--per-class", type=int, default=100, help="generated digits per class and scale (default: 100)")
    p.add_argument("--steps", type=int, default=25, help="DDIM steps (default: 25)")
    p.add_argument("--dir", help="a folder written by synthdiv mini train (default: the shipped models)")
    p.add_argument("--json", metavar="FILE", help="also write the rows as JSON")
    p.set_defaults(func=cmd_sweep)
