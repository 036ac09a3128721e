"""A CLIP BPE tokenizer for diffusers text encoders, built offline from open_clip's vocabulary.

open_clip ships the CLIP byte-pair vocabulary (``bpe_simple_vocab_16e6.txt.gz``). From it we
write the ``vocab.json`` / ``merges.txt`` pair that ``transformers.CLIPTokenizer`` reads, so
a pipeline needs no tokenizer download. Token ids equal open_clip's own.
"""

from __future__ import annotations

import gzip
import json
import tempfile
from functools import lru_cache
from pathlib import Path

# open_clip's SimpleTokenizer uses these names; transformers' CLIPTokenizer uses the <|…|> ones.
_SPECIALS = {"<start_of_text>": "<|startoftext|>", "<end_of_text>": "<|endoftext|>"}


def write_clip_tokenizer(folder: str | Path, model_max_length: int = 77) -> Path:
    """Write a loadable CLIPTokenizer (vocab.json, merges.txt, tokenizer_config.json) to ``folder``."""
    from open_clip.tokenizer import SimpleTokenizer, default_bpe

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    encoder = {_SPECIALS.get(tok, tok): idx for tok, idx in SimpleTokenizer().encoder.items()}
    lines = gzip.open(default_bpe()).read().decode("utf-8").split("\n")
    merges = lines[1 : 49152 - 256 - 2 + 1]  # the slice open_clip itself uses
    (folder / "vocab.json").write_text(json.dumps(encoder, ensure_ascii=False), encoding="utf-8")
    (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n", encoding="utf-8")
    (folder / "tokenizer_config.json").write_text(
        json.dumps({"tokenizer_class": "CLIPTokenizer", "model_max_length": model_max_length})
    )
    return folder


@lru_cache(maxsize=4)
def clip_tokenizer(model_max_length: int = 77):
    """A ``transformers.CLIPTokenizer`` built from open_clip's vocabulary (cached per process)."""
    from transformers import CLIPTokenizer

    with tempfile.TemporaryDirectory(prefix="synthdiv-tokenizer-") as tmp:
        return CLIPTokenizer.from_pretrained(write_clip_tokenizer(tmp, model_max_length))
