"""Where compiled individual models are kept between processes (see models/compiled.py).

Entries are pickles, so they are only ever read from a folder that is this user's and that no
one else can write, and only from files with the same property, opened without following
links; anything else, and any entry that does not load, is ignored and rebuilt. Entries are
written atomically (a temporary file in the same folder, then a rename), readable by this user
only, and the oldest beyond :data:`KEEP` are removed. ``CRUXFIT_NO_CACHE=1`` turns it off.

The folder is ``$XDG_CACHE_HOME/cruxfit/compiled`` (else ``~/.cache/cruxfit/compiled``); when
it cannot be made safe, the store keeps entries in memory only, for this process.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

ENV_OFF = "CRUXFIT_NO_CACHE"
#: Entries kept on disk (each is about 1 MB; one per set of statements answered).
KEEP = 32


def enabled() -> bool:
    return os.environ.get(ENV_OFF, "").strip().lower() not in ("1", "true", "yes", "on")


def default_folder() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "cruxfit" / "compiled"


def safe_dir(path: Path) -> bool:
    """A folder pickles may be read from: a real folder, this user's, no one else can write."""
    try:
        st = os.lstat(path)
    except OSError:
        return False
    return (stat.S_ISDIR(st.st_mode) and st.st_uid == os.getuid()
            and not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH))


def read_private(path: Path) -> bytes | None:
    """The bytes of a regular file of this user's that no one else can write, else None."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if (not stat.S_ISREG(st.st_mode) or st.st_uid != os.getuid()
                or st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)):
            return None
        with os.fdopen(fd, "rb") as fh:
            fd = -1
            return fh.read()
    except OSError:
        return None
    finally:
        if fd >= 0:
            os.close(fd)


class CompiledStore:
    """``get``/``put`` of serialised compiled models, by key (models.compiled.Store)."""

    def __init__(self, folder: Path | None = None):
        self.folder = Path(folder) if folder is not None else default_folder()
        self.memory: dict[str, bytes] = {}

    def _usable(self) -> bool:
        """The folder exists (created 0700 if not) and it and its parent are safe."""
        try:
            self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError:
            return False
        return safe_dir(self.folder) and safe_dir(self.folder.parent)

    def get(self, key: str) -> bytes | None:
        if key in self.memory:
            return self.memory[key]
        if not enabled() or not (safe_dir(self.folder) and safe_dir(self.folder.parent)):
            return None
        blob = read_private(self.folder / f"{key}.pkl")
        if blob is not None:
            self.memory[key] = blob
        return blob

    def put(self, key: str, blob: bytes) -> None:
        self.memory[key] = blob
        if not enabled() or not self._usable():
            return
        try:
            fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".tmp-", suffix=".pkl")
        except OSError:
            return
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(blob)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.folder / f"{key}.pkl")
        except OSError:  # a full disk only costs the next run its compile
            try:
                os.unlink(tmp)
            except OSError:
                pass
            return
        self._prune()

    def _prune(self) -> None:
        try:
            entries = sorted((p for p in self.folder.glob("*.pkl") if not p.name.startswith(".")),
                             key=lambda p: p.stat().st_mtime, reverse=True)
            for p in entries[KEEP:]:
                p.unlink()
        except OSError:
            pass


#: One store per process: a retry or a second report in the same process reuses the entry.
_STORE: CompiledStore | None = None


def process_store() -> CompiledStore | None:
    """This process's store, or None when the cache is turned off."""
    global _STORE
    if not enabled():
        return None
    if _STORE is None:
        _STORE = CompiledStore()
    return _STORE
