"""The shape of an analysis result, declared: what ``cruxfit report -f json`` writes.

An analysis hands the report layer plain data (:meth:`Analysis.to_dict`, then the
organisation's and the comparison's additions and the pipeline's VOI, what-if table and
timing). The pydantic models below say exactly which keys each kind of result carries and
what type each value has, so that:

* the pipeline checks every result before it is rendered or written (:func:`checked`): a
  key renamed or dropped in ``models/`` fails at once, naming the path, instead of turning
  into a silent "—" in a report;
* the report JSON's schema is published (:func:`report_json_schema`, ``cruxfit schema
  --report``) for whoever reads those files.

Three kinds of result, told apart by :func:`_kind` (no single key names them):

* an individual: ``profile.kind == "individual"``;
* an organisation: ``profile.kind == "organisation"``, with members, disagreement and the
  crux to discuss first;
* a comparison of two profiles (``cruxfit compare``): ``results.a`` and ``results.b`` are
  each an individual or an organisation result.

Conventions. Every object forbids keys it does not declare, except the mappings keyed by
data (slugs, belief ids, member names, timing steps). A ``Probability`` is a number in
[0, 1]. Sampler diagnostics can be NaN (a chain stuck on one value); NaN is not JSON, so
the JSON file has ``null`` there and these fields accept both. Sentences (``sentence``,
``text``, ``meaning``, ``method``, ``why``...) are typed as text only: their wording
belongs to the report layer and may change without a schema change. Numbers rounded for
JSON (4 decimals) keep their bounds: a rounded probability is still in [0, 1].

``SCHEMA_VERSION`` (in :mod:`cruxfit.models.analysis`) changes whenever this shape does.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal, Union

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    TypeAdapter,
    model_validator,
)

from cruxfit.models.analysis import SCHEMA_VERSION
from cruxfit.models.kinds import result_kind

# ----------------------------------------------------------------------------- building blocks
Probability = Annotated[float, Field(ge=0.0, le=1.0)]
#: A difference of two probabilities (a comparison's change, a belief's shift).
ProbabilityChange = Annotated[float, Field(ge=-1.0, le=1.0)]
NonNegative = Annotated[float, Field(ge=0.0)]
Count = Annotated[int, Field(ge=0)]
Positive = Annotated[int, Field(ge=1)]
#: A sampler diagnostic: a number, or NaN in Python / null in JSON when it is undefined.
MaybeNaN = Union[float, None]
#: An interval [low, high].
Interval = Annotated[list[float], Field(min_length=2, max_length=2)]
ProbabilityInterval = Annotated[list[Probability], Field(min_length=2, max_length=2)]
#: Answers on the 1-7 agreement scale.
Agree7 = Annotated[int, Field(ge=1, le=7)]
QualityFlag = Literal["blank", "sparse", "straight-lined", "contradictory"]


def _no_default(schema: dict) -> None:
    """For a key that is either absent or an object: never null, so no default to show."""
    schema.pop("default", None)


class Fixed(BaseModel):
    """An object whose keys are all declared: any other key is an error."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, strict=True)


# ----------------------------------------------------------------------------- profile
class FitItem(Fixed):
    id: str
    text: str
    #: The 1-7 answer to a personal-fit item, or null when not answered.
    answer: Union[Annotated[float, Field(ge=1, le=7)], None]


class Contradiction(Fixed):
    crux: str
    for_: str = Field(alias="for")
    against: str


class Quality(Fixed):
    flags: list[QualityFlag]
    contradictions: list[Contradiction]
    answered: Count
    total: Count


class OrgQuality(Fixed):
    flags: list[QualityFlag]
    #: How many members carry each member-level flag (flags no member has are left out).
    members_flagged: dict[QualityFlag, Positive]
    answered: Count
    total: Count


class _ProfileBase(Fixed):
    name: str
    notes: Union[str, None]
    answered: Count
    fit: list[FitItem]
    has_fit: bool
    unsure: list[str]
    statements: Count
    #: The approach slug the person plans to work on, if they named one.
    plan: Union[str, None]


class IndividualProfile(_ProfileBase):
    kind: Literal["individual"]
    quality: Quality


class OrgProfile(_ProfileBase):
    kind: Literal["organisation"]
    quality: OrgQuality
    respondents: Positive
    warnings: list[str]


# ----------------------------------------------------------------------------- verdict
class Evidence(Fixed):
    crux_answers: dict[str, Count]
    crux_total: Count
    min_crux_answers: Count
    min_each_crux: Count
    missing: list[str]
    enough: bool


class Threshold(Fixed):
    label: str
    ev_rank_max: Union[Positive, None]
    p_best_min: Probability
    p_top3_min: Probability
    meaning: str
    condition: str


class Verdict(Fixed):
    label: str
    status: Literal["verdict", "not-converged", "not-enough-answers"]
    model_label: str
    meaning: str
    converged: bool
    approach: str
    ev_rank: Positive
    ranked_approaches: Positive
    p_best: Probability
    p_top3: Probability
    margin: float
    best_alternative: str
    top_approach: str
    deciding: list[str]
    evidence: Evidence
    thresholds: list[Threshold]
    settled: bool


# ----------------------------------------------------------------------------- approaches
Dimension = Literal["tractability", "hard", "easy", "neglectedness"]


class RatingLevels(Fixed):
    tractability: str
    hard: str
    easy: str
    neglectedness: str


class RatingUsed(Fixed):
    level: str
    mean: float
    sd: NonNegative


class RatingsUsed(Fixed):
    tractability: RatingUsed
    hard: RatingUsed
    easy: RatingUsed
    neglectedness: RatingUsed


class Overridden(Fixed):
    from_: str = Field(alias="from")
    to: str
    reason: str


class Approach(Fixed):
    slug: str
    name: str
    mean: float
    worldview_mean: float
    personal_fit: Annotated[float, Field(gt=0.0)]
    hdi_90: Interval
    p_best: Probability
    p_top3: Probability
    expected_rank: Annotated[float, Field(ge=1.0)]
    ratings: RatingLevels
    ratings_used: RatingsUsed
    overridden: dict[Dimension, Overridden]


class Unranked(Fixed):
    slug: str
    name: str
    ratings: dict[str, str]
    reason: str


class Override(Fixed):
    slug: str
    dimension: Dimension
    from_: str = Field(alias="from")
    to: str
    reason: str


# ----------------------------------------------------------------------------- beliefs, answers
class Density(Fixed):
    x: list[Probability]
    prior: list[NonNegative]
    posterior: list[NonNegative]


class Belief(Fixed):
    id: str
    name: str
    proposition: str
    prior_mean: Probability
    prior_hdi_90: ProbabilityInterval
    posterior_mean: Probability
    hdi_90: ProbabilityInterval
    shift: ProbabilityChange
    answers: Count
    justification: str
    density: Density


class Answer(Fixed):
    id: str
    text: str
    scale: Literal["agree7", "probability"]
    #: 1-7 on the agreement scale, a probability on the probability scale, null if unsure.
    value: Union[Agree7, Probability, None]
    label: str
    variable: str
    favours: int
    #: Belief id -> how far this answer moved that belief's posterior mean (null when the
    #: estimate was not available).
    moved: dict[str, Union[ProbabilityChange, None]]
    #: Belief id -> how far it would have moved the prior mean on its own.
    alone: dict[str, Union[ProbabilityChange, None]]
    method: str


class Consideration(Fixed):
    favourable: str
    unfavourable: str
    statement: str
    text: str
    answer: Union[Answer, None]


class Crux(Fixed):
    id: str
    title: str
    variable: str
    intro: str
    note: Union[str, None]
    belief: Belief
    considerations: list[Consideration]
    other_statements: list[Answer]


class ChecklistRow(Fixed):
    text: str
    variable: str
    holds: bool
    statement: str
    credence: Probability
    agreement: Probability
    status: str


class Checklist(Fixed):
    good_fit: list[ChecklistRow]
    less_relevant: list[ChecklistRow]


class TornadoRow(Fixed):
    base_margin: float
    variable: str
    name: str
    low_credence: Probability
    high_credence: Probability
    margin_at_low: float
    margin_at_high: float
    swing: NonNegative
    in_range: bool


class NextSteps(Fixed):
    summary: str
    skills: list[str]
    roles: list[str]
    read: list[str]


# ----------------------------------------------------------------------------- diagnostics, provenance
class Criteria(Fixed):
    r_hat_max: float
    ess_bulk_min: NonNegative
    ess_tail_min: NonNegative
    divergences_max: Count


class Diagnostics(Fixed):
    converged: bool
    r_hat_max: MaybeNaN
    ess_bulk_min: MaybeNaN
    ess_tail_min: MaybeNaN
    divergences: Count
    chains: Positive
    draws: Positive
    tune: Count
    target_accept: Probability
    attempts: Positive
    reasons: list[str]
    criteria: Criteria
    #: Only in a batch: how many respondents were sampled together in one stacked model
    #: (their R-hat and ESS are this respondent's own).
    stacked_with: Positive = Field(default=None, json_schema_extra={"type": "integer"})
    #: Only for an organisation: "integrated" (members integrated out, drawn afterwards) or
    #: "explicit" (every member's credences sampled).
    model: Literal["integrated", "explicit"] = Field(default=None, json_schema_extra={"type": "string"})


class FormLayout(Fixed):
    layout: str
    label: str
    chosen: str


class Provenance(Fixed):
    cruxfit_version: str
    seed: int
    input_sha256: str
    library_sha256: str
    pymc_version: str
    versions: dict[str, str]
    hdi_prob: Probability
    value_draws: Positive
    #: Only for input read from a form export: the layout it was read as.
    form_layout: FormLayout = Field(None, json_schema_extra=_no_default)  # type: ignore[assignment]


class Timing(Fixed):
    #: When the result was made (UTC, ISO 8601).
    created: str
    #: Step name -> seconds.
    seconds: dict[str, NonNegative]


# ----------------------------------------------------------------------------- value of information
class EvppiBelief(Fixed):
    """Expected value of perfect information about one belief."""

    variable: str
    name: str
    value: NonNegative
    share: Probability
    method: str
    p_true: Probability
    best_if_true: str
    best_if_false: str
    sentence: str


class EvppiRatings(Fixed):
    """The same for all approaches' ratings at once (a regression estimate)."""

    variable: Literal["ratings"]
    name: str
    value: NonNegative
    share: Probability
    method: str
    exact_value: NonNegative
    p_true: None
    capped_at_evpi: bool
    best_if_true: None
    best_if_false: None
    sentence: str


class Switch(Fixed):
    credence: Probability
    from_: str = Field(alias="from")
    to: str


class Switches(Fixed):
    below: Union[Switch, None]
    above: Union[Switch, None]


class SwitchingValue(Fixed):
    variable: str
    name: str
    current: Probability
    verdict_now: str
    verdict_switch: Union[Switches, None]
    top_now: str
    top_switch: Union[Switches, None]
    sentence: str
    in_range: bool


class WhatIfTable(Fixed):
    #: Indices into ``whatif.variables`` of the beliefs this approach's value depends on.
    variables: list[Count]
    #: The values at the corners of those beliefs, little-endian float64, base64.
    values: str


class WhatIf(Fixed):
    available: Literal[True]
    variables: list[str]
    approaches: list[str]
    encoding: str
    tables: list[WhatIfTable]
    method: str


class WhatIfUnavailable(Fixed):
    available: Literal[False]
    reason: str


# ----------------------------------------------------------------------------- individual
class _ResultBase(Fixed):
    schema_version: Literal[SCHEMA_VERSION]  # type: ignore[valid-type]
    verdict: Verdict
    approaches: list[Approach]
    unranked: list[Unranked]
    overrides: list[Override]
    beliefs: list[Belief]
    answers: list[Answer]
    cruxes: list[Crux]
    checklist: Checklist
    tornado: list[TornadoRow]
    next_steps: dict[str, NextSteps]
    diagnostics: Diagnostics
    provenance: Provenance
    evpi: NonNegative
    evppi: list[Union[EvppiBelief, EvppiRatings]]
    switching_values: list[SwitchingValue]
    voi_method: str
    voi_draws: Positive
    whatif: Union[WhatIf, WhatIfUnavailable]
    timing: Timing


class IndividualResult(_ResultBase):
    """One person's analysis."""

    profile: IndividualProfile


# ----------------------------------------------------------------------------- organisation
class Disagreement(Fixed):
    variable: str
    name: str
    organisation: Probability
    #: How far members spread around the organisation's credence (a scale, not a probability).
    spread: NonNegative
    spread_hdi_90: Interval
    #: Member name -> that member's credence.
    members: dict[str, Probability]
    member_range: ProbabilityInterval


class MemberEnd(Fixed):
    member: str
    credence: Probability
    margin: float
    verdict: str


class DiscussCandidate(Fixed):
    variable: str
    name: str
    impact: NonNegative
    verdict_changes: bool
    spread: NonNegative
    low: MemberEnd
    high: MemberEnd
    below: list[str]
    above: list[str]


class DiscussFirst(Fixed):
    variable: str
    name: str
    why: str
    base_margin: float
    base_verdict: str
    ranking: list[DiscussCandidate]


class WhyPart(Fixed):
    variable: str
    name: str
    margin: float


class WhyDiffers(Fixed):
    total_margin: float
    main: list[WhyPart]
    #: How the split was computed: "exact-shapley", or "sampled-shapley" from ``orderings``
    #: orderings of the players (models/compare.py, margin_shapley). Absent in older results.
    method: str = Field(None, json_schema_extra=_no_default)  # type: ignore[assignment]
    orderings: Positive = Field(None, json_schema_extra=_no_default)  # type: ignore[assignment]


class Member(Fixed):
    model_config = ConfigDict(json_schema_extra={
        "if": {"properties": {"differs": {"const": True}}},
        "then": {"required": ["why"]},
        "else": {"not": {"required": ["why"]}},
    })

    name: str
    role: Union[str, None]
    verdict: str
    p_best: Probability
    p_top3: Probability
    margin: float
    top_approach: str
    answered: Count
    #: Belief id -> the member's posterior mean.
    beliefs: dict[str, Probability]
    differs: bool
    #: Only when ``differs``: which beliefs explain the member's different verdict.
    why: WhyDiffers = Field(None, json_schema_extra=_no_default)  # type: ignore[assignment]

    @model_validator(mode="after")
    def _why_exactly_when_differs(self) -> "Member":
        if (self.why is not None) != self.differs:
            raise ValueError("why is given exactly when the member's verdict differs")
        return self


class OrganisationResult(_ResultBase):
    """An organisation's pooled analysis, its members and their disagreement."""

    profile: OrgProfile
    members: list[Member]
    disagreement: list[Disagreement]
    discuss_first: DiscussFirst


# ----------------------------------------------------------------------------- comparison
def _kind(value: Any) -> str:
    """Which kind of result ``value`` is (a dict from the pipeline or a model instance)."""
    if isinstance(value, BaseModel):
        if isinstance(value, CompareResult):
            return "compare"
        value = value.model_dump(by_alias=True, include={"profile": {"kind"}})
    return result_kind(value)  # not a dict: "individual", and it fails there with its message


SingleResult = Annotated[
    Union[Annotated[IndividualResult, Tag("individual")],
          Annotated[OrganisationResult, Tag("organisation")]],
    Discriminator(_kind),
]


class Reported(Fixed):
    """A profile's numbers as its own report gives them."""

    verdict: str
    p_best: Probability
    p_top3: Probability
    margin: float


class CompareSide(Fixed):
    name: str
    verdict: str
    model_verdict: str
    p_best: Probability
    p_top3: Probability
    margin: float
    best_alternative: str
    top: str
    reported: Reported


class Change(Fixed):
    """B minus A."""

    p_best: ProbabilityChange
    p_top3: ProbabilityChange
    margin: float


class Contribution(Fixed):
    """One belief's (or the overrides' or fit answers') share of the change."""

    variable: str
    name: str
    p_best: ProbabilityChange
    p_top3: ProbabilityChange
    margin: float
    shared: bool
    credence_a: Union[Probability, None]
    credence_b: Union[Probability, None]
    sentence: str


class VerdictChange(Fixed):
    from_: str = Field(alias="from")
    to: str
    changed: bool


class ComparePair(Fixed):
    a: SingleResult
    b: SingleResult


class CompareDiagnostics(Fixed):
    a: Diagnostics
    b: Diagnostics


class CompareProvenance(Provenance):
    #: The two inputs' hashes, A then B.
    input_sha256: Annotated[list[str], Field(min_length=2, max_length=2)]  # type: ignore[assignment]


class CompareResult(Fixed):
    """Two profiles analysed with one seed, and which beliefs explain the difference."""

    a: CompareSide
    b: CompareSide
    total: Change
    contributions: list[Contribution]
    verdict_change: VerdictChange
    overrides_differ: bool
    fit_differs: bool
    draws: Positive
    method: str
    results: ComparePair
    provenance: CompareProvenance
    diagnostics: CompareDiagnostics
    timing: Timing


Result = Annotated[
    Union[Annotated[IndividualResult, Tag("individual")],
          Annotated[OrganisationResult, Tag("organisation")],
          Annotated[CompareResult, Tag("compare")]],
    Discriminator(_kind),
]

_ADAPTER: TypeAdapter | None = None


def _adapter() -> TypeAdapter:
    global _ADAPTER
    if _ADAPTER is None:
        _ADAPTER = TypeAdapter(Result)
    return _ADAPTER


def _plain(value: Any) -> Any:
    """NumPy scalars as the Python numbers and booleans that the JSON file carries."""
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON data")


def checked(result: dict) -> dict:
    """Validate ``result`` against the declared shape and return it, unchanged.

    What is checked is the result as JSON (as ``-f json`` writes it, NumPy numbers as plain
    ones, tuples as lists), strictly: a number written as text or a flag written as 1 is an
    error, as it is against the published schema. NaN is accepted where the schema has null.
    Raises :class:`pydantic.ValidationError` naming every path that does not fit: a result
    that does not match is a bug in the code that built it, never the user's.
    """
    _adapter().validate_json(json.dumps(result, default=_plain))
    return result


def report_json_schema() -> dict:
    """The JSON Schema (draft 2020-12) of ``cruxfit report -f json`` and ``compare -f json``."""
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **_adapter().json_schema()}
