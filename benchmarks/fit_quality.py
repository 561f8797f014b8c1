"""Quality of the text fit on real data, the plain baseline printed beside Panel; prints the machine first.

(a) Chinese discipline matching with profiles built from CSL itself (``../shared/data/chinese_sci_lit``): within
    one half of the 2,000 CSL benchmark papers, each of the 67 disciplines is profiled from a random half of its
    papers (seeded) and every other paper (title + abstract + keywords) ranks the disciplines by text fit; top-1 /
    top-3 accuracy, mean and spread over seeds. Configurations are chosen on the ``dev`` half (1,000 papers,
    seeds 0–4) and reported on the ``test`` half (1,000 other papers, seeds 0–9), which tuning never saw.
(b) Expertise gold standard (Stelmakh et al., ``../shared/data/reviewer_expertise_goldstandard``): 58
    researchers rated their expertise for up to 10 papers each. For each of the 10 profile versions, a reviewer's
    profile is the title+abstract of their profile papers, one paragraph each; papers are ranked within each
    reviewer by text fit, and the loss is the published main metric (weighted pairwise loss, lower is better),
    averaged over the versions, with a bootstrap 95 % interval over reviewers and the paired difference to Panel.
    The published baselines' own predictions are scored with the same code (this validates the metric). Nothing
    is chosen on this set: it has no held-out part.
(c) The earlier protocol, kept for comparison: CSL papers against discipline profiles from FewCLUE abstracts.
(d) Speed of find_conflicts and compute_fit on synthetic problems up to 5,000 experts × 1,000 applications,
    against a pairwise loop over expert × unit pairs run in the same process.

The plain baseline is scikit-learn's ``TfidfVectorizer(analyzer="char", ngram_range=(1, 2))`` with its defaults,
fitted on every profile document and every target, a profile being the centroid of its documents' vectors.

Usage: ``python benchmarks/fit_quality.py [--data DIR] [--speed-only | --quality-only] [--seeds N]``
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from itertools import combinations
from pathlib import Path

# benchmarks/matching.py would shadow the matching package: import the package with this folder off the path,
# then put the folder back at the end for the sibling module shared_data.
HERE = str(Path(__file__).resolve().parent)
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != HERE]

import numpy as np  # noqa: E402
import sklearn  # noqa: E402
from scipy import sparse  # noqa: E402
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer  # noqa: E402
from sklearn.preprocessing import normalize  # noqa: E402

from matching.affinity import compute_fit, text_similarity  # noqa: E402
from matching.conflicts import find_conflicts  # noqa: E402
from matching.organizations import same_organization  # noqa: E402
from matching.problem import parse_problem  # noqa: E402
from matching.text_model import (  # noqa: E402
    ANALYZER,
    NGRAM_RANGE,
    PROFILE,
    SUBLINEAR_TF,
    TextModel,
    mixed_terms,
    paragraphs,
)
from matching.types import FIELDS, POOLS  # noqa: E402

sys.path.append(HERE)
from shared_data import DEFAULT_DATA_DIR, DataMissing, read_columns, require_files  # noqa: E402

GOLD = "reviewer_expertise_goldstandard"
CSL = "chinese_sci_lit"
PUBLISHED = {"specter_mfr": 0.238, "specter": 0.269, "tpms": 0.281, "acl": 0.296, "elmo": 0.345}
TUNING_SEEDS = range(5)
BOOTSTRAP = 2000


@dataclass(frozen=True)
class TextConfig:
    """One way to compute text fit: the text model's settings plus two variants production does not have.

    ``profile``: ``'centroid'`` and ``'whole'`` are the text model's (a profile is one text whose paragraphs are
    its documents); ``'max'`` takes the best similarity to any single profile document. ``weighting='bm25'``
    replaces sublinear tf by BM25's saturation and length normalization (k1 1.2, b 0.75). ``background_idf``
    also fits the idf on the FewCLUE abstracts, a larger corpus of the same kind.
    """

    analyzer: str = ANALYZER
    ngram_range: tuple[int, int] = NGRAM_RANGE
    sublinear_tf: bool = SUBLINEAR_TF
    profile: str = PROFILE
    weighting: str = "tf-idf"
    background_idf: bool = False

    @property
    def name(self) -> str:
        low, high = self.ngram_range
        tf = "bm25" if self.weighting == "bm25" else "sublinear" if self.sublinear_tf else "raw tf"
        return f"{self.analyzer} {low}-{high} {tf} {self.profile}{' +idf corpus' if self.background_idf else ''}"


PRODUCTION = TextConfig()
PREVIOUS = TextConfig(ngram_range=(1, 3), profile="whole")
"""Production before profiles were taken as centroids of their paragraphs."""
CANDIDATES = (
    PREVIOUS,
    TextConfig(profile="whole"),
    PRODUCTION,
    TextConfig(ngram_range=(1, 3)),
    TextConfig(ngram_range=(2, 3)),
    TextConfig(sublinear_tf=False),
    TextConfig("char"),
    TextConfig("char_wb"),
    TextConfig(profile="max"),
    TextConfig(weighting="bm25"),
    TextConfig(background_idf=True),
)
"""What the dev half of CSL chooses from; every row is also scored on the gold standard."""
ENGLISH_ONLY = (TextConfig("word", (1, 1)), TextConfig("word", (1, 2)))
"""Word analyzers, shown on the English gold standard only (they cannot read Chinese without a segmenter)."""
BASELINE = "plain char 1-2 tf-idf centroid"


def baseline_similarity(profiles: Sequence[Sequence[str]], targets: Sequence[str]) -> np.ndarray:
    """The plain baseline: default char 1–2-gram TF-IDF, a profile the centroid of its documents' vectors."""
    documents = [doc for docs in profiles for doc in docs]
    vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(1, 2)).fit([*documents, *targets])
    centroids = normalize(_gather(profiles) @ vectorizer.transform(documents))
    return (centroids @ vectorizer.transform(targets).T).toarray()


def _gather(profiles: Sequence[Sequence[str]]) -> sparse.csr_matrix:
    """Sum rows of a document matrix into one row per profile (documents in profile order)."""
    owner = np.repeat(np.arange(len(profiles)), [len(docs) for docs in profiles])
    return sparse.csr_matrix((np.ones(len(owner)), (owner, np.arange(len(owner)))),
                             shape=(len(profiles), len(owner)))


def profile_similarity(profiles: Sequence[Sequence[str]], targets: Sequence[str], config: TextConfig,
                       background: Sequence[str] = ()) -> np.ndarray:
    """Similarity of each profile (a list of documents) to each target text, shape (n_profiles, n_targets).

    Production's path: the documents joined as paragraphs into one text per profile, then
    :func:`matching.affinity.text_similarity`.
    """
    options = dict(analyzer=config.analyzer, ngram_range=config.ngram_range, sublinear_tf=config.sublinear_tf)
    texts = ["\n\n".join(docs) for docs in profiles]
    if config.weighting == "bm25":
        return bm25_similarity(profiles, targets, config)
    if config.profile == "max":
        per_document = text_similarity([doc for docs in profiles for doc in docs], targets, **options)
        best = np.zeros((len(profiles), len(targets)))
        owner = np.repeat(np.arange(len(profiles)), [len(docs) for docs in profiles])
        np.maximum.at(best, owner, per_document)
        return best
    if config.background_idf:
        model = TextModel.fit([*texts, *targets, *background], profile=config.profile, **options)
        return (model.vectors(texts) @ model.vectors(targets).T).toarray()
    return text_similarity(texts, targets, profile=config.profile, **options)


def bm25_similarity(profiles: Sequence[Sequence[str]], targets: Sequence[str], config: TextConfig,
                    k1: float = 1.2, b: float = 0.75) -> np.ndarray:
    """Cosine of BM25-weighted term vectors (Robertson–Zaragoza idf), profiles as centroids of paragraphs."""
    units = [[part for doc in docs for part in paragraphs(doc)] for docs in profiles]
    documents = [part for parts in units for part in parts]
    counter = CountVectorizer(analyzer=partial(mixed_terms, ngram_range=config.ngram_range), dtype=np.float64)
    counts = counter.fit_transform([*documents, *targets]).tocsr()
    n = counts.shape[0]
    df = np.bincount(counts.indices, minlength=counts.shape[1])
    idf = np.log(1 + (n - df + 0.5) / (df + 0.5))
    length = np.asarray(counts.sum(axis=1)).ravel()
    per_entry = np.repeat(length / length.mean(), np.diff(counts.indptr))
    counts.data = counts.data * (k1 + 1) / (counts.data + k1 * (1 - b + b * per_entry))
    vectors = normalize(counts @ sparse.diags(idf))
    centroids = normalize(_gather(units) @ vectors[: len(documents)])
    return (centroids @ vectors[len(documents):].T).toarray()


# -------------------------------------------------------------------------------- (a) CSL, CSL-built profiles

@dataclass(frozen=True)
class CslPaper:
    text: str
    discipline: str
    category: str
    split: str


def load_csl(data_dir: Path) -> tuple[list[CslPaper], list[str], list[tuple[str, str]]]:
    """The 2,000 CSL benchmark papers, the FewCLUE abstracts not in them, and (abstract, discipline) pairs."""
    folder = data_dir / CSL
    require_files(folder, "fewclue_csldcp_labelled.csv", "csl_benchmark_2000.csv")
    csl = read_columns(folder / "csl_benchmark_2000.csv", "title", "abstract", "keywords", "discipline", "category",
                       "split")
    papers = [CslPaper(f"{title}\n{abstract}\n{keywords.replace(';', ' ')}", discipline, category, split)
              for title, abstract, keywords, discipline, category, split in zip(*csl.values(), strict=True)]
    few = read_columns(folder / "fewclue_csldcp_labelled.csv", "abstract", "discipline", "in_csl_benchmark")
    labelled = [(abstract, discipline) for abstract, discipline, in_csl in zip(*few.values(), strict=True)
                if in_csl != "1"]
    return papers, [abstract for abstract, _ in labelled], labelled


def csl_round(papers: Sequence[CslPaper], split: str, seed: int) -> tuple[dict[str, list[str]], list[CslPaper]]:
    """Profiles from a seeded half (rounded up) of each discipline's papers in ``split``; the rest are queries.

    A discipline with a single paper in the split is a profile only: it still competes for every query.
    """
    rng = np.random.default_rng(seed)
    by_discipline: dict[str, list[CslPaper]] = defaultdict(list)
    for paper in papers:
        if paper.split == split:
            by_discipline[paper.discipline].append(paper)
    profiles, queries = {}, []
    for discipline in sorted(by_discipline):
        members = by_discipline[discipline]
        order = rng.permutation(len(members))
        keep = (len(members) + 1) // 2
        profiles[discipline] = [members[k].text for k in order[:keep]]
        queries += [members[k] for k in order[keep:]]
    return profiles, queries


def ranks(similarity: np.ndarray, names: Sequence[str], truth: Sequence[str]) -> np.ndarray:
    """0-based rank of the true profile for every target (ties go to the earlier profile)."""
    order = np.argsort(-similarity, axis=0, kind="stable")
    position = np.argsort(order, axis=0)
    return position[[list(names).index(t) for t in truth], np.arange(len(truth))]


Scorer = Callable[[Sequence[Sequence[str]], Sequence[str]], np.ndarray]


def csl_ranks(papers: Sequence[CslPaper], split: str, seeds: Sequence[int], scorer: Scorer) -> list[np.ndarray]:
    """Per seed, the rank of every query's true discipline."""
    results = []
    for seed in seeds:
        profiles, queries = csl_round(papers, split, seed)
        names = list(profiles)
        similarity = scorer([profiles[name] for name in names], [q.text for q in queries])
        results.append(ranks(similarity, names, [q.discipline for q in queries]))
    return results


def spread(per_seed: Sequence[np.ndarray], k: int) -> tuple[float, float, float]:
    """Top-k accuracy per seed: mean, standard deviation and minimum over seeds."""
    values = np.array([np.mean(r < k) for r in per_seed])
    return float(values.mean()), float(values.std(ddof=1)) if len(values) > 1 else 0.0, float(values.min())


def config_scorer(config: TextConfig, background: Sequence[str]) -> Scorer:
    return lambda profiles, targets: profile_similarity(profiles, targets, config, background)


# ------------------------------------------------------------------------------------------ (b) gold standard

def pairwise_loss_parts(predicted: Mapping[str, Mapping[str, float]], expertise: Mapping[str, Mapping[str, float]],
                        reviewers: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Per reviewer, the numerator and denominator of the main metric of Stelmakh et al.

    Over every pair of a reviewer's labelled papers, a pair the prediction orders against the expertise costs the
    expertise difference, a predicted tie half of it; the denominator is the sum of the expertise differences.
    The metric pools over reviewers (sum of numerators / sum of denominators): 0 is perfect, 0.5 a constant.
    """
    loss, total = np.zeros(len(reviewers)), np.zeros(len(reviewers))
    for r, reviewer in enumerate(reviewers):
        labels = expertise[reviewer]
        for first, second in combinations(labels, 2):
            truth = labels[first] - labels[second]
            guess = predicted[reviewer][first] - predicted[reviewer][second]
            total[r] += abs(truth)
            if truth * guess < 0:
                loss[r] += abs(truth)
            elif truth != 0 and guess == 0:
                loss[r] += abs(truth) / 2
    return loss, total


def weighted_pairwise_loss(predicted: Mapping[str, Mapping[str, float]],
                           expertise: Mapping[str, Mapping[str, float]]) -> float:
    """The main metric of Stelmakh et al. (goldstandard-reviewer-paper-match ``compute_main_metric``)."""
    loss, total = pairwise_loss_parts(predicted, expertise, sorted(expertise))
    return float(loss.sum() / total.sum())


@dataclass(frozen=True)
class GoldStandard:
    """Labels, paper texts, the 10 profile versions and the published baselines' predictions."""

    expertise: dict[str, dict[str, float]]
    paper_text: dict[str, str]
    profile_text: dict[str, str]
    profiles: dict[int, dict[str, list[str]]]
    baselines: dict[tuple[str, int], dict[str, dict[str, float]]]

    @property
    def reviewers(self) -> list[str]:
        return sorted(self.expertise)


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


def predict_gold(gold: GoldStandard, version: int, scorer: Scorer) -> dict[str, dict[str, float]]:
    """Text fit of every labelled (reviewer, paper) pair for one profile version."""
    papers = sorted({paper for labels in gold.expertise.values() for paper in labels})
    profiles = [[gold.profile_text[p] for p in gold.profiles[version].get(r, [])] for r in gold.reviewers]
    similarity = scorer(profiles, [gold.paper_text[p] for p in papers])
    column = {paper: k for k, paper in enumerate(papers)}
    return {r: {p: float(similarity[i, column[p]]) for p in gold.expertise[r]} for i, r in enumerate(gold.reviewers)}


@dataclass(frozen=True)
class GoldResult:
    """Per profile version × reviewer, the metric's numerator and denominator, shape (10, n_reviewers) each."""

    loss: np.ndarray
    total: np.ndarray

    def value(self, reviewers: np.ndarray | slice = slice(None)) -> float:
        """The metric averaged over versions, on the given reviewers (indices, repeats allowed)."""
        return float(np.mean(self.loss[:, reviewers].sum(axis=1) / self.total[:, reviewers].sum(axis=1)))


def gold_result(gold: GoldStandard, predict: Callable[[int], Mapping[str, Mapping[str, float]]]) -> GoldResult:
    parts = [pairwise_loss_parts(predict(v), gold.expertise, gold.reviewers) for v in sorted(gold.profiles)]
    return GoldResult(np.array([p[0] for p in parts]), np.array([p[1] for p in parts]))


def bootstrap_interval(result: GoldResult, reference: GoldResult | None = None, draws: int = BOOTSTRAP,
                       seed: int = 0) -> tuple[float, float]:
    """95 % percentile interval of the loss (or of its difference to ``reference``) over resampled reviewers.

    Every method is resampled with the same reviewer draws (same seed), so differences are paired.
    """
    rng = np.random.default_rng(seed)
    n = result.loss.shape[1]
    values = []
    for _ in range(draws):
        sample = rng.integers(0, n, n)
        values.append(result.value(sample) - (reference.value(sample) if reference else 0.0))
    low, high = np.percentile(values, [2.5, 97.5])
    return float(low), float(high)


# --------------------------------------------------------------------- (c) CSL against FewCLUE-built profiles

def fewclue_top_k(papers: Sequence[CslPaper], labelled: Sequence[tuple[str, str]], scorer: Scorer,
                  ) -> tuple[float, float]:
    """Top-1 / top-3 of all 2,000 CSL papers against profiles of every non-benchmark FewCLUE abstract."""
    by_discipline: dict[str, list[str]] = defaultdict(list)
    for abstract, discipline in labelled:
        by_discipline[discipline].append(abstract)
    names = sorted(by_discipline)
    similarity = scorer([by_discipline[name] for name in names], [p.text for p in papers])
    rank = ranks(similarity, names, [p.discipline for p in papers])
    return float(np.mean(rank == 0)), float(np.mean(rank < 3))


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


def machine() -> str:
    """CPU, cores, memory and library versions of this run."""
    with open("/proc/meminfo", encoding="utf-8") as handle:
        kib = int(handle.readline().split()[1])
    return (f"{platform.processor() or platform.machine()}, nproc {len(os.sched_getaffinity(0))}, "
            f"{kib / 2**20:.1f} GiB RAM; Python {platform.python_version()}, numpy {np.__version__}, "
            f"scikit-learn {sklearn.__version__}")


# ------------------------------------------------------------------------------------------------- printing

def print_csl(papers: Sequence[CslPaper], background: Sequence[str], seeds: int) -> TextConfig:
    """Tables (a): choose on the dev half, report on the test half; returns the configuration chosen."""
    print(f"\n(a1) CSL, CSL-built profiles, tuning on the dev half: {sum(p.split == 'dev' for p in papers)} papers, "
          f"seeds {TUNING_SEEDS.start}-{TUNING_SEEDS.stop - 1}; top-k mean ± sd over seeds (min)")
    print(f"{'configuration':42} {'top-1':>22} {'top-3':>14}")
    rows = [(BASELINE, csl_ranks(papers, "dev", TUNING_SEEDS, baseline_similarity))]
    rows += [(config, csl_ranks(papers, "dev", TUNING_SEEDS, config_scorer(config, background)))
             for config in CANDIDATES]
    for name, per_seed in sorted(rows, key=lambda row: -spread(row[1], 1)[0]):
        print(csl_line(name, per_seed))
    chosen = max(rows[1:], key=lambda row: spread(row[1], 1)[0])[0]

    test_seeds = range(seeds)
    print(f"\n(a2) CSL, CSL-built profiles, reported on the held-out test half: "
          f"{sum(p.split == 'test' for p in papers)} papers, seeds 0-{seeds - 1} (chosen on dev: {chosen.name})")
    print(f"{'configuration':42} {'top-1':>22} {'top-3':>14} {'seeds > baseline':>17} {'top-1 − baseline':>17}")
    baseline = csl_ranks(papers, "test", test_seeds, baseline_similarity)
    print(csl_line(BASELINE, baseline))
    results = {}
    for config in dict.fromkeys((PREVIOUS, PRODUCTION, chosen)):
        results[config] = csl_ranks(papers, "test", test_seeds, config_scorer(config, background))
        gains = np.array([np.mean(r == 0) - np.mean(b == 0) for r, b in zip(results[config], baseline, strict=True)])
        print(f"{csl_line(config, results[config])} {f'{np.sum(gains > 0)} of {len(gains)}':>17} "
              f"{gains.mean():+8.3f} ± {gains.std(ddof=1):.3f}")

    print("\nper category on the test half, top-1 pooled over seeds:")
    print(f"{'category':8} {'queries':>7} {'baseline':>9} {'previous':>9} {'Panel':>7}")
    queries = [q for seed in test_seeds for q in csl_round(papers, "test", seed)[1]]
    categories = np.array([q.category for q in queries])
    pooled = {name: np.concatenate(per_seed) == 0 for name, per_seed in
              (("baseline", baseline), ("previous", results[PREVIOUS]), ("panel", results[PRODUCTION]))}
    for category in sorted(set(categories), key=lambda c: -np.sum(categories == c)):
        rows_ = categories == category
        print(f"{category:8} {rows_.sum():7d} {pooled['baseline'][rows_].mean():9.3f} "
              f"{pooled['previous'][rows_].mean():9.3f} {pooled['panel'][rows_].mean():7.3f}")
    return chosen


def csl_line(name: str | TextConfig, per_seed: Sequence[np.ndarray]) -> str:
    label = name.name + ("  <- Panel" if name == PRODUCTION else "") if isinstance(name, TextConfig) else name
    mean1, sd1, min1 = spread(per_seed, 1)
    mean3, sd3, _ = spread(per_seed, 3)
    return f"{label:42} {mean1:7.3f} ± {sd1:.3f} ({min1:.3f}) {mean3:7.3f} ± {sd3:.3f}"


def print_gold(gold: GoldStandard) -> None:
    print(f"\n(b) Expertise gold standard: {len(gold.expertise)} reviewers, "
          f"{sum(map(len, gold.expertise.values()))} labels, {len(gold.profiles)} profile versions; weighted "
          f"pairwise loss (lower is better), mean over versions; bootstrap 95 % intervals over reviewers "
          f"({BOOTSTRAP} draws), the difference paired with Panel's")
    panel = gold_result(gold, lambda v: predict_gold(gold, v, config_scorer(PRODUCTION, ())))
    rows: list[tuple[str, GoldResult, str]] = []
    for algorithm, published in PUBLISHED.items():
        rows.append((f"published {algorithm}", gold_result(gold, lambda v, a=algorithm: gold.baselines[(a, v)]),
                     f"published {published:.3f}"))
    rows.append((BASELINE, gold_result(gold, lambda v: predict_gold(gold, v, baseline_similarity)), ""))
    for config in (*CANDIDATES, *ENGLISH_ONLY):
        if config.background_idf:  # the extra corpus is Chinese: it says nothing about English idf
            continue
        result = panel if config == PRODUCTION else gold_result(
            gold, lambda v, c=config: predict_gold(gold, v, config_scorer(c, ())))
        rows.append((config.name, result, "<- Panel" if config == PRODUCTION else ""))
    print(f"{'algorithm':42} {'loss':>6} {'95 % interval':>15} {'minus Panel':>12} {'95 % interval':>17}  note")
    for name, result, note in rows:
        low, high = bootstrap_interval(result)
        difference = result.value() - panel.value()
        d_low, d_high = bootstrap_interval(result, panel)
        print(f"{name:42} {result.value():6.3f} [{low:.3f}, {high:.3f}] {difference:+12.3f} "
              f"[{d_low:+.3f}, {d_high:+.3f}]  {note}")


def print_fewclue(papers: Sequence[CslPaper], labelled: Sequence[tuple[str, str]]) -> None:
    print(f"\n(c) CSL, all {len(papers)} papers against profiles of {len(labelled)} FewCLUE abstracts "
          f"(the earlier protocol; no choice made here)")
    print(f"{'configuration':42} {'top-1':>7} {'top-3':>7}")
    for name, scorer in ((BASELINE, baseline_similarity), (PREVIOUS.name, config_scorer(PREVIOUS, ())),
                         (PRODUCTION.name + "  <- Panel", config_scorer(PRODUCTION, ()))):
        top1, top3 = fewclue_top_k(papers, labelled, scorer)
        print(f"{name:42} {top1:7.3f} {top3:7.3f}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA_DIR, help="the shared data folder")
    parser.add_argument("--speed-only", action="store_true", help="only the speed table (d)")
    parser.add_argument("--quality-only", action="store_true", help="skip the speed table (d)")
    parser.add_argument("--seeds", type=int, default=10, help="seeds of the held-out CSL report (a2)")
    args = parser.parse_args(argv)
    print(f"machine: {machine()}")
    if not args.quality_only:
        print("\n(d) Speed of conflicts and fit on synthetic problems (4 member units, 6 named people per "
              "application; the pairwise baseline checks only the same-organization rule)")
        print("\n".join(speed_table([(500, 100), (2_000, 400), (5_000, 1_000)], baseline_up_to=1_000_000)))
    if args.speed_only:
        return 0
    try:
        papers, background, labelled = load_csl(args.data)
        gold = load_gold_standard(args.data)
    except DataMissing as missing:
        print(f"skipped: {missing}")
        return 0
    print_csl(papers, background, args.seeds)
    print_gold(gold)
    print_fewclue(papers, labelled)
    return 0


if __name__ == "__main__":
    sys.exit(main())
