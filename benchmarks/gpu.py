"""The GPU rows: ``python -m benchmarks.gpu [--images N] [--smoke]``.

Real architectures built from their configs with random weights (the compute of trained weights,
none of the download): Stable Diffusion 1.5 (UNet 860 M parameters, VAE, CLIP ViT-L/14 text
encoder) at 512 px, and open_clip ViT-L-14 and ViT-H-14 at 224 px. Each is saved to a temporary
folder and named in an experiment exactly as a user would name a local model, so the rows time the
same code a run uses:

- the fp16 matrix rate of this GPU (8192³ products), measured first;
- SD 1.5, 25 steps with guidance 7.5 (two UNet evaluations a step), and SD-Turbo-style 1, 2 and 4
  steps without guidance: the generation worker against a plain diffusers loop over the same
  pipeline, images/s, and the compute floor — UNet FLOPs per image (counted by PyTorch's
  FlopCounterMode on one evaluation) ÷ the matrix rate — with the share of it reached;
- ViT-L-14 and ViT-H-14: the embedding worker against a plain open_clip loop, embeddings/s;
- end to end (generation and embedding worker processes) against generation alone, 25 steps;
- N generation worker processes, one per visible GPU (as ``devices = "auto"`` places them),
  against one: scaling efficiency = (rate of N ÷ rate of one) ÷ N, steady state (after every
  worker's model is loaded). Needs two GPUs or more (``--smoke``: 2 CPU workers);
- the training worker's loop (synthdiv.classifier.train) on timm's ResNet-50 at 224 px from PNG
  files at 256 px, mixed precision and channels-last: training images/s against the compute
  floor — training FLOPs per image (3 × the forward's, counted by FlopCounterMode) ÷ the matrix
  rate — and the share of it reached.

``--smoke`` runs every row with the tiny presets on the CPU (what the test suite does): the same
code, meaningless figures. The figures of a lent GPU go in BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.__main__ import (
    ROWS,
    digits_config,
    print_table,
    row,
    sync_gpu,
    time_embedding,
    time_end_to_end,
    time_generation,
)

SD15_UNET = {
    "sample_size": 64, "in_channels": 4, "out_channels": 4, "layers_per_block": 2,
    "block_out_channels": (320, 640, 1280, 1280),
    "down_block_types": ("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"),
    "up_block_types": ("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
    "cross_attention_dim": 768, "attention_head_dim": 8, "norm_num_groups": 32,
}
SD15_VAE = {
    "in_channels": 3, "out_channels": 3, "latent_channels": 4, "layers_per_block": 2, "sample_size": 512,
    "down_block_types": ("DownEncoderBlock2D",) * 4, "up_block_types": ("UpDecoderBlock2D",) * 4,
    "block_out_channels": (128, 256, 512, 512), "norm_num_groups": 32,
}
SD15_TEXT = {
    "hidden_size": 768, "intermediate_size": 3072, "num_attention_heads": 12, "num_hidden_layers": 12,
    "vocab_size": 49408, "max_position_embeddings": 77, "hidden_act": "quick_gelu", "projection_dim": 768,
    "bos_token_id": 49406, "eos_token_id": 49407, "pad_token_id": 49407,
}
TURBO_STEPS = (1, 2, 4)
OPEN_CLIP = ("ViT-L-14", "ViT-H-14")
EMBED_BATCH = 64


def sd15_pipeline():
    """A ``StableDiffusionPipeline`` with SD 1.5's architecture and random weights (seeded)."""
    import torch
    from diffusers import (
        AutoencoderKL,
        DDIMScheduler,
        StableDiffusionPipeline,
        UNet2DConditionModel,
    )
    from transformers import CLIPTextConfig, CLIPTextModel

    from synthdiv.tokenizer import clip_tokenizer

    torch.manual_seed(0)
    return StableDiffusionPipeline(
        vae=AutoencoderKL(**SD15_VAE), text_encoder=CLIPTextModel(CLIPTextConfig(**SD15_TEXT)),
        tokenizer=clip_tokenizer(77), unet=UNet2DConditionModel(**SD15_UNET),
        scheduler=DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                                clip_sample=False, set_alpha_to_one=False, steps_offset=1),
        safety_checker=None, feature_extractor=None, requires_safety_checker=False)


def save_pipeline(folder: Path, smoke: bool) -> Path:
    """Write the pipeline (SD 1.5, or the tiny preset for a smoke run) where a config can name it."""
    import torch

    from synthdiv.presets import tiny_random_pipeline

    pipe = tiny_random_pipeline() if smoke else sd15_pipeline()
    pipe.to(torch.float32 if smoke else torch.float16).save_pretrained(folder)
    return folder


def save_open_clip(arch: str, path: Path) -> Path:
    """Random weights of an open_clip architecture, as a weights file ``embedding.pretrained`` takes."""
    import open_clip
    import torch

    torch.manual_seed(0)
    torch.save(open_clip.create_model(arch).half().state_dict(), path)
    return path


def _counted(run) -> float:
    """FLOPs of ``run()`` as PyTorch's FlopCounterMode counts them (matrix products, convolutions
    and attention; 2 per multiply-add)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with torch.inference_mode(), counter:
        run()
    return float(counter.get_total_flops())


def _latents(pipe, channels: int, dtype, height: int, width: int):
    import torch

    scale = pipe.vae_scale_factor
    return torch.randn(1, channels, height // scale, width // scale, device=pipe.device, dtype=dtype)


def unet_flops(pipe, height: int, width: int) -> float:
    """FLOPs of one UNet evaluation for one image (see :func:`_counted`)."""
    import torch

    unet = pipe.unet
    latents = _latents(pipe, unet.config.in_channels, unet.dtype, height, width)
    context = torch.randn(1, pipe.tokenizer.model_max_length, unet.config.cross_attention_dim,
                          device=pipe.device, dtype=unet.dtype)
    step = torch.tensor([500], device=pipe.device)
    return _counted(lambda: unet(latents, step, encoder_hidden_states=context))


def vae_decode_flops(pipe, height: int, width: int) -> float:
    """FLOPs of decoding one image's latents with the VAE (see :func:`_counted`)."""
    vae = pipe.vae
    latents = _latents(pipe, vae.config.latent_channels, vae.dtype, height, width)
    return _counted(lambda: vae.decode(latents))


def matrix_rate(device: str, n: int) -> float:
    """FLOP/s of n × n × n fp16 matrix products on ``device`` (float32 on a CPU), mean of ten after
    three warm-ups."""
    import torch

    dtype = torch.float16 if device == "cuda" else torch.float32
    a, b = (torch.randn(n, n, device=device, dtype=dtype) for _ in range(2))
    for _ in range(3):
        a @ b
    sync_gpu()
    t0 = time.perf_counter()
    for _ in range(10):
        a @ b
    sync_gpu()
    return 10 * 2 * n**3 / (time.perf_counter() - t0)


def _flop(x: float) -> str:
    return f"{x / 1e12:.1f} TFLOP" if x >= 1e11 else f"{x / 1e9:.2f} GFLOP"


def scaling_row(folder: Path, cfg_for, steps: int, guidance: float, clip, smoke: bool) -> None:
    """N generation workers, one per GPU, against one (:func:`benchmarks.__main__.steady_rate`)."""
    from benchmarks.__main__ import steady_rate
    from workbench.placement import seats, visible_gpus

    many = seats("generation", "2", "each", [], cores=2) if smoke else seats("generation", "auto", "each", visible_gpus())
    what = f"{len(many)} generation workers on {len(many)} {'CPU workers (smoke)' if smoke else 'GPUs'} vs one"
    if len(many) < 2:
        row(what + " (needs 2 GPUs or more: not measured)", "—", "—", None, "≥ 0.90", None)
        return
    cfg = cfg_for(steps, guidance, clip)
    n1, one = steady_rate(folder / "one-worker", cfg, many[:1])
    n, rate = steady_rate(folder / "workers", cfg, many)
    efficiency = rate / one / len(many)
    row(f"{what} ({n} images, {steps} steps, steady state; efficiency = rate ratio ÷ {len(many)})",
        f"{rate:.2f} img/s", f"{one:.2f} img/s", efficiency, "≥ 0.90", efficiency >= 0.90)


def training_row(folder: Path, rate: float, device: str, smoke: bool) -> None:
    """The training worker on ResNet-50 at 224 px in AMP (``smoke``: resnet18 at 32 px on the CPU)."""
    import torch

    from benchmarks.__main__ import sd_like_images
    from synthdiv.classifier import ImageFiles, Recipe, build_model, train

    model_name, size, count, epochs, batch = ("resnet18", 32, 64, 1, 32) if smoke else ("resnet50", 224, 4096, 2, 256)
    folder.mkdir(parents=True, exist_ok=True)
    items = []
    for i, im in enumerate(sd_like_images(count, 40 if smoke else 256)):
        path = folder / f"{i:05d}.png"
        im.save(path)
        items.append((str(path), i % 10))
    recipe = Recipe(model=model_name, epochs=epochs, batch_size=batch, lr=0.001, image_size=size, crop_scale=0.35)
    model = build_model(model_name, 10)
    model.eval()  # counting only: batch norm of one image in training mode is undefined
    per_image = 3 * _counted(lambda: model(torch.zeros(1, 3, size, size)))  # forward + backward ≈ 3 forwards
    history = train(model, ImageFiles(items, recipe, train=True, cache=False), recipe, device)
    sync_gpu()
    steady = history[-1]  # the last epoch: compilation, cuDNN's choice and the loaders' start are behind it
    floor = rate / per_image
    row(f"training worker, {model_name} {size} px{' AMP channels-last' if device == 'cuda' else ''} ({count} images"
        f" × {epochs} epochs, batch {batch}; {_flop(per_image)}/image, floor {floor:.0f} img/s, at"
        f" {steady.images_per_s / floor:.0%} of it)", f"{steady.images_per_s:.0f} img/s", f"{floor:.0f} img/s",
        steady.images_per_s / floor, "—", None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.gpu", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=160, help="images per generation row (default 160)")
    parser.add_argument("--batch", type=int, default=16, help="generation batch (default 16)")
    parser.add_argument("--smoke", action="store_true", help="tiny presets on the CPU: checks the command, not the GPU")
    args = parser.parse_args(argv)
    import torch

    from workbench.generation import load_generator

    if not args.smoke and not torch.cuda.is_available():
        print("no CUDA device: run this on a GPU machine, or add --smoke for a check on the CPU", file=sys.stderr)
        return 2
    device = "cpu" if args.smoke else "cuda"
    size, steps, guidance = (32, 4, 7.5) if args.smoke else (512, 25, 7.5)
    label = "tiny preset (smoke)" if args.smoke else "SD 1.5"
    seeds = max(1, -(-args.images // 40))  # 10 digits × 4 templates × seeds
    print(f"{torch.cuda.get_device_name() if device == 'cuda' else 'CPU (smoke)'} · torch {torch.__version__}"
          f" · {time.strftime('%Y-%m-%d')}", flush=True)
    started = time.perf_counter()
    ROWS.clear()
    with tempfile.TemporaryDirectory(prefix="synthdiv-gpu-bench-") as tmp:
        folder = Path(tmp)
        rate = matrix_rate(device, 1024 if args.smoke else 8192)
        row("matrix products, fp16 8192³" if device == "cuda" else "matrix products, fp32 1024³ (smoke)",
            f"{_flop(rate)}/s", "—", None, "—", None)
        model = str(save_pipeline(folder / "sd15", args.smoke))
        clips = ([("tiny-random", "")] if args.smoke else
                 [(arch, str(save_open_clip(arch, folder / f"{arch}.pt"))) for arch in OPEN_CLIP])

        def cfg_for(n_steps: int, scale: float, clip: tuple[str, str]):
            return digits_config(seeds, args.batch, name=f"steps-{n_steps}",
                                 generation={"model": model, "steps": n_steps, "guidance": scale,
                                             "width": size, "height": size},
                                 embedding={"model": clip[0], "pretrained": clip[1], "batch_size": EMBED_BATCH})

        first = cfg_for(steps, guidance, clips[0])
        gen = load_generator(first)  # loaded once: steps and guidance are settings of a call, not of the model
        per_eval, decode = unet_flops(gen.pipe, size, size), vae_decode_flops(gen.pipe, size, size)

        def generation_row(cfg) -> int:
            n, worker, plain = time_generation(folder / cfg.name, cfg, gen)
            g = cfg.generation
            per_image = per_eval * g.steps * (2 if g.guidance > 1 else 1)  # guidance > 1: two evaluations a step
            floor = per_image / rate  # seconds per image if the UNet ran at the matrix rate
            row(f"{label} {size} px, {g.steps} step{'s' * (g.steps > 1)}, guidance {g.guidance:g}: worker vs"
                f" diffusers loop ({n} images, batch {args.batch}; UNet {_flop(per_image)}/image, VAE decode"
                f" {_flop(decode)}, floor {1 / floor:.1f} img/s, worker at {floor / (worker / n):.0%} of it)",
                f"{n / worker:.2f} img/s", f"{n / plain:.2f} img/s", plain / worker, "≥ 0.95", plain / worker >= 0.95)
            return n

        n = generation_row(first)
        for clip in clips:  # each embedder embeds the first row's images (a new model name: all of them)
            n_e, worker, plain = time_embedding(folder / first.name, cfg_for(steps, guidance, clip))
            row(f"{clip[0]} embeddings: worker vs open_clip loop ({n_e} images of {size} px, batch {EMBED_BATCH})",
                f"{n_e / worker:.0f} img/s", f"{n_e / plain:.0f} img/s", plain / worker, "≥ 0.95", plain / worker >= 0.95)
        alone, together = time_end_to_end(folder / "processes", first)
        row(f"end to end vs generation alone, {steps} steps ({n} images, worker processes, {clips[0][0]})",
            f"{together:.1f} s", f"{alone:.1f} s", alone / together, "≥ 0.90", alone / together >= 0.90)
        for n_steps in (1, 2) if args.smoke else TURBO_STEPS:  # SD-Turbo style: a few steps, no guidance
            generation_row(cfg_for(n_steps, 0.0, clips[0]))
        scaling_row(folder, cfg_for, steps, guidance, clips[0], args.smoke)
        training_row(folder / "train", rate, device, args.smoke)
    print_table(started, ["-m", "benchmarks.gpu", *(argv if argv is not None else sys.argv[1:])])
    return 0


if __name__ == "__main__":
    sys.exit(main())
