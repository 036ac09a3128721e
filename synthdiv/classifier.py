"""Image classifiers trained on pixels: the field's synthetic→real measure.

The Classification Accuracy Score (Ravuri & Vinyals 2019; Azizi et al. 2023) trains an image
classifier on generated images only and reports its top-1 accuracy on real test images; the same
classifier trained on as many real images gives the ceiling. This module trains and evaluates
such classifiers from lists of ``(image file, class index)`` — no store, no UI:

- :func:`build_model`: a preset (``digits-cnn``: a four-convolution network that learns the 16×16
  digits in seconds on a CPU) or any timm architecture, from scratch as the papers do, or from a
  local ``.safetensors`` weights file (tensors whose shape does not fit — a classifier head for
  another number of classes — are left at their initial values);
- :class:`ImageFiles`: decodes the files (RGB), with the standard augmentation for training —
  random resized crop (scale ``crop_scale``–1, aspect 3/4–4/3) and horizontal flip — and a plain
  resize and centre crop for evaluation; each image's augmentation is drawn from a generator
  seeded by (seed, epoch, index), so an epoch is the same whatever the loader's workers;
- :func:`train`: AdamW or SGD (momentum 0.9, Nesterov), learning rate warmed up linearly over the
  first 3 % of steps then cosine-decayed to zero, cross-entropy; mixed precision (bf16 where the
  GPU has it, else fp16 with loss scaling) and channels-last on CUDA, ``torch.compile`` optional.
  A checkpoint after every epoch (:mod:`synthdiv.checkpoint`: safetensors + JSON, never a pickle)
  lets a killed run resume; each epoch reseeds every random generator, so a resumed run ends with
  the numbers of an uninterrupted one (on the CPU, where kernels are deterministic);
- :func:`predict`: the predicted class of each image (top-1).

The reported accuracy is the last epoch's: the test set is evaluated after every epoch for the
curves, but never chooses an epoch or a setting.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch
from torch import nn

from synthdiv.checkpoint import load_state, save_state
from synthdiv.errors import ConfigError, SynthdivError

PRESETS = {"digits-cnn": "four 3×3 convolutions (16–32 channels) with batch norm, max-pool and a linear head"}
MEAN = (0.485, 0.456, 0.406)  # ImageNet's, as timm normalises
STD = (0.229, 0.224, 0.225)
WARMUP_SHARE = 0.03
CACHE_BYTES = 1 << 30  # decoded training images are kept in memory when they fit in this


def check_model(name: str, what: str = "model") -> None:
    """Refuse a model name that is neither a preset nor a timm architecture, naming close ones."""
    if name in PRESETS:
        return
    import timm

    if not timm.is_model(name):
        import difflib

        close = difflib.get_close_matches(name, timm.list_models(), n=3)
        raise ConfigError(f"{what} {name!r} is neither a synthdiv preset ({', '.join(PRESETS)}) nor a timm model",
                          f"use one of those{' or ' + ', '.join(close) if close else ''} (timm.list_models() lists them)")


def _conv(cin: int, cout: int) -> nn.Module:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


def digits_cnn(num_classes: int) -> nn.Module:
    """The ``digits-cnn`` preset: 16→16→32→32 channels, a max-pool, global average pool, dropout."""
    return nn.Sequential(_conv(3, 16), _conv(16, 16), nn.MaxPool2d(2), _conv(16, 32), _conv(32, 32),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.2), nn.Linear(32, num_classes))


def build_model(name: str, num_classes: int, weights: str = "", seed: int = 0,
                image_size: int | None = None) -> nn.Module:
    """The classifier ``name`` for ``num_classes`` classes, initialised from ``seed`` (and then
    from ``weights``, a .safetensors file, where its tensors fit). ``image_size``: for timm models
    built for one input size (ViTs: their position embeddings), that size instead of the one
    in their name; models of any size (convolutional networks) take no such argument."""
    check_model(name)
    torch.manual_seed(seed)
    if name == "digits-cnn":
        model = digits_cnn(num_classes)
    else:
        import timm

        extra = {"img_size": image_size} if image_size else {}
        try:
            model = timm.create_model(name, pretrained=False, num_classes=num_classes, **extra)
        except TypeError as exc:  # an architecture of any input size takes no img_size
            if "img_size" not in str(exc):
                raise
            torch.manual_seed(seed)
            model = timm.create_model(name, pretrained=False, num_classes=num_classes)
    if weights:
        load_weights(model, weights)
    return model


def load_weights(model: nn.Module, path: str) -> list[str]:
    """Load the tensors of the .safetensors file ``path`` that fit ``model``; return the names left
    at their initial values (absent from the file, or of another shape)."""
    from safetensors.torch import load_file

    try:
        tensors = load_file(path)
    except Exception as exc:  # noqa: BLE001 - any unreadable file gets the same answer
        raise SynthdivError(f"train.weights {path} is not a readable safetensors file ({type(exc).__name__}: {exc})",
                            "give a .safetensors file of the model's weights") from None
    own = model.state_dict()
    fits = {k: v for k, v in tensors.items() if k in own and own[k].shape == v.shape}
    if not fits:
        raise SynthdivError(f"train.weights {path} has no tensor that fits the model",
                            "give weights saved from the same architecture (train.model)")
    model.load_state_dict(fits, strict=False)
    return sorted(set(own) - set(fits))


@dataclass(frozen=True)
class Recipe:
    """How a classifier is trained (the ``[train]`` settings that shape it)."""

    model: str = "digits-cnn"
    weights: str = ""
    epochs: int = 30
    batch_size: int = 128
    lr: float = 1e-3
    optimizer: str = "adamw"
    weight_decay: float = 0.05
    image_size: int = 16
    crop_scale: float = 0.08
    flip: bool = True
    seed: int = 0
    compile: bool = False

    def key(self) -> str:
        """A short hash of the recipe: a checkpoint of another recipe is never resumed."""
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:16]


def read_image(path: str | Path) -> torch.Tensor:
    """The image file ``path`` as a (3, h, w) uint8 tensor (RGB, decoded by :mod:`synthdiv.decode`)."""
    from synthdiv.decode import open_rgb

    return torch.from_numpy(np.asarray(open_rgb(path)).copy()).permute(2, 0, 1).contiguous()


def _crop_box(h: int, w: int, scale: float, gen: torch.Generator) -> tuple[int, int, int, int]:
    """A random resized crop's box (top, left, height, width): area share in [scale, 1], aspect
    ratio log-uniform in [3/4, 4/3]; the whole image after 10 misses (torchvision's rule)."""
    area = h * w
    for _ in range(10):
        r = torch.rand(3, generator=gen).tolist()
        target = area * (scale + (1 - scale) * r[0])
        aspect = math.exp(math.log(3 / 4) + (math.log(4 / 3) - math.log(3 / 4)) * r[1])
        cw, ch = int(round(math.sqrt(target * aspect))), int(round(math.sqrt(target / aspect)))
        if 0 < cw <= w and 0 < ch <= h:
            top = int(r[2] * (h - ch + 1))
            left = int(torch.randint(0, w - cw + 1, (1,), generator=gen))
            return top, left, ch, cw
    return 0, 0, h, w


class ImageFiles(torch.utils.data.Dataset):
    """``(path, class index)`` items as normalised (3, size, size) float tensors and labels.

    ``train``: random resized crop and flip per the recipe, drawn from (seed, epoch, index)
    (:meth:`set_epoch`); otherwise the image resized so its shorter side is ``size``, then centre
    cropped. ``cache``: keep decoded images in memory when they fit in :data:`CACHE_BYTES`.
    """

    def __init__(self, items: Sequence[tuple[str, int]], recipe: Recipe, train: bool, cache: bool = True) -> None:
        self.items = list(items)
        self.recipe, self.train = recipe, train
        self.epoch = 0
        self.cache: dict[int, torch.Tensor] | None = None
        if cache and self.items:
            first = read_image(self.items[0][0])
            if first.numel() * len(self.items) <= CACHE_BYTES:
                self.cache = {0: first}
        self.mean = torch.tensor(MEAN).view(3, 1, 1)
        self.std = torch.tensor(STD).view(3, 1, 1)

    def __len__(self) -> int:
        return len(self.items)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def pixels(self, i: int) -> torch.Tensor:
        """Item ``i``'s decoded image (uint8, 3 × h × w)."""
        if self.cache is None:
            return read_image(self.items[i][0])
        if i not in self.cache:
            self.cache[i] = read_image(self.items[i][0])
        return self.cache[i]

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        from torchvision.transforms.v2 import functional as F

        img, size = self.pixels(i), self.recipe.image_size
        h, w = img.shape[1:]
        if self.train:
            gen = torch.Generator().manual_seed(hash_seed(self.recipe.seed, self.epoch, i))
            top, left, ch, cw = _crop_box(h, w, self.recipe.crop_scale, gen)
            img = F.resized_crop(img, top, left, ch, cw, [size, size], antialias=True)
            if self.recipe.flip and bool(torch.rand(1, generator=gen) < 0.5):
                img = img.flip(-1)
        else:
            if (h, w) != (size, size):
                img = F.center_crop(F.resize(img, [size], antialias=True), [size, size])
        x = (img.float() / 255.0 - self.mean) / self.std
        return x, self.items[i][1]


def hash_seed(*parts: int) -> int:
    """A 63-bit seed from integers (the same on every machine and Python)."""
    return int.from_bytes(hashlib.sha256(",".join(map(str, parts)).encode()).digest()[:8], "big") >> 1


def _loader(data: ImageFiles, batch: int, device: torch.device, order: np.ndarray | None = None):
    import os

    on_gpu = device.type == "cuda"
    return torch.utils.data.DataLoader(
        data if order is None else torch.utils.data.Subset(data, order.tolist()), batch_size=batch, shuffle=False,
        num_workers=min(8, os.cpu_count() or 1) if on_gpu else 0, pin_memory=on_gpu)


def _autocast(device: torch.device):
    if device.type != "cuda":
        import contextlib

        return contextlib.nullcontext(), None
    dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    scaler = torch.amp.GradScaler("cuda") if dtype == torch.float16 else None
    return torch.autocast("cuda", dtype=dtype), scaler


@torch.no_grad()
def predict(model: nn.Module, data: ImageFiles, device: str | torch.device = "cpu", batch: int = 256) -> np.ndarray:
    """The top-1 class index the model gives each item of ``data`` (in order)."""
    device = torch.device(device)
    model.eval()
    out = []
    amp, _ = _autocast(device)
    for x, _ in _loader(data, batch, device):
        x = x.to(device, non_blocking=True)
        if device.type == "cuda":
            x = x.contiguous(memory_format=torch.channels_last)
        with amp:
            out.append(model(x).argmax(1).cpu())
    return torch.cat(out).numpy() if out else np.zeros(0, np.int64)


def probabilities(model: nn.Module, data: ImageFiles, device: str | torch.device = "cpu", batch: int = 256) -> np.ndarray:
    """The model's softmax probabilities for each item of ``data`` (items × classes, in order)."""
    device = torch.device(device)
    model.eval()
    out = []
    amp, _ = _autocast(device)
    with torch.no_grad():
        for x, _ in _loader(data, batch, device):
            x = x.to(device, non_blocking=True)
            if device.type == "cuda":
                x = x.contiguous(memory_format=torch.channels_last)
            with amp:
                out.append(torch.softmax(model(x).float(), 1).cpu())
    return torch.cat(out).numpy() if out else np.zeros((0, 0), np.float32)


def lr_at(step: int, total: int, base: float) -> float:
    """The learning rate at ``step`` of ``total``: linear warm-up over the first 3 % of steps, then
    cosine decay to zero."""
    warm = max(1, int(total * WARMUP_SHARE))
    if step < warm:
        return base * (step + 1) / warm
    return base * 0.5 * (1 + math.cos(math.pi * (step - warm) / max(1, total - warm)))


def _optimizer(model: nn.Module, recipe: Recipe) -> torch.optim.Optimizer:
    decay = [p for p in model.parameters() if p.ndim > 1]  # no weight decay on norms and biases
    rest = [p for p in model.parameters() if p.ndim <= 1]
    groups = [{"params": decay, "weight_decay": recipe.weight_decay}, {"params": rest, "weight_decay": 0.0}]
    if recipe.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=recipe.lr, momentum=0.9, nesterov=True)
    return torch.optim.AdamW(groups, lr=recipe.lr)


@dataclass
class Epoch:
    """One epoch's record: mean training loss and accuracy (on the augmented images), the test
    accuracy after it, the learning rate it ended at, its seconds and training images per second."""

    epoch: int
    loss: float
    train_accuracy: float
    test_accuracy: float | None
    lr: float
    seconds: float
    images_per_s: float


class Stopped(Exception):
    """Training was asked to stop mid-epoch; the last checkpoint holds the finished epochs."""


def train(model: nn.Module, data: ImageFiles, recipe: Recipe, device: str | torch.device = "cpu",
          checkpoint: Path | None = None, test: ImageFiles | None = None,
          on_epoch: Callable[[Epoch], None] | None = None, should_stop: Callable[[], bool] | None = None) -> list[Epoch]:
    """Train ``model`` on ``data`` per ``recipe``; return every epoch's record.

    ``checkpoint``: the file written after each epoch and resumed from when it exists (a checkpoint
    of another recipe or data is refused, naming the file). ``test``: evaluated after each epoch for
    the record. ``should_stop()`` is asked after every step; when true, :class:`Stopped` is raised
    and the epoch in hand is lost (done again on resume).
    """
    device = torch.device(device)
    model.to(device)
    if device.type == "cuda":
        model.to(memory_format=torch.channels_last)
    opt = _optimizer(model, recipe)
    steps_per_epoch = math.ceil(len(data) / recipe.batch_size)
    total = steps_per_epoch * recipe.epochs
    identity = {"recipe": recipe.key(), "items": _items_key(data.items)}
    history: list[Epoch] = []
    if checkpoint is not None and checkpoint.exists():
        state = load_state(checkpoint)
        if state.get("identity") != identity:
            raise SynthdivError(f"checkpoint {checkpoint} is of another training (recipe or images changed)",
                                f"delete {checkpoint.parent} to train this run afresh")
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        history = [Epoch(**e) for e in json.loads(state["history"])]
    forward = torch.compile(model) if recipe.compile and device.type == "cuda" else model
    amp, scaler = _autocast(device)
    loss_fn = nn.CrossEntropyLoss()
    for epoch in range(len(history), recipe.epochs):
        torch.manual_seed(hash_seed(recipe.seed, epoch, 1))  # dropout and anything else drawing from torch
        data.set_epoch(epoch)
        order = np.random.default_rng([recipe.seed, epoch]).permutation(len(data))
        model.train()
        t0, seen, loss_sum, right = time.perf_counter(), 0, 0.0, 0
        for k, (x, y) in enumerate(_loader(data, recipe.batch_size, device, order)):
            step = epoch * steps_per_epoch + k
            for group in opt.param_groups:
                group["lr"] = lr_at(step, total, recipe.lr)
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            if device.type == "cuda":
                x = x.contiguous(memory_format=torch.channels_last)
            with amp:
                logits = forward(x)
                loss = loss_fn(logits.float(), y)
            opt.zero_grad(set_to_none=True)
            if scaler is not None:
                scaler.scale(loss).backward()
                scaler.step(opt)
                scaler.update()
            else:
                loss.backward()
                opt.step()
            seen += len(y)
            loss_sum += float(loss.detach()) * len(y)
            right += int((logits.detach().argmax(1) == y).sum())
            if should_stop is not None and should_stop():
                raise Stopped(f"stopped in epoch {epoch + 1}")
        seconds = time.perf_counter() - t0
        test_acc = None
        if test is not None and len(test):
            labels = np.array([c for _, c in test.items])
            test_acc = float((predict(model, test, device) == labels).mean())
        record = Epoch(epoch + 1, loss_sum / max(seen, 1), right / max(seen, 1), test_acc,
                       opt.param_groups[0]["lr"], seconds, seen / seconds if seconds > 0 else 0.0)
        history.append(record)
        if checkpoint is not None:
            save_state(checkpoint, {"identity": identity, "model": model.state_dict(), "optimizer": opt.state_dict(),
                                    "history": json.dumps([asdict(e) for e in history])})
        if on_epoch is not None:
            on_epoch(record)
    return history


def _items_key(items: Sequence[tuple[str, int]]) -> str:
    h = hashlib.sha256()
    for path, label in items:
        h.update(f"{path}\0{label}\n".encode())
    return h.hexdigest()[:16]


def per_class_accuracy(pred: np.ndarray, truth: np.ndarray, n_classes: int) -> list[float | None]:
    """Accuracy within each true class (None for a class with no item)."""
    return [float((pred[truth == c] == c).mean()) if (truth == c).any() else None for c in range(n_classes)]


def confusion(pred: np.ndarray, truth: np.ndarray, n_classes: int) -> np.ndarray:
    """Counts: rows the true class, columns the predicted one."""
    m = np.zeros((n_classes, n_classes), int)
    np.add.at(m, (truth.astype(int), pred.astype(int)), 1)
    return m


def _draw(items: list[tuple[str, int]], n: int, rng: np.random.Generator) -> list[tuple[str, int]]:
    """``n`` of ``items`` (all when there are fewer), drawn without replacement, in their order."""
    if n >= len(items):
        return list(items)
    return [items[i] for i in np.sort(rng.choice(len(items), n, replace=False))]


def training_set(run: str, synthetic: list[tuple[str, int]], real_train: list[tuple[str, int]], n_classes: int,
                 real_per_class: int = 0, seed: int = 0) -> tuple[list[tuple[str, int]], dict]:
    """The training items of run ``run`` and what they are made of, per class.

    - ``synthetic``: every synthetic image (the Classification Accuracy Score);
    - ``real``: R real train images of each class, R = ``real_per_class`` or, when 0, as many as
      the class has synthetic images (the ceiling at equal n; all it has when fewer);
    - ``mix-Kx``: the same R real images of each class as ``real`` (the same draw) plus K·R of its
      synthetic images: compared with ``real``, what adding synthetic images changes.

    Draws are per class, seeded by ``seed`` and the class, so every run of an experiment sees the
    same real subset. ``made_of``: per-class counts (``synthetic``, ``real``) and any ``notes``.
    """
    by_class = lambda items: [[it for it in items if it[1] == c] for c in range(n_classes)]  # noqa: E731
    syn_c, real_c = by_class(synthetic), by_class(real_train)
    out: list[tuple[str, int]] = []
    counts = {"synthetic": [0] * n_classes, "real": [0] * n_classes}
    notes: list[str] = []
    mix = 0 if run in ("synthetic", "real") else int(run.removeprefix("mix-").removesuffix("x"))
    for c in range(n_classes):
        if run == "synthetic":
            chosen_syn, chosen_real = syn_c[c], []
        else:
            want = real_per_class or len(syn_c[c])
            chosen_real = _draw(real_c[c], want, np.random.default_rng([seed, c, 0]))
            if len(chosen_real) < want:
                notes.append(f"class {c}: {len(chosen_real)} real train images of the {want} wanted")
            chosen_syn = _draw(syn_c[c], mix * len(chosen_real), np.random.default_rng([seed, c, 1])) if mix else []
        out += chosen_real + chosen_syn
        counts["synthetic"][c], counts["real"][c] = len(chosen_syn), len(chosen_real)
    return out, {**counts, "notes": notes}


def scored(pred: np.ndarray, truth: np.ndarray, classes: list[str], seed: int = 0) -> dict:
    """Accuracy of ``pred`` against ``truth`` with what it rests on: pooled over images with its 95 %
    bootstrap interval over classes (as the headline accuracies), per class with a binomial
    bootstrap interval over the class's images, and the 20 largest confusions."""
    from synthdiv import confidence

    n = len(classes)
    total = np.bincount(truth, minlength=n)
    correct = np.bincount(truth[pred == truth], minlength=n)
    try:
        pooled = confidence.pooled_proportion(correct, total, seed=seed)
    except ValueError:  # one class: no interval over classes
        pooled = confidence.Interval(float(correct.sum() / max(total.sum(), 1)), float("nan"), float("nan"), 1)
    low, high = confidence.proportions(correct, np.maximum(total, 1), seed=seed)
    m = confusion(pred, truth, n)
    off = sorted(((int(m[i, j]), i, j) for i, j in zip(*np.nonzero(m)) if i != j), reverse=True)[:20]
    r6 = lambda v: None if v is None or np.isnan(v) else round(float(v), 6)  # noqa: E731
    return {
        "accuracy": r6(pooled.value), "low": r6(pooled.low), "high": r6(pooled.high), "n": int(len(truth)),
        "n_classes": int((total > 0).sum()),
        "per_class": [{"class": classes[c], "accuracy": r6(correct[c] / total[c]) if total[c] else None,
                       "low": r6(low[c]) if total[c] else None, "high": r6(high[c]) if total[c] else None,
                       "n": int(total[c])} for c in range(n)],
        "top_confusions": [{"class": classes[i], "predicted": classes[j], "count": cnt,
                            "share_of_class": r6(cnt / total[i])} for cnt, i, j in off],
    }
