"""Safe reading of YAML and JSON inputs.

Profiles come from strangers, so the reader is strict: a size limit, no YAML tags that
construct objects, no aliases (which also rules out alias bombs), no duplicate keys, no
NaN or infinity in JSON, and text that must be UTF-8. Every failure becomes an
:class:`~cruxfit.cruxes.errors.InputError` naming the file and, where known, the line.
"""

from __future__ import annotations

import errno
import json
import math
import os
import re
import stat
import sys
from pathlib import Path
from typing import Any

import yaml

from cruxfit.cruxes.errors import InputError, Problem

#: Largest input file read, in bytes. A profile is a few kilobytes; an organisation CSV of
#: thousands of respondents is well under this.
MAX_INPUT_BYTES = 5 * 1024 * 1024


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses aliases, explicit tags and duplicate keys."""

    def compose_node(self, parent, index):  # noqa: D102 - PyYAML hook
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.MarkedYAMLError(
                problem="aliases (*name) are not allowed in cruxfit files",
                problem_mark=event.start_mark,
            )
        event = self.peek_event()
        tag = getattr(event, "tag", None)
        if tag is not None and tag not in ("!", None) and not tag.startswith("tag:yaml.org,2002:"):
            raise yaml.MarkedYAMLError(
                problem=f"the YAML tag {_short_tag(tag)} is not allowed; write plain values",
                problem_mark=event.start_mark,
            )
        if isinstance(event, (yaml.ScalarEvent, yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            if tag is not None and tag.startswith("tag:yaml.org,2002:") and tag.split(":")[-1] not in (
                "str", "int", "float", "bool", "null", "seq", "map",
            ):
                raise yaml.MarkedYAMLError(
                    problem=f"the YAML tag {_short_tag(tag)} is not allowed; write plain values",
                    problem_mark=event.start_mark,
                )
        return super().compose_node(parent, index)

    def construct_mapping(self, node, deep=False):  # noqa: D102 - PyYAML hook
        seen: dict[Any, Any] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise yaml.MarkedYAMLError(
                    problem="merge keys (<<) are not allowed in cruxfit files; write the keys out",
                    problem_mark=key_node.start_mark,
                )
            key = self.construct_object(key_node, deep=deep)
            try:
                hash(key)
            except TypeError:
                raise yaml.MarkedYAMLError(
                    problem="a mapping key must be a plain value", problem_mark=key_node.start_mark
                ) from None
            if key in seen:
                raise yaml.MarkedYAMLError(
                    problem=f'the key "{key}" appears twice',
                    problem_mark=key_node.start_mark,
                )
            seen[key] = True
        return super().construct_mapping(node, deep=deep)


# Dates and times are plain text in cruxfit files: an implicit timestamp such as 2020-13-45
# would otherwise raise a bare ValueError, and a valid one would become a date object.
_StrictLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
# YAML 1.1 needs a dot in a float; people write 1e-3 for a small probability, so accept the
# exponent-only form too (YAML 1.2 does).
_StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


def _short_tag(tag: str) -> str:
    return "!!" + tag[len("tag:yaml.org,2002:"):] if tag.startswith("tag:yaml.org,2002:") else tag


def _yaml_problem(path: str, exc: yaml.YAMLError) -> Problem:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    text = problem if not context else f"{context}, {problem}"
    text = " ".join(str(text).split())
    if mark is not None:
        return Problem(path, f"line {mark.line + 1}", f"not valid YAML: {text}")
    return Problem(path, "", f"not valid YAML: {text}")


_KINDS = (
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISDIR, "a folder"),
)


def file_kind(mode: int) -> str:
    """What a non-regular file is, in words ("a FIFO (named pipe)", "a character device", ...)."""
    for test, words in _KINDS:
        if test(mode):
            return words
    return "not a regular file"


def path_problem(name: str, exc: OSError) -> Problem:
    """One line for an OSError met while looking at or reading an input path."""
    if exc.errno == errno.ENAMETOOLONG:
        longest = max((len(os.fsencode(part)) for part in Path(str(exc.filename or name)).parts),
                      default=0)
        return Problem(name, "", f"the path is too long for this system (a name of {longest} bytes; "
                                 "the limit is usually 255 bytes per name)")
    if exc.errno in (errno.EACCES, errno.EPERM):
        return Problem(name, "", "cannot be read (permission denied on the file or a folder above it)")
    if exc.errno == errno.ENOENT:
        return Problem(name, "", "no such file")
    if exc.errno == errno.ENOTDIR:
        return Problem(name, "", "no such file (a part of the path is a file, not a folder)")
    if exc.errno == errno.ELOOP:
        return Problem(name, "", "cannot be read (too many levels of symbolic links)")
    return Problem(name, "", f"cannot be read ({exc.strerror or exc})")


def read_bytes_bounded(path: str | os.PathLike[str], *, limit: int | None = None,
                       label: str | None = None) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes, read without trusting its size.

    A FIFO, device, socket or folder (also behind a symbolic link) is refused before it is
    opened for reading, so nothing blocks or streams for ever; the file is opened without
    blocking and checked again on the open descriptor (it may have been swapped meanwhile),
    and at most ``limit + 1`` bytes are ever read.
    """
    name = label or str(path)
    limit = MAX_INPUT_BYTES if limit is None else limit
    try:
        st = os.stat(path)
    except OSError as exc:
        raise InputError([path_problem(name, exc)]) from None
    if stat.S_ISDIR(st.st_mode):
        raise InputError([Problem(name, "", "is a folder, not a file")])
    if not stat.S_ISREG(st.st_mode):
        raise InputError([Problem(name, "", f"is {file_kind(st.st_mode)}, not a regular file; "
                                            "cruxfit reads only regular files")])
    if st.st_size > limit:
        raise InputError([Problem(name, "", f"is {st.st_size:,} bytes; the limit is {limit:,} bytes")])
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        raise InputError([path_problem(name, exc)]) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise InputError([Problem(name, "", f"is {file_kind(st.st_mode)}, not a regular file; "
                                                "cruxfit reads only regular files")])
        chunks: list[bytes] = []
        got = 0
        while got <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - got))
            if not chunk:
                break
            chunks.append(chunk)
            got += len(chunk)
    except OSError as exc:
        raise InputError([path_problem(name, exc)]) from None
    finally:
        os.close(fd)
    if got > limit:
        # Its size said otherwise: it grew, or it is a file such as those in /proc.
        raise InputError([Problem(name, "", f"holds more than {limit:,} bytes; the limit is "
                                            f"{limit:,} bytes")])
    return b"".join(chunks)


def read_text(path: str | os.PathLike[str], *, label: str | None = None) -> str:
    """Read a UTF-8 text file with the checks every input shares (see read_bytes_bounded)."""
    name = label or str(path)
    return decode_text(read_bytes_bounded(path, label=name), name)


def decode_text(raw: bytes, name: str) -> str:
    """Decode bytes as UTF-8 (a byte-order mark is allowed); refuse binary content."""
    # UTF-32 first: its little-endian byte-order mark begins with UTF-16's.
    for bom, encoding in ((b"\xff\xfe\x00\x00", "UTF-32"), (b"\x00\x00\xfe\xff", "UTF-32"),
                          (b"\xff\xfe", "UTF-16"), (b"\xfe\xff", "UTF-16")):
        if raw.startswith(bom):
            raise InputError([Problem(name, "", f"is {encoding} text; save it as UTF-8 (most editors "
                                                "and spreadsheet programs offer \"CSV UTF-8\" or "
                                                "similar)")])
    if b"\x00" in raw:
        raise InputError([Problem(name, "", "looks like a binary file, not YAML, JSON or CSV text")])
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(
            [Problem(name, "", f"is not UTF-8 text (bad byte at position {exc.start})")]
        ) from None
    return text


def parse_document(text: str, name: str, *, suffix: str = ".yaml") -> Any:
    """Parse YAML (or JSON, chosen by suffix) text into plain Python data."""
    if not text.strip():
        raise InputError([Problem(name, "", "is empty")])
    if suffix.lower() == ".json":
        return _parse_json(text, name)
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - strict safe loader
    except yaml.YAMLError as exc:
        raise InputError([_yaml_problem(name, exc)]) from None
    except RecursionError:
        raise InputError([Problem(name, "", "is nested too deeply")]) from None
    except (ValueError, OverflowError) as exc:  # e.g. an integer of more than 4300 digits
        raise InputError([Problem(name, "", f"not valid YAML: {_value_error_text(exc)}")]) from None
    check_text_values(data, name)
    return data


def _value_error_text(exc: Exception) -> str:
    text = str(exc)
    if "integer string conversion" in text or "int_max_str_digits" in text:
        digits = re.search(r"value has (\d+) digits", text)
        size = f" (this one has {int(digits.group(1)):,})" if digits else ""
        return (f"a number has too many digits{size}; numbers in cruxfit files have at most "
                f"{sys.get_int_max_str_digits():,} digits")
    return _excerpt(text, 200)


def _excerpt(text: str, limit: int = 60) -> str:
    """At most ``limit`` characters of text, shortened with an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


_SURROGATE = re.compile("[\ud800-\udfff]")


def check_text_values(data: Any, name: str) -> None:
    """Refuse lone surrogates (from escapes such as \\udfff) in any key or text value.

    They are not characters: they cannot be written as UTF-8, so they would fail only when a
    report is written, long after the file was accepted. Every such field is named.
    """
    problems: list[Problem] = []

    def walk(node: Any, where: str) -> None:
        if len(problems) >= 20:
            return
        if isinstance(node, str):
            found = _SURROGATE.search(node)
            if found:
                problems.append(Problem(name, where or "(top level)",
                                        f"contains a lone surrogate (\\u{ord(found.group()):04x}), "
                                        "which is not a character; remove it or write the "
                                        "character it was meant to be"))
        elif isinstance(node, dict):
            for key, value in node.items():
                label = f"{where}.{key}" if where else str(key)
                if isinstance(key, str) and _SURROGATE.search(key):
                    label = _SURROGATE.sub("?", label)
                    walk(key, label)
                walk(value, label)
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{where}[{i}]")

    walk(data, "")
    if problems:
        raise InputError(problems)


def _parse_json(text: str, name: str) -> Any:
    def pairs(items):
        out: dict[str, Any] = {}
        for key, value in items:
            if key in out:
                raise ValueError(f'the key "{key}" appears twice')
            out[key] = value
        return out

    def bad_constant(token: str):
        raise ValueError(f"{token} is not allowed; use a number between 0 and 1")

    try:
        data = json.loads(text, object_pairs_hook=pairs, parse_constant=bad_constant)
    except json.JSONDecodeError as exc:
        raise InputError(
            [Problem(name, f"line {exc.lineno}", f"not valid JSON: {exc.msg}")]
        ) from None
    except ValueError as exc:
        raise InputError([Problem(name, "", f"not valid JSON: {_value_error_text(exc)}")]) from None
    except RecursionError:
        raise InputError([Problem(name, "", "is nested too deeply")]) from None
    check_text_values(data, name)
    return data


def load_document(path: str | os.PathLike[str], *, label: str | None = None) -> Any:
    """Read and parse a YAML or JSON file."""
    text = read_text(path, label=label)
    return parse_document(text, label or str(path), suffix=Path(path).suffix)


def is_finite_number(value: Any) -> bool:
    """True for int/float values that are finite and not booleans."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
