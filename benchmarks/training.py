"""The training worker's loop against a plain timm/torch training loop over the same files and
settings, in the same run (``python -m benchmarks --only train``).

Both train the same architecture from the same initial weights on the same PNG files (the real
train digits, written once), with the same batch size, epochs, optimiser (AdamW), learning rate,
weight decay, random resized crop (scale 0.8–1) and image size; the plain loop is what a
researcher writes from the timm/torchvision documentation: an ``ImageFolder``-style dataset
opening each file with PIL, torchvision's ``RandomResizedCrop`` + ``ToTensor`` + ``Normalize``, a
shuffling ``DataLoader``, ``CosineAnnealingLR``. Each side's rate is the training images per
second over its epochs (test evaluation excluded on both sides).
"""

from __future__ import annotations

import time
from pathlib import Path


def digit_files(folder: Path, size: int) -> list[tuple[str, int]]:
    """The 1,347 real train digits as ``size``-px PNG files in ``folder`` (written once)."""
    from PIL import Image

    from synthdiv import digits

    d = digits.split()
    folder.mkdir(parents=True, exist_ok=True)
    items = []
    for i, (x, y) in enumerate(zip(digits.upsample(d.train_x), d.train_y, strict=True)):
        path = folder / f"{i:04d}.png"
        if not path.exists():
            digits.to_pil(x).convert("RGB").resize((size, size), Image.BILINEAR).save(path)
        items.append((str(path), int(y)))
    return items


def ours(items, recipe) -> float:
    """Training images per second of the training worker's loop (synthdiv.classifier.train)."""
    from synthdiv.classifier import ImageFiles, build_model, train

    model = build_model(recipe.model, 10, seed=recipe.seed)
    history = train(model, ImageFiles(items, recipe, train=True), recipe, "cpu")
    seen = sum(e.images_per_s * e.seconds for e in history)
    return seen / sum(e.seconds for e in history)


def plain(items, recipe) -> float:
    """Training images per second of a plain timm/torch loop over the same files and settings."""
    import torch
    from PIL import Image
    from torchvision import transforms

    from synthdiv.classifier import MEAN, STD, build_model

    tf = transforms.Compose([transforms.RandomResizedCrop(recipe.image_size, scale=(recipe.crop_scale, 1.0)),
                             transforms.ToTensor(), transforms.Normalize(MEAN, STD)])

    class Files(torch.utils.data.Dataset):
        def __len__(self):
            return len(items)

        def __getitem__(self, i):
            path, label = items[i]
            with Image.open(path) as im:
                return tf(im.convert("RGB")), label

    model = build_model(recipe.model, 10, seed=recipe.seed)  # the same architecture and initial weights
    opt = torch.optim.AdamW(model.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)
    loader = torch.utils.data.DataLoader(Files(), batch_size=recipe.batch_size, shuffle=True, num_workers=0)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, recipe.epochs * len(loader))
    loss_fn = torch.nn.CrossEntropyLoss()
    seen, seconds = 0, 0.0
    for _ in range(recipe.epochs):
        model.train()
        t0 = time.perf_counter()
        for x, y in loader:
            loss = loss_fn(model(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            seen += len(y)
        seconds += time.perf_counter() - t0
    return seen / seconds


def bench_training(folder: Path, quick: bool, row) -> None:
    """One row per model: the digits CNN at 16 px (the default experiment's) and, unless ``quick``,
    timm's resnet18 at 32 px."""
    from synthdiv.classifier import Recipe

    cases = [("digits-cnn", 16, 3 if quick else 10)] + ([] if quick else [("resnet18", 32, 2)])
    for model, size, epochs in cases:
        items = digit_files(folder / f"train-files-{size}", size)
        recipe = Recipe(model=model, epochs=epochs, batch_size=64, lr=0.003, image_size=size, crop_scale=0.8,
                        flip=False)
        plain(items, Recipe(**{**recipe.__dict__, "epochs": 1}))  # warm both paths' code and caches once
        a, b = ours(items, recipe), plain(items, recipe)
        row(f"training worker vs plain timm/torch loop ({model}, {size} px, {len(items)} images × {epochs} epochs,"
            " CPU)", f"{a:.0f} img/s", f"{b:.0f} img/s", a / b, "≥ 0.95", a / b >= 0.95)
