"""What a text-to-image model reads of a prompt: its text encoder sees at most a fixed number of
tokens (CLIP: 77, begin and end marks included; synthdiv's mini model: 16) and silently drops the
rest. Two templates that differ only after that point make identical images, so synthdiv warns
when an experiment is read and records, with every image, how many tokens its prompt has and the
text the model actually saw when it was cut.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

NO_LIMIT = 100_000  # tokenizers without a configured limit report a huge model_max_length


@dataclass(frozen=True)
class Reading:
    tokens: int | None  # tokens in the whole prompt, begin and end marks included (None: no tokenizer)
    seen: str | None  # the text the model saw when the prompt was cut; None when it saw it all


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
