"""What the generator asks of a pipeline: the size it records is the size it makes (resolution
binning off where a pipeline has it), and compile covers a DiT pipeline's transformer."""

from __future__ import annotations

import types

import numpy as np

from synthdiv.generate import GenerationSettings, Generator, denoisers
from synthdiv.sources import resolve_source


def test_resolution_binning_is_turned_off_so_the_recorded_size_is_made():
    gen = Generator(resolve_source("tiny-random", "generation.model"), device="cpu")
    calls = []

    def pixart_like(**kwargs):  # a pipeline that would snap 40×24 to its nearest resolution bin
        calls.append(kwargs)
        h, w = kwargs["height"], kwargs["width"]
        return types.SimpleNamespace(images=np.random.default_rng(0).random((len(kwargs["prompt"]), h, w, 3)))

    gen.pipe = pixart_like
    gen._call_params = {"prompt", "height", "width", "generator", "output_type", "num_inference_steps",
                        "guidance_scale", "use_resolution_binning"}
    images = gen.generate(["a cat"], [1], GenerationSettings(steps=2, guidance=1.0, width=40, height=24))
    assert calls[0]["use_resolution_binning"] is False and images[0].size == (40, 24)
    gen._call_params.discard("use_resolution_binning")  # a pipeline without it is not given it
    gen.generate(["a cat"], [1], GenerationSettings(steps=2, guidance=1.0, width=40, height=24))
    assert "use_resolution_binning" not in calls[1]


def test_the_denoisers_of_unet_and_transformer_pipelines():
    assert denoisers(types.SimpleNamespace(unet=object(), transformer=None)) == ["unet"]
    assert denoisers(types.SimpleNamespace(transformer=object())) == ["transformer"]
    assert denoisers(types.SimpleNamespace()) == []
