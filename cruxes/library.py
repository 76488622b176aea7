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
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

from cruxfit.cruxes.errors import InputError, LibraryError, Problem, Problems, did_you_mean, one_of
from cruxfit.cruxes.loading import is_finite_number, load_document, read_bytes_bounded
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


# --------------------------------------------------------------------------- field reading


_MISSING = object()


class _Reader:
    """Reads typed fields from one mapping, recording a problem for each mistake."""

    def __init__(self, problems: Problems, data: Any, path: str):
        self.problems = problems
        self.path = path
        self.ok = isinstance(data, dict)
        self.data = data if self.ok else {}
        if not self.ok:
            problems.add(path or "(top level)", f"must be a mapping of keys to values, not {_kind(data)}")

    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def get(self, name: str, kind: str, *, required: bool = True, default: Any = None) -> Any:
        value = self.data.get(name, _MISSING)
        if value is _MISSING or value is None:
            if required and self.ok:
                self.problems.add(self.key(name), f"is missing; it must be {_KIND_TEXT[kind]}")
            return default
        checker = _KIND_CHECK[kind]
        if not checker(value):
            self.problems.add(self.key(name), f"must be {_KIND_TEXT[kind]}, not {_kind(value)}")
            return default
        return value

    def only(self, allowed: Iterable[str]) -> None:
        allowed = list(allowed)
        for k in self.data:
            if k not in allowed:
                self.problems.add(
                    self.key(str(k)),
                    f"is not a known key{did_you_mean(k, allowed)}; allowed: {one_of(allowed)}",
                )


def _kind(value: Any) -> str:
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return f'the text "{value[:40]}"'
    if isinstance(value, (int, float)):
        return f"the number {value}"
    return type(value).__name__


_KIND_TEXT = {
    "str": "text",
    "number": "a number",
    "int": "a whole number",
    "bool": "true or false",
    "list": "a list",
    "map": "a mapping",
}
_KIND_CHECK = {
    "str": lambda v: isinstance(v, str) and v.strip() != "",
    "number": is_finite_number,
    "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "bool": lambda v: isinstance(v, bool),
    "list": lambda v: isinstance(v, list),
    "map": lambda v: isinstance(v, dict),
}


def _items(reader: _Reader, name: str, required: bool = True) -> list[tuple[str, Any]]:
    seq = reader.get(name, "list", required=required, default=[])
    return [(f"{reader.key(name)}[{i}]", item) for i, item in enumerate(seq or [])]


def _ref(problems: Problems, key: str, value: Any, known: Iterable[str], what: str) -> bool:
    known = list(known)
    if value is None:
        return False
    if value not in known:
        problems.add(key, f'"{value}" is not a known {what}{did_you_mean(value, known)}')
        return False
    return True


def _unique(problems: Problems, key: str, value: str, seen: dict[str, str], what: str) -> None:
    if value is None:
        return
    if value in seen:
        problems.add(key, f'duplicate {what} "{value}" (first defined at {seen[value]})')
    else:
        seen[value] = key


# --------------------------------------------------------------------------- the sections


def _read_variables(data: Any, problems: Problems) -> list[Variable]:
    top = _Reader(problems, data, "")
    top.only(["variables"])
    out: list[Variable] = []
    seen: dict[str, str] = {}
    for key, item in _items(top, "variables"):
        r = _Reader(problems, item, key)
        if not r.ok:
            continue
        r.only(["id", "name", "proposition", "prior", "justification", "crux"])
        vid = r.get("id", "str")
        _unique(problems, r.key("id"), vid, seen, "variable id")
        prior_r = _Reader(problems, r.get("prior", "map", default={}), r.key("prior"))
        prior_r.only(["mean", "strength"])
        mean = prior_r.get("mean", "number")
        strength = prior_r.get("strength", "number")
        if mean is not None and not 0 < mean < 1:
            problems.add(prior_r.key("mean"), f"{mean} is outside (0, 1); a prior credence must be strictly between 0 and 1")
        if strength is not None and not 0.5 <= strength <= 1000:
            problems.add(prior_r.key("strength"), f"{strength} is outside [0.5, 1000]")
        fields = dict(
            name=r.get("name", "str"),
            proposition=r.get("proposition", "str"),
            justification=r.get("justification", "str"),
            crux=r.get("crux", "str", required=False),
        )
        if vid and mean is not None and strength is not None and all(
            fields[k] for k in ("name", "proposition", "justification")
        ):
            out.append(Variable(id=vid, prior=Prior(float(mean), float(strength)), **fields))
    return out


def _read_statements(data: Any, problems: Problems, variables: list[str]) -> list[Statement]:
    top = _Reader(problems, data, "")
    top.only(["statements"])
    out: list[Statement] = []
    seen: dict[str, str] = {}
    for key, item in _items(top, "statements"):
        r = _Reader(problems, item, key)
        if not r.ok:
            continue
        r.only(["id", "text", "scale", "loads", "favours"])
        sid = r.get("id", "str")
        _unique(problems, r.key("id"), sid, seen, "statement id")
        text = r.get("text", "str")
        scale = r.get("scale", "str")
        if scale is not None and scale not in SCALES:
            problems.add(r.key("scale"), f'"{scale}" is not a scale{did_you_mean(scale, SCALES)}; allowed: {one_of(SCALES)}')
            scale = None
        favours = r.get("favours", "int")
        if favours is not None and favours not in (1, -1):
            problems.add(r.key("favours"), f"{favours} is not allowed; use 1 or -1")
            favours = None
        loads: list[Loading] = []
        raw_loads = _items(r, "loads")
        if r.ok and "loads" in r.data and not raw_loads and isinstance(r.data.get("loads"), list):
            problems.add(r.key("loads"), "is empty; a statement must load on at least one variable")
        n = len(raw_loads)
        bad = False
        for lkey, litem in raw_loads:
            lr = _Reader(problems, litem, lkey)
            if not lr.ok:
                bad = True
                continue
            lr.only(["variable", "sign", "weight"])
            var = lr.get("variable", "str")
            if not _ref(problems, lr.key("variable"), var, variables, "variable"):
                bad = True
            sign = lr.get("sign", "int")
            if sign is not None and sign not in (1, -1):
                problems.add(lr.key("sign"), f"{sign} is not allowed; use 1 or -1")
                bad = True
            weight = lr.get("weight", "number", required=False, default=1.0 / max(n, 1))
            if weight is not None and not 0 < weight <= 1:
                problems.add(lr.key("weight"), f"{weight} is outside (0, 1]")
                bad = True
            if var and sign in (1, -1) and weight:
                loads.append(Loading(var, int(sign), float(weight)))
        if loads and not bad and abs(sum(ld.weight for ld in loads) - 1.0) > 1e-6:
            problems.add(r.key("loads"), f"weights add up to {sum(ld.weight for ld in loads):g}; they must add up to 1")
            bad = True
        if len({ld.variable for ld in loads}) != len(loads):
            problems.add(r.key("loads"), "names the same variable twice")
            bad = True
        if sid and text and scale and favours and loads and not bad:
            out.append(Statement(sid, text, scale, tuple(loads), favours))
    return out


def _read_fit_beliefs(r: _Reader, name: str, problems: Problems, variables: list[str],
                      statements: list[str] | None) -> list[FitBelief]:
    out = []
    for key, item in _items(r, name, required=statements is not None):
        br = _Reader(problems, item, key)
        if not br.ok:
            continue
        br.only(["text", "variable", "holds", "statement"])
        text = br.get("text", "str")
        var = br.get("variable", "str")
        holds = br.get("holds", "bool")
        stmt = br.get("statement", "str", required=statements is not None)
        ok = _ref(problems, br.key("variable"), var, variables, "variable")
        if stmt is not None and statements is not None:
            ok = _ref(problems, br.key("statement"), stmt, statements, "statement") and ok
        if text and ok and holds is not None:
            out.append(FitBelief(text, var, holds, stmt))
    return out


def _read_approaches(data: Any, problems: Problems, variables: list[str],
                     priors: Mapping[str, Prior], levels: Mapping[str, Any],
                     bands: Bands | None = None) -> list[Approach]:
    bands = bands or Bands()
    top = _Reader(problems, data, "")
    top.only(["approaches"])
    out: list[Approach] = []
    seen: dict[str, str] = {}
    for key, item in _items(top, "approaches"):
        r = _Reader(problems, item, key)
        if not r.ok:
            continue
        r.only(["slug", "name", "summary", "ratings", "crux_topics", "cruxes", "also",
                "ranked", "unranked_reason", "good_fit"])
        slug = r.get("slug", "str")
        _unique(problems, r.key("slug"), slug, seen, "approach slug")
        ranked = r.get("ranked", "bool", required=False, default=True)
        unranked_reason = r.get("unranked_reason", "str", required=not ranked)
        bad = False
        rr = _Reader(problems, r.get("ratings", "map", default={}), r.key("ratings"))
        rr.only(DIMENSIONS)
        ratings: dict[str, str] = {}
        for dim in DIMENSIONS:
            level = rr.get(dim, "str")
            if level is None:
                bad = True
                continue
            if ranked and level not in LEVELS:
                problems.add(rr.key(dim), f'"{level}" is off the rating scale{did_you_mean(level, LEVELS)}; allowed: {one_of(LEVELS)} (or set ranked: false with a reason)')
                bad = True
            ratings[dim] = level
        topics = r.get("crux_topics", "list", default=[])
        if topics is not None and not all(isinstance(t, str) for t in topics):
            problems.add(r.key("crux_topics"), "must be a list of short texts")
            bad = True
        cruxes: list[ApproachCrux] = []
        for ckey, citem in _items(r, "cruxes", required=False):
            cr = _Reader(problems, citem, ckey)
            if not cr.ok:
                bad = True
                continue
            cr.only(["topic", "variable", "tilt", "harm"])
            topic, var = cr.get("topic", "str"), cr.get("variable", "str")
            t, harm = cr.get("tilt", "number"), cr.get("harm", "str", required=False)
            ok = topic is not None and t is not None
            ok = _tilt_variable_ok(problems, cr.key("variable"), var, variables) and ok
            if t is not None:
                limit = bands.harm_tilt_max if harm else bands.crux_tilt_max
                if not 0 < abs(t) <= limit:
                    why = ("with a stated harm" if harm else
                           "(a larger one needs `harm:` saying where the page says the work does harm)")
                    problems.add(cr.key("tilt"), f"{t!r} is not allowed; a crux tilt is non-zero and at most {limit:g} in size {why}")
                    ok = False
                elif harm and abs(t) <= 1:
                    problems.add(cr.key("harm"), f"is given but the tilt {t:g} cannot make the value negative; drop `harm` or raise the tilt above 1")
                    ok = False
            if ok:
                cruxes.append(ApproachCrux(topic, var, float(t), harm))
            else:
                bad = True
        also: dict[str, float] = {}
        ar = _Reader(problems, r.get("also", "map", required=False, default={}), r.key("also"))
        for var, t in ar.data.items():
            tkey = ar.key(str(var))
            if not _tilt_variable_ok(problems, tkey, var, variables):
                bad = True
                continue
            if not is_finite_number(t) or not 0 < abs(t) <= bands.also_tilt_max:
                problems.add(tkey, f"{t!r} is not allowed; a cross-cutting tilt is non-zero and at most {bands.also_tilt_max:g} in size")
                bad = True
                continue
            also[var] = float(t)
        tilts: dict[str, float] = {}
        for var, t in [(c.variable, c.tilt) for c in cruxes] + list(also.items()):
            if var in tilts:
                problems.add(r.key("cruxes"), f'"{var}" is used twice (in cruxes or also); a variable may enter an approach once')
                bad = True
            tilts[var] = t
        if ranked and not cruxes and not bad:
            problems.add(r.key("cruxes"), "is missing; every ranked approach needs the cruxes of its own page, each mapped onto a belief variable")
            bad = True
        if (not bad and ranked and tilts and all(v in priors for v in tilts)
                and all(ratings.get(d) in levels.get(d, {}) for d in DIMENSIONS)):
            hard_mean = priors[HARD_VARIABLE].mean if HARD_VARIABLE in priors else 0.5
            gain, low = value_band({v: priors[v].mean for v in tilts if v in priors}, tilts,
                                   ratings, levels, hard_mean)
            if gain > bands.max_gain:
                problems.add(r.key("cruxes"), f"beliefs could raise this approach's value to {gain:.2f} times its typical value; the limit (bands.max_gain in model.yaml) is {bands.max_gain:g}")
                bad = True
            if low < 0 and not any(c.harm for c in cruxes):
                problems.add(r.key("cruxes"), "beliefs could make this approach's value negative, but no crux states a harm")
                bad = True
        good_fit = _read_fit_beliefs(r, "good_fit", problems, variables, None)
        fields = dict(name=r.get("name", "str"), summary=r.get("summary", "str"))
        if slug and not bad and all(fields.values()):
            out.append(Approach(
                slug=slug, ratings=ratings, crux_topics=tuple(topics or ()), tilts=tilts,
                ranked=bool(ranked), unranked_reason=unranked_reason,
                good_fit=tuple(good_fit), cruxes=tuple(cruxes), also=also, **fields,
            ))
    return out


def _tilt_variable_ok(problems: Problems, key: str, var: Any, variables: list[str]) -> bool:
    if not _ref(problems, key, var, variables, "variable"):
        return False
    if var == HARD_VARIABLE:
        problems.add(key, f'"{HARD_VARIABLE}" cannot move an approach here: it already weighs the hard and easy ratings')
        return False
    return True


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


def _read_seed(data: Any, problems: Problems, variables: list[str], statements: list[str],
               approaches: list[str]) -> Seed | None:
    r = _Reader(problems, data, "")
    r.only(["approach", "description", "does", "rating_notes", "uses", "cruxes", "good_fit", "less_relevant"])
    approach = r.get("approach", "str")
    _ref(problems, r.key("approach"), approach, approaches, "approach")
    uses = []
    for key, item in _items(r, "uses"):
        ur = _Reader(problems, item, key)
        ur.only(["use", "status", "promise"])
        u = (ur.get("use", "str"), ur.get("status", "str"), ur.get("promise", "str"))
        if all(u):
            uses.append(Use(*u))
    cruxes = []
    seen: dict[str, str] = {}
    for key, item in _items(r, "cruxes"):
        cr = _Reader(problems, item, key)
        if not cr.ok:
            continue
        cr.only(["id", "title", "variable", "intro", "note", "considerations"])
        cid = cr.get("id", "str")
        _unique(problems, cr.key("id"), cid, seen, "crux id")
        var = cr.get("variable", "str")
        ok = _ref(problems, cr.key("variable"), var, variables, "variable")
        cons = []
        for ckey, citem in _items(cr, "considerations"):
            kr = _Reader(problems, citem, ckey)
            kr.only(["favourable", "unfavourable", "statement"])
            fav, unf, st = kr.get("favourable", "str"), kr.get("unfavourable", "str"), kr.get("statement", "str")
            if _ref(problems, kr.key("statement"), st, statements, "statement") and fav and unf:
                cons.append(Consideration(fav, unf, st))
        title, intro = cr.get("title", "str"), cr.get("intro", "str")
        if cid and ok and title and intro:
            cruxes.append(Crux(cid, title, var, intro, cr.get("note", "str", required=False), tuple(cons)))
    notes = r.get("rating_notes", "map", default={}) or {}
    for k in notes:
        if k not in DIMENSIONS:
            problems.add(f"rating_notes.{k}", f"is not a rating dimension{did_you_mean(k, DIMENSIONS)}; allowed: {one_of(DIMENSIONS)}")
    does = r.get("does", "list", default=[]) or []
    good = _read_fit_beliefs(r, "good_fit", problems, variables, statements)
    less = _read_fit_beliefs(r, "less_relevant", problems, variables, statements)
    description = r.get("description", "str")
    if not (approach and description):
        return None
    return Seed(approach, description, tuple(str(d) for d in does), dict(notes), tuple(uses),
                tuple(cruxes), tuple(good), tuple(less))


def _read_fit(data: Any, problems: Problems, approaches: list[str]) -> list[FitItem]:
    top = _Reader(problems, data, "")
    top.only(["items"])
    out: list[FitItem] = []
    seen: dict[str, str] = {}
    for key, item in _items(top, "items"):
        r = _Reader(problems, item, key)
        if not r.ok:
            continue
        r.only(["id", "text", "weights"])
        fid, text = r.get("id", "str"), r.get("text", "str")
        _unique(problems, r.key("id"), fid, seen, "fit item id")
        wr = _Reader(problems, r.get("weights", "map", default={}), r.key("weights"))
        weights: dict[str, float] = {}
        bad = not wr.ok
        for slug, w in wr.data.items():
            wkey = wr.key(str(slug))
            if not _ref(problems, wkey, slug, approaches, "approach"):
                bad = True
            elif not is_finite_number(w) or not -1 < w < 1:
                problems.add(wkey, f"{w!r} is not allowed; a weight is a number strictly between -1 and 1")
                bad = True
            else:
                weights[slug] = float(w)
        if fid and text and not bad:
            out.append(FitItem(fid, text, weights))
    return out


def _read_settings(data: Any, problems: Problems) -> Settings | None:
    r = _Reader(problems, data, "")
    r.only(["levels", "likelihood", "verdicts", "sampling", "convergence", "organisation",
            "bands", "evidence"])
    lr = _Reader(problems, r.get("levels", "map", default={}), "levels")
    lr.only(DIMENSIONS)
    levels: dict[str, dict[str, LevelDist]] = {}
    bad = False
    for dim in DIMENSIONS:
        dr = _Reader(problems, lr.get(dim, "map", default={}), lr.key(dim))
        dr.only(LEVELS)
        levels[dim] = {}
        for level in LEVELS:
            xr = _Reader(problems, dr.get(level, "map", default={}), dr.key(level))
            xr.only(["mean", "sd"])
            mean, sd = xr.get("mean", "number"), xr.get("sd", "number")
            if mean is not None and mean <= 0:
                problems.add(xr.key("mean"), f"{mean} must be above 0")
                bad = True
            if sd is not None and sd < 0:
                problems.add(xr.key("sd"), f"{sd} must be 0 or more")
                bad = True
            if mean is None or sd is None:
                bad = True
                continue
            levels[dim][level] = LevelDist(float(mean), float(sd))
    lk = _Reader(problems, r.get("likelihood", "map", default={}), "likelihood")
    lk.only([*SCALES, "item_correlation"])
    rho = lk.get("item_correlation", "number", required=False, default=0.0)
    if rho is not None and not 0 <= rho < 1:
        problems.add(lk.key("item_correlation"), f"{rho} is outside [0, 1)")
        rho = None
    a7 = _Reader(problems, lk.get("agree7", "map", default={}), lk.key("agree7"))
    a7.only(["discrimination", "cutpoints"])
    disc = a7.get("discrimination", "number")
    cuts = a7.get("cutpoints", "list")
    if cuts is not None and (len(cuts) != 6 or not all(is_finite_number(c) for c in cuts)
                             or any(b <= a for a, b in zip(cuts, cuts[1:]))):
        problems.add(a7.key("cutpoints"), "must be six increasing numbers (one between each pair of neighbouring answers on the 1-7 scale)")
        cuts = None
    if disc is not None and disc <= 0:
        problems.add(a7.key("discrimination"), f"{disc} must be above 0")
        disc = None
    pr = _Reader(problems, lk.get("probability", "map", default={}), lk.key("probability"))
    pr.only(["sd_logit", "clip"])
    sd_logit, clip = pr.get("sd_logit", "number"), pr.get("clip", "number")
    if sd_logit is not None and sd_logit <= 0:
        problems.add(pr.key("sd_logit"), f"{sd_logit} must be above 0")
        sd_logit = None
    if clip is not None and not 0 < clip < 0.5:
        problems.add(pr.key("clip"), f"{clip} is outside (0, 0.5)")
        clip = None
    verdicts = []
    for key, item in _items(r, "verdicts"):
        vr = _Reader(problems, item, key)
        vr.only(["label", "meaning", "p_best_min", "p_top3_min", "ev_rank_max"])
        label, meaning = vr.get("label", "str"), vr.get("meaning", "str")
        ev_rank_max = vr.get("ev_rank_max", "int", required=False)
        if ev_rank_max is not None and ev_rank_max < 1:
            problems.add(vr.key("ev_rank_max"), f"{ev_rank_max} must be 1 or more (1 = highest expected value)")
            label = None
        mins = {}
        for k in ("p_best_min", "p_top3_min"):
            v = vr.get(k, "number", required=False, default=0.0)
            if v is not None and not 0 <= v <= 1:
                problems.add(vr.key(k), f"{v} is outside [0, 1]")
                v = None
            mins[k] = v
        if label and meaning and None not in mins.values():
            verdicts.append(VerdictRule(label, meaning, float(mins["p_best_min"]),
                                        float(mins["p_top3_min"]), ev_rank_max))
    for i, rule in enumerate(verdicts[:-1]):
        if rule.ev_rank_max is None:
            problems.add(f"verdicts[{i}]", "needs ev_rank_max: every verdict but the last follows the ranking by expected value, so that it never rests on spread alone")
    if verdicts and (verdicts[-1].p_best_min or verdicts[-1].p_top3_min or verdicts[-1].ev_rank_max):
        problems.add("verdicts", "the last verdict must have no minimums, so that every result gets a verdict")
    sr = _Reader(problems, r.get("sampling", "map", default={}), "sampling")
    sr.only(["chains", "tune", "draws", "target_accept"])
    chains, tune, draws = sr.get("chains", "int"), sr.get("tune", "int"), sr.get("draws", "int")
    for name, v, lo in (("chains", chains, 2), ("tune", tune, 100), ("draws", draws, 100)):
        if v is not None and v < lo:
            problems.add(sr.key(name), f"{v} is too small; at least {lo} (R-hat needs two chains or more)")
    ta = sr.get("target_accept", "number")
    if ta is not None and not 0.5 <= ta < 1:
        problems.add(sr.key("target_accept"), f"{ta} is outside [0.5, 1)")
    cr = _Reader(problems, r.get("convergence", "map", default={}), "convergence")
    cr.only(["r_hat_max", "ess_bulk_min", "ess_tail_min", "divergences_max"])
    conv = [cr.get("r_hat_max", "number"), cr.get("ess_bulk_min", "number"),
            cr.get("ess_tail_min", "number"), cr.get("divergences_max", "int")]
    orr = _Reader(problems, r.get("organisation", "map", required=False, default={}), "organisation")
    orr.only(["mean_sd", "spread_sd"])
    org = []
    for k, default in (("mean_sd", 1.0), ("spread_sd", 0.8)):
        v = orr.get(k, "number", required=False, default=default)
        if v is not None and v <= 0:
            problems.add(orr.key(k), f"{v} must be above 0")
            v = None
        org.append(v)
    br = _Reader(problems, r.get("bands", "map", required=False, default={}), "bands")
    br.only(["crux_tilt_max", "also_tilt_max", "harm_tilt_max", "max_gain"])
    band = {}
    for k, default, lo, hi in (("crux_tilt_max", 0.6, 0, 1), ("also_tilt_max", 0.25, 0, 1),
                               ("harm_tilt_max", 1.5, 1, 3), ("max_gain", 6.0, 1, 100)):
        v = br.get(k, "number", required=False, default=default)
        if v is not None and not lo < v <= hi:
            problems.add(br.key(k), f"{v} is outside ({lo}, {hi}]")
            v = None
        band[k] = v
    er = _Reader(problems, r.get("evidence", "map", required=False, default={}), "evidence")
    er.only(["min_crux_answers", "min_each_crux", "label", "meaning", "seconds_per_statement"])
    ev = {k: er.get(k, "int", required=False, default=d)
          for k, d in (("min_crux_answers", 4), ("min_each_crux", 1))}
    for k, v in ev.items():
        if v is not None and v < 0:
            problems.add(er.key(k), f"{v} must be 0 or more")
            ev[k] = None
    ev_label = er.get("label", "str", required=False, default="not enough answers")
    ev_meaning = er.get("meaning", "str", required=False,
                        default="Too few answers bear on the cruxes for a verdict.")
    spq = er.get("seconds_per_statement", "number", required=False, default=18.0)
    if spq is not None and spq <= 0:
        problems.add(er.key("seconds_per_statement"), f"{spq} must be above 0")
        spq = None
    if ev_label in {v.label for v in verdicts}:
        problems.add(er.key("label"), f'"{ev_label}" is already a verdict label; it must differ')
    if (problems or bad or None in (disc, cuts, sd_logit, clip, chains, tune, draws, ta, *conv, *org,
                                    rho, spq, *band.values(), *ev.values()) or not verdicts):
        return None
    return Settings(levels, float(disc), tuple(float(c) for c in cuts), float(sd_logit), float(clip),
                    tuple(verdicts), chains, tune, draws, float(ta), float(conv[0]), float(conv[1]),
                    float(conv[2]), int(conv[3]), float(org[0]), float(org[1]),
                    item_correlation=float(rho), bands=Bands(**band),
                    evidence=Evidence(int(ev["min_crux_answers"]), int(ev["min_each_crux"]),
                                      ev_label, ev_meaning, float(spq)))


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
                                        f"must be a mapping of keys to values, not {_kind(docs[name])}"))
    if all_problems:
        raise LibraryError(all_problems)

    def prob(name: str) -> Problems:
        return Problems(str(folder / name))

    pv, ps, pa, pseed, pm, pfit = (prob(n) for n in LIBRARY_FILES)
    settings = _read_settings(docs["model.yaml"], pm)
    variables = _read_variables(docs["variables.yaml"], pv)
    vids = [v.id for v in variables]
    # Cross-references are checked against every id the file declares, even ones whose
    # other fields are broken, so that one mistake does not cascade into many.
    declared_vars = _declared_ids(docs["variables.yaml"], "variables", "id") or vids
    statements = _read_statements(docs["statements.yaml"], ps, declared_vars)
    declared_stmts = _declared_ids(docs["statements.yaml"], "statements", "id") or [s.id for s in statements]
    priors = {v.id: v.prior for v in variables}
    approaches = _read_approaches(docs["approaches.yaml"], pa, declared_vars, priors,
                                  settings.levels if settings else {},
                                  settings.bands if settings else None)
    declared_apps = _declared_ids(docs["approaches.yaml"], "approaches", "slug") or [a.slug for a in approaches]
    seed = _read_seed(docs["seed.yaml"], pseed, declared_vars, declared_stmts, declared_apps)
    fit_items = _read_fit(docs["fit.yaml"], pfit, declared_apps)
    if HARD_VARIABLE not in declared_vars and not pv:
        pv.add("variables", f'must define "{HARD_VARIABLE}": the value model weighs the hard and easy ratings by it')
    slugs = [a.slug for a in approaches]
    if SEED_APPROACH not in declared_apps and not pa:
        pa.add("approaches", f'must define "{SEED_APPROACH}", the approach cruxfit assesses')
    elif SEED_APPROACH in slugs and not next(a for a in approaches if a.slug == SEED_APPROACH).ranked:
        pa.add("approaches", f'"{SEED_APPROACH}" must be ranked')
    if len([a for a in approaches if a.ranked]) < 4 and not pa:
        pa.add("approaches", "at least four ranked approaches are needed (the verdict uses the top three)")

    next_steps, pnext = read_next_steps(folder, declared_apps)
    problems = [*pv.items, *ps.items, *pa.items, *pseed.items, *pm.items, *pfit.items, *pnext]
    if problems or settings is None or seed is None:
        raise LibraryError(problems or _single(str(folder), "could not be read"))
    lib = Library(tuple(variables), tuple(statements), tuple(approaches), seed, settings, sha,
                  str(folder), tuple(fit_items), tuple(next_steps.values()))
    _CACHE[(str(folder.resolve()), sha)] = lib
    return lib


def _single(file: str, message: str) -> list[Problem]:
    return [Problem(file, "", message)]


def _declared_ids(doc: Any, listname: str, key: str) -> list[str]:
    if not isinstance(doc, dict) or not isinstance(doc.get(listname), list):
        return []
    return [it[key] for it in doc[listname] if isinstance(it, dict) and isinstance(it.get(key), str)]


def agree7_label(value: int) -> str:
    return AGREE7_LABELS[value - 1]
