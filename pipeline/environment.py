"""A usable place for compiled code and caches, whatever HOME is.

PyTensor compiles the model to C under ``$HOME/.pytensor``, Matplotlib keeps a font cache
under ``$HOME/.config`` and ArviZ writes a stamp under ``$HOME/.cache``. With HOME unset, pointing at a file, on a read-only disk or owned by
someone else, both fail deep inside the first sampling run. :func:`prepare_environment` runs
before either is imported: it tries the folder they would use, and when that cannot be
written it points them at a private cache folder instead and says which and why. When no
folder at all can be written it refuses with one line naming the variable to set.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from cruxfit.cruxes.errors import CruxfitError


class EnvironmentProblem(CruxfitError):
    """No writable folder for compiled code: the user must set a variable (exit status 2)."""

    exit_code = 2


def _usable(folder: Path) -> bool:
    """Whether folder exists or can be created, and a file can be written in it."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if not folder.is_dir():
            return False
        with tempfile.TemporaryFile(dir=folder):
            pass
        return True
    except (OSError, ValueError):
        return False


def _private_cache(environ) -> Path | None:
    """A per-user folder under XDG_CACHE_HOME or the temporary folder, created 0700."""
    candidates = []
    if environ.get("XDG_CACHE_HOME"):
        candidates.append(Path(environ["XDG_CACHE_HOME"]) / "cruxfit")
    candidates.append(Path(tempfile.gettempdir()) / f"cruxfit-{os.getuid()}")
    for base in candidates:
        try:
            base.mkdir(mode=0o700, parents=True, exist_ok=True)
            st = os.lstat(base)
        except OSError:
            continue
        # In a shared temporary folder, use only a real folder that this user owns.
        if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid():
            continue
        if _usable(base):
            return base
    return None


def _flags(environ) -> dict[str, str]:
    out = {}
    for part in environ.get("PYTENSOR_FLAGS", "").split(","):
        if "=" in part:
            key, value = part.split("=", 1)
            out[key.strip()] = value.strip()
    return out


def _add_flag(environ, key: str, value: str) -> None:
    # PyTensor reads PYTENSOR_FLAGS left to right; a later setting of a key wins.
    current = environ.get("PYTENSOR_FLAGS", "")
    environ["PYTENSOR_FLAGS"] = f"{current},{key}={value}" if current else f"{key}={value}"


#: The kinds of run whose compiled code is kept apart (see :func:`prepare_environment`).
FAMILIES = ("individual", "organisation", "batch")

# PyTensor's own default folder name, with the family added at the end.
_COMPILEDIR_FORMAT = ("compiledir_%(short_platform)s-%(processor)s-%(python_version)s-"
                      "%(python_bitwidth)s-cruxfit-{family}")


def prepare_environment(environ=None, family: str | None = None) -> list[str]:
    """Make sure compiled code and caches have a writable folder; return notes to print.

    Changes ``environ`` (default ``os.environ``, which the render and sampling processes
    inherit) only where the folder PyTensor or Matplotlib would use cannot be written, and,
    given a ``family`` (one of :data:`FAMILIES`), to keep that kind of run's compiled code in
    a folder of its own beside PyTensor's default one.

    Why the families: every process that compiles reads the index of every module in its
    compile folder first (about 4 ms each). A folder shared with organisations, batches and
    other PyTensor work grows to hundreds of modules - 408 on the development machine, 1.5 s
    of a single report's start-up - while the individual model needs about twenty. A folder
    the user chose (``compiledir`` or ``compiledir_format`` in PYTENSOR_FLAGS) is left alone.
    """
    environ = os.environ if environ is None else environ
    notes = _prepare_folders(environ)
    if family is not None:
        if family not in FAMILIES:
            raise ValueError(f"unknown compile family {family!r}")
        flags = _flags(environ)
        if "compiledir" not in flags and "compiledir_format" not in flags:
            _add_flag(environ, "compiledir_format", _COMPILEDIR_FORMAT.format(family=family))
    return notes


def _prepare_folders(environ) -> list[str]:
    notes: list[str] = []
    flags = _flags(environ)
    home = environ.get("HOME")
    for key in ("compiledir", "base_compiledir"):
        if key in flags:
            wanted = Path(flags[key]).expanduser()
            if _usable(wanted):
                return notes + _matplotlib(environ, home)
            fallback = _private_cache(environ)
            if fallback is None:
                raise EnvironmentProblem(
                    f"PYTENSOR_FLAGS: {key}={flags[key]} cannot be written, and neither can "
                    "XDG_CACHE_HOME or the temporary folder; set PYTENSOR_FLAGS=base_compiledir="
                    "<a writable folder>")
            target = fallback / "pytensor"
            _add_flag(environ, key, str(target))
            notes.append(f"PYTENSOR_FLAGS sets {key}={flags[key]}, which cannot be written; "
                         f"compiling into {target} instead.")
            return notes + _matplotlib(environ, home)
    default = Path(home) / ".pytensor" if home else None
    if default is not None and _usable(default):
        return notes + _matplotlib(environ, home)
    fallback = _private_cache(environ)
    if fallback is None:
        raise EnvironmentProblem(
            f"HOME{'=' + home if home else ' is not set'}: no writable folder for compiled code "
            "(nor XDG_CACHE_HOME or the temporary folder); set HOME, or PYTENSOR_FLAGS="
            "base_compiledir=<a writable folder>")
    target = fallback / "pytensor"
    _add_flag(environ, "base_compiledir", str(target))
    why = f"HOME ({home}) cannot be written" if home else "HOME is not set"
    notes.append(f"{why}; compiling into {target} instead (set HOME or "
                 "PYTENSOR_FLAGS=base_compiledir=<folder> to choose).")
    return notes + _matplotlib(environ, home)


def _matplotlib(environ, home: str | None) -> list[str]:
    """Matplotlib's config and font cache, and the cache folder ArviZ writes a daily stamp
    into (XDG_CACHE_HOME, else ~/.cache): the same fallback, silently (they are only caches)."""
    xdg_cache = environ.get("XDG_CACHE_HOME")
    cache = Path(xdg_cache) if xdg_cache else (Path(home) / ".cache" if home else None)
    if cache is None or not _usable(cache):
        fallback = _private_cache({k: v for k, v in environ.items() if k != "XDG_CACHE_HOME"})
        if fallback is not None:
            environ["XDG_CACHE_HOME"] = str(fallback / "cache")
    if environ.get("MPLCONFIGDIR"):
        return []
    xdg = environ.get("XDG_CONFIG_HOME")
    wanted = Path(xdg) / "matplotlib" if xdg else (Path(home) / ".config" / "matplotlib" if home else None)
    if wanted is not None and _usable(wanted):
        return []
    fallback = _private_cache(environ)
    if fallback is not None:
        environ["MPLCONFIGDIR"] = str(fallback / "matplotlib")
    return []
