"""synthdiv's science core: class sets, prompt templates, generator and embedder backends.

Plain functions and small classes on PIL images and numpy arrays, usable from a notebook.
The science modules know nothing of the UI or of the database (see DESIGN.md). Importing this
package is cheap: torch, diffusers and open_clip are imported only by the backend modules that
need them.

One entry point reaches past the science, for notebooks: :func:`open_store` reads a store's
results (it is ``workbench.notebook``'s, imported when called, never at import).
"""

from synthdiv.errors import SynthdivError

__all__ = ["SynthdivError", "open_store"]
__version__ = "0.1.0"


def open_store(path):
    """A store folder opened read-only for a notebook: ``s.experiments``, ``s.experiment(name)``
    and, on an experiment, ``images()``, ``embeddings(kind)``, ``tables``, ``table(name)`` and
    ``dataframe(name)`` (see :mod:`workbench.notebook`)."""
    from workbench.notebook import open_notebook_store  # the façade over store/ and workbench/, loaded on use

    return open_notebook_store(path)
