"""The benchmark commands run and print every row, and each row's ratio is the ratio of the two
timings it prints (the figures themselves belong to the machine: BENCHMARKS.md holds them, and its
rows obey the same rule)."""

from __future__ import annotations

import re

import pytest

from benchmarks import gpu
from tests.helpers import REPO, assert_ratio_of


@pytest.mark.slow
def test_gpu_benchmark_runs_every_row_with_the_tiny_presets_on_the_cpu(capsys, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert gpu.main(["--smoke", "--images", "8", "--batch", "4"]) == 0
    out = capsys.readouterr().out
    table = out[out.index("| synthdiv | baseline |"):]
    rows = [line for line in table.splitlines()[2:] if " | " in line]
    whats = [r.split(" | ")[0] for r in rows]
    assert whats[0].startswith("matrix products") and "FLOP/s" in rows[0]
    assert [w.split(":")[0].split(" px, ")[1] for w in whats if w.startswith("tiny preset (smoke) 32 px")] == [
        "4 steps, guidance 7.5", "1 step, guidance 0", "2 steps, guidance 0"]
    assert any(w.startswith("tiny-random embeddings: worker vs open_clip loop (40 images") for w in whats)
    assert any(w.startswith("end to end vs generation alone") for w in whats)
    assert any(w.startswith("2 generation workers on 2 CPU workers (smoke) vs one (40 images") for w in whats), whats
    assert any(w.startswith("training worker, resnet18 32 px (64 images × 1 epochs") and "of it)" in w for w in whats)
    # every timed row's ratio is its two timings' ratio; the floor is computed from counted FLOPs
    for r in rows[1:]:
        what, ours, base, ratio, *_ = r.split(" | ")
        per = re.search(r"rate ratio ÷ (\d+)", what)
        assert_ratio_of(ours, base, ratio, per=int(per.group(1)) if per else 1)
    assert all("FLOP/image" in w and "of it)" in w for w in whats if w.startswith("tiny preset"))


def test_gpu_benchmark_without_cuda_says_how_to_run_it(capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    assert gpu.main([]) == 2
    assert "no CUDA device" in capsys.readouterr().err


def test_file_benchmark_writes_and_reads_512_px_images_with_threads_and_with_one(capsys, monkeypatch):
    import benchmarks.__main__ as bench
    from workbench import worker_common

    monkeypatch.setattr(bench, "ROWS", [])
    monkeypatch.setattr(worker_common, "io_threads", lambda: 3)
    assert bench.main(["--quick", "--only", "files"]) == 0
    rows = [r for r in capsys.readouterr().out.splitlines() if " | " in r and "512 px" in r]
    assert [r.split(" (")[0] for r in rows] == ["generation worker's PNG writer at 512 px",
                                                "embedding worker's image reading at 512 px"]
    for r in rows:
        what, ours, base, ratio, target, _ = r.split(" | ")
        assert "(32 images): 3 threads vs 1" in what and "img/s" in ours and "img/s" in base
        assert_ratio_of(ours, base, ratio)
        assert target.strip() == "≥ 2.2"


def test_training_benchmark_times_the_worker_loop_against_a_plain_timm_loop(capsys, monkeypatch):
    import benchmarks.__main__ as bench

    monkeypatch.setattr(bench, "ROWS", [])
    assert bench.main(["--quick", "--only", "train"]) == 0
    rows = [r for r in capsys.readouterr().out.splitlines() if r.startswith("training worker vs plain") and " | " in r]
    assert len(rows) == 1
    what, ours, base, ratio, target, _ = rows[0].split(" | ")
    assert "digits-cnn, 16 px, 1347 images × 3 epochs" in what and "img/s" in ours and "img/s" in base
    assert_ratio_of(ours, base, ratio)
    assert target.strip() == "≥ 0.95"


def test_every_ratio_in_benchmarks_md_is_the_ratio_of_its_two_timings():
    """What a reader checks first: the ratio column follows from the two figures beside it."""
    checked = 0
    for line in (REPO / "BENCHMARKS.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 4 or not re.fullmatch(r"\d+(\.\d+)?", cells[3]):
            continue
        if not all(re.fullmatch(r"[\d,]*\.?\d+\s*(s|ms|img/s|rows/s)", c) for c in cells[1:3]):
            continue  # a row whose figures are not two timings (a FLOP count, an accuracy)
        per = re.search(r"rate ratio ÷ (\d+)", cells[0])
        assert_ratio_of(cells[1], cells[2], cells[3], per=int(per.group(1)) if per else 1)
        checked += 1
    assert checked >= 10
