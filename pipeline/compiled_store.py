"""Where compiled individual models are kept between processes (see models/compiled.py).

Entries are pickles, so they are only ever read from a folder that is this user's and that no
one else can write, and only from files with the same property, opened without following
links; anything else, and any entry that does not load, is ignored and rebuilt. Entries are
written atomically (reports/files.write_atomic, which also clears what a killed writer left),
readable by this user only, and the oldest beyond :data:`KEEP` are removed.
``CRUXFIT_NO_CACHE=1`` turns it off.

The folder is ``$XDG_CACHE_HOME/cruxfit/compiled`` (else ``~/.cache/cruxfit/compiled``); when
it cannot be made safe, the store keeps entries in memory only, for this process.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import stat
import sys
from pathlib import Path

from cruxfit.reports.files import OutputError, write_atomic

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

    def _safe(self) -> bool:
        """The folder and its parent (whoever can write that can swap the folder) are safe."""
        return safe_dir(self.folder) and safe_dir(self.folder.parent)

    def _usable(self) -> bool:
        """The folder exists (created 0700 if not) and is safe."""
        try:
            self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError:
            return False
        return self._safe()

    def get(self, key: str) -> bytes | None:
        return self.get_file(f"{key}.pkl")

    def put(self, key: str, blob: bytes) -> None:
        if self.put_file(f"{key}.pkl", blob):
            self._prune()

    def get_file(self, name: str) -> bytes | None:
        """One file of the folder, read only if the folder and the file are private."""
        if name in self.memory:
            return self.memory[name]
        if not enabled() or not self._safe():
            return None
        blob = read_private(self.folder / name)
        if blob is not None:
            self.memory[name] = blob
        return blob

    def put_file(self, name: str, blob: bytes) -> bool:
        """Write one file atomically (0600); False if it stayed in memory only."""
        self.memory[name] = blob
        if not enabled() or not self._usable():
            return False
        try:
            write_atomic(self.folder / name, blob, mode=0o600)
        except OutputError:  # a full disk only costs the next run its compile
            return False
        return True

    def before_compile(self) -> None:
        """Called by models.compiled before PyTensor compiles or loads anything."""
        preset_march_flags(self)

    def after_compile(self) -> None:
        """Called by models.compiled once the model is compiled or loaded."""
        remember_march_flags(self)

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


# --------------------------------------------------------------------------- PyTensor's -march probe
#
# Before its first C module in a process, PyTensor runs the compiler twice to find this CPU's
# -march flags (0.34 s measured here, in every process, even when every module is cached).
# The flags it found are kept beside the compiled models, per CPU, and handed to later
# processes before PyTensor looks. They are part of PyTensor's own cache keys, so modules
# compiled with other flags are never mixed in; and only machine flags (-m...) and
# ``--param name=number`` pairs are ever handed over, never another compiler option.

_FLAG = re.compile(r"^(-m[A-Za-z0-9=_.,+-]+|--param|[a-z0-9-]+=[0-9]+)$")


def flags_ok(flags) -> bool:
    """Only -m... machine flags and ``--param name=number`` pairs, as PyTensor detects them."""
    if not isinstance(flags, list) or not flags:
        return False
    if not all(isinstance(f, str) and _FLAG.match(f) for f in flags):
        return False
    for i, f in enumerate(flags):
        if f == "--param" and (i + 1 >= len(flags) or flags[i + 1].startswith("-")):
            return False
        if not f.startswith("-") and (i == 0 or flags[i - 1] != "--param"):
            return False
    return True


def _cpu_id() -> str:
    try:
        with open("/proc/cpuinfo", "rb") as fh:
            text = fh.read(1 << 20)
    except OSError:
        text = b""
    lines = sorted({ln for ln in text.splitlines()
                    if ln.startswith((b"model name", b"flags", b"vendor_id", b"cpu family",
                                      b"model\t", b"Features", b"CPU part"))})
    doc = b"\n".join(lines) + platform.machine().encode() + platform.node().encode()
    return hashlib.sha256(doc).hexdigest()[:32]


def _march_key() -> str:
    return f"march-{_cpu_id()}"


def preset_march_flags(store: CompiledStore | None) -> bool:
    """Give PyTensor the -march flags it found on this CPU before; True if they were set.

    Imports PyTensor: call it only where the model is about to be compiled anyway.
    """
    if store is None or not enabled():
        return False
    from pytensor import config
    from pytensor.link.c.cmodule import GCC_compiler

    if GCC_compiler.march_flags is not None:
        return False
    blob = store.get_file(_march_key() + ".json")
    if blob is None:
        return False
    try:
        doc = json.loads(blob)
        flags, cxx = doc["flags"], doc["cxx"]
    except (ValueError, KeyError, TypeError):
        return False
    if cxx != config.cxx or not flags_ok(flags):
        return False
    GCC_compiler.march_flags = list(flags)
    return True


def remember_march_flags(store: CompiledStore | None) -> None:
    """Keep the -march flags PyTensor chose in this process for the next ones."""
    if store is None or not enabled() or "pytensor" not in sys.modules:
        return
    from pytensor import config
    from pytensor.link.c.cmodule import GCC_compiler

    flags = GCC_compiler.march_flags
    if not flags_ok(flags) or store.get_file(_march_key() + ".json") is not None:
        return
    store.put_file(_march_key() + ".json", json.dumps({"cxx": config.cxx, "flags": flags}).encode())
