"""Loading diffusers and transformers models quietly: no progress bars, no chatter, no rename
warnings. Shared by the generator backend and the mini models' bundle."""

from __future__ import annotations

import logging
import warnings


def from_pretrained(cls, ref, **kwargs):
    """``cls.from_pretrained(ref, **kwargs)`` without the torch_dtype → dtype rename warning."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*torch_dtype.*", category=FutureWarning)
        return cls.from_pretrained(ref, **kwargs)


def quiet_libraries() -> None:
    """Silence diffusers' and transformers' progress bars and chatter, unless ``SYNTHDIV_VERBOSE``
    is set (``synthdiv -v``: the workers inherit it)."""
    import os

    if os.environ.get("SYNTHDIV_VERBOSE"):
        return
    for name in ("diffusers", "transformers"):
        logging.getLogger(name).setLevel(logging.ERROR)
    try:
        from diffusers.utils import logging as dlog
        from transformers.utils import logging as tlog

        dlog.set_verbosity_error()
        dlog.disable_progress_bar()
        tlog.set_verbosity_error()
        tlog.disable_progress_bar()
    except Exception:  # noqa: BLE001 - quieting is best effort
        pass
