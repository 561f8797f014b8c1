"""The value types of the scoring engine: templates and their criteria."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any

ROUND_KINDS = ("selection_review", "site_inspection", "annual", "triennial")


@dataclass(frozen=True)
class Criterion:
    """One line of a score sheet: at most ``max`` points, entered in multiples of ``step``.

    ``priority`` orders the criteria used to break ties in the ranking (1 first; 0 means not used).
    A ``veto`` criterion (一票否决) rejects an application whose criterion mean fails the gate.
    """

    id: str
    name: str
    name_en: str
    max: float
    step: float = 0.5
    group: str = ""
    guidance: str = ""
    veto: bool = False
    comment_required: bool = False
    priority: int = 0


@dataclass(frozen=True)
class Indicator:
    """A quantitative figure the reviewed center reports (annual/triennial), shown beside the scores."""

    id: str
    name: str
    name_en: str
    unit: str = ""


@dataclass(frozen=True)
class Template:
    """A score template: the criteria of one kind of round; the maxima sum to 100."""

    kind: str
    name: str
    name_en: str
    criteria: tuple[Criterion, ...]
    indicators: tuple[Indicator, ...] = field(default=())

    @property
    def total(self) -> float:
        """The most points a sheet can give."""
        return sum(criterion.max for criterion in self.criteria)


# --- the scoring problem (DESIGN §10) ----------------------------------------------------------------------

OPINIONS = ("recommend", "conditional", "reject")
TRIMS = ("olympic", "none")
GRADED_KINDS = ("annual", "triennial")


@dataclass(frozen=True)
class Sheet:
    """One expert's scores for one application (评分表).

    ``scores`` maps criterion id to points as entered; it is validated (range, step, number) by
    :func:`scoring.validate.validate_problem`, so it may hold anything a form or a JSON file delivered.
    ``confidence`` (0 < c ≤ 1) weights the sheet in calibration by c².
    """

    expert: str
    application: str
    scores: Mapping[str, Any]
    confidence: float = 1.0
    opinion: str | None = None
    comment: str = ""


@dataclass(frozen=True)
class Exclusion:
    """An expert who must not count for an application (recused or conflicted); the sheet is kept, not used."""

    expert: str
    application: str
    reason: str = ""


@dataclass(frozen=True)
class Settings:
    """Every switch and parameter of the pipeline (DESIGN §7.1; defaults in brackets there).

    The switches ``outliers``, ``criterion_flags``, ``diagnostics``, ``interval``, ``bootstrap`` (0 = off),
    ``calibrate``, ``recommend`` and ``gate`` (None = off) turn single steps off.
    """

    min_panel: int = 3                  # trimmed from 3 sheets: the median at n = 3 and 4 (docs/scoring.md)
    insufficient_below: int = 3
    trim: str = "olympic"
    outliers: bool = True
    robust_z: float = 3.5
    deviation: float | None = 0.20      # share of the total's (or criterion's) range, from the others' median
    scale_floor: float = 0.05           # smallest spread ROBUST assumes, as a share of the range
    criterion_flags: bool = True
    diagnostics: bool = True
    diagnostics_alpha: float = 0.05
    calibrate: bool = False
    rank_on_calibrated: bool = False
    min_support: int = 3
    shrink: bool = True                 # calibration biases shrunk by empirical Bayes (docs/scoring.md)
    interval: bool = True
    confidence_level: float = 0.95
    bootstrap: int = 10_000
    seed: int = 20200901
    recommend: bool = True
    threshold: float = 80.0
    gate: float | None = 0.6
    veto_fraction: float = 0.6
    capacity: int | None = None
    top_k_probability: float = 0.8
    grades: bool | None = None          # None: grade annual and triennial rounds only


@dataclass(frozen=True)
class Problem:
    """A scoring problem: the template, the sheets, the exclusions and the settings."""

    template: Template
    sheets: tuple[Sheet, ...]
    excluded: tuple[Exclusion, ...] = ()
    settings: Settings = field(default_factory=Settings)


# --- the result ------------------------------------------------------------------------------------------

FLAG_CODES = ("ROBUST", "DEVIATION", "SMALL_PANEL", "INSUFFICIENT", "TIE", "VETO", "GATE", "LOW_SUPPORT",
              "MISSING_ROUND", "COMPLETE_DESIGN", "ONE_LINK")
ACT, INFO = "act", "info"
FLAG_LEVELS = (ACT, INFO)
RECOMMENDATIONS = ("RECOMMEND", "CONDITIONAL", "RESERVE", "REJECT")


@dataclass(frozen=True)
class Flag:
    """Something a person should look at, with a sentence saying what (Chinese first, English beside it).

    ``level`` is ``act`` when someone must do something (put a sheet back to its expert, add reviews, read a
    veto) and ``info`` when the flag only explains a number.
    """

    code: str
    message: str
    message_en: str = ""
    expert: str | None = None
    criterion: str | None = None
    value: float | None = None
    level: str = ACT


@dataclass(frozen=True)
class Diagnostic:
    """A report-only outlier test step (Grubbs or Dixon); it never changes a score or a flag."""

    test: str
    expert: str
    value: float
    statistic: float
    critical: float
    n: int
    significant: bool
    message: str
    message_en: str = ""


@dataclass(frozen=True)
class SheetTrace:
    """What happened to one sheet: ``status`` is ``used``, ``trimmed``, ``unused`` or ``excluded``; ``reason`` is a
    code for the first three (``lowest_dropped``, ``highest_dropped``, ``too_few_sheets``: the caller words it) and
    the exclusion's own reason for the last."""

    expert: str
    total: float | None
    status: str
    reason: str = ""
    scores: Mapping[str, float] = field(default_factory=dict)
    adjusted_total: float | None = None


@dataclass(frozen=True)
class Trace:
    """How one application's ranking number was made: its sheets and the computation in words."""

    sheets: tuple[SheetTrace, ...]
    computation: str
    computation_en: str = ""


@dataclass(frozen=True)
class ApplicationResult:
    """One line of the ranking (DESIGN §10); ``score`` and ``rank`` are None for an INSUFFICIENT panel."""

    application: str
    rank: int | None
    score: float | None
    median: float | None
    mean: float | None
    interval: tuple[float, float] | None
    rank_interval: tuple[int, int] | None
    p_top_k: float | None
    n: int
    criteria: Mapping[str, float]
    calibrated: float | None
    recommendation: str | None
    grade: str | None
    flags: tuple[Flag, ...]
    diagnostics: tuple[Diagnostic, ...]
    trace: Trace


@dataclass(frozen=True)
class ExpertResult:
    """One expert across the round: sheets counted, calibration bias (None when off) and flags.

    ``raw_bias`` is the least-squares bias before shrinkage; ``bias`` is what calibration applies.
    """

    expert: str
    n: int
    bias: float | None
    flags: tuple[Flag, ...] = ()
    raw_bias: float | None = None


@dataclass(frozen=True)
class CalibrationSummary:
    """What calibration estimated for the round as a whole.

    ``bias_variance`` is τ², the variance of the experts' biases estimated from the sheets (0 when the biases
    are no larger than the noise would make them); ``noise_variance`` is σ², the residual variance of one
    sheet; ``flags`` warn when calibration cannot help (COMPLETE_DESIGN) or hangs on one expert (ONE_LINK).
    """

    bias_variance: float
    noise_variance: float
    flags: tuple[Flag, ...] = ()


@dataclass(frozen=True)
class Result:
    """The outcome of :func:`scoring.rank`: the ranking, the experts, and the errors that refused the problem.

    A problem with any error ranks nothing: ``ranking`` and ``experts`` are then empty.
    """

    ranking: tuple[ApplicationResult, ...]
    experts: tuple[ExpertResult, ...] = ()
    errors: tuple[str, ...] = ()
    settings: Settings | None = None
    calibration: CalibrationSummary | None = None

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of DESIGN §10 (plus ``diagnostics`` and ``trace`` per application)."""
        return _plain(self)


def _plain(value: Any) -> Any:
    """Dataclasses and mappings to dicts and tuples to lists, recursively, so that ``json.dumps`` takes the
    result (like ``dataclasses.asdict`` without its deep copies, which dominate on large rankings)."""
    if is_dataclass(value) and not isinstance(value, type):
        return {item.name: _plain(getattr(value, item.name)) for item in fields(value)}
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value
