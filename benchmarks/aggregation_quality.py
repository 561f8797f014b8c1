"""How well the scoring engine aggregates real panels (DESIGN §7.1; issue 4, item 6).

Three questions on public data in ``../shared/data`` (see its README.md; nothing is copied here):

(a) ISU figure skating, program components: does the engine's Olympic mean reproduce the official
    ``scores_of_panel`` (9 judges, drop one highest and one lowest, mean of 7)?
(b) the same sheets: do the ROBUST and DEVIATION flags fire more often on judges scoring a skater of their own
    country, and how much of that home-country bias is left in the panel score under the plain mean, the
    Olympic mean, and the Olympic mean after excluding flagged sheets?
(c) ICLR 2017, 2018 and 2021 reviews: how well does each panel score predict the real accept/reject decision
    (AUC, top-k agreement), next to the plain mean?
(d) the same reviews with one rating per paper pushed to the far end of the scale: how much AUC does each rule
    lose (plain mean, median, the old rule that trims from 5 sheets, Panel's rule through ``scoring.rank``)?
(e) per-sheet flag rates, old rules (modified z with MeanAD fallback, 20 % of the others' mean) against the new
    (robust z with a scale floor, 20 % of the range from the others' median; act/info), on clean and injected
    reviews, on low- and high-scored papers, and for the honest co-reviewers of an extreme sheet.
(f) skating, held-out season: does calibration (least squares or shrunk) bring a small panel's ranking closer
    to the full 9-judge panel's, within a round and with biases carried over from the previous season?

(d) and (e) were tuned on ICLR 2017+2018 and are reported on ICLR 2021; (f) is tuned on the 2016–17 season and
reported on 2017–18.

Usage: ``python3 benchmarks/aggregation_quality.py [--data DIR]``. Definitions and the figures of a run are in
docs/aggregation_quality.md.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from decimal import ROUND_DOWN, Decimal
from pathlib import Path
from types import ModuleType

# benchmarks/scoring.py and benchmarks/matching.py share their names with the packages: keep this folder off
# the path so that ``import scoring`` finds the engine, not the benchmark script.
HERE = Path(__file__).resolve().parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != HERE]

import numpy as np  # noqa: E402
import scipy  # noqa: E402
import sklearn  # noqa: E402
from scipy import stats  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402

import scoring  # noqa: E402
from scoring.aggregate import olympic_mean, olympic_trim, round_half_up  # noqa: E402
from scoring.calibrate import DisconnectedDesign, calibrate  # noqa: E402
from scoring.outliers import (  # noqa: E402  # noqa: E402
    DEFAULT_DEVIATION,
    DEFAULT_ROBUST_Z,
    DEFAULT_SCALE_FLOOR,
    absolute_deviation_matrix,
    deviation_matrix,
    modified_z_matrix,
    others_mean_matrix,
    robust_z_matrix,
)
from scoring.panels import SMALL_BELOW as SMALL_PANEL_BELOW  # noqa: E402
from scoring.types import Settings  # noqa: E402


def load_sibling(name: str) -> ModuleType:
    """Import ``benchmarks/<name>.py`` by its path, without putting this folder on ``sys.path``."""
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, HERE / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


shared_data = load_sibling("shared_data")
COMPONENTS = shared_data.COMPONENTS
SkatingPanels = shared_data.SkatingPanels
IclrPanels = shared_data.IclrPanels

# DESIGN §7.1 step 2, with the engine's defaults: trim from 3 sheets (the median at 3 and 4), give no score below 3
# (INSUFFICIENT); SMALL_BELOW is the panel size below which the old rule did not trim.
MIN_PANEL = Settings().min_panel
INSUFFICIENT_BELOW = Settings().insufficient_below
SMALL_BELOW = SMALL_PANEL_BELOW

PanelScore = Callable[[np.ndarray], np.ndarray]

BOOTSTRAP_DRAWS = 2_000
BOOTSTRAP_SEED = 20200901

# Ranks of different years are not on one scale: pooling them across years would be meaningless.
WITHIN_YEAR_ONLY = {"engine rank() order"}


# ---------------------------------------------------------------------------------------------------- output


def print_table(title: str, header: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """Print rows under a header, columns padded to their widest cell; floats keep the caller's format."""
    cells = [list(map(str, header))] + [[str(cell) for cell in row] for row in rows]
    widths = [max(len(row[column]) for row in cells) for column in range(len(header))]
    print(f"\n{title}")
    for index, row in enumerate(cells):
        print("  ".join(cell.rjust(width) if index else cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
        if index == 0:
            print("  ".join("-" * width for width in widths))


def machine_info() -> str:
    """One line naming the CPU, core count, memory and library versions of this run."""
    model = "unknown CPU"
    meminfo = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            model = next((line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")), model)
        with open("/proc/meminfo", encoding="utf-8") as handle:
            kib = int(next(line for line in handle if line.startswith("MemTotal")).split()[1])
            meminfo = f", {kib / 2**20:.1f} GiB RAM"
    except OSError:
        pass
    return (f"{model}, nproc {len(os.sched_getaffinity(0))}{meminfo}; Python {platform.python_version()}, "
            f"numpy {np.__version__}, scipy {scipy.__version__}, scikit-learn {sklearn.__version__}")


def percent(share: float) -> str:
    return f"{100 * share:.2f} %"


# ----------------------------------------------------------------------------------------- panel score rules
# Panels are NaN-padded matrices of shape (A, N), one row per application (performance, submission), as the
# engine's matrix functions take them; NaN is an empty slot.


def plain_means(totals: np.ndarray) -> np.ndarray:
    """Shape (A,): the mean of each row's totals."""
    return olympic_trim(totals, trim=False).means


def olympic_means(totals: np.ndarray) -> np.ndarray:
    """Shape (A,): the engine's panel score, trimmed with ≥ 5 sheets, plain with 3–4, NaN with fewer than 3."""
    counts = np.count_nonzero(~np.isnan(totals), axis=1)
    return np.where(counts >= INSUFFICIENT_BELOW, olympic_trim(totals, MIN_PANEL).means, np.nan)


def old_rule_means(totals: np.ndarray) -> np.ndarray:
    """Shape (A,): the rule before trimming started at 3 sheets: plain mean below 5, Olympic mean from 5."""
    counts = np.count_nonzero(~np.isnan(totals), axis=1)
    return np.where(counts >= INSUFFICIENT_BELOW, olympic_trim(totals, SMALL_BELOW).means, np.nan)


def flag_matrix(totals: np.ndarray, rule: str) -> np.ndarray:
    """Shape (A, N): the sheets the *old* rules flag under ``rule`` (ROBUST, DEVIATION or either): modified z with
    the MeanAD fallback, and 20 % of the others' mean."""
    robust = np.abs(np.nan_to_num(modified_z_matrix(totals))) > DEFAULT_ROBUST_Z
    deviating = np.abs(np.nan_to_num(deviation_matrix(totals))) > DEFAULT_DEVIATION
    return {"ROBUST": robust, "DEVIATION": deviating, "either": robust | deviating}[rule]


def olympic_excluding(rule: str) -> PanelScore:
    """The Olympic mean after the sheets ``rule`` flags are left out (a what-if: the engine only flags)."""

    def aggregate(totals: np.ndarray) -> np.ndarray:
        return olympic_means(np.where(flag_matrix(totals, rule), np.nan, totals))

    return aggregate


def truncate(value: float) -> float:
    """Cut to 2 decimals (the alternative to rounding that the ISU reproduction rules out)."""
    return float(Decimal(repr(float(value))).quantize(Decimal("0.01"), rounding=ROUND_DOWN))


# ------------------------------------------------------------------------------- (a) official panel marks


def report_reproduction(skating: SkatingPanels) -> None:
    """Share of the 8,630 component rows whose official panel mark each rule reproduces to the cent.

    The official mark is the trimmed mean rounded to 2 decimals. A trimmed mean of marks on a 0.25 grid is a
    multiple of 1/28 (1/24 with 8 judges), never exactly halfway between two cents, so rounding half up (the
    engine's rule), half even or to nearest all agree; truncation is the one alternative that differs.
    """
    n_seats = skating.marks.shape[1]
    marks = skating.marks.transpose(0, 2, 1).reshape(-1, n_seats)  # (P·5, 9): one component row each
    seated = np.repeat(skating.seated, len(COMPONENTS), axis=0)
    official = skating.official.reshape(-1)
    candidates = {
        "Olympic mean (engine), 9 seats as in the data": [olympic_mean(row) for row in marks],
        "Olympic mean (engine), seated judges only": olympic_means(np.where(seated, marks, np.nan)),
        "plain mean, 9 seats as in the data": plain_means(marks),
        "plain mean, seated judges only": plain_means(np.where(seated, marks, np.nan)),
    }
    rows = []
    for name, values in candidates.items():
        for rounding_name, rounding in (("round half up", round_half_up), ("truncate", truncate)):
            hits = sum(rounding(value) == target for value, target in zip(values, official, strict=True))
            rows.append((name, rounding_name, f"{hits:,}", percent(hits / official.size)))
    as_nine = np.array([round_half_up(value) for value in candidates["Olympic mean (engine), 9 seats as in the data"]])
    gaps = (as_nine - official)[as_nine != official]
    print_table(
        f"(a) ISU program components: official scores_of_panel reproduced to the cent ({official.size:,} rows; "
        f"{int((~seated).any(axis=1).sum())} rows have an empty seat J6 with marks 0)",
        ("panel score", "to 2 decimals", "rows matched", "share"),
        rows,
    )
    if gaps.size:
        print(f"  Olympic mean over 9 seats, rows that miss: {gaps.size}, engine − official from {gaps.min():+.2f} "
              f"to {gaps.max():+.2f} (median {np.median(gaps):+.2f})")


# ------------------------------------------------------------------------------ (b) home-country judges


def rate_row(name: str, flags: np.ndarray, home: np.ndarray, rest: np.ndarray) -> tuple[object, ...]:
    """One table row: flag rate on home pairs and on the rest, their ratio and Fisher's exact p-value."""
    home_hits, home_n = int(flags[home].sum()), int(home.sum())
    rest_hits, rest_n = int(flags[rest].sum()), int(rest.sum())
    _, p_value = stats.fisher_exact([[home_hits, home_n - home_hits], [rest_hits, rest_n - rest_hits]])
    home_rate, rest_rate = home_hits / home_n, rest_hits / rest_n
    ratio = f"{home_rate / rest_rate:.1f}" if rest_hits else "inf" if home_hits else "-"
    return (name, f"{home_hits}/{home_n}", percent(home_rate), f"{rest_hits}/{rest_n}", percent(rest_rate),
            ratio, f"{p_value:.1e}")


def report_flag_rates(skating: SkatingPanels) -> None:
    """How often each flag fires on a home-country judge's sheet, against every other judge's.

    ``skating`` holds full 9-judge panels only.
    """
    home, rest = skating.home, ~skating.home
    totals = skating.judge_totals
    robust, z = flag_matrix(totals, "ROBUST"), modified_z_matrix(totals)
    relative = np.abs(deviation_matrix(totals))
    rows = [
        rate_row(f"ROBUST |M| > {DEFAULT_ROBUST_Z}", robust, home, rest),
        rate_row("  of which high (M > 0)", robust & (z > 0), home, rest),
        rate_row("  of which low (M < 0)", robust & (z < 0), home, rest),
        rate_row(f"DEVIATION > {DEFAULT_DEVIATION:.0%}", flag_matrix(totals, "DEVIATION"), home, rest),
        rate_row("DEVIATION > 10% (sensitivity)", relative > 0.10, home, rest),
        rate_row("DEVIATION > 5% (sensitivity)", relative > 0.05, home, rest),
        rate_row("either default flag", flag_matrix(totals, "either"), home, rest),
    ]
    per_component = [skating.marks[:, :, c] for c in range(len(COMPONENTS))]
    component_flags = np.stack([flag_matrix(marks, "ROBUST") for marks in per_component], axis=2)  # (P, 9, 5)
    component_high = component_flags & (np.stack([modified_z_matrix(m) for m in per_component], axis=2) > 0)
    rows += [rate_row(f"per criterion ROBUST: {name}", component_flags[:, :, c], home, rest)
             for c, name in enumerate(COMPONENTS)]
    rows.append(rate_row("per criterion ROBUST: any component", component_flags.any(axis=2), home, rest))
    rows.append(rate_row("  of which high", component_high.any(axis=2), home, rest))
    print_table(
        "(b1) flags on judge × performance pairs, judge total = Σ component mark × factor "
        f"({int(home.sum()):,} home pairs, {int(rest.sum()):,} others; Fisher's exact test)",
        ("flag", "home", "home rate", "rest", "rest rate", "ratio", "p"),
        rows,
    )


def raw_bias_row(name: str, values: np.ndarray, home: np.ndarray, rest: np.ndarray, unit: str) -> tuple:
    """One table row: mean of (judge − mean of the other 8 judges) on home pairs and on the rest, Welch's t."""
    gap = values - others_mean_matrix(values)
    result = stats.ttest_ind(gap[home], gap[rest], equal_var=False)
    return (name, f"{gap[home].mean():+.3f}{unit}", f"{gap[rest].mean():+.3f}{unit}",
            f"{gap[home].mean() - gap[rest].mean():+.3f}{unit}", f"{result.pvalue:.1e}")


def home_effects(totals: np.ndarray, home: np.ndarray, aggregate: PanelScore) -> tuple[np.ndarray, np.ndarray]:
    """The effect of the home judge, and of an ordinary judge, on each panel score.

    Parameters
    ----------
    totals : ndarray, shape (H, N)
        Judge totals of H performances, each with exactly one home-country judge.
    home : ndarray of bool, shape (H, N)
        The home judge's seat.
    aggregate : callable
        Panel scores of a NaN-padded (H, N) matrix, shape (H,).

    Returns
    -------
    home_effect, placebo : ndarray, shape (H,)
        ``aggregate(all N sheets) − aggregate(the N − 1 without the home judge)``, and the same difference
        averaged over leaving out each of the other N − 1 judges instead.
    """
    full = aggregate(totals)
    home_effect = full - aggregate(np.where(home, np.nan, totals))
    seats = np.eye(totals.shape[1], dtype=bool)
    ordinary = np.stack([np.where(home[:, seat], np.nan, full - aggregate(np.where(seats[seat], np.nan, totals)))
                         for seat in range(totals.shape[1])], axis=1)
    return home_effect, np.nanmean(ordinary, axis=1)


def report_home_bias(skating: SkatingPanels) -> None:
    """Raw home-country bias of a judge, and how much of it reaches the panel score under each aggregate.

    ``skating`` holds full 9-judge panels only.
    """
    home, rest = skating.home, ~skating.home
    totals = skating.judge_totals
    rows = [raw_bias_row("judge total (points)", totals, home, rest, " pt")]
    rows += [raw_bias_row(f"mark: {name}", skating.marks[:, :, c], home, rest, "")
             for c, name in enumerate(COMPONENTS)]
    print_table(
        "(b2) raw bias: judge − mean of the other 8 judges on the same performance (Welch's t-test)",
        ("quantity", "home pairs", "other pairs", "difference", "p"),
        rows,
    )
    highest = totals == totals.max(axis=1, keepdims=True)
    print(f"  the home judge gives the panel's highest total (ties included) on {percent(highest[home].mean())} of "
          f"home pairs; an ordinary judge on {percent(highest[rest].mean())}")

    with_home = home.any(axis=1)
    home_totals, home_seat = totals[with_home], home[with_home]
    aggregates: dict[str, PanelScore] = {
        "plain mean": plain_means,
        "Olympic mean": olympic_means,
        "Olympic excluding ROBUST-flagged": olympic_excluding("ROBUST"),
        "Olympic excluding DEVIATION-flagged": olympic_excluding("DEVIATION"),
        "Olympic excluding either flag": olympic_excluding("either"),
    }
    rows = []
    baseline = None
    for name, aggregate in aggregates.items():
        effect, placebo = home_effects(home_totals, home_seat, aggregate)
        excess = effect - placebo
        baseline = excess if baseline is None else baseline
        versus = (f"{(excess - baseline).mean():+.4f} (p {stats.ttest_rel(excess, baseline).pvalue:.2f})"
                  if excess is not baseline else "")
        rows.append((name, f"{effect.mean():+.4f}", f"{placebo.mean():+.4f}", f"{excess.mean():+.4f}",
                     f"{excess.std(ddof=1) / np.sqrt(excess.size):.4f}", f"{stats.ttest_1samp(excess, 0.0).pvalue:.1e}",
                     versus))
    print_table(
        f"(b3) the home judge's effect on the panel's component total, points ({len(home_totals):,} performances "
        f"with a home judge; mean panel total {plain_means(home_totals).mean():.2f})",
        ("aggregate", "home effect", "placebo", "excess", "s.e.", "p (excess = 0)", "excess − plain mean's (paired t)"),
        rows,
    )
    print("  home effect = aggregate(9 sheets) − aggregate(8 sheets without the home judge); placebo = the same "
          "with an ordinary judge left out (mean over the 8); excess = home − placebo, the bias the home judge adds")


# --------------------------------------------------------------------------------------------- (c) ICLR


def top_k_precision(scores: np.ndarray, labels: np.ndarray, k: int) -> float:
    """Share of accepted submissions among the k best scores; ties at the cut are broken at random (expected)."""
    cut = np.sort(scores)[::-1][k - 1]
    above, tied = scores > cut, scores == cut
    return float((labels[above].sum() + (k - int(above.sum())) * labels[tied].mean()) / k)


def weighted_means(ratings: np.ndarray, confidences: np.ndarray, power: int) -> np.ndarray:
    """Shape (S,): Σ w·rating / Σ w with w = confidence**power; NaN where no review has a confidence.

    A review without a confidence (absent, or 0 in the source) gets its submission's mean confidence, a neutral
    weight, so that the review still counts.
    """
    present = ~np.isnan(ratings)
    known = ~np.isnan(confidences)
    with np.errstate(invalid="ignore", divide="ignore"):
        neutral = np.nansum(confidences, axis=1, keepdims=True) / known.sum(axis=1, keepdims=True)
        weights = np.where(present, np.where(known, confidences, neutral) ** power, 0.0)
        return np.where(known.any(axis=1), (weights * np.nan_to_num(ratings)).sum(axis=1) / weights.sum(axis=1),
                        np.nan)


def medians(ratings: np.ndarray) -> np.ndarray:
    """Shape (S,): each row's median, NaN for an empty row."""
    present = ~np.isnan(ratings).all(axis=1)
    result = np.full(ratings.shape[0], np.nan)
    result[present] = np.nanmedian(ratings[present], axis=1)
    return result


def engine_rankings(iclr: IclrPanels) -> tuple[np.ndarray, np.ndarray, float]:
    """Rank each year's submissions with the engine's full pipeline.

    Ratings 1–10 become one criterion of 100 points in steps of 10 (the engine's templates sum to 100), so a
    score is 10 × the rating scale. The bootstrap, interval, diagnostics and recommendation steps are switched
    off: they do not change the order.

    Returns
    -------
    scores : ndarray, shape (S,)
        The engine's panel score divided by 10 (NaN where it gives none).
    order : ndarray, shape (S,)
        −rank within the year (higher is better; tied submissions share a rank).
    seconds : float
    """
    scores = np.full(iclr.years.shape, np.nan)
    order = np.full(iclr.years.shape, np.nan)
    started = time.perf_counter()
    for year in sorted(set(iclr.years.tolist())):
        rows = np.flatnonzero(iclr.years == year)
        sheets = [{"expert": f"{iclr.submission_ids[row]}#{slot}", "application": str(iclr.submission_ids[row]),
                   "scores": {"rating": 10 * int(rating)}}
                  for row in rows for slot, rating in enumerate(iclr.ratings[row]) if not np.isnan(rating)]
        problem = scoring.parse_problem({
            "template": {"kind": "iclr", "criteria": [{"id": "rating", "max": 100, "step": 10}]},
            "sheets": sheets,
            "settings": {"bootstrap": 0, "interval": False, "diagnostics": False, "recommend": False},
        })
        row_of = {str(iclr.submission_ids[row]): row for row in rows}
        for entry in scoring.rank(problem).ranking:
            if entry.score is not None and not np.isnan(entry.score):
                scores[row_of[entry.application]] = entry.score / 10
                order[row_of[entry.application]] = -entry.rank
    return scores, order, time.perf_counter() - started


def iclr_scores(iclr: IclrPanels) -> dict[str, np.ndarray]:
    """Shape (S,) per method: each submission's panel score (NaN where the method gives none)."""
    engine_scores, engine_order, seconds = engine_rankings(iclr)
    olympic = olympic_means(iclr.ratings)
    scored = ~np.isnan(engine_scores)
    agree = (scored == ~np.isnan(olympic)).all() and np.isclose(
        engine_scores[scored], olympic[scored], rtol=0, atol=0.005).all()
    print(f"  engine rank(): {len(set(iclr.years.tolist()))} problems, {iclr.ratings.shape[0]:,} submissions, "
          f"{seconds:.2f} s; it scores {int(scored.sum()):,} submissions, and its scores "
          f"{'equal' if agree else 'DIFFER FROM'} the Olympic rule's to 2 decimals")
    return {
        "plain mean": plain_means(iclr.ratings),
        "Olympic (engine rule)": olympic,
        "old rule (trim from 5)": old_rule_means(iclr.ratings),
        "median": medians(iclr.ratings),
        "engine rank() score": engine_scores,
        "engine rank() order": engine_order,
        "confidence-weighted mean": weighted_means(iclr.ratings, iclr.confidences, 1),
        "confidence²-weighted mean": weighted_means(iclr.ratings, iclr.confidences, 2),
    }


def report_iclr(iclr: IclrPanels) -> None:
    """AUC and top-k agreement of each panel score with the accept decision, per year and overall."""
    n = iclr.n_reviews
    decided = ~np.isnan(iclr.accepted)
    evaluated = decided & (n >= INSUFFICIENT_BELOW)
    years = sorted(set(iclr.years.tolist()))
    sizes = []
    for year in years:
        in_year = decided & (iclr.years == year)
        sizes.append((year, int((iclr.years == year).sum()), int(in_year.sum()),
                      int((in_year & (n < INSUFFICIENT_BELOW)).sum()),
                      int((in_year & (n >= INSUFFICIENT_BELOW) & (n < SMALL_BELOW)).sum()),
                      int((in_year & (n >= SMALL_BELOW)).sum()), int(iclr.accepted[evaluated & (iclr.years == year)].sum())))
    print_table("(c0) ICLR submissions by panel size (decided: accepted is 0 or 1; evaluated: decided with n ≥ 3)",
                ("year", "submissions", "decided", "n < 3 (no score)", "n = 3-4 (SMALL_PANEL, median)", "n >= 5",
                 "accepted (evaluated)"), sizes)

    methods = iclr_scores(iclr)
    labels = iclr.accepted
    groups = ((2017, 2018), tuple(years))
    auc_rows, top_rows = [], []
    for name, scores in methods.items():
        scored = evaluated & ~np.isnan(scores)
        auc_row: list[object] = [name]
        top_row: list[object] = [name]
        top_k: dict[int, tuple[float, int]] = {}  # year → (precision, k)
        for year in years:
            mask = scored & (iclr.years == year)
            if not mask.any():
                auc_row.append("-")
                top_row.append("-")
                continue
            k = int(labels[mask].sum())
            top_k[year] = (top_k_precision(scores[mask], labels[mask], k), k)
            auc_row.append(f"{roc_auc_score(labels[mask], scores[mask]):.4f}")
            top_row.append(f"{top_k[year][0]:.4f} (k={k})")
        for group in groups:
            mask = scored & np.isin(iclr.years, group)
            covered = all(year in top_k for year in group)
            poolable = covered and name not in WITHIN_YEAR_ONLY
            auc_row.append(f"{roc_auc_score(labels[mask], scores[mask]):.4f} (n={int(mask.sum())})" if poolable else "-")
            top_row.append(f"{sum(p * k for p, k in map(top_k.get, group)) / sum(top_k[y][1] for y in group):.4f}"
                           if covered else "-")
        auc_rows.append(auc_row)
        top_rows.append(top_row)
    print_table("(c1) AUC of the panel score against accepted (decided submissions with ≥ 3 reviews)",
                ("score", *map(str, years), "2017+18 pooled", "all years pooled"), auc_rows)
    print_table("(c2) top-k agreement: share accepted among the k best scores, k = accepted that year (ties at the "
                "cut shared at random; several years: accepted hits summed over years / k summed)",
                ("score", *map(str, years), "2017+18", "all years"), top_rows)

    trimmed = evaluated & (n >= SMALL_BELOW)
    plain = methods["plain mean"][trimmed]
    rows = []
    for name in ("plain mean", "Olympic (engine rule)", "median", "engine rank() score"):
        scores = methods[name][trimmed]
        low, high = auc_difference_interval(labels[trimmed], scores, plain)
        rows.append((name, f"{roc_auc_score(labels[trimmed], scores):.4f}",
                     f"[{low:+.4f}, {high:+.4f}]" if name != "plain mean" else ""))
    print_table(f"(c3) AUC on the {int(trimmed.sum())} decided submissions with ≥ 5 reviews, the only ones the "
                f"Olympic rule trims ({int(labels[trimmed].sum())} accepted)",
                ("score", "AUC", f"AUC − plain mean's, 95 % bootstrap ({BOOTSTRAP_DRAWS:,} draws)"), rows)


def auc_difference_interval(labels: np.ndarray, scores: np.ndarray, baseline: np.ndarray) -> tuple[float, float]:
    """Percentile 95 % interval of AUC(scores) − AUC(baseline) over submissions resampled with replacement."""
    generator = np.random.default_rng(BOOTSTRAP_SEED)
    samples = generator.integers(0, labels.size, (BOOTSTRAP_DRAWS, labels.size))
    both_classes = (labels[samples].min(axis=1) == 0) & (labels[samples].max(axis=1) == 1)
    samples = samples[both_classes]
    differences = rank_auc(labels[samples], scores[samples]) - rank_auc(labels[samples], baseline[samples])
    low, high = np.percentile(differences, [2.5, 97.5])
    return float(low), float(high)


def rank_auc(labels: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """AUC of each row (Mann–Whitney: ties count one half), shape (D, n) → (D,); rows hold both classes."""
    ranks = stats.rankdata(scores, axis=1)
    positives = labels.sum(axis=1)
    negatives = labels.shape[1] - positives
    return ((ranks * labels).sum(axis=1) - positives * (positives + 1) / 2) / (positives * negatives)


# ---------------------------------------------------------------- (d) injected extremes on small panels

INJECTION_SEEDS = 5
TUNE_YEARS, REPORT_YEARS = (2017, 2018), (2021,)
RATING_RANGE = 100.0          # the engine sees a rating r as 10·r points of a 100-point sheet


def inject_extremes(ratings: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """One rating per paper, chosen at random, moved to the end of the 1–10 scale farther from it (6 → 1, 4 → 10).

    Returns the injected ratings, shape (S, R), and the mask of the moved slots, shape (S, R).
    """
    rng = np.random.default_rng(seed)
    present = ~np.isnan(ratings)
    counts = present.sum(axis=1)
    rows = np.flatnonzero(counts > 0)
    present_first = np.argsort(~present, axis=1, kind="stable")
    picks = (rng.random(rows.size) * counts[rows]).astype(int)
    slots = present_first[rows, picks]
    moved = np.zeros_like(present)
    moved[rows, slots] = True
    injected = ratings.copy()
    injected[rows, slots] = np.where(ratings[rows, slots] >= 5.5, 1.0, 10.0)
    return injected, moved


def small_panel_rules(iclr: IclrPanels) -> dict[str, np.ndarray]:
    """Each rule's score per submission, shape (S,); Panel's rule is the engine's own order (ties broken by it)."""
    _, order, _ = engine_rankings(iclr)
    return {"plain mean": plain_means(iclr.ratings), "median": medians(iclr.ratings),
            "old rule (mean below 5 sheets)": old_rule_means(iclr.ratings), "Panel (scoring.rank order)": order}


def report_injected_extremes(iclr: IclrPanels) -> None:
    """AUC against the decision on papers with 3–4 reviews, clean and with one extreme rating per paper."""
    n = iclr.n_reviews
    small = ~np.isnan(iclr.accepted) & (n >= INSUFFICIENT_BELOW) & (n < SMALL_BELOW)
    clean = small_panel_rules(iclr)
    injected = [small_panel_rules(replace(iclr, ratings=inject_extremes(iclr.ratings, seed)[0]))
                for seed in range(INJECTION_SEEDS)]
    rows = []
    for part, years in (("tune", TUNE_YEARS), ("report", REPORT_YEARS)):
        mask = small & np.isin(iclr.years, years)
        labels = iclr.accepted[mask]
        year_of = iclr.years[mask]
        for name, scores in clean.items():
            aucs = [np.mean([roc_auc_score(labels[year_of == year], values[mask][year_of == year])
                             for year in years]) for values in [scores] + [run[name] for run in injected]]
            drops = np.array(aucs[1:]) - aucs[0]
            rows.append((f"{part}: {'+'.join(map(str, years))}", name, f"{aucs[0]:.4f}",
                         f"{np.mean(aucs[1:]):.4f}", f"{drops.mean():+.4f} ± {drops.std():.4f}"))
    print_table(f"(d) AUC against accepted on decided papers with 3-4 reviews, clean and with one rating per paper "
                f"pushed to the far end of 1-10 ({INJECTION_SEEDS} seeds; ± is the spread over seeds; AUC per year, "
                "averaged over the part's years)",
                ("part", "rule", "clean AUC", "injected AUC", "drop"), rows)


# ------------------------------------------------------------------------------- (e) per-sheet flag rates


def new_flags(totals: np.ndarray, scale_range: float | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Shape (A, N) each: the sheets the engine puts back (act) and those it shows for information (info)."""
    settings = Settings()
    robust = np.abs(np.nan_to_num(robust_z_matrix(totals, scale_range, DEFAULT_SCALE_FLOOR))) > settings.robust_z
    deviating = np.abs(np.nan_to_num(absolute_deviation_matrix(totals, scale_range))) >= settings.deviation
    act = robust & deviating
    return act, (robust | deviating) & ~act


def flag_rate_rows(label: str, totals: np.ndarray, scale_range: float | np.ndarray,
                   groups: dict[str, np.ndarray]) -> list[tuple]:
    """Rows of old-rule and new-rule flag rates on the sheets each mask of ``groups`` selects."""
    old = flag_matrix(totals, "either")
    act, info = new_flags(totals, scale_range)
    return [(label, group, f"{int(mask.sum()):,}", percent(old[mask].mean()), percent(act[mask].mean()),
             percent(info[mask].mean())) for group, mask in groups.items()]


def report_flag_rates_new(iclr: IclrPanels, skating: SkatingPanels) -> None:
    """How many sheets each rule flags: clean reviews, injected extremes and their honest co-reviewers."""
    rows = []
    n = iclr.n_reviews
    for part, years in (("tune", TUNE_YEARS), ("report", REPORT_YEARS)):
        chosen = np.isin(iclr.years, years) & (n >= INSUFFICIENT_BELOW)
        ratings = iclr.ratings[chosen]
        present = ~np.isnan(ratings)
        means = np.nanmean(ratings, axis=1)
        low = (means < np.median(means))[:, None] & present
        rows += flag_rate_rows(f"ICLR {'+'.join(map(str, years))} ({part}), clean", 10 * ratings, RATING_RANGE,
                               {"all sheets": present, "low-scored papers": low, "high-scored papers": present & ~low})
        injected, moved = inject_extremes(ratings, 0)
        rows += flag_rate_rows(f"ICLR {'+'.join(map(str, years))} ({part}), injected", 10 * injected, RATING_RANGE,
                               {"the extreme sheets": moved, "their honest co-reviewers": present & ~moved})
    totals = skating.judge_totals
    full_range = 10 * skating.factors.sum(axis=1)[:, None]
    rows += flag_rate_rows("skating, 9 judges (0-10 marks)", totals, full_range,
                           {"all sheets": np.ones(totals.shape, dtype=bool)})
    print_table("(e) share of sheets flagged: old = ROBUST (modified z, MeanAD fallback) or DEVIATION (20 % of the "
                "others' mean); new act = robust z > 3.5 and ≥ 20 % of the range from the others' median; new info "
                "= one of the two only (ratings as 10-100 points; skating range = 10 × Σ factors)",
                ("data", "sheets", "n", "old (any)", "new act", "new info"), rows)


# -------------------------------------------------------------- (f) calibration, held-out skating season

CALIBRATION_PANEL = 3        # judges kept per performance: an incomplete design, as in a review round
CALIBRATION_DRAWS = 20


def season(competition: str) -> str:
    """2017–18 for the 2017 Grand Prix events and final; every other competition here is 2016–17."""
    return "2017-18" if "2017" in competition and ("GP" in competition or "Grand Prix" in competition) else "2016-17"


def carried_biases(skating: SkatingPanels, shrink: bool) -> dict[str, float]:
    """Each judge's bias on one season's full panels: mean of (judge total − the panel's mean) over their sheets,
    shrunk by τ²/(τ² + σ²/n) when ``shrink`` (τ², σ² by the method of moments)."""
    totals = skating.judge_totals
    gaps = totals - totals.mean(axis=1, keepdims=True)
    names = skating.judge_names.reshape(-1)
    flat = gaps.reshape(-1)
    judges, index = np.unique(names, return_inverse=True)
    support = np.bincount(index)
    raw = np.bincount(index, flat) / support
    noise = float(np.mean((flat - raw[index]) ** 2))
    spread = max(0.0, float(np.var(raw)) - noise * float(np.mean(1 / support)))
    factor = spread / (spread + noise / support) if shrink else np.ones_like(raw)
    return dict(zip(judges.tolist(), (raw * factor).tolist(), strict=True))


def calibration_taus(skating: SkatingPanels, seed: int, carried: dict[str, dict[str, float]]) -> dict[str, np.ndarray]:
    """Kendall τ per segment between each method's ranking of a 3-judge-per-performance round and the official
    9-judge component score."""
    rng = np.random.default_rng(seed)
    truth = (skating.official * skating.factors).sum(axis=1)
    segments = list(dict.fromkeys(zip(skating.competitions.tolist(), skating.programs.tolist(), strict=True)))
    taus: dict[str, list[float]] = {}
    for competition, program in segments:
        rows = np.flatnonzero((skating.competitions == competition) & (skating.programs == program))
        if rows.size < 4:
            continue
        totals = skating.judge_totals[rows]
        keep = np.argsort(rng.random(totals.shape), axis=1)[:, :CALIBRATION_PANEL]
        apps = np.repeat(np.arange(rows.size), CALIBRATION_PANEL)
        seats = keep.reshape(-1)
        values = totals[apps, seats]
        names = skating.judge_names[rows][apps, seats]
        scores = {"raw (Panel's rule)": values}
        for label, shrink in (("within round, least squares", False), ("within round, shrunk", True)):
            try:
                fit = calibrate(apps, seats, values, np.ones(values.size), [str(row) for row in rows],
                                [f"J{seat}" for seat in range(9)], shrink)
            except DisconnectedDesign:                   # the engine refuses: the round keeps its raw scores
                scores[label] = values
                continue
            scores[label] = values - np.nan_to_num(fit.biases)[seats]
        for label, biases in carried.items():
            scores[label] = values - np.array([biases.get(name, 0.0) for name in names])
        for label, adjusted in scores.items():
            panel = olympic_trim(adjusted.reshape(rows.size, CALIBRATION_PANEL), MIN_PANEL).means
            taus.setdefault(label, []).append(stats.kendalltau(panel, truth[rows]).statistic)
    return {label: np.array(values) for label, values in taus.items()}


def report_calibration(skating: SkatingPanels) -> None:
    """Within-round and carried-over calibration on each season's rounds of 3 judges per performance."""
    seasons = np.array([season(name) for name in skating.competitions])
    first = skating.select(seasons == "2016-17")
    carried = {"carried from 2016-17, least squares": carried_biases(first, shrink=False),
               "carried from 2016-17, shrunk": carried_biases(first, shrink=True)}
    rows = []
    for part, name in (("tune", "2016-17"), ("report", "2017-18")):
        panels = skating.select(seasons == name)
        runs = [calibration_taus(panels, seed, carried if part == "report" else {})
                for seed in range(CALIBRATION_DRAWS)]
        raw = np.mean([run["raw (Panel's rule)"] for run in runs], axis=0)          # per segment
        for label in runs[0]:
            mean_tau = np.mean([run[label] for run in runs], axis=0)
            gap = mean_tau - raw
            generator = np.random.default_rng(BOOTSTRAP_SEED)
            resampled = generator.choice(gap, size=(BOOTSTRAP_DRAWS, gap.size)).mean(axis=1)
            low, high = np.percentile(resampled, [2.5, 97.5])
            rows.append((f"{part}: {name}", label, f"{gap.size}", f"{mean_tau.mean():.4f}",
                         "" if label.startswith("raw") else f"{gap.mean():+.4f} [{low:+.4f}, {high:+.4f}]"))
    print_table(f"(f) skating: Kendall τ between a round of {CALIBRATION_PANEL} random judges per performance and "
                f"the official 9-judge component score, per segment ({CALIBRATION_DRAWS} draws; 95 % bootstrap "
                "interval of the mean difference over segments; a disconnected round, which the engine refuses "
                "to calibrate, keeps its raw scores)",
                ("part", "method", "segments", "mean τ", "τ − raw"), rows)


# ------------------------------------------------------------------------------------------------------ main


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=shared_data.DEFAULT_DATA_DIR,
                        help=f"the shared data folder (default: {shared_data.DEFAULT_DATA_DIR})")
    args = parser.parse_args(argv)
    if not args.data.is_dir():
        print(f"aggregation_quality: data folder {args.data} not found; pass --data DIR "
              "(the folder holding skating_judges/ and review_scores_iclr/)", file=sys.stderr)
        return 2
    try:
        started = time.perf_counter()
        skating = shared_data.load_skating(args.data)
        iclr = shared_data.load_iclr(args.data)
    except shared_data.DataMissing as error:
        print(f"aggregation_quality: {error}", file=sys.stderr)
        return 2
    print(f"machine: {machine_info()}")
    print(f"data: {args.data}; {skating.marks.shape[0]:,} skating performances × 9 judges × 5 components, "
          f"{iclr.ratings.shape[0]:,} ICLR submissions with {int(iclr.n_reviews.sum()):,} reviews; "
          f"loaded in {time.perf_counter() - started:.2f} s")
    full_panels = skating.select(skating.full_panels)
    print(f"(b) uses the {full_panels.marks.shape[0]:,} performances judged by 9 seated judges")
    for section in (lambda: report_reproduction(skating), lambda: report_flag_rates(full_panels),
                    lambda: report_home_bias(full_panels), lambda: report_iclr(iclr),
                    lambda: report_injected_extremes(iclr), lambda: report_flag_rates_new(iclr, full_panels),
                    lambda: report_calibration(full_panels)):
        started = time.perf_counter()
        section()
        print(f"  ({time.perf_counter() - started:.2f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
