"""Rankings of a round: its rows turned into a scoring problem, ranked by ``scoring``, and traced to the sheets.

Only submitted sheets count. A draft has not been handed in, and a reopened sheet is being revised by its
expert: its earlier values no longer stand, so it counts again once resubmitted. Sheets of recused or conflicted
experts are kept and passed to the engine as exclusions with the reason, so the trace shows them (DESIGN §6.1,
§7.1 step 1).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

import scoring
from scoring.combine import (
    DEFAULT_WEIGHTS,
    CombinedLine,
    CombineError,
    CombineProblem,
    combine_rounds,
    weight_problems,
)
from scoring.pipeline import design_groups
from scoring.types import (
    ApplicationResult,
    Criterion,
    Exclusion,
    Flag,
    Problem,
    Result,
    Settings,
    Sheet,
    SheetTrace,
    Template,
)
from web.extensions import db
from web.labels import EXCLUSION_REASONS, TRACE_REASONS, label
from web.models import Application, Assignment, AssignmentVersion, FlagReview, Round, Score, ScoreSheet
from web.services import matching_bridge, panels
from web.services.flag_reviews import answer_flag_review, request_flag_review  # noqa: F401  (re-exported)
from web.services.panels import SEATED

COUNTED_STATE = "submitted"
OUTLIER_CODES = ("ROBUST", "DEVIATION")
DesignGroups = tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]
"""The (application refs, expert refs) groups of a design that calibration refused."""


class RankingError(ValueError):
    """A refused ranking request, with a message naming the value at fault."""


@dataclass(frozen=True)
class ExclusionReason:
    """Why a sheet does not count: a code of :data:`web.labels.EXCLUSION_REASONS` with its detail (the expert's
    note, the recorded reason) and, for a conflict, the rule. Stored and hashed as :attr:`key`, which no reader's
    language changes; shown as the sentence in the reader's language."""

    code: str
    detail: str = ""
    rule: str = ""

    @property
    def key(self) -> str:
        """The reason in a language-neutral form, for the engine's input and its hash."""
        return " ".join(part for part in (self.code, self.rule, self.detail) if part)

    def __str__(self) -> str:
        return str(EXCLUSION_REASONS[self.code]) % {"detail": self.detail or "—", "rule": label(self.rule, "rule")}


@dataclass(frozen=True)
class Options:
    """What the organizer may change on the ranking page; everything else is the DESIGN §7.1 default."""

    capacity: int | None = None
    calibrate: bool = False
    rank_on_calibrated: bool = False


# --- rows → scoring problem ---------------------------------------------------------------------------------


def scoring_problem(round_: Round, options: Options = Options()) -> Problem:
    """The round's template, its submitted sheets, the exclusions with their reasons, and the settings."""
    return problem_from_sheets(round_, round_sheets(round_), options)


def problem_from_sheets(round_: Round, sheets: Sequence[ScoreSheet], options: Options,
                        reasons: dict[int, ExclusionReason] | None = None) -> Problem:
    """The scoring problem of ``sheets`` (all of the round's; only the submitted ones are passed on), with the
    exclusion ``reasons`` by sheet id when the caller has them already."""
    sheets = [sheet for sheet in sheets if sheet.state == COUNTED_STATE]
    reasons = exclusion_reasons(round_, sheets) if reasons is None else reasons
    return Problem(
        template=scoring_template(round_),
        sheets=tuple(engine_sheet(sheet) for sheet in sheets),
        excluded=tuple(Exclusion(sheet.expert.ref, sheet.application.ref, reasons[sheet.id].key)
                       for sheet in sheets if sheet.id in reasons),
        settings=scoring_settings(round_, options),
    )


def rank_round(round_: Round, options: Options = Options()) -> Result:
    """The scoring engine's result for the round (``errors`` set when the engine refused it, or when its conflicts
    would pass the ranking's memory limit: :func:`check_memory`)."""
    try:
        problem = scoring_problem(round_, options)
    except panels.PanelError as refusal:
        return memory_refused(refusal.details)
    return scoring.rank(problem)


def scoring_template(round_: Round) -> Template:
    """The round's own template (its copy, possibly edited) as the engine's value type."""
    template = round_.template
    return Template(kind=template.kind, name=template.name, name_en=template.name_en, criteria=tuple(
        Criterion(id=criterion.code, name=criterion.name, name_en=criterion.name_en, max=criterion.max,
                  step=criterion.step, group=criterion.group, guidance=criterion.guidance, veto=criterion.veto,
                  comment_required=criterion.comment_required, priority=criterion.priority)
        for criterion in template.criteria))


def scoring_settings(round_: Round, options: Options) -> Settings:
    """DESIGN §7.1 defaults, the page's options, and the round's bootstrap seed."""
    if options.capacity is not None and options.capacity < 1:
        raise RankingError(_("The number of places must be a whole number of at least 1, not “%(value)s”.",
                             value=options.capacity))
    return Settings(seed=bootstrap_seed(round_), capacity=options.capacity,
                    calibrate=options.calibrate or options.rank_on_calibrated,
                    rank_on_calibrated=options.rank_on_calibrated)


def bootstrap_seed(round_: Round) -> int:
    """The round's stored seed, else one derived from its id, so every view of a round draws the same bootstrap."""
    return round_.seed if round_.seed is not None else Settings().seed + round_.id


def engine_sheet(sheet: ScoreSheet) -> Sheet:
    """One sheet as the engine reads it; criteria left empty are absent (the engine then names them)."""
    return Sheet(expert=sheet.expert.ref, application=sheet.application.ref,
                 scores={score.criterion.code: score.value for score in sheet.scores if score.value is not None},
                 confidence=sheet.confidence, opinion=sheet.opinion, comment=sheet.comment or "")


def round_sheets(round_: Round, application_id: int | None = None) -> list[ScoreSheet]:
    """Every sheet of the round (or of one of its applications), whatever its state, with scores, criteria and
    experts loaded."""
    condition = ScoreSheet.round_id == round_.id
    if application_id is not None:
        condition = condition & (ScoreSheet.application_id == application_id)
    return list(db.session.scalars(
        select(ScoreSheet).where(condition)
        .options(selectinload(ScoreSheet.scores).selectinload(Score.criterion),
                 selectinload(ScoreSheet.expert), selectinload(ScoreSheet.application))
        .order_by(ScoreSheet.application_id, ScoreSheet.id)))


def exclusion_reasons(round_: Round, sheets: Sequence[ScoreSheet]) -> dict[int, ExclusionReason]:
    """Why a sheet must not count, by sheet id: a declared conflict, a recused seat, a reason recorded on the sheet
    (``excluded_reason``), or a hard conflict the matching engine finds now unless an admin overrode it
    (DESIGN §6.1: the sheet is kept, the ranking recomputed). Refused (PanelError ``matching_too_large``) when
    listing the round's conflicts would pass the ranking's memory limit (:func:`round_conflicts`)."""
    seats = active_seats(round_)
    recused = {(seat.application_id, seat.expert_id): seat for seat in seats if seat.state == "recused"}
    seated = {(seat.application_id, seat.expert_id) for seat in seats if seat.state in SEATED}
    with_panel = {application_id for application_id, _ in seated}
    overridden = {(seat.application_id, seat.expert_id) for seat in seats if seat.override_reason}
    scored = {(sheet.application.ref, sheet.expert.ref) for sheet in sheets}
    conflicts = {(conflict.application, conflict.expert): conflict for conflict in round_conflicts(round_)
                 if conflict.kind == "hard" and (conflict.application, conflict.expert) in scored}
    reasons: dict[int, ExclusionReason] = {}
    for sheet in sheets:
        pair = (sheet.application_id, sheet.expert_id)
        conflict = conflicts.get((sheet.application.ref, sheet.expert.ref))
        if sheet.conflict_declared:
            reasons[sheet.id] = ExclusionReason("declared", sheet.conflict_note or "")
        elif pair in recused:
            reasons[sheet.id] = ExclusionReason("recused", recused[pair].state_reason or "")
        elif sheet.excluded_reason:
            reasons[sheet.id] = ExclusionReason("left_out", sheet.excluded_reason)
        elif sheet.application_id in with_panel and pair not in seated:
            reasons[sheet.id] = ExclusionReason("off_panel")
        elif conflict is not None and pair not in overridden:
            reasons[sheet.id] = ExclusionReason("conflict", conflict.reason, conflict.rule)
    return reasons


def memory_limit() -> int | None:
    """The most memory a ranking may take (bytes; None: no limit): ``PANEL_RANKING_MEMORY``, else
    ``PANEL_MATCHING_MEMORY``. A ranking's one limit wherever it is computed — the ``ranking`` and ``sheets_pdf``
    jobs on the general queue's workers, a page ranking inline and deciding whether to ask for a job, centers,
    combinations, the command line — so a page refuses at once the round a worker would refuse, rather than asking
    at each view for a job bound to fail (docs/scale.md, "Ranking's limit")."""
    config = current_app.config
    limit = config.get("PANEL_RANKING_MEMORY")
    return config["PANEL_MATCHING_MEMORY"] if limit is None else limit


def check_memory(round_: Round) -> None:
    """Refuse (PanelError ``matching_too_large``, the figures in its ``details``) a ranking of the round whose list
    of conflicts would pass :func:`memory_limit`, before the round is read."""
    panels.check_memory(round_, matching_bridge.CONFLICTS, limit=memory_limit())


def round_conflicts(round_: Round) -> list:
    """Every conflict of the round with its reason (:func:`panels.round_conflicts`), refused when listing them
    would pass the ranking's limit (:func:`memory_limit`)."""
    return panels.round_conflicts(round_, limit=memory_limit())


def active_seats(round_: Round) -> list[Assignment]:
    """Every seat of the round's active assignment version, in any state."""
    return list(db.session.scalars(
        select(Assignment).join(AssignmentVersion)
        .where(AssignmentVersion.round_id == round_.id, AssignmentVersion.active)))


def memory_refused(details: dict) -> Result:
    """A ranking refused because listing the round's conflicts would pass the memory limit: nothing ranked, and
    as its error the sentence with the figures of the refusal's ``details`` (bytes), in the reader's language."""
    figures = matching_bridge.gigabytes(details["estimate"], details["limit"])
    return Result(ranking=(), errors=(_("Ranking this round first lists every conflict of interest with its reason, "
                                        "which needs about %(estimate)s GB of memory, more than the ranking's limit "
                                        "of %(limit)s GB: the round cannot be ranked.", **figures),))


# --- the ranking as pages and exports show it ----------------------------------------------------------------


@dataclass(frozen=True)
class SheetRow:
    """One sheet on the trace: what the ranking did with it (``used``, ``trimmed``, ``unused``, ``excluded``,
    ``not_counted`` for drafts and reopened sheets, ``not_ranked`` when the engine refused the round), its flags
    and the reviews asked of its expert. ``reason`` reads as a sentence in the reader's language (``str()``)."""

    sheet: ScoreSheet
    status: str
    reason: object = ""
    adjusted_total: float | None = None
    flags: tuple[Flag, ...] = ()
    reviews: tuple[FlagReview, ...] = ()

    @property
    def scores(self) -> dict[str, float | None]:
        """Criterion code → points as entered."""
        return {score.criterion.code: score.value for score in self.sheet.scores}

    @property
    def comments(self) -> dict[str, str]:
        """Criterion code → the expert's comment on it."""
        return {score.criterion.code: score.comment for score in self.sheet.scores if score.comment}


@dataclass(frozen=True)
class RankingLine:
    """One application: its line of the engine's ranking (None before any sheet is submitted) and its sheets."""

    application: Application
    result: ApplicationResult | None
    rows: tuple[SheetRow, ...] = ()

    @property
    def reviewable(self) -> tuple[Flag, ...]:
        """The outlier flags the organizer can put back to the expert (财政部令第87号 Art. 64)."""
        if self.result is None:
            return ()
        return tuple(flag for flag in self.result.flags if flag.code in OUTLIER_CODES and flag.criterion is None)


@dataclass(frozen=True)
class RoundRanking:
    """A round's ranking: the engine's result and a line per application, ranked ones first.

    ``calibration_refused`` holds the design's groups when calibration was asked for but refused (the experts of
    different groups share no application, see :func:`scoring.pipeline.design_groups`); the result is then the
    uncalibrated ranking. ``too_large`` says the round was not ranked because listing its conflicts would pass
    the memory limit (the result's error is then :func:`memory_refused`'s sentence), not refused by the engine.
    """

    round: Round
    options: Options
    result: Result
    lines: tuple[RankingLine, ...] = field(default=())
    calibration_refused: DesignGroups = ()
    too_large: bool = False

    @property
    def calibration_refusal(self) -> list[str]:
        """Why calibration was refused, in the reader's language: the reason, then each group of the design."""
        if not self.calibration_refused:
            return []
        groups = [_("Applications %(applications)s, scored by experts %(experts)s.",
                    applications="、".join(applications), experts="、".join(experts))
                  for applications, experts in self.calibration_refused]
        return [_("The applications and experts fall into %(count)d groups that share no expert, so the experts' "
                  "leniency cannot be compared across groups:", count=len(groups)), *groups]

    @property
    def criteria(self):
        """The round's template criteria, in sheet order."""
        return self.round.template.criteria

    @property
    def calibrated(self) -> bool:
        """True when calibrated values were computed (asked for and not refused)."""
        return self.options.calibrate and not self.calibration_refused

    def line(self, application_id: int) -> RankingLine | None:
        """The line of one application of the round."""
        return next((line for line in self.lines if line.application.id == application_id), None)


def round_ranking(round_: Round, options: Options = Options()) -> RoundRanking:
    """Rank the round and join the engine's lines and traces back to the applications and sheets (refused, nothing
    ranked, when its conflicts would pass the memory limit: :func:`memory_refused`)."""
    sheets = round_sheets(round_)
    report, reasons = _engine_ranking(round_, sheets, options)
    return joined_ranking(round_, options, report.result, report.calibration_refused, sheets, reasons,
                          too_large=report.too_large)


def engine_ranking(round_: Round, options: Options = Options()) -> RoundRanking:
    """The round's ranking as :func:`round_ranking` makes it, but not joined back to the applications, sheets and
    flag reviews (``lines`` empty): for a page that reads only the engine's lines and the refusal."""
    return _engine_ranking(round_, round_sheets(round_), options)[0]


def _engine_ranking(round_: Round, sheets: Sequence[ScoreSheet],
                    options: Options) -> tuple[RoundRanking, dict[int, ExclusionReason]]:
    """The engine's ranking of the round's ``sheets`` (no lines) and why sheets do not count, by sheet id."""
    try:
        reasons = exclusion_reasons(round_, sheets)
    except panels.PanelError as refusal:
        return RoundRanking(round_, options, memory_refused(refusal.details), too_large=True), {}
    result, calibration_refused = rank_problem(problem_from_sheets(round_, sheets, options, reasons))
    return RoundRanking(round_, options, result, calibration_refused=calibration_refused), reasons


def rank_problem(problem: Problem) -> tuple[Result, DesignGroups]:
    """The engine's result, and the design's groups when calibration was asked for and refused (the result is then
    the uncalibrated ranking)."""
    result = scoring.rank(problem)
    calibration_refused: DesignGroups = ()
    if result.errors and problem.settings.calibrate:
        # Calibration needs a connected expert–application design; without it the raw ranking still stands.
        plain = scoring.rank(replace(problem, settings=replace(problem.settings, calibrate=False,
                                                               rank_on_calibrated=False)))
        if plain.ok:
            result, calibration_refused = plain, design_groups(problem)
    return result, calibration_refused


def joined_ranking(round_: Round, options: Options, result: Result, calibration_refused: DesignGroups,
                   sheets: Sequence[ScoreSheet], reasons: dict[int, ExclusionReason], *,
                   too_large: bool = False) -> RoundRanking:
    """The engine's ``result`` (or a memory refusal's, ``too_large``) joined back to the round's applications,
    sheets and flag reviews."""
    reviews = _reviews_by_sheet([sheet.id for sheet in sheets])
    by_ref = {line.application: line for line in result.ranking}
    lines = []
    for application in round_.applications:
        engine_line = by_ref.get(application.ref)
        rows = _sheet_rows([sheet for sheet in sheets if sheet.application_id == application.id],
                           engine_line, reviews, reasons)
        lines.append(RankingLine(application, engine_line, rows))
    order = {line.application: position for position, line in enumerate(result.ranking)}
    lines.sort(key=lambda line: (order.get(line.application.ref, len(order)), line.application.ref))
    return RoundRanking(round_, options, result, tuple(lines), calibration_refused, too_large)


def _sheet_rows(sheets: list[ScoreSheet], line: ApplicationResult | None, reviews: dict[int, list[FlagReview]],
                reasons: dict[int, ExclusionReason]) -> tuple[SheetRow, ...]:
    """Each sheet with the engine's verdict; a sheet the engine never saw is excluded (a recused expert's draft),
    not submitted, or part of a refused round."""
    traces: dict[str, SheetTrace] = {trace.expert: trace for trace in line.trace.sheets} if line else {}
    rows = []
    for sheet in sheets:
        trace = traces.get(sheet.expert.ref) if sheet.state == COUNTED_STATE else None
        flags = tuple(flag for flag in (line.flags if line else ()) if flag.expert == sheet.expert.ref)
        if trace is None:
            if sheet.id in reasons:
                status = "excluded"
            else:
                status = "not_ranked" if sheet.state == COUNTED_STATE else "not_counted"
            rows.append(SheetRow(sheet, status, reasons.get(sheet.id, ""), reviews=tuple(reviews.get(sheet.id, ()))))
        else:
            reason = reasons.get(sheet.id) or TRACE_REASONS.get(trace.reason, trace.reason)
            rows.append(SheetRow(sheet, trace.status, reason, trace.adjusted_total, flags,
                                 tuple(reviews.get(sheet.id, ()))))
    status_order = {"used": 0, "trimmed": 1, "unused": 2, "excluded": 3, "not_ranked": 4, "not_counted": 5}
    return tuple(sorted(rows, key=lambda row: (status_order[row.status], row.sheet.expert.ref)))


def _reviews_by_sheet(sheet_ids: list[int]) -> dict[int, list[FlagReview]]:
    grouped: dict[int, list[FlagReview]] = {}
    if not sheet_ids:
        return grouped
    for review in db.session.scalars(select(FlagReview).where(FlagReview.sheet_id.in_(sheet_ids))
                                     .order_by(FlagReview.id)):
        grouped.setdefault(review.sheet_id, []).append(review)
    return grouped


# --- combining rounds ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CombinedRanking:
    """Several rounds combined by weight (DESIGN §7.1 step 10), each round's own result kept beside."""

    rounds: tuple[tuple[Round, float], ...]
    results: dict[str, Result]
    lines: tuple[CombinedLine, ...]
    applications: dict[str, Application]


def default_weights(rounds: Sequence[Round]) -> list[float]:
    """Review 0.6 + site inspection 0.4 for that pair of kinds; equal weights otherwise."""
    kinds = [round_.kind for round_ in rounds]
    if sorted(kinds) == sorted(DEFAULT_WEIGHTS):
        return [DEFAULT_WEIGHTS[kind] for kind in kinds]
    return [round(1 / len(rounds), 6) for _ in rounds] if rounds else []


def combine(rounds_with_weights: Sequence[tuple[Round, float]], options: Options = Options()) -> CombinedRanking:
    """Rank every round and combine them by weight; refused, with every reason of :func:`combine_refusals`, before
    any round is ranked, and with the engine's reasons (a round it refuses) after."""
    refusals = combine_refusals(rounds_with_weights)
    if refusals:
        raise RankingError(*refusals)
    options = replace(options, capacity=None)       # P(top-k) is per round; the combination does not use it
    results = {round_.name: rank_round(round_, options) for round_, _ in rounds_with_weights}
    weights = {round_.name: weight for round_, weight in rounds_with_weights}
    try:
        lines = combine_rounds(results, weights)
    except CombineError as error:
        raise RankingError(*(combine_refusal(problem) for problem in error.problems)) from error
    refs = {line.application for line in lines}
    applications = {application.ref: application
                    for application in db.session.scalars(select(Application).where(Application.ref.in_(refs)))}
    return CombinedRanking(tuple(rounds_with_weights), results, lines, applications)


def combine_refusals(rounds_with_weights: Sequence[tuple[Round, float | None]]) -> list[str]:
    """Every reason to refuse a combination found before any round is ranked, each a catalog sentence: fewer than
    two rounds, then the weights (the person's own input, by the engine's rule: :func:`weight_refusals`), then the
    rounds too large to rank here (:func:`too_large_to_rank`). A weight of None is one the caller could not read
    and says why itself. A round the engine refuses is known only once it is ranked."""
    refusals = [] if len(rounds_with_weights) >= 2 else [_("Choose at least two rounds to combine.")]
    if rounds_with_weights:
        refusals += weight_refusals(rounds_with_weights)
        refusals += too_large_to_rank([round_ for round_, _ in rounds_with_weights])
    return refusals


def weight_refusals(rounds_with_weights: Sequence[tuple[Round, float | None]]) -> list[str]:
    """The engine's reasons to refuse the weights (:func:`scoring.combine.weight_problems`, the rule
    :func:`combine_rounds` applies), as catalog sentences, before any round is ranked. Beside a weight that could
    not be read (None) only the others' own faults are told: their sum is not known."""
    read = {round_.name: weight for round_, weight in rounds_with_weights if weight is not None}
    problems = weight_problems(read)
    if len(read) < len(rounds_with_weights):
        problems = [problem for problem in problems if problem.code == "bad_weights"]
    return [combine_refusal(problem) for problem in problems]


def combine_refusal(problem: CombineProblem) -> str:
    """The engine's reason to refuse a combination as the catalog words it (never the engine's English)."""
    params = problem.params
    sentences = {
        "rounds_mismatch": lambda: _("The weights do not name the rounds chosen."),
        "bad_weights": lambda: _("Each weight must be a finite number of at least 0."),
        "weights_sum": lambda: _("The weights add up to %(sum)s; they must add up to 1.", sum=f"{params['sum']:g}"),
        "round_refused": lambda: _("Round “%(round)s”: refused by the scoring engine, %(count)d error(s), which its "
                                   "ranking page lists.", round=params["round"], count=len(params["errors"])),
    }
    return sentences[problem.code]()


def too_large_to_rank(rounds: Sequence[Round]) -> list[str]:
    """Why each of ``rounds`` too large to rank here cannot be ranked (the round named, then
    :func:`memory_refused`'s sentence), checked before any of them is ranked: a combination refuses them in these
    words rather than in the engine's, which would wrap the sentence in an English refusal of its own."""
    refusals = []
    for round_ in rounds:
        try:
            check_memory(round_)
        except panels.PanelError as refusal:
            refusals.append(refused_round(round_, memory_refused(refusal.details)))
    return refusals


def refused_round(round_: Round, result: Result) -> str:
    """The sentence naming ``round_`` and why it was not ranked (``result``'s first error: the memory refusal's
    sentence with its figures), the same on the center pages and in a combination."""
    return _("Round “%(round)s”: %(reason)s", round=round_.name, reason=result.errors[0])
