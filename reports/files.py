"""Writing output files safely.

Every output is written to a temporary file in the target folder and renamed into place, so
a crash, Ctrl-C or kill leaves either the previous file or none, never half of one. Output
names derived from profile names are reduced to a safe subset of characters and can never
leave the folder they are meant for.
"""

from __future__ import annotations

import errno
import os
import re
import stat
import tempfile
import unicodedata
from pathlib import Path

from cruxfit.cruxes.errors import CruxfitError, InputError, Problem
from cruxfit.cruxes.loading import file_kind


class OutputError(CruxfitError):
    """An output could not be written (disk full, permission lost mid-run): exit status 1."""

    exit_code = 1


class OutputPathError(OutputError):
    """The output location given is unusable, found before any work: a bad argument, exit 2."""

    exit_code = 2


#: Longest output file name, in bytes: 255 (the usual limit) less room for the temporary
#: file's ".<name>.<pid>.<random>.part".
MAX_NAME_BYTES = 220

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)), *(f"lpt{i}" for i in range(10))}


def safe_stem(name: str, default: str = "report", max_len: int = 80) -> str:
    """A file-name stem from free text: ASCII letters, digits, '-', '_' and '.' only.

    Path separators, '..', control characters and leading dots cannot survive, so the stem
    names a file inside whatever folder it is joined to.
    """
    text = unicodedata.normalize("NFKD", str(name)).encode("ascii", "ignore").decode("ascii")
    text = _UNSAFE.sub("-", text).strip("-._")
    text = re.sub(r"-{2,}", "-", text).lower()[:max_len].strip("-._")
    if not text or text in _RESERVED:
        return default
    return text


def _stat(path: Path, *, follow: bool = True) -> os.stat_result | None:
    """os.stat, None when nothing is there; other failures become one OutputPathError line."""
    try:
        return os.stat(path) if follow else os.lstat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno == errno.ENAMETOOLONG:
            longest = max((len(os.fsencode(part)) for part in path.parts), default=0)
            raise OutputPathError(f"{path}: the path is too long for this system (a name of "
                                  f"{longest} bytes; the limit is usually 255 bytes per name)") from None
        if exc.errno == errno.ENOTDIR:
            raise OutputPathError(f"{path}: a part of the path is a file, not a folder") from None
        if exc.errno in (errno.EACCES, errno.EPERM):
            raise OutputPathError(f"{path}: cannot be reached (permission denied on a folder "
                                  "above it)") from None
        raise OutputPathError(f"{path}: unusable as an output ({exc.strerror or exc})") from None


def _check_parent(path: Path) -> None:
    parent = path.parent if str(path.parent) else Path(".")
    st = _stat(parent)
    if st is None:
        raise OutputPathError(f"{parent}: the output folder does not exist; create it or choose another")
    if not stat.S_ISDIR(st.st_mode):
        raise OutputPathError(f"{parent}: the output location is not a folder")
    _check_target(path)


def _check_target(path: Path) -> None:
    """An output may replace a regular file (or a link to one), never anything else.

    The atomic rename would otherwise turn a device node such as /dev/null, a FIFO or a
    socket into a regular file.
    """
    st = _stat(path)
    if st is None:
        lst = _stat(path, follow=False)
        if lst is not None:  # a dangling symbolic link
            raise OutputPathError(f"{path}: is a symbolic link to a missing file; give a regular "
                                  "file name")
        return
    if stat.S_ISDIR(st.st_mode):
        raise OutputPathError(f"{path}: is a folder; give a file name")
    if not stat.S_ISREG(st.st_mode):
        raise OutputPathError(f"{path}: is {file_kind(st.st_mode)}, not a regular file; outputs "
                              "are written only to regular files (or '-' for standard output)")


def free_name(path: str | os.PathLike[str]) -> Path:
    """path if nothing is there, else the first free ``stem-2.ext``, ``stem-3.ext``, ..."""
    path = Path(path)
    if _stat(path, follow=False) is None:
        return path
    for i in range(2, 10_000):
        candidate = path.with_name(f"{path.stem}-{i}{path.suffix}")
        if _stat(candidate, follow=False) is None:
            return candidate
    raise OutputPathError(f"{path}: no free name beside it; give one with -o")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_stale_parts(path: Path) -> None:
    """Remove temporary files a killed writer left beside path (their writer's PID is gone)."""
    parent = path.parent if str(path.parent) else Path(".")
    prefix = f".{path.name}."
    try:
        entries = list(os.scandir(parent))
    except OSError:
        return
    for entry in entries:
        name = entry.name
        if not (name.startswith(prefix) and name.endswith(".part")):
            continue
        pid_text = name[len(prefix):].split(".", 1)[0]
        if pid_text.isdigit() and not _pid_alive(int(pid_text)):
            try:
                os.unlink(entry.path)
            except OSError:
                pass


def write_atomic(path: str | os.PathLike[str], data: bytes, *, mode: int = 0o644) -> None:
    """Write bytes to path atomically (temporary file beside it, then rename), with ``mode``.

    The temporary file's name carries the writer's PID, so that a later write to the same
    path can remove what a killed (``kill -9``) writer left behind.
    """
    path = Path(path)
    _check_parent(path)
    parent = path.parent if str(path.parent) else Path(".")
    clean_stale_parts(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".part", dir=parent)
    except OSError as exc:
        raise OutputError(f"{path}: cannot write here ({exc.strerror or exc})") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        _check_target(path)  # again: something else may have appeared there meanwhile
        os.replace(tmp, path)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, OSError):
            raise OutputError(f"{path}: cannot write ({exc.strerror or exc})") from None
        raise


def write_atomic_text(path: str | os.PathLike[str], text: str) -> None:
    write_atomic(path, text.encode("utf-8"))


def write_new_text(path: str | os.PathLike[str], text: str) -> None:
    """Write text atomically, refusing to replace an existing file."""
    if Path(path).exists():
        raise InputError([Problem(str(path), "", "already exists; choose another name or remove it")])
    write_atomic_text(path, text)


def _writable(path: Path) -> bool:
    return os.access(path, os.W_OK)


def check_output_path(path: str | os.PathLike[str]) -> None:
    """Fail early, before any expensive work, if path cannot be written."""
    path = Path(path)
    _check_parent(path)
    parent = path.parent if str(path.parent) else Path(".")
    if len(os.fsencode(path.name)) > MAX_NAME_BYTES:
        raise OutputPathError(f"{path}: the file name is {len(os.fsencode(path.name))} bytes long; "
                              f"the limit is {MAX_NAME_BYTES} bytes")
    if not _writable(parent):
        raise OutputPathError(f"{parent}: the output folder is not writable")
    if path.exists() and not _writable(path):
        raise OutputPathError(f"{path}: the existing file is not writable")
