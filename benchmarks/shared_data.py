"""Loaders for the real third-party data sets in ``../shared/data`` (described in its README.md).

The benchmarks read that folder in place; nothing from it is copied into the repository. Only the csv module
and numpy are used, so a benchmark needs no dependency beyond the engine's own.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

DEFAULT_DATA_DIR = Path(__file__).resolve().parents[2] / "shared" / "data"

JUDGE_SEATS = tuple(f"J{seat}" for seat in range(1, 10))

# The five program components of ISU judging in 2016–2017. The data spell the last one three ways
# ("Interpretation of the Music", "... / Timing", "...Music/Timing"); all three are the same component.
COMPONENTS = ("Skating Skills", "Transitions", "Performance", "Composition", "Interpretation")


class DataMissing(FileNotFoundError):
    """The shared data folder, or a file the benchmark needs from it, is not there."""


def require_files(data_dir: Path, *names: str) -> None:
    """Raise DataMissing naming every file of ``names`` (relative to ``data_dir``) that does not exist."""
    missing = [name for name in names if not (data_dir / name).is_file()]
    if missing:
        raise DataMissing(f"{data_dir}: missing {', '.join(missing)} (see ../shared/data/README.md)")


def read_columns(path: Path, *columns: str) -> dict[str, list[str]]:
    """Read the named columns of a CSV file with a header row, as lists of strings (one per data row)."""
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        unknown = [column for column in columns if column not in header]
        if unknown:
            raise DataMissing(f"{path}: no column {', '.join(unknown)}")
        positions = [header.index(column) for column in columns]
        values: dict[str, list[str]] = {column: [] for column in columns}
        for row in reader:
            for column, position in zip(columns, positions, strict=True):
                values[column].append(row[position])
    return values


def _component_index(description: str) -> int:
    """The position in COMPONENTS of a component name as spelled in aspects.csv."""
    for index, name in enumerate(COMPONENTS):
        if description.startswith(name):
            return index
    raise ValueError(f"unknown program component {description!r}")


@dataclass(frozen=True)
class SkatingPanels:
    """The program-component sheets of every skating performance: 9 judges, 5 components each.

    Attributes
    ----------
    performance_ids, competitions, programs, nations : ndarray of str, shape (P,)
        One entry per performance; ``nations`` is the skater's country (IOC code).
    marks : ndarray of float, shape (P, 9, 5)
        Judge seat J1–J9 × component mark (0.25 to 10 in steps of 0.25).
    factors : ndarray of float, shape (P, 5)
        The segment's multiplier of each component.
    official : ndarray of float, shape (P, 5)
        ``scores_of_panel``: the official panel mark of each component, as published (2 decimals).
    judge_countries : ndarray of str, shape (P, 9)
        Home federation of the judge in each seat; ``''`` where unknown.
    judge_names : ndarray of str, shape (P, 9)
        The judge in each seat (the same person across panels); ``''`` for an empty seat.

    Notes
    -----
    One segment (ISU GP 2016 Skate America, pairs short program, 8 performances) had only 8 judges: its seat J6
    names no judge and carries marks of 0, which the official panel marks ignore. ``seated`` tells them apart.
    """

    performance_ids: np.ndarray
    competitions: np.ndarray
    programs: np.ndarray
    nations: np.ndarray
    marks: np.ndarray
    factors: np.ndarray
    official: np.ndarray
    judge_countries: np.ndarray
    judge_names: np.ndarray

    def select(self, rows: np.ndarray) -> SkatingPanels:
        """The performances picked by ``rows`` (a boolean mask or indices over P)."""
        return SkatingPanels(**{field.name: getattr(self, field.name)[rows] for field in fields(self)})

    @property
    def seated(self) -> np.ndarray:
        """Shape (P, 9): True where a judge sat in the seat (False for the one empty seat, whose marks are 0)."""
        return self.judge_names != ""

    @property
    def full_panels(self) -> np.ndarray:
        """Shape (P,): True for performances judged by all 9 seats."""
        return self.seated.all(axis=1)

    @property
    def home(self) -> np.ndarray:
        """Shape (P, 9): True where the judge's country is the skater's nation (a home-country pair)."""
        return self.judge_countries == self.nations[:, None]

    @property
    def judge_totals(self) -> np.ndarray:
        """Shape (P, 9): each judge's implied component total, Σ over components of mark × factor."""
        return np.einsum("pjc,pc->pj", self.marks, self.factors)


def load_skating(data_dir: Path = DEFAULT_DATA_DIR) -> SkatingPanels:
    """Join performances, component aspects, judge scores and judge panels of ``skating_judges/``."""
    folder = data_dir / "skating_judges"
    require_files(folder, "performances.csv", "aspects.csv", "judge_scores.csv", "judge_panels.csv")
    performances = read_columns(folder / "performances.csv", "performance_id", "competition", "program", "nation")
    row_of_performance = {pid: row for row, pid in enumerate(performances["performance_id"])}
    n_performances = len(row_of_performance)

    aspects = read_columns(folder / "aspects.csv", "aspect_id", "performance_id", "section", "aspect_desc",
                           "factor", "scores_of_panel")
    factors = np.full((n_performances, len(COMPONENTS)), np.nan)
    official = np.full_like(factors, np.nan)
    cell_of_aspect: dict[str, tuple[int, int]] = {}
    for aspect_id, pid, section, description, factor, panel_score in zip(
        aspects["aspect_id"], aspects["performance_id"], aspects["section"], aspects["aspect_desc"],
        aspects["factor"], aspects["scores_of_panel"], strict=True,
    ):
        if section != "components":
            continue
        cell = (row_of_performance[pid], _component_index(description))
        cell_of_aspect[aspect_id] = cell
        factors[cell] = float(factor)
        official[cell] = float(panel_score)

    scores = read_columns(folder / "judge_scores.csv", "aspect_id", "judge", "score")
    seat_of_judge = {judge: seat for seat, judge in enumerate(JUDGE_SEATS)}
    marks = np.full((n_performances, len(JUDGE_SEATS), len(COMPONENTS)), np.nan)
    for aspect_id, judge, score in zip(scores["aspect_id"], scores["judge"], scores["score"], strict=True):
        cell = cell_of_aspect.get(aspect_id)
        if cell is not None:
            marks[cell[0], seat_of_judge[judge], cell[1]] = float(score)

    panels = read_columns(folder / "judge_panels.csv", "competition", "program", "judge", "judge_name",
                          "judge_country")
    country_of_seat = {}
    name_of_seat = {}
    for competition, program, judge, name, country in zip(
        panels["competition"], panels["program"], panels["judge"], panels["judge_name"], panels["judge_country"],
        strict=True,
    ):
        country_of_seat[competition, program, judge] = country
        name_of_seat[competition, program, judge] = name
    seats = [
        [(competition, program, judge) for judge in JUDGE_SEATS]
        for competition, program in zip(performances["competition"], performances["program"], strict=True)
    ]
    judge_countries = np.array([[country_of_seat.get(seat, "") for seat in row] for row in seats])
    judge_names = np.array([[name_of_seat.get(seat, "") for seat in row] for row in seats])

    if np.isnan(marks).any() or np.isnan(factors).any():
        raise DataMissing(f"{folder}: some performance lacks a component or a judge's mark")
    return SkatingPanels(
        performance_ids=np.array(performances["performance_id"]),
        competitions=np.array(performances["competition"]),
        programs=np.array(performances["program"]),
        nations=np.array(performances["nation"]),
        marks=marks,
        factors=factors,
        official=official,
        judge_countries=judge_countries,
        judge_names=judge_names,
    )


@dataclass(frozen=True)
class IclrPanels:
    """ICLR 2017, 2018 and 2021 submissions with their review ratings, padded to the largest panel.

    Attributes
    ----------
    years : ndarray of int, shape (S,)
    submission_ids : ndarray of str, shape (S,)
    accepted : ndarray of float, shape (S,)
        1.0 accepted to the main conference, 0.0 rejected (or sent to the workshop track), NaN undecided
        (withdrawn, active, unknown).
    ratings : ndarray of float, shape (S, R)
        Review ratings 1–10, NaN-padded; R is the largest number of reviews of one submission.
    confidences : ndarray of float, shape (S, R)
        Reviewer confidence 1–5 (2017/18 only); NaN where absent, padded, or 0 in the source.
    """

    years: np.ndarray
    submission_ids: np.ndarray
    accepted: np.ndarray
    ratings: np.ndarray
    confidences: np.ndarray

    @property
    def n_reviews(self) -> np.ndarray:
        """Shape (S,): how many ratings each submission has."""
        return np.count_nonzero(~np.isnan(self.ratings), axis=1)


def load_iclr(data_dir: Path = DEFAULT_DATA_DIR) -> IclrPanels:
    """Read ``review_scores_iclr/``: one row per submission, its reviews side by side."""
    folder = data_dir / "review_scores_iclr"
    require_files(folder, "submissions.csv", "reviews.csv")
    submissions = read_columns(folder / "submissions.csv", "year", "submission_id", "accepted")
    keys = list(zip(submissions["year"], submissions["submission_id"], strict=True))
    row_of_key = {key: row for row, key in enumerate(keys)}

    reviews = read_columns(folder / "reviews.csv", "year", "submission_id", "rating", "confidence")
    per_submission: list[list[tuple[float, float]]] = [[] for _ in keys]
    for year, sid, rating, confidence in zip(
        reviews["year"], reviews["submission_id"], reviews["rating"], reviews["confidence"], strict=True,
    ):
        weight = float(confidence) if confidence not in ("", "0") else np.nan
        per_submission[row_of_key[year, sid]].append((float(rating), weight))

    width = max(len(rows) for rows in per_submission)
    ratings = np.full((len(keys), width), np.nan)
    confidences = np.full_like(ratings, np.nan)
    for row, pairs in enumerate(per_submission):
        for column, (rating, confidence) in enumerate(pairs):
            ratings[row, column] = rating
            confidences[row, column] = confidence
    accepted = np.array([float(value) if value != "" else np.nan for value in submissions["accepted"]])
    return IclrPanels(
        years=np.array([int(year) for year in submissions["year"]]),
        submission_ids=np.array(submissions["submission_id"]),
        accepted=accepted,
        ratings=ratings,
        confidences=confidences,
    )
