"""Opening a store: a folder holding ``synthdiv.db`` (SQLite) and the generated images.

Every process and thread opens its own :class:`Store` (its own connection). The database runs
in WAL mode with a busy timeout, so one writer and many readers work side by side; writes that
must be atomic go through :meth:`Store.immediate`, which takes the write lock up front.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
from pathlib import Path
from typing import Iterator

import sqlite_utils

from store.errors import StoreError
from store.schema import MIGRATIONS, SCHEMA_VERSION

DB_NAME = "synthdiv.db"
IMAGES_DIR = "images"
BUSY_TIMEOUT_S = 60.0


def check_writable(root: str | Path) -> Path:
    """Make sure ``root`` is (or can become) a folder we can write; return it resolved.

    Creates the folder when missing. Raises :class:`StoreError` naming the folder otherwise.
    """
    root = Path(root).expanduser()
    fix = "choose another folder with --store, or fix its permissions"
    if root.exists() and not root.is_dir():
        raise StoreError(f"store {root} is a file, not a folder", fix)
    try:
        root.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=root, prefix=".synthdiv-write-test-"):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise StoreError(f"cannot write to store folder {root} ({reason})", fix) from None
    return root.resolve()


class Store:
    """One connection to one store folder. Not to be shared across threads or processes."""

    def __init__(self, root: Path, conn: sqlite3.Connection) -> None:
        self.root = root
        self.db = sqlite_utils.Database(conn)
        self.conn = conn

    @property
    def images_dir(self) -> Path:
        return self.root / IMAGES_DIR

    @contextlib.contextmanager
    def immediate(self) -> Iterator[sqlite_utils.Database]:
        """A write transaction that holds the write lock from its first statement.

        ``BEGIN IMMEDIATE`` waits (up to the busy timeout) for other writers instead of failing
        later when a read turns into a write. Commits on success, rolls back on any exception.
        """
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise
        else:
            self.conn.execute("COMMIT")

    def schema_version(self) -> int:
        return int(self.conn.execute("PRAGMA user_version").fetchone()[0])

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_S, isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
    conn.execute("PRAGMA foreign_keys = ON")
    mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    if str(mode).lower() != "wal":
        conn.close()
        raise StoreError(
            f"the store database {path} cannot use WAL mode (it stays in {mode} mode)",
            "put the store on a local file system",
        )
    conn.execute("PRAGMA synchronous = NORMAL")
    return conn


def _migrate(store: Store) -> None:
    version = store.schema_version()
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"store {store.root} has schema version {version}, newer than this synthdiv knows ({SCHEMA_VERSION})",
            "upgrade synthdiv to open it",
        )
    if version == SCHEMA_VERSION:
        return
    with store.immediate():
        version = store.schema_version()  # another process may have migrated meanwhile
        for number in range(version, SCHEMA_VERSION):
            MIGRATIONS[number](store.db)
        store.conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def open_store(root: str | Path, *, create: bool = False) -> Store:
    """Open the store in folder ``root``, creating (when ``create``) and migrating it as needed.

    Without ``create``, a folder holding no store is an error that says how to make one.
    """
    root = Path(root).expanduser()
    db_path = root / DB_NAME
    if not db_path.exists():
        if not create:
            raise StoreError(
                f"{root} holds no synthdiv store ({DB_NAME} is missing)",
                "run an experiment into it first: synthdiv run CONFIG --store " + str(root),
            )
        root = check_writable(root)
        db_path = root / DB_NAME
    else:
        root = root.resolve()
    try:
        conn = _connect(db_path)
        store = Store(root, conn)
        _migrate(store)
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"cannot open store database {db_path} ({exc})", "check that it is a synthdiv store") from None
    if create:
        (root / IMAGES_DIR).mkdir(exist_ok=True)
    return store


def _proc_stat(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def process_start_token(pid: int | None = None) -> str:
    """A token that tells this process from a later one that reuses its pid (Linux: start time)."""
    fields = _proc_stat(os.getpid() if pid is None else pid)
    return fields[19] if fields and len(fields) > 19 else ""


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` runs on this host (a zombie, killed but not yet reaped, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by someone else
    fields = _proc_stat(pid)
    return not (fields and fields[0] in ("Z", "X"))
