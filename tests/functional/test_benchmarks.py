"""The benchmark commands run and print every row (figures are not asserted: they belong to the
machine; BENCHMARKS.md holds them)."""

from __future__ import annotations

import pytest

from benchmarks import gpu


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
    # every timed row has both figures and a ratio; the floor is computed from counted FLOPs
    for r in rows[1:]:
        _, ours, base, ratio, *_ = r.split(" | ")
        assert ours.strip() and base.strip() and float(ratio) > 0, r
    assert all("FLOP/image" in w and "of it)" in w for w in whats if w.startswith("tiny preset"))


def test_gpu_benchmark_without_cuda_says_how_to_run_it(capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    assert gpu.main([]) == 2
    assert "no CUDA device" in capsys.readouterr().err
