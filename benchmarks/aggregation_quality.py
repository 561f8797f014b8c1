"""How well the scoring engine aggregates real panels (DESIGN §7.1; issue 4, item 6).

Three questions on public data in ``../shared/data`` (see its README.md; nothing is copied here):

(a) ISU figure skating, program components: does the engine's Olympic mean reproduce the official
    ``scores_of_panel`` (9 judges, drop one highest and one lowest, mean of 7)?
(b) the same sheets: do the ROBUST and DEVIATION flags fire more often on judges scoring a skater of their own
    country, and how much of that home-country bias is left in the panel score under the plain mean, the
    Olympic mean, and the Olympic mean after excluding flagged sheets?
(c) ICLR 2017, 2018 and 2021 reviews: how well does each panel score predict the real accept/reject decision
    (AUC, top-k agreement), next to the plain mean?

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
from scoring.outliers import (  # noqa: E402
    DEFAULT_DEVIATION,
    DEFAULT_ROBUST_Z,
    deviation_matrix,
    modified_z_matrix,
    others_mean_matrix,
)
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

# DESIGN §7.1 step 2, with the engine's defaults: trim only with ≥ 5 sheets, give no score below 3 (INSUFFICIENT).
MIN_PANEL = Settings().min_panel
INSUFFICIENT_BELOW = Settings().insufficient_below

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


def flag_matrix(totals: np.ndarray, rule: str) -> np.ndarray:
    """Shape (A, N): the sheets the engine flags under ``rule`` (ROBUST, DEVIATION or either) at default thresholds."""
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
                      int((in_year & (n >= INSUFFICIENT_BELOW) & (n < MIN_PANEL)).sum()),
                      int((in_year & (n >= MIN_PANEL)).sum()), int(iclr.accepted[evaluated & (iclr.years == year)].sum())))
    print_table("(c0) ICLR submissions by panel size (decided: accepted is 0 or 1; evaluated: decided with n ≥ 3)",
                ("year", "submissions", "decided", "n < 3 (no score)", "n = 3-4 (SMALL_PANEL)", "n >= 5 (trimmed)",
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

    trimmed = evaluated & (n >= MIN_PANEL)
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
                    lambda: report_home_bias(full_panels), lambda: report_iclr(iclr)):
        started = time.perf_counter()
        section()
        print(f"  ({time.perf_counter() - started:.2f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
