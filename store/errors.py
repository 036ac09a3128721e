"""Errors of the store: a store that cannot be opened, written, or read by this version."""

from synthdiv.errors import SynthdivError


class StoreError(SynthdivError):
    """The store folder or its SQLite file is unusable; the message names it and the fix."""

    title = "Store"
