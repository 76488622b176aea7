"""The crux library: the seed page, the comparison set and the model settings as data.

:func:`load_library` reads the YAML files in a library folder (by default the one shipped in
this package), checks every field and cross-reference, and returns a frozen
:class:`Library`. All problems across all files are reported together, each naming the
file and the key, so that adding an approach or a statement is a data change whose mistakes
are caught before any model is built.
"""

from __future__ import annotations

import hashlib
import importlib.resources
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cruxfit.cruxes.errors import InputError, LibraryError, Problem
from cruxfit.cruxes.loading import load_document, read_bytes_bounded
from cruxfit.cruxes.next_steps import read_next_steps

LIBRARY_FILES = ("variables.yaml", "statements.yaml", "approaches.yaml", "seed.yaml", "model.yaml",
                 "fit.yaml")
DIMENSIONS = ("tractability", "hard", "easy", "neglectedness")
LEVELS = ("Low", "Medium", "High")
SCALES = ("agree7", "probability")
#: The one variable the value model itself relies on: it weighs "hard" against "easy".
HARD_VARIABLE = "alignment-hard"
SEED_APPROACH = "ai-assisted"
AGREE7_LABELS = (
    "strongly disagree",
    "disagree",
    "somewhat disagree",
    "neither agree nor disagree",
    "somewhat agree",
    "agree",
    "strongly agree",
)


# --------------------------------------------------------------------------- data classes


@dataclass(frozen=True)
class Prior:
    mean: float
    strength: float

    @property
    def alpha(self) -> float:
        return self.mean * self.strength

    @property
    def beta(self) -> float:
        return (1.0 - self.mean) * self.strength


@dataclass(frozen=True)
class Variable:
    id: str
    name: str
    proposition: str
    prior: Prior
    justification: str
    crux: str | None = None


@dataclass(frozen=True)
class Loading:
    variable: str
    sign: int
    weight: float


@dataclass(frozen=True)
class Statement:
    id: str
    text: str
    scale: str
    loads: tuple[Loading, ...]
    favours: int

    @property
    def variable(self) -> str:
        """The main variable: the loading with the largest weight (first on ties)."""
        return max(self.loads, key=lambda ld: ld.weight).variable


@dataclass(frozen=True)
class ApproachCrux:
    """One of an approach's own cruxes, mapped onto a shared belief variable.

    ``tilt`` moves the value by the factor ``1 + tilt * (credence - m) / max(m, 1 - m)``
    (``m`` the variable's prior mean); ``harm`` says where the approach's page justifies a
    tilt large enough to make the value negative when the crux goes against it.
    """

    topic: str
    variable: str
    tilt: float
    harm: str | None = None


@dataclass(frozen=True)
class FitBelief:
    text: str
    variable: str
    holds: bool
    statement: str | None = None


@dataclass(frozen=True)
class Approach:
    slug: str
    name: str
    summary: str
    ratings: Mapping[str, str]
    crux_topics: tuple[str, ...]
    tilts: Mapping[str, float]
    ranked: bool
    unranked_reason: str | None
    good_fit: tuple[FitBelief, ...] = ()
    cruxes: tuple[ApproachCrux, ...] = ()
    also: Mapping[str, float] = None  # type: ignore[assignment]


@dataclass(frozen=True)
class Consideration:
    favourable: str
    unfavourable: str
    statement: str


@dataclass(frozen=True)
class Crux:
    id: str
    title: str
    variable: str
    intro: str
    note: str | None
    considerations: tuple[Consideration, ...]


@dataclass(frozen=True)
class Use:
    use: str
    status: str
    promise: str


@dataclass(frozen=True)
class Seed:
    approach: str
    description: str
    does: tuple[str, ...]
    rating_notes: Mapping[str, str]
    uses: tuple[Use, ...]
    cruxes: tuple[Crux, ...]
    good_fit: tuple[FitBelief, ...]
    less_relevant: tuple[FitBelief, ...]


@dataclass(frozen=True)
class LevelDist:
    mean: float
    sd: float


@dataclass(frozen=True)
class VerdictRule:
    label: str
    meaning: str
    p_best_min: float = 0.0
    p_top3_min: float = 0.0
    #: Largest place by expected value (1 = highest) at which the rule can hold; None = any.
    ev_rank_max: int | None = None

    def holds(self, ev_rank: int, p_best: float, p_top3: float) -> bool:
        return ((self.ev_rank_max is None or ev_rank <= self.ev_rank_max)
                and p_best >= self.p_best_min and p_top3 >= self.p_top3_min)


@dataclass(frozen=True)
class Bands:
    crux_tilt_max: float = 0.6
    also_tilt_max: float = 0.25
    harm_tilt_max: float = 1.5
    max_gain: float = 6.0


@dataclass(frozen=True)
class Evidence:
    min_crux_answers: int = 4
    min_each_crux: int = 1
    label: str = "not enough answers"
    meaning: str = ""
    seconds_per_statement: float = 18.0


@dataclass(frozen=True)
class Settings:
    levels: Mapping[str, Mapping[str, LevelDist]]
    discrimination: float
    cutpoints: tuple[float, ...]
    sd_logit: float
    clip: float
    verdicts: tuple[VerdictRule, ...]
    chains: int
    tune: int
    draws: int
    target_accept: float
    r_hat_max: float
    ess_bulk_min: float
    ess_tail_min: float
    divergences_max: int
    org_mean_sd: float = 1.0
    org_spread_sd: float = 0.8
    item_correlation: float = 0.0
    bands: Bands = Bands()
    evidence: Evidence = Evidence()


@dataclass(frozen=True)
class FitItem:
    """A personal-fit item: a skill or situation and how it weights each approach."""

    id: str
    text: str
    weights: Mapping[str, float]


@dataclass(frozen=True)
class Library:
    variables: tuple[Variable, ...]
    statements: tuple[Statement, ...]
    approaches: tuple[Approach, ...]
    seed: Seed
    settings: Settings
    sha256: str
    source: str
    fit_items: tuple[FitItem, ...] = ()
    #: Next steps per approach (next_steps.yaml; empty when the folder has no such file).
    next_steps: tuple[Any, ...] = ()

    def variable(self, vid: str) -> Variable:
        return {v.id: v for v in self.variables}[vid]

    def statement(self, sid: str) -> Statement:
        return {s.id: s for s in self.statements}[sid]

    def approach(self, slug: str) -> Approach:
        return {a.slug: a for a in self.approaches}[slug]

    @property
    def variable_ids(self) -> tuple[str, ...]:
        return tuple(v.id for v in self.variables)

    @property
    def statement_ids(self) -> tuple[str, ...]:
        return tuple(s.id for s in self.statements)

    @property
    def ranked(self) -> tuple[Approach, ...]:
        return tuple(a for a in self.approaches if a.ranked)

    @property
    def unranked(self) -> tuple[Approach, ...]:
        return tuple(a for a in self.approaches if not a.ranked)


# --------------------------------------------------------------------------- value bands


def belief_factor(tilt: float, credence: float, prior_mean: float) -> float:
    """The value factor of one tilt at one credence (1 at the prior mean)."""
    return 1.0 + tilt * (credence - prior_mean) / max(prior_mean, 1.0 - prior_mean)


def value_band(prior_means: Mapping[str, float], tilts: Mapping[str, float],
               ratings: Mapping[str, str], levels: Mapping[str, Any],
               hard_mean: float = 0.5) -> tuple[float, float]:
    """(highest, lowest) value over all extreme beliefs, as multiples of the typical value.

    Extreme beliefs: every credence the approach depends on at 0 or 1, alignment-hard
    included; ratings at their means. Each factor is linear in its credence and the factors
    multiply, so the extremes are reached at corners, where each factor is at one of its two
    ends; the hard/easy mix is linear in its credence too.
    """
    def mean(dim):
        return levels[dim][ratings[dim]].mean

    typical = hard_mean * mean("hard") + (1 - hard_mean) * mean("easy")
    ends = [(belief_factor(t, 0.0, prior_means[v]), belief_factor(t, 1.0, prior_means[v]))
            for v, t in tilts.items()]
    hi, lo = 1.0, 1.0
    for a, b in ends:  # running max and min of a product of intervals with signs
        cands = [hi * a, hi * b, lo * a, lo * b]
        hi, lo = max(cands), min(cands)
    base_hi = max(mean("hard"), mean("easy")) / typical
    base_lo = min(mean("hard"), mean("easy")) / typical
    cands = [hi * base_hi, hi * base_lo, lo * base_hi, lo * base_lo]
    return max(cands), min(cands)


# --------------------------------------------------------------------------- loading


def default_library_dir() -> Path:
    """Folder of the crux library shipped with cruxfit."""
    return Path(str(importlib.resources.files("cruxfit.cruxes")))


def library_hash(folder: Path) -> str:
    """Fingerprint of the library files, read with the same bounds as any input.

    A file that cannot be read within them (too big, a FIFO, a device) adds a marker
    instead; loading the library then refuses it with one line.
    """
    digest = hashlib.sha256()
    for name in (*LIBRARY_FILES, "next_steps.yaml"):
        p = folder / name
        digest.update(name.encode())
        digest.update(b"\0")
        try:
            digest.update(read_bytes_bounded(p))
        except InputError as exc:
            digest.update(b"\1unreadable:" + str(exc).encode("utf-8", "backslashreplace"))
        digest.update(b"\0")
    return digest.hexdigest()


_CACHE: dict[tuple[str, str], Library] = {}


def load_library(folder: str | Path | None = None) -> Library:
    """Load and validate a crux library folder; raise LibraryError listing every problem."""
    folder = Path(folder) if folder is not None else default_library_dir()
    if not folder.is_dir():
        raise LibraryError(_single(str(folder), "is not a folder holding a crux library"))
    sha = library_hash(folder)
    cached = _CACHE.get((str(folder.resolve()), sha))
    if cached is not None:
        return cached
    # The pydantic models of the files are built on the first load, not on import.
    from cruxfit.cruxes.library_model import check_library, kind_of

    docs: dict[str, Any] = {}
    all_problems = []
    for name in LIBRARY_FILES:
        label = str(folder / name)
        try:
            docs[name] = load_document(folder / name, label=label)
        except InputError as exc:
            all_problems.extend(exc.problems)
    for name in LIBRARY_FILES:
        if name in docs and not isinstance(docs[name], dict):
            # One line, not a cascade of "missing" for every key the file should hold.
            all_problems.append(Problem(str(folder / name), "(top level)",
                                        f"must be a mapping of keys to values, not {kind_of(docs[name])}"))
    if all_problems:
        raise LibraryError(all_problems)

    parts, problems = check_library(docs, folder)
    next_steps, pnext = read_next_steps(folder, parts.pop("approach_slugs"))
    problems += pnext
    if problems:
        raise LibraryError(problems)
    lib = Library(sha256=sha, source=str(folder), next_steps=tuple(next_steps.values()), **parts)
    _CACHE[(str(folder.resolve()), sha)] = lib
    return lib


def _single(file: str, message: str) -> list[Problem]:
    return [Problem(file, "", message)]


def agree7_label(value: int) -> str:
    return AGREE7_LABELS[value - 1]
