"""Training the mini models on the real train-split digits, deterministically from a seed.

(a) Text-to-image: a pixel-space ``UNet2DConditionModel`` (16×16 grayscale, 1.7 M parameters)
conditioned through cross-attention on a frozen, randomly initialised ``CLIPTextModel`` with
CLIP's BPE tokenizer. Epsilon-prediction DDPM loss (1000 steps, cosine β schedule), AdamW with
warm-up and cosine decay, EMA of the weights, and the caption dropped to "" 10% of the time so
classifier-free guidance works. Captions come from ``CAPTION_TEMPLATES``.
(b) CLIP: a small open_clip model (custom config), trained with open_clip's ``ClipLoss`` on the
same real train-split digits with template captions.

Both train in one process and checkpoint every ``checkpoint_every`` steps (model, EMA, optimiser,
learning-rate schedule, random state), so an interrupted run resumes where it stopped and ends
with the same weights. The real test split is never touched here.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from synthdiv import digits
from synthdiv.checkpoint import load_state, save_state
from synthdiv.classes import DIGITS
from synthdiv.mini import CAPTION_TEMPLATES

UNET_CONFIG = dict(
    sample_size=16, in_channels=1, out_channels=1, block_out_channels=(32, 64, 64), layers_per_block=1,
    down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
    up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
    cross_attention_dim=64, attention_head_dim=4, norm_num_groups=8,
)
TEXT_CONFIG = dict(
    hidden_size=64, intermediate_size=256, num_attention_heads=4, num_hidden_layers=2,
    max_position_embeddings=16, vocab_size=49408, bos_token_id=49406, eos_token_id=49407, pad_token_id=49407,
)
CONTEXT = 16  # tokens per caption, for both models
CLIP_CONFIG = {
    "embed_dim": 64,
    "vision_cfg": {"image_size": 16, "patch_size": 4, "width": 128, "layers": 3, "head_width": 32, "mlp_ratio": 4},
    "text_cfg": {"context_length": CONTEXT, "vocab_size": 49408, "width": 64, "heads": 4, "layers": 2},
}
CLIP_PREPROCESS = {"size": 16, "mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5],
                   "interpolation": "bilinear", "resize_mode": "shortest"}


@dataclass(frozen=True)
class TrainSettings:
    seed: int = 0
    unet_steps: int = 1500
    unet_batch: int = 64
    unet_lr: float = 1e-3
    ema: float = 0.995
    uncond_p: float = 0.1
    clip_steps: int = 400
    clip_batch: int = 128
    clip_lr: float = 1e-3
    checkpoint_every: int = 100

    @classmethod
    def quick(cls, seed: int = 0) -> "TrainSettings":
        """A few steps of each: for tests of the whole path, not for quality."""
        return cls(seed=seed, unet_steps=30, unet_batch=32, clip_steps=20, clip_batch=64, checkpoint_every=10)


def captions() -> list[str]:
    """Every training caption, template-major: index = template * 10 + digit."""
    return [t.format(name) for t in CAPTION_TEMPLATES for name in DIGITS]


def warmup_cosine(step: int, total: int, warmup: int) -> float:
    """Learning-rate factor: linear warm-up, then cosine decay to zero."""
    if step < warmup:
        return (step + 1) / warmup
    return 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, total - warmup)))


class Checkpoint:
    """The resumable state of one training loop, saved atomically to ``path`` (safetensors with
    the plain data as JSON: :mod:`synthdiv.checkpoint`; no pickle is ever loaded).

    Model, optimiser, learning-rate schedule, the loop's random generator, step, losses, time
    spent, and ``extra`` tensors (the EMA weights). Loading it puts every part back as it was, so
    a resumed run draws the same batches and ends with the same weights.
    """

    def __init__(self, path: Path, model, opt, lr_sched, gen: torch.Generator) -> None:
        self.path, self.gen = path, gen
        self.parts = {"model": model, "opt": opt, "lr": lr_sched}
        self.step, self.losses, self.seconds, self.extra = 0, [], 0.0, {}
        self._t0 = time.monotonic()
        if path.exists():
            state = load_state(path)
            for key, part in self.parts.items():
                part.load_state_dict(state[key])
            gen.set_state(state["gen"])
            self.step, self.losses = state["step"], state["losses"]
            self.seconds, self.extra = state["seconds"], state["extra"]

    def elapsed(self) -> float:
        return round(self.seconds + time.monotonic() - self._t0, 1)

    def save(self, **extra) -> None:
        state = {key: part.state_dict() for key, part in self.parts.items()}
        state.update(gen=self.gen.get_state(), step=self.step, losses=self.losses, seconds=self.elapsed(), extra=extra)
        save_state(self.path, state)


def build_text_encoder(seed: int):
    from transformers import CLIPTextConfig, CLIPTextModel

    torch.manual_seed(seed)
    te = CLIPTextModel(CLIPTextConfig(**TEXT_CONFIG)).eval()
    te.requires_grad_(False)
    return te


def train_t2i(out: Path, s: TrainSettings, progress: Callable[[str, int, int, float], None]) -> dict:
    """Train the text-to-image model; write the pipeline folder ``out/t2i``; return training facts."""
    from diffusers import DDIMScheduler, DDPMScheduler, UNet2DConditionModel

    from synthdiv.mini.pipeline import PixelDiffusionPipeline
    from synthdiv.tokenizer import clip_tokenizer

    data = digits.split()
    x = torch.from_numpy(digits.upsample(data.train_x) * 2 - 1)[:, None]  # (n, 1, 16, 16) in [-1, 1]
    y = torch.from_numpy(data.train_y)
    tokenizer = clip_tokenizer(CONTEXT)
    text_encoder = build_text_encoder(s.seed)
    caps = captions() + [""]
    with torch.no_grad():
        ids = tokenizer(caps, padding="max_length", max_length=CONTEXT, truncation=True, return_tensors="pt").input_ids
        states = text_encoder(ids)[0]  # (51, 16, 64): the encoder is frozen, so once is enough
    torch.manual_seed(s.seed + 1)
    unet = UNet2DConditionModel(**UNET_CONFIG)
    ema = {k: v.detach().clone() for k, v in unet.state_dict().items()}
    noise_sched = DDPMScheduler(num_train_timesteps=1000, beta_schedule="squaredcos_cap_v2", prediction_type="epsilon")
    opt = torch.optim.AdamW(unet.parameters(), lr=s.unet_lr, weight_decay=0.01)
    warmup = max(1, s.unet_steps // 20)
    lr_sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda i: warmup_cosine(i, s.unet_steps, warmup))
    gen = torch.Generator().manual_seed(s.seed + 2)
    ck = Checkpoint(out / "checkpoints" / "t2i.safetensors", unet, opt, lr_sched, gen)
    ema = ck.extra.get("ema", ema)
    alphas = noise_sched.alphas_cumprod
    unet.train()
    while ck.step < s.unet_steps:
        idx = torch.randint(0, len(x), (s.unet_batch,), generator=gen)
        template = torch.randint(0, len(CAPTION_TEMPLATES), (s.unet_batch,), generator=gen)
        caption = template * 10 + y[idx]
        drop = torch.rand(s.unet_batch, generator=gen) < s.uncond_p
        caption[drop] = len(caps) - 1
        t = torch.randint(0, 1000, (s.unet_batch,), generator=gen)
        noise = torch.randn(x[idx].shape, generator=gen)
        a = alphas[t].view(-1, 1, 1, 1)
        noisy = a.sqrt() * x[idx] + (1 - a).sqrt() * noise
        pred = unet(noisy, t, encoder_hidden_states=states[caption]).sample
        loss = torch.nn.functional.mse_loss(pred, noise)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(unet.parameters(), 1.0)
        opt.step()
        lr_sched.step()
        with torch.no_grad():
            for k, v in unet.state_dict().items():
                if v.dtype.is_floating_point:
                    ema[k].lerp_(v, 1 - s.ema)
                else:
                    ema[k].copy_(v)
        ck.step += 1
        ck.losses.append(loss.item())
        progress("text-to-image", ck.step, s.unet_steps, float(np.mean(ck.losses[-50:])))
        if ck.step % s.checkpoint_every == 0 or ck.step == s.unet_steps:
            ck.save(ema=ema)
    unet.load_state_dict(ema)
    unet.eval()
    sampler = DDIMScheduler.from_config(noise_sched.config, clip_sample=False, set_alpha_to_one=False, steps_offset=1)
    pipe = PixelDiffusionPipeline(unet=unet.half(), text_encoder=text_encoder.half(), tokenizer=tokenizer, scheduler=sampler)
    pipe.save_pretrained(out / "t2i", safe_serialization=True)
    # The tokenizer (5 MB) is rebuilt from open_clip's vocabulary at load time: not shipped.
    import shutil

    shutil.rmtree(out / "t2i" / "tokenizer", ignore_errors=True)
    return {
        "parameters_unet": sum(p.numel() for p in unet.parameters()),
        "steps": s.unet_steps, "batch": s.unet_batch, "loss_first_50": float(np.mean(ck.losses[:50])),
        "loss_last_50": float(np.mean(ck.losses[-50:])), "train_seconds": ck.elapsed(),
    }


def clip_transform():
    from open_clip.transform import image_transform

    p = CLIP_PREPROCESS
    return image_transform(p["size"], is_train=False, mean=tuple(p["mean"]), std=tuple(p["std"]),
                           interpolation=p["interpolation"], resize_mode=p["resize_mode"])


def train_clip(out: Path, s: TrainSettings, progress: Callable[[str, int, int, float], None]) -> dict:
    """Train the mini CLIP contrastively; write ``out/clip`` (open_clip local-dir); return facts."""
    from open_clip.loss import ClipLoss
    from open_clip.model import CLIP
    from open_clip.tokenizer import SimpleTokenizer
    from safetensors.torch import save_file

    data = digits.split()
    preprocess = clip_transform()
    images = torch.stack([preprocess(digits.to_pil(im).convert("RGB")) for im in digits.upsample(data.train_x)])
    y = torch.from_numpy(data.train_y)
    tokens = SimpleTokenizer(context_length=CONTEXT)(captions())  # (50, 16)
    torch.manual_seed(s.seed + 3)
    model = CLIP(**json.loads(json.dumps(CLIP_CONFIG)))
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2 and "embedding" not in n]
    rest = [p for n, p in model.named_parameters() if not (p.ndim >= 2 and "embedding" not in n)]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": rest, "weight_decay": 0.0}],
                            lr=s.clip_lr, betas=(0.9, 0.98), eps=1e-6)
    warmup = max(1, s.clip_steps // 10)
    lr_sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda i: warmup_cosine(i, s.clip_steps, warmup))
    loss_fn = ClipLoss()
    gen = torch.Generator().manual_seed(s.seed + 4)
    ck = Checkpoint(out / "checkpoints" / "clip.safetensors", model, opt, lr_sched, gen)
    model.train()
    while ck.step < s.clip_steps:
        idx = torch.randperm(len(images), generator=gen)[: s.clip_batch]
        template = torch.randint(0, len(CAPTION_TEMPLATES), (len(idx),), generator=gen)
        img_f, txt_f, scale = model(images[idx], tokens[template * 10 + y[idx]])
        loss = loss_fn(img_f, txt_f, scale)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        lr_sched.step()
        with torch.no_grad():
            model.logit_scale.clamp_(0, math.log(100))
        ck.step += 1
        ck.losses.append(loss.item())
        progress("CLIP", ck.step, s.clip_steps, float(np.mean(ck.losses[-20:])))
        if ck.step % s.checkpoint_every == 0 or ck.step == s.clip_steps:
            ck.save()
    folder = out / "clip"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "open_clip_config.json").write_text(
        json.dumps({"model_cfg": CLIP_CONFIG, "preprocess_cfg": CLIP_PREPROCESS}, indent=2))
    save_file({k: v.detach().half().contiguous() for k, v in model.state_dict().items()},
              str(folder / "open_clip_model.safetensors"))
    return {
        "parameters": sum(p.numel() for p in model.parameters()), "steps": s.clip_steps, "batch": s.clip_batch,
        "loss_first_20": float(np.mean(ck.losses[:20])), "loss_last_20": float(np.mean(ck.losses[-20:])),
        "train_seconds": ck.elapsed(),
    }


def versions() -> dict[str, str]:
    import diffusers
    import open_clip
    import sklearn
    import transformers

    return {"torch": torch.__version__, "diffusers": diffusers.__version__, "transformers": transformers.__version__,
            "open_clip": open_clip.__version__, "numpy": np.__version__, "scikit-learn": sklearn.__version__}


def train(out: str | Path, s: TrainSettings, command: str,
          progress: Callable[[str, int, int, float], None] = lambda *a: None) -> dict:
    """Train both models into ``out`` (resuming from its checkpoints); return the manifest written."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    data = digits.split()
    t0 = time.monotonic()
    t2i = train_t2i(out, s, progress)
    clip = train_clip(out, s, progress)
    manifest = {
        "command": command,
        "settings": asdict(s),
        "versions": versions(),
        "data": {"source": "sklearn.datasets.load_digits", "split_seed": digits.SPLIT_SEED,
                 "test_fraction": digits.TEST_FRACTION, "train": int(len(data.train_y)),
                 "test": int(len(data.test_y)), "size": digits.SIZE,
                 "train_index_sha256": __import__("hashlib").sha256(data.train_index.tobytes()).hexdigest()},
        "captions": list(CAPTION_TEMPLATES),
        "text_to_image": t2i,
        "clip": clip,
        "seconds_this_run": round(time.monotonic() - t0, 1),
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return manifest
