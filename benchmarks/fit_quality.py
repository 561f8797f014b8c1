"""Quality of the text fit on real data (issue 3 item 10): prints two tables with machine info.

(a) Expertise gold standard (Stelmakh et al., ``../shared/data/reviewer_expertise_goldstandard``): 58 researchers
    rated their expertise for up to 10 papers each. For each of the 10 profile versions, a reviewer's profile is
    the title+abstract of their profile papers; papers are ranked within each reviewer by text fit, and the loss
    is the published main metric (weighted pairwise loss, lower is better), averaged over the versions. The
    published baselines' own predictions are scored with the same code to validate the metric.
(b) Chinese discipline matching (``../shared/data/chinese_sci_lit``): each of the 67 CSL disciplines is profiled
    from FewCLUE abstracts (rows also in the CSL benchmark left out); each of the 2,000 CSL benchmark papers
    (title + abstract + keywords) ranks the disciplines by text fit; top-1 / top-3 accuracy.
(c) Speed of find_conflicts and compute_fit on synthetic problems up to 5,000 experts × 1,000 applications,
    against a pairwise loop over expert × unit pairs run in the same process.

Tuning is honest: configurations are chosen on a held-out fifth of FewCLUE (never on the CSL test rows); every
configuration is printed for both data sets so nothing is hidden, and the gold standard has no held-out part, so
nothing is chosen on it.

Usage: ``python benchmarks/fit_quality.py [--data DIR] [--speed-only]``
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

# benchmarks/matching.py would shadow the matching package: import the package with this folder off the path,
# then put the folder back at the end for the sibling module shared_data.
HERE = str(Path(__file__).resolve().parent)
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != HERE]

import numpy as np  # noqa: E402
import sklearn  # noqa: E402

from matching.affinity import ANALYZER, NGRAM_RANGE, SUBLINEAR_TF, compute_fit, text_similarity  # noqa: E402
from matching.conflicts import find_conflicts  # noqa: E402
from matching.organizations import same_organization  # noqa: E402
from matching.problem import parse_problem  # noqa: E402
from matching.types import FIELDS, POOLS  # noqa: E402

sys.path.append(HERE)
from shared_data import DEFAULT_DATA_DIR, DataMissing, read_columns, require_files  # noqa: E402

GOLD = "reviewer_expertise_goldstandard"
CSL = "chinese_sci_lit"
PUBLISHED = {"specter_mfr": 0.238, "specter": 0.269, "tpms": 0.281, "acl": 0.296, "elmo": 0.345}
VALIDATION_EVERY = 5  # every 5th FewCLUE abstract of a discipline is held out for choosing a configuration


@dataclass(frozen=True)
class TextConfig:
    """One way to compute text fit: TfidfVectorizer settings plus how a many-document profile is compared.

    ``profile='concat'`` joins the profile documents into one text (what production does with an expert's
    profile); ``'max'`` takes the best similarity to any single profile document.
    """

    analyzer: str = ANALYZER
    ngram_range: tuple[int, int] = NGRAM_RANGE
    sublinear_tf: bool = SUBLINEAR_TF
    profile: str = "concat"

    @property
    def name(self) -> str:
        low, high = self.ngram_range
        return f"{self.analyzer} {low}-{high}{' sublinear' if self.sublinear_tf else ''} {self.profile}"


PRODUCTION = TextConfig()
CANDIDATES = (
    *(TextConfig("mixed", ngrams, sublinear) for ngrams in ((1, 2), (1, 3), (2, 3)) for sublinear in (True, False)),
    *(TextConfig("char_wb", ngrams, sublinear, profile)
      for ngrams in ((1, 2), (1, 3), (2, 3), (2, 4))
      for sublinear in (True, False)
      for profile in ("concat", "max")),
    TextConfig("char", (1, 3)),  # char_wb only differs where there are spaces, which Chinese text rarely has
)
"""What the held-out FewCLUE part chooses from: analyzers that serve Chinese without a segmenter."""
ENGLISH_ONLY = (TextConfig("word", (1, 1)), TextConfig("word", (1, 2)), TextConfig("word", (1, 2), profile="max"))
"""Word analyzers, shown on the English gold standard only (they cannot read Chinese without a segmenter)."""


def profile_similarity(profiles: Sequence[Sequence[str]], targets: Sequence[str], config: TextConfig) -> np.ndarray:
    """Similarity of each profile (a list of documents) to each target text, shape (n_profiles, n_targets)."""
    options = dict(analyzer=config.analyzer, ngram_range=config.ngram_range, sublinear_tf=config.sublinear_tf)
    if config.profile == "concat":
        return text_similarity(["\n".join(docs) for docs in profiles], targets, **options)
    documents = [doc for docs in profiles for doc in docs]
    owner = np.repeat(np.arange(len(profiles)), [len(docs) for docs in profiles])
    per_document = text_similarity(documents, targets, **options)
    best = np.zeros((len(profiles), len(targets)))
    np.maximum.at(best, owner, per_document)
    return best


# ------------------------------------------------------------------------------------------ (a) gold standard

def weighted_pairwise_loss(predicted: Mapping[str, Mapping[str, float]],
                           expertise: Mapping[str, Mapping[str, float]]) -> float:
    """The main metric of Stelmakh et al. (goldstandard-reviewer-paper-match ``compute_main_metric``).

    Over every reviewer and every pair of that reviewer's labelled papers, a pair the prediction orders against
    the expertise costs the expertise difference, a predicted tie half of it; the sum is divided by the sum of
    the expertise differences over all pairs (pooled over reviewers, not averaged per reviewer). 0 is perfect,
    0.5 is a constant prediction.
    """
    loss = total = 0.0
    for reviewer, labels in expertise.items():
        for first, second in combinations(labels, 2):
            truth = labels[first] - labels[second]
            guess = predicted[reviewer][first] - predicted[reviewer][second]
            total += abs(truth)
            if truth * guess < 0:
                loss += abs(truth)
            elif truth != 0 and guess == 0:
                loss += abs(truth) / 2
    return loss / total


@dataclass(frozen=True)
class GoldStandard:
    """Labels, paper texts, the 10 profile versions and the published baselines' predictions."""

    expertise: dict[str, dict[str, float]]
    paper_text: dict[str, str]
    profile_text: dict[str, str]
    profiles: dict[int, dict[str, list[str]]]
    baselines: dict[tuple[str, int], dict[str, dict[str, float]]]


def load_gold_standard(data_dir: Path) -> GoldStandard:
    folder = data_dir / GOLD
    require_files(folder, "expertise_labels.csv", "papers.csv", "profile_papers.csv", "reviewer_profiles.csv",
                  "baseline_similarities.csv")
    labels = read_columns(folder / "expertise_labels.csv", "reviewer_id", "paper_id", "expertise")
    expertise: dict[str, dict[str, float]] = defaultdict(dict)
    for reviewer, paper, value in zip(*labels.values(), strict=True):
        expertise[reviewer][paper] = float(value)
    texts = {}
    for name in ("papers.csv", "profile_papers.csv"):
        columns = read_columns(folder / name, "paper_id", "title", "abstract")
        texts[name] = {pid: f"{title}. {abstract}" for pid, title, abstract in zip(*columns.values(), strict=True)}
    profiles: dict[int, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    rows = read_columns(folder / "reviewer_profiles.csv", "profile_version", "reviewer_id", "paper_id")
    for version, reviewer, paper in zip(*rows.values(), strict=True):
        profiles[int(version)][reviewer].append(paper)
    baselines: dict[tuple[str, int], dict[str, dict[str, float]]] = defaultdict(lambda: defaultdict(dict))
    rows = read_columns(folder / "baseline_similarities.csv", "algorithm", "profile_version", "reviewer_id",
                        "paper_id", "similarity")
    for algorithm, version, reviewer, paper, similarity in zip(*rows.values(), strict=True):
        baselines[(algorithm, int(version))][reviewer][paper] = float(similarity)
    return GoldStandard(dict(expertise), texts["papers.csv"], texts["profile_papers.csv"],
                        {v: dict(p) for v, p in profiles.items()}, dict(baselines))


def predict_gold(gold: GoldStandard, version: int, config: TextConfig) -> dict[str, dict[str, float]]:
    """Text fit of every labelled (reviewer, paper) pair for one profile version."""
    reviewers = sorted(gold.expertise)
    papers = sorted({paper for labels in gold.expertise.values() for paper in labels})
    profiles = [[gold.profile_text[p] for p in gold.profiles[version].get(r, [])] for r in reviewers]
    similarity = profile_similarity(profiles, [gold.paper_text[p] for p in papers], config)
    column = {paper: k for k, paper in enumerate(papers)}
    return {r: {p: float(similarity[i, column[p]]) for p in gold.expertise[r]} for i, r in enumerate(reviewers)}


def gold_loss(gold: GoldStandard, predict) -> float:
    """Mean over the 10 profile versions of the weighted pairwise loss of ``predict(version)``."""
    return float(np.mean([weighted_pairwise_loss(predict(v), gold.expertise) for v in sorted(gold.profiles)]))


def gold_table(gold: GoldStandard, configs: Sequence[TextConfig]) -> list[tuple[str, float, str]]:
    rows = []
    for algorithm, published in PUBLISHED.items():
        loss = gold_loss(gold, lambda v, a=algorithm: gold.baselines[(a, v)])
        rows.append((f"published {algorithm}", loss, f"published {published:.3f}"))
    for config in configs:
        started = time.perf_counter()
        loss = gold_loss(gold, lambda v, c=config: predict_gold(gold, v, c))
        marker = "  <- production" if config == PRODUCTION else ""
        rows.append((f"ours {config.name}", loss, f"{time.perf_counter() - started:.1f} s{marker}"))
    return rows


# ----------------------------------------------------------------------------------- (b) Chinese disciplines

@dataclass(frozen=True)
class Disciplines:
    """FewCLUE abstracts per discipline (profile / validation parts) and the CSL benchmark papers."""

    names: tuple[str, ...]
    profile: dict[str, list[str]]
    validation: list[tuple[str, str]]
    test: list[tuple[str, str, str]]  # text, discipline, category


def load_disciplines(data_dir: Path) -> Disciplines:
    folder = data_dir / CSL
    require_files(folder, "fewclue_csldcp_labelled.csv", "csl_benchmark_2000.csv")
    few = read_columns(folder / "fewclue_csldcp_labelled.csv", "abstract", "discipline", "in_csl_benchmark")
    by_discipline: dict[str, list[str]] = defaultdict(list)
    for abstract, discipline, in_test in zip(*few.values(), strict=True):
        if in_test != "1":
            by_discipline[discipline].append(abstract)
    profile, validation = {}, []
    for discipline, abstracts in by_discipline.items():
        profile[discipline] = [a for k, a in enumerate(abstracts) if k % VALIDATION_EVERY]
        validation += [(a, discipline) for k, a in enumerate(abstracts) if not k % VALIDATION_EVERY]
    csl = read_columns(folder / "csl_benchmark_2000.csv", "title", "abstract", "keywords", "discipline", "category")
    test = [(f"{title}\n{abstract}\n{keywords.replace(';', ' ')}", discipline, category)
            for title, abstract, keywords, discipline, category in zip(*csl.values(), strict=True)]
    return Disciplines(tuple(sorted(by_discipline)), profile, validation, test)


def top_k_hits(profiles: Mapping[str, list[str]], names: Sequence[str], texts: Sequence[str],
               truth: Sequence[str], config: TextConfig) -> tuple[np.ndarray, np.ndarray]:
    """Per text: is the true discipline ranked first, and within the first three? (bool arrays)"""
    similarity = profile_similarity([profiles[name] for name in names], texts, config)
    order = np.argsort(-similarity, axis=0, kind="stable")
    rank = np.array([int(np.flatnonzero(order[:, j] == names.index(t))[0]) for j, t in enumerate(truth)])
    return rank == 0, rank < 3


def choose_on_validation(data: Disciplines, configs: Sequence[TextConfig]) -> list[tuple[TextConfig, float, float]]:
    """Top-1 / top-3 on the held-out FewCLUE fifth, profiles from the other four fifths."""
    texts, truth = zip(*data.validation, strict=True)
    results = []
    for config in configs:
        top1, top3 = top_k_hits(data.profile, data.names, texts, truth, config)
        results.append((config, float(top1.mean()), float(top3.mean())))
    return results


def test_on_csl(data: Disciplines, config: TextConfig) -> tuple[np.ndarray, np.ndarray]:
    """Top-1 / top-3 hits on the 2,000 CSL papers, profiles from every non-benchmark FewCLUE abstract."""
    everything = {name: data.profile[name] + [a for a, d in data.validation if d == name] for name in data.names}
    texts, truth, _ = zip(*data.test, strict=True)
    return top_k_hits(everything, data.names, texts, truth, config)


# ------------------------------------------------------------------------------------- (c) speed at scale

def synthetic_problem(n_experts: int, n_applications: int, seed: int = 1) -> dict:
    """A problem dict with shared organizations, past affiliations, roles, named people and Chinese texts."""
    rng = np.random.default_rng(seed)
    organizations = [f"上海机构{k}科技有限公司" for k in range(3 * n_applications)]
    words = [*FIELDS.values(), "机器学习", "工艺", "芯片", "封装", "临床", "财务", "合规", "传感器", "算法", "平台"]
    fields = list(FIELDS)

    def text(n: int) -> str:
        return "，".join("".join(rng.choice(words, 2)) for _ in range(n))

    def pick(items):
        return str(items[rng.integers(len(items))])

    applications = [
        {"ref": f"A{j}", "center_name": f"创新中心{j}", "field": pick(fields), "construction_content": text(30),
         "bearer": {"name": pick(organizations), "legal_rep": {"name": f"人{rng.integers(20_000)}"}},
         "members": [{"role": "participating", "kind": "enterprise", "name": pick(organizations),
                      "team_members": [f"人{rng.integers(20_000)}" for _ in range(5)]} for _ in range(4)]}
        for j in range(n_applications)
    ]
    experts = [
        {"ref": f"E{i}", "name": f"人{rng.integers(20_000)}", "pool": pick(POOLS), "fields": [pick(fields)],
         "profile": text(30), "organization": {"name": pick(organizations), "parent": pick(organizations)},
         "past_affiliations": [{"name": pick(organizations), "until": "2018-05-01"}],
         "roles": [{"organization": pick(organizations), "role": "director"}]}
        for i in range(n_experts)
    ]
    return {"settings": {"as_of": "2020-10-01", "panel_size": 7}, "experts": experts,
            "applications": applications}


def pairwise_same_organization(problem) -> int:
    """Baseline: the same-organization rule as a loop over every expert × unit pair (what the index avoids)."""
    found = 0
    for expert in problem.experts:
        for application in problem.applications:
            units = [application.bearer, *(member.organization for member in application.members)]
            found += any(same_organization(expert.organization, unit) for unit in units)
    return found


def speed_table(sizes: Sequence[tuple[int, int]], baseline_up_to: int) -> list[str]:
    lines = [f"{'experts':>7} {'apps':>5} {'parse s':>8} {'conflicts s':>11} {'conflicts':>9} {'fit s':>6} "
             f"{'pairwise same-org s':>19} {'ratio':>6}"]
    for n_experts, n_applications in sizes:
        data = synthetic_problem(n_experts, n_applications)
        started = time.perf_counter()
        problem = parse_problem(data)
        parsed = time.perf_counter()
        conflicts = find_conflicts(problem)
        found = time.perf_counter()
        compute_fit(problem)
        fitted = time.perf_counter()
        baseline = ratio = "-"
        if n_experts * n_applications <= baseline_up_to:
            begin = time.perf_counter()
            pairwise_same_organization(problem)
            seconds = time.perf_counter() - begin
            baseline, ratio = f"{seconds:.2f}", f"{seconds / (found - parsed):.0f}x"
        lines.append(f"{n_experts:7d} {n_applications:5d} {parsed - started:8.2f} {found - parsed:11.2f} "
                     f"{len(conflicts):9d} {fitted - found:6.2f} {baseline:>19} {ratio:>6}")
    return lines


# ------------------------------------------------------------------------------------------------- printing

def machine() -> str:
    """CPU, cores, memory and library versions of this run."""
    with open("/proc/meminfo", encoding="utf-8") as handle:
        kib = int(handle.readline().split()[1])
    return (f"{platform.processor() or platform.machine()}, nproc {len(os.sched_getaffinity(0))}, "
            f"{kib / 2**20:.1f} GiB RAM; Python {platform.python_version()}, numpy {np.__version__}, "
            f"scikit-learn {sklearn.__version__}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA_DIR, help="the shared data folder")
    parser.add_argument("--speed-only", action="store_true", help="only the speed table (c)")
    args = parser.parse_args(argv)
    print(f"machine: {machine()}")
    print("\n(c) Speed of conflicts and fit on synthetic problems (4 member units, 6 named people per application; "
          "the pairwise baseline checks only the same-organization rule)")
    print("\n".join(speed_table([(500, 100), (2_000, 400), (5_000, 1_000)], baseline_up_to=1_000_000)))
    if args.speed_only:
        return 0
    try:
        data = load_disciplines(args.data)
        gold = load_gold_standard(args.data)
    except DataMissing as missing:
        print(f"skipped: {missing}")
        return 0

    print(f"\n(b1) Choosing a configuration on held-out FewCLUE: {len(data.validation)} abstracts, "
          f"profiles from {sum(map(len, data.profile.values()))} others, {len(data.names)} disciplines")
    validation = choose_on_validation(data, CANDIDATES)
    print(f"{'configuration':34} {'top-1':>7} {'top-3':>7}")
    for config, top1, top3 in sorted(validation, key=lambda row: (-row[1], -row[2])):
        marker = "  <- production" if config == PRODUCTION else ""
        print(f"{config.name:34} {top1:7.3f} {top3:7.3f}{marker}")
    best = max(validation, key=lambda row: (row[1], row[2]))[0]

    print(f"\n(b2) CSL benchmark, {len(data.test)} papers, 67 disciplines (chosen on validation: {best.name})")
    categories = [category for _, _, category in data.test]
    print(f"{'configuration':34} {'top-1':>7} {'top-3':>7}")
    hits = {}
    for config in dict.fromkeys((best, PRODUCTION)):
        started = time.perf_counter()
        hits[config] = test_on_csl(data, config)
        print(f"{config.name:34} {hits[config][0].mean():7.3f} {hits[config][1].mean():7.3f}"
              f"   ({time.perf_counter() - started:.1f} s)")
    top1, top3 = hits[PRODUCTION]
    print(f"\nper category (production configuration {PRODUCTION.name}):")
    print(f"{'category':8} {'papers':>6} {'top-1':>7} {'top-3':>7}")
    for category in sorted(set(categories), key=lambda c: -categories.count(c)):
        rows = np.array([c == category for c in categories])
        print(f"{category:8} {rows.sum():6d} {top1[rows].mean():7.3f} {top3[rows].mean():7.3f}")

    print(f"\n(a) Expertise gold standard: {len(gold.expertise)} reviewers, "
          f"{sum(map(len, gold.expertise.values()))} labels, {len(gold.profiles)} profile versions; "
          "weighted pairwise loss (lower is better), mean over versions")
    print(f"{'algorithm':42} {'loss':>6}  note")
    shown = (PRODUCTION, best, TextConfig("char_wb", (1, 3)), TextConfig("char", (1, 3)), *ENGLISH_ONLY)
    for name, loss, note in gold_table(gold, tuple(dict.fromkeys(shown))):
        print(f"{name:42} {loss:6.3f}  {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
