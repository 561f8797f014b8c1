"""The text model behind the text component of the fit: TF-IDF vectors of profiles and applications.

A text becomes one L2-normalized vector. Terms are character 1–2-grams inside runs of Chinese characters (no
word segmenter needed) and whole words of Latin-script text such as 5G, CMOS or English abstracts
(:func:`mixed_terms`); weights are sublinear tf × smoothed idf. A text of several paragraphs (separated by a
blank line, e.g. an expert profile that lists papers or projects one per paragraph) is the **centroid** of its
paragraphs' normalized vectors, so that each paragraph counts once however long it is, rather than one long
concatenation in which the longest paragraphs and the commonest terms dominate. A text of one paragraph is just
its own vector. docs/fit.md measures every one of these choices against the plain baseline on real data.

The idf is fitted once on every paragraph of a round (:meth:`TextModel.fit`), so a term that appears everywhere
in the round ("技术", "平台") weighs little; the fitted model then turns any block of texts into vectors
(:meth:`TextModel.vectors`), so experts and applications can be scored block by block.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

import numpy as np
from scipy import sparse

if TYPE_CHECKING:                     # imported where used: scikit-learn takes seconds to import
    from sklearn.feature_extraction.text import TfidfVectorizer

NGRAM_RANGE = (1, 2)
"""Character n-gram lengths inside Chinese runs (1–2 beat 1–3 on CSL; docs/fit.md)."""
ANALYZER = "mixed"
SUBLINEAR_TF = True
PROFILE = "centroid"
"""``'centroid'``: a text is the mean of its paragraphs' vectors; ``'whole'``: one vector of the whole text."""

_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_WORD = re.compile(r"[^\W_\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_BLANK_LINE = re.compile(r"\n\s*\n")


def normalize_text(text: str) -> str:
    """NFKC and lower case, so that full-width ＡＩ equals ai."""
    return unicodedata.normalize("NFKC", text).lower()


def mixed_terms(text: str, ngram_range: tuple[int, int] = NGRAM_RANGE) -> list[str]:
    """Terms of the ``'mixed'`` analyzer: character n-grams inside runs of Chinese characters, whole words
    elsewhere (Latin letters and digits: ``'5g'``, ``'cmos'``, ``'lyapunov'``).

    Chinese has no spaces, so n-grams of characters stand in for words without a segmenter; alphabetic text has
    spaces, and its words carry more meaning than its character n-grams (docs/fit.md measures both).
    N-grams never cross punctuation or a change of script.
    """
    text = normalize_text(text)
    low, high = ngram_range
    terms = []
    for run in _CJK_RUN.findall(text):
        for n in range(low, min(high, len(run)) + 1):
            terms += [run[k:k + n] for k in range(len(run) - n + 1)]
    terms += _WORD.findall(text)
    return terms


def paragraphs(text: str) -> list[str]:
    """The non-blank paragraphs of a text (separated by a blank line); none for a blank text."""
    return [part for part in _BLANK_LINE.split(text) if part.strip()]


@dataclass(frozen=True)
class TextModel:
    """A TF-IDF vectorizer fitted on a round's texts, and how a text is made one vector.

    Build it with :meth:`fit`; ``vectorizer`` is None when the texts had no term at all.
    """

    vectorizer: TfidfVectorizer | None
    profile: str = PROFILE

    @classmethod
    def fit(
        cls,
        texts: Sequence[str],
        *,
        ngram_range: tuple[int, int] = NGRAM_RANGE,
        analyzer: str = ANALYZER,
        sublinear_tf: bool = SUBLINEAR_TF,
        profile: str = PROFILE,
    ) -> TextModel:
        """Fit the vocabulary and idf on every paragraph of ``texts`` (with ``profile='whole'``: every text).

        ``analyzer='mixed'`` uses :func:`mixed_terms`; ``'char'``, ``'char_wb'`` and ``'word'`` are passed with
        the other options to :class:`sklearn.feature_extraction.text.TfidfVectorizer`.
        """
        if profile not in ("centroid", "whole"):
            raise ValueError(f"profile must be 'centroid' or 'whole', not {profile!r}")
        # scikit-learn takes seconds to import; a problem with a given affinity list never needs it
        from sklearn.feature_extraction.text import TfidfVectorizer

        if analyzer == "mixed":
            vectorizer = TfidfVectorizer(analyzer=partial(mixed_terms, ngram_range=ngram_range),
                                         sublinear_tf=sublinear_tf, dtype=np.float32)
        else:
            vectorizer = TfidfVectorizer(analyzer=analyzer, ngram_range=ngram_range, sublinear_tf=sublinear_tf,
                                         preprocessor=normalize_text, dtype=np.float32)
        units = [unit for text in texts for unit in cls._units(text, profile)]
        try:
            vectorizer.fit(units)
        except ValueError:  # no text had a term: no vocabulary at all
            return cls(None, profile)
        return cls(vectorizer, profile)

    @staticmethod
    def _units(text: str, profile: str) -> list[str]:
        return paragraphs(text) if profile == "centroid" else [text] if text.strip() else []

    def vectors(self, texts: Sequence[str]) -> sparse.csr_matrix:
        """One L2-normalized row per text, shape (len(texts), n_terms); a zero row for a text without known
        terms. Rows of two texts give their text fit as a dot product (cosine similarity)."""
        if self.vectorizer is None:
            return sparse.csr_matrix((len(texts), 0), dtype=np.float32)
        units = [self._units(text, self.profile) for text in texts]
        if not any(units):
            return sparse.csr_matrix((len(texts), len(self.vectorizer.vocabulary_)), dtype=np.float32)
        from sklearn.preprocessing import normalize

        owner = np.repeat(np.arange(len(texts)), [len(parts) for parts in units])
        unit_vectors = self.vectorizer.transform([unit for parts in units for unit in parts])
        gather = sparse.csr_matrix((np.ones(len(owner), dtype=np.float32), (owner, np.arange(len(owner)))),
                                   shape=(len(texts), len(owner)))
        return normalize(gather @ unit_vectors).astype(np.float32).tocsr()
