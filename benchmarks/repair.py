"""``synthdiv repair``'s loop against the sweep it runs, in the same run (``python -m benchmarks
--only repair``).

A base experiment (the digits at guidance 5, 2 templates × 3 seeds, with both pixel runs) is run
once. Then, on two copies of its store: ``synthdiv repair`` of two classes with two remedies each
(and the control), wall time from the command's start to its report; and the same remedies'
experiments as plain ``synthdiv run`` of their files, one after another — what a user would run
by hand as a sweep. The ratio sweep / repair is what the loop costs beyond the work itself
(planning, reading the results, the paired gains, the report and the recipe): target ≥ 0.9.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

BASE = """\
# The default experiment made small, at the guidance where the sweep's images collapse, with the
# pixel classifier trained on them (synthetic→real) and on the real digits (real→real, the judge).
name = "g5"
[classes]
set = "digits"
[templates]
custom = ["a photo of the digit {}", "a handwritten {}"]
[generation]
model = "mini-digits"
steps = 10
guidance = 5.0
width = 16
height = 16
images_per_prompt = 3
seed = 0
batch_size = 60
[embedding]
model = "mini-digits"
batch_size = 256
[real]
source = "digits"
[train]
runs = ["synthetic", "real"]
model = "digits-cnn"
epochs = 6
batch_size = 64
lr = 0.003
crop_scale = 0.8
flip = false
"""
CLASSES = "four,eight"
REMEDIES = "guidance-down,guidance-up"


def _cli(*args: str, cwd: Path) -> float:
    started = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "workbench.cli", *args], cwd=cwd, capture_output=True, text=True,
                         env={**__import__("os").environ, "HF_HUB_OFFLINE": "1"})
    if out.returncode != 0:
        raise RuntimeError(f"synthdiv {' '.join(args)} failed: {out.stdout[-2000:]}{out.stderr[-2000:]}")
    return time.perf_counter() - started


def bench_repair(folder: Path, quick: bool, row) -> None:
    from store import open_store
    from workbench import repair
    from workbench.config import load_config, to_table
    from workbench.control import to_toml
    from workbench.results import results_of

    work = folder / "repair"
    work.mkdir(parents=True, exist_ok=True)
    (work / "base.toml").write_text(BASE, encoding="utf-8")
    _cli("run", str(work / "base.toml"), "--store", str(work / "base"), cwd=work)
    ours_store, plain_store = work / "ours", work / "plain"
    shutil.copytree(work / "base", ours_store)
    shutil.copytree(work / "base", plain_store)
    # the sweep repair runs, written as files of their own
    cfg = load_config(work / "base.toml")
    with open_store(plain_store) as st:
        rows = repair.chosen_rows(results_of(st, "g5").result["four_causes"], CLASSES.split(","), None)
    files = []
    for i, rc in enumerate(repair.remedy_configs(cfg, repair.plan(cfg, rows, None, None, tuple(REMEDIES.split(","))))):
        path = work / f"remedy-{i}.toml"
        path.write_text(to_toml(to_table(rc)), encoding="utf-8")
        files.append(path)
    plain = sum(_cli("run", str(f), "--store", str(plain_store), cwd=work) for f in files)
    ours = _cli("repair", str(ours_store), "--classes", CLASSES, "--remedies", REMEDIES, cwd=work)
    ratio = plain / ours
    row(f"synthdiv repair (2 classes × 2 remedies + the control: {len(files)} experiments, 36 images, 6 training runs)"
        " vs the same experiments run one after another with synthdiv run (wall time)", f"{ours:.1f} s",
        f"{plain:.1f} s", ratio, "≥ 0.9", ratio >= 0.9)
