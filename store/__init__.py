"""synthdiv's store: one folder with a SQLite file (``synthdiv.db``) and the generated images.

A small explicit API over sqlite-utils, one module per thing held: ``experiments`` (and their
plan), ``jobs`` (the queue), ``workers``, ``images``, ``embeddings``, ``status``. The file is
a plain SQLite database that the ``sqlite-utils`` CLI or Datasette can open as it is.
Numpy arrays go in and out; no models, no UI.
"""

from store.core import DB_NAME, IMAGES_DIR, Store, check_writable, open_store
from store.errors import StoreError
from store.schema import SCHEMA_VERSION

__all__ = ["DB_NAME", "IMAGES_DIR", "SCHEMA_VERSION", "Store", "StoreError", "check_writable", "open_store"]
