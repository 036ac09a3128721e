"""Opening a store: a folder holding ``synthdiv.db`` (SQLite) and the generated images.

Every process and thread opens its own :class:`Store` (its own connection). The database runs
in WAL mode with a busy timeout, so one writer and many readers work side by side; writes that
must be atomic go through :meth:`Store.immediate`, which takes the write lock up front.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import sqlite3
import tempfile
import time
import urllib.parse
from pathlib import Path
from typing import Iterator

import sqlite_utils

from store.errors import StoreError
from store.schema import MIGRATIONS, READABLE_SINCE, SCHEMA_VERSION

DB_NAME = "synthdiv.db"
IMAGES_DIR = "images"
BUSY_TIMEOUT_S = 60.0


def check_writable(root: str | Path, option: str = "--store") -> Path:
    """Make sure ``root`` is (or can become) a folder we can write; return it resolved.

    Creates the folder when missing. Raises :class:`StoreError` naming the folder (and the
    command-line ``option`` that chose it) otherwise.
    """
    root = Path(root).expanduser()
    fix = f"choose another folder with {option}, or fix its permissions"
    what = "store" if option == "--store" else option
    if root.exists() and not root.is_dir():
        raise StoreError(f"{what} {root} is a file, not a folder", fix)
    try:
        root.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=root, prefix=".synthdiv-write-test-"):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise StoreError(f"cannot write to {what} folder {root} ({reason})", fix) from None
    return root.resolve()


class StoreFull(StoreError):
    """The disk holding the store is full: nothing more can be written until space is freed."""

    title = "Disk full"


class StoreReadOnly(StoreError):
    """The store was opened read-only, or lies where it cannot be written."""

    title = "Read-only store"


def disk_full(root: Path, detail: str = "") -> StoreFull:
    """The error for a full disk under ``root``, with the free space left there: "disk full at PATH"."""
    try:
        free = f"{shutil.disk_usage(root).free / 2**20:.0f} MiB free"
    except OSError:
        free = "free space unknown"
    return StoreFull(f"disk full at {root} ({free}{'; ' + detail if detail else ''})",
                     "free some space on that disk (or move the store), then run the same command again: "
                     "nothing already stored is lost")


def as_disk_full(exc: BaseException, root: Path) -> StoreFull | None:
    """``exc`` as the full-disk error of the store at ``root`` when that is what it is (SQLite's
    "database or disk is full", an OSError ENOSPC or EDQUOT from a file write), else None."""
    import errno

    if isinstance(exc, StoreFull):
        return exc
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return disk_full(Path(exc.filename).parent if exc.filename else root, exc.strerror or "")
    if isinstance(exc, sqlite3.OperationalError) and (
            "disk is full" in str(exc) or ("disk I/O error" in str(exc) and _no_space(root))):
        return disk_full(root, f"SQLite: {exc}")
    return None


class _Connection(sqlite3.Connection):
    """A connection whose write failures name the store and the fix: a full disk, a read-only
    store. Every statement of every module goes through here, so none of them reports a raw
    ``sqlite3.OperationalError`` for these."""

    root: Path = Path(".")
    readonly = False

    def _translate(self, exc: sqlite3.OperationalError) -> Exception:
        text = str(exc)
        full = as_disk_full(exc, self.root)
        if full is not None:
            return full
        if "readonly database" in text or "read-only" in text:
            how = ("it was opened read-only" if self.readonly
                   else "its folder or database file cannot be written")
            return StoreReadOnly(f"store {self.root} cannot be written ({how})",
                                 "this command only reads it; to change it, use a writable copy of the folder")
        return exc

    def _guarded(self, method, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except sqlite3.OperationalError as exc:
            better = self._translate(exc)
            if better is exc:
                raise
            raise better from None

    def execute(self, *args, **kwargs):
        return self._guarded(sqlite3.Connection.execute, *args, **kwargs)

    def executemany(self, *args, **kwargs):
        return self._guarded(sqlite3.Connection.executemany, *args, **kwargs)


def _no_space(root: Path) -> bool:
    try:
        return shutil.disk_usage(root).free < 1 << 20
    except OSError:
        return False


class Store:
    """One connection to one store folder. Not to be shared across threads or processes."""

    def __init__(self, root: Path, conn: sqlite3.Connection, readonly: bool = False) -> None:
        self.root = root
        self.db = sqlite_utils.Database(conn)
        self.conn = conn
        self.readonly = readonly

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


def _journal_mode_wal(conn: sqlite3.Connection) -> str:
    """Switch to WAL, retrying while another process holds the file: SQLite answers "database is
    locked" at once to a journal-mode change (no busy handler), as when two runs create one store
    together."""
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        try:
            return str(conn.execute("PRAGMA journal_mode = WAL").fetchone()[0])
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02 + random.random() * 0.08)


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_S, isolation_level=None, factory=_Connection)
    conn.root = path.parent
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
    conn.execute("PRAGMA foreign_keys = ON")
    mode = _journal_mode_wal(conn)
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
    # Foreign keys off while the schema changes (a migration may drop a table others reference,
    # to make it again; the pragma is a no-op inside a transaction), every key checked before the commit.
    store.conn.execute("PRAGMA foreign_keys = OFF")
    try:
        with store.immediate():
            version = store.schema_version()  # another process may have migrated meanwhile
            for number in range(version, SCHEMA_VERSION):
                MIGRATIONS[number](store.db)
            broken = store.conn.execute("PRAGMA foreign_key_check").fetchall()
            if broken:
                table, rowid, parent, _ = broken[0]
                raise StoreError(
                    f"store {store.root} cannot be migrated: {len(broken)} rows reference rows that do not"
                    f" exist (the first: {table} row {rowid}, into {parent})",
                    "nothing was changed; report this with the store's synthdiv.db",
                )
            store.conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    finally:
        store.conn.execute("PRAGMA foreign_keys = ON")


def _connect_readonly(path: Path) -> sqlite3.Connection:
    """A connection that cannot write: ``mode=ro``; where even that cannot open the file (a
    read-only file system, whose WAL index cannot be made), ``immutable=1``."""
    uri = "file:" + urllib.parse.quote(str(path.resolve()))
    last: Exception | None = None
    for flags in ("?mode=ro", "?mode=ro&immutable=1"):
        conn = None
        try:
            conn = sqlite3.connect(uri + flags, uri=True, timeout=BUSY_TIMEOUT_S, isolation_level=None,
                                   factory=_Connection)
            conn.root, conn.readonly = path.parent.resolve(), True
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            conn.execute("select count(*) from sqlite_master").fetchone()
            return conn
        except sqlite3.OperationalError as exc:
            last = exc
            if conn is not None:
                conn.close()  # the failed try's file stays open otherwise (until garbage collection)
    raise sqlite3.DatabaseError(str(last))


def _writable(path: Path) -> bool:
    return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)


def open_store(root: str | Path, *, create: bool = False, readonly: bool = False) -> Store:
    """Open the store in folder ``root``, creating (when ``create``) and migrating it as needed.

    Without ``create``, a folder holding no store is an error that says how to make one.
    ``readonly`` (what ``status``, ``report``, ``export`` and ``check`` use): nothing is ever
    written, not even a schema into an empty file or a migration. A store that lies where it
    cannot be written (a read-only file system or folder) is opened read-only in any case.
    """
    root = Path(root).expanduser()
    db_path = root / DB_NAME
    if db_path.exists() and not create and (readonly or not _writable(db_path)):
        return _open_readonly(root.resolve(), db_path)
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
        try:
            _migrate(store)
        except BaseException:
            store.close()
            raise
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"cannot open store database {db_path} ({exc})", "check that it is a synthdiv store") from None
    if create:
        (root / IMAGES_DIR).mkdir(exist_ok=True)
    return store


def _open_readonly(root: Path, db_path: Path) -> Store:
    not_a_store = StoreError(f"{db_path} is not a synthdiv store (an empty or foreign database)",
                             "run an experiment into another folder: synthdiv run CONFIG --store DIR")
    if db_path.stat().st_size == 0:
        raise not_a_store
    try:
        store = Store(root, _connect_readonly(db_path), readonly=True)
        version = store.schema_version()
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"cannot open store database {db_path} ({exc})", "check that it is a synthdiv store") from None
    if version == 0:
        store.close()
        raise not_a_store
    if version > SCHEMA_VERSION:
        store.close()
        raise StoreError(f"store {root} has schema version {version}, newer than this synthdiv knows "
                         f"({SCHEMA_VERSION})", "upgrade synthdiv to open it")
    if version < READABLE_SINCE:
        store.close()
        raise StoreError(f"store {root} was written by an older synthdiv (schema {version}, now {SCHEMA_VERSION})"
                         " and this command does not change it",
                         f"upgrade it by opening it once: synthdiv open {root} (or synthdiv run CONFIG --store {root})")
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
