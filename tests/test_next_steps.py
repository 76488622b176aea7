"""next_steps.yaml is read by a pydantic model (cruxes/next_steps.py): the same entries and
the same problems, word for word and in the same order, as the hand-written reader it
replaced (kept in tests/oracles.py), over hundreds of broken files."""

from __future__ import annotations

import copy
import random
import shutil

import pytest
import yaml

from cruxfit.cruxes.library import default_library_dir, load_library
from cruxfit.cruxes.next_steps import read_next_steps
from oracles import next_steps_reference

LIB = load_library()
SLUGS = [a.slug for a in LIB.approaches]
GOOD = yaml.safe_load((default_library_dir() / "next_steps.yaml").read_text(encoding="utf-8"))


def _mutate(doc: dict, rng: random.Random) -> dict:
    doc = copy.deepcopy(doc)
    table = doc["next_steps"]
    slug = rng.choice(list(table))
    field = rng.choice(["skills", "roles", "read"])
    kind = rng.randrange(14)
    if kind == 0:
        del table[slug]
    elif kind == 1:
        table[slug[:-1] + "x"] = copy.deepcopy(table[slug])
    elif kind == 2:
        table[slug] = rng.choice(["text", 3, None, ["a"]])
    elif kind == 3:
        table[slug][rng.choice(["reed", "skill", "links", 7])] = ["y"]
    elif kind == 4:
        table[slug][field] = rng.choice([[], "x", 5, {"a": 1}])
    elif kind == 5:
        del table[slug][field]
    elif kind == 6:
        table[slug][field] = ["t"] * 7
    elif kind == 7:
        table[slug][field][rng.randrange(len(table[slug][field]))] = rng.choice(
            [5, "", "   ", "x" * 161, None, ["nested"]])
    elif kind == 8:
        table[slug][field] = ["  spaced   out  ", "fine"]
    elif kind == 9:
        entry = table[slug]
        table[slug] = dict(reversed(list(entry.items())))  # another key order
        entry_key = rng.choice(["zzz", "aaa"])
        table[slug][entry_key] = 1
    elif kind == 10:
        table[slug][field] = None
    elif kind == 11:
        doc = {"next_steps": table, "extra": 1}
    elif kind == 12:
        doc["next_steps"] = rng.choice([[], "x", None])
    else:
        table[slug][field] = [rng.choice(["ok", 1, ""]) for _ in range(rng.randint(1, 6))]
    return doc


def test_the_bundled_file_reads_the_same():
    folder = default_library_dir()
    assert read_next_steps(folder, SLUGS) == next_steps_reference(folder, SLUGS)
    assert read_next_steps(folder, SLUGS)[0]


@pytest.mark.parametrize("seed", range(4))
def test_broken_files_give_the_same_problems_as_the_reader_it_replaced(tmp_path, seed):
    rng = random.Random(seed)
    folder = tmp_path / "lib"
    folder.mkdir()
    differences = []
    for trial in range(60):
        doc = GOOD
        for _ in range(rng.randint(1, 3)):
            if isinstance(doc.get("next_steps"), dict) and doc["next_steps"] and len(doc) == 1:
                doc = _mutate(doc, rng)
        (folder / "next_steps.yaml").write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
        new, old = read_next_steps(folder, SLUGS), next_steps_reference(folder, SLUGS)
        if new != old:
            differences.append((trial, new[1], old[1]))
    assert not differences, differences[:2]


def test_the_messages_name_the_file_and_the_field(tmp_path):
    folder = tmp_path / "lib"
    shutil.copytree(default_library_dir(), folder,
                    ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    doc = copy.deepcopy(GOOD)
    doc["next_steps"]["rlhf"].update(skills=[], reed=["y"])
    doc["next_steps"]["rlhf"]["roles"][1] = ""
    (folder / "next_steps.yaml").write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    _, problems = read_next_steps(folder, SLUGS)
    assert [str(p) for p in problems] == [
        f'{folder / "next_steps.yaml"}: next_steps.rlhf.reed: is not a known key (did you mean '
        '"read"?); allowed: "skills", "roles" or "read"',
        f'{folder / "next_steps.yaml"}: next_steps.rlhf.skills: must be a list of 1 to 6 short texts',
        f'{folder / "next_steps.yaml"}: next_steps.rlhf.roles[1]: must be text of 1 to 160 characters',
    ]
