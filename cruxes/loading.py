"""Safe reading of YAML and JSON inputs.

Profiles come from strangers, so the reader is strict: a size limit, no YAML tags that
construct objects, no aliases (which also rules out alias bombs), no duplicate keys, no
NaN or infinity in JSON, and text that must be UTF-8. Every failure becomes an
:class:`~cruxfit.cruxes.errors.InputError` naming the file and, where known, the line.
"""

from __future__ import annotations

import json
import math
import os
import re
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


class _Dumper(yaml.SafeDumper):
    """Writes YAML that _StrictLoader reads back unchanged (quotes '1e-3'-like text)."""


_Dumper.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


def dump_yaml(data: Any) -> str:
    """YAML text for plain data, in key order, that cruxfit's reader reads back unchanged."""
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)


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


def read_text(path: str | os.PathLike[str], *, label: str | None = None) -> str:
    """Read a UTF-8 text file with the checks every input shares."""
    p = Path(path)
    name = label or str(path)
    if not p.exists():
        raise InputError([Problem(name, "", "no such file")])
    if p.is_dir():
        raise InputError([Problem(name, "", "is a folder, not a file")])
    try:
        size = p.stat().st_size
        if size > MAX_INPUT_BYTES:
            raise InputError(
                [Problem(name, "", f"is {size:,} bytes; the limit is {MAX_INPUT_BYTES:,} bytes")]
            )
        raw = p.read_bytes()
    except PermissionError:
        raise InputError([Problem(name, "", "cannot be read (permission denied)")]) from None
    except OSError as exc:
        raise InputError([Problem(name, "", f"cannot be read ({exc.strerror or exc})")]) from None
    return decode_text(raw, name)


def decode_text(raw: bytes, name: str) -> str:
    """Decode bytes as UTF-8 (a byte-order mark is allowed); refuse binary content."""
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise InputError([Problem(name, "", "is UTF-16 text; save it as UTF-8 (most editors and "
                                            "spreadsheet programs offer \"CSV UTF-8\" or similar)")])
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
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - strict safe loader
    except yaml.YAMLError as exc:
        raise InputError([_yaml_problem(name, exc)]) from None
    except RecursionError:
        raise InputError([Problem(name, "", "is nested too deeply")]) from None
    except (ValueError, OverflowError) as exc:  # e.g. an integer of more than 4300 digits
        raise InputError([Problem(name, "", f"not valid YAML: {exc}")]) from None


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
        return json.loads(text, object_pairs_hook=pairs, parse_constant=bad_constant)
    except json.JSONDecodeError as exc:
        raise InputError(
            [Problem(name, f"line {exc.lineno}", f"not valid JSON: {exc.msg}")]
        ) from None
    except ValueError as exc:
        raise InputError([Problem(name, "", f"not valid JSON: {exc}")]) from None
    except RecursionError:
        raise InputError([Problem(name, "", "is nested too deeply")]) from None


def load_document(path: str | os.PathLike[str], *, label: str | None = None) -> Any:
    """Read and parse a YAML or JSON file."""
    text = read_text(path, label=label)
    return parse_document(text, label or str(path), suffix=Path(path).suffix)


def is_finite_number(value: Any) -> bool:
    """True for int/float values that are finite and not booleans."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
