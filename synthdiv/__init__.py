"""synthdiv's science core: class sets, prompt templates, generator and embedder backends.

Plain functions and small classes on PIL images and numpy arrays, usable from a notebook.
This package knows nothing of the UI or of the database (see DESIGN.md). Importing it is
cheap: torch, diffusers and open_clip are imported only by the backend modules that need them.
"""

from synthdiv.errors import SynthdivError

__all__ = ["SynthdivError"]
__version__ = "0.1.0"
