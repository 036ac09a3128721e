"""What a text-to-image model reads of a prompt: its text encoder sees at most a fixed number of
tokens (CLIP: 77, begin and end marks included; synthdiv's mini model: 16) and silently drops the
rest. Two templates that differ only after that point make identical images, so synthdiv warns
when an experiment is read and records, with every image, how many tokens its prompt has and the
text the model actually saw when it was cut.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from synthdiv.sources import ModelSource, model_folder

NO_LIMIT = 100_000  # tokenizers without a configured limit report a huge model_max_length


@dataclass(frozen=True)
class Reading:
    tokens: int | None  # tokens in the whole prompt, begin and end marks included (None: no tokenizer)
    seen: str | None  # the text the model saw when the prompt was cut; None when it saw it all


def prompt_tokenizer(source: ModelSource, revision: str | None = None):
    """The tokenizer the pipeline reads prompts with (its first text encoder's), loaded without any
    weights; None when it cannot be found here (a hub model not in the cache)."""
    if source.kind == "preset":
        from synthdiv.tokenizer import clip_tokenizer

        if source.ref == "mini-digits":
            from synthdiv.mini.train import CONTEXT

            return clip_tokenizer(CONTEXT)
        return clip_tokenizer(77)
    folder = model_folder(source, revision)  # a single file reads prompts with its base's tokenizer
    if folder is None or not folder.is_dir():
        return None
    if (folder / "tokenizer").is_dir():
        from transformers import AutoTokenizer

        try:
            return AutoTokenizer.from_pretrained(str(folder / "tokenizer"), local_files_only=True)
        except Exception:  # noqa: BLE001 - a tokenizer that does not load: nothing to check against
            return None
    from synthdiv.mini import bundle

    if bundle.is_pixel_pipeline(folder):
        from synthdiv.mini.train import CONTEXT
        from synthdiv.tokenizer import clip_tokenizer

        return clip_tokenizer(CONTEXT)
    return None


def limit_of(tokenizer) -> int | None:
    """How many tokens the model reads (None: no limit configured)."""
    n = int(getattr(tokenizer, "model_max_length", NO_LIMIT) or NO_LIMIT)
    return n if n < NO_LIMIT else None


def readings(tokenizer, prompts: list[str]) -> list[Reading]:
    """For each prompt, its token count and, when it is longer than the model reads, what it saw."""
    limit = limit_of(tokenizer)
    if not prompts:
        return []
    ids = tokenizer(list(prompts), truncation=False, padding=False, verbose=False)["input_ids"]
    out = []
    for prompt, row in zip(prompts, ids, strict=True):
        if limit is None or len(row) <= limit:
            out.append(Reading(len(row), None))
        else:
            cut = tokenizer(prompt, truncation=True, max_length=limit, padding=False)["input_ids"]
            out.append(Reading(len(row), tokenizer.decode(cut, skip_special_tokens=True).strip()))
    return out


def too_long(tokenizer, prompts: Iterable[str], chunk: int = 4096) -> tuple[int, list[tuple[str, int]]]:
    """The limit, and the prompts longer than it with their token counts (longest first)."""
    limit = limit_of(tokenizer)
    if limit is None:
        return 0, []
    found: list[tuple[str, int]] = []
    batch: list[str] = []

    def flush() -> None:
        for prompt, r in zip(batch, readings(tokenizer, batch), strict=True):
            if r.seen is not None:
                found.append((prompt, r.tokens))
        batch.clear()

    for p in prompts:
        batch.append(p)
        if len(batch) >= chunk:
            flush()
    flush()
    return limit, sorted(found, key=lambda x: -x[1])
