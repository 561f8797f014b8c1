"""Fit of every expert to every application (DESIGN §6 "Fit"), with its components.

Two components, each in [0, 1]:

* **field fit** — the taxonomy. For technology and industry experts: 1.0 when the application's field is one of
  the expert's fields, :data:`SECTOR_FIT` (0.5) when only the sector matches, 0 otherwise. For economics,
  management and law experts, who judge finance, organization and legal risk rather than the technology: 1.0
  when the expert has a field in the application's sector (sector experience), 0 otherwise.
* **text fit** — cosine similarity of TF-IDF vectors of the expert's profile and the application's text (center
  name, construction content, plan), from :mod:`matching.text_model`: character 1–2-grams of the Chinese text (no
  word segmenter needed), whole words of Latin-script text such as 5G, CMOS or English abstracts, and a text of
  several paragraphs taken as the centroid of its paragraphs (docs/fit.md shows why and how well it works on
  real data, against the plain baseline).

The fit is ``weights.field * field_fit + weights.text * text_fit`` (0.6 / 0.4 by default) for every pool; what
differs between pools is the field component above. An ``affinity`` list in the problem replaces the computed
fit (pairs it leaves out get 0) and the components are then reported as None.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from matching.text_model import ANALYZER, NGRAM_RANGE, PROFILE, SUBLINEAR_TF, TextModel
from matching.types import FIELD_POOLS, Application, Expert, Problem, sector_of

SECTOR_FIT = 0.5
"""Field fit of a technology or industry expert whose fields share only the sector with the application."""

DENSE_BLOCK = 8_000_000
"""Most values of the dense term × application block in :func:`_cosine` (32 MB of float32)."""



@dataclass(frozen=True)
class FitMatrix:
    """Fit of every (expert, application) pair, in the problem's order.

    Attributes
    ----------
    experts, applications : tuple of str
        Row and column refs.
    fit : ndarray of float, shape (n_experts, n_applications)
        The blended fit in [0, 1] the solver maximizes.
    field_fit, text_fit : ndarray of float, shape (n_experts, n_applications), or None
        The components; None when the problem's ``affinity`` list supplied the fit.
    """

    experts: tuple[str, ...]
    applications: tuple[str, ...]
    fit: np.ndarray
    field_fit: np.ndarray | None
    text_fit: np.ndarray | None

    @property
    def given(self) -> bool:
        """True when the fit came from the problem's affinity list rather than being computed."""
        return self.field_fit is None


def text_similarity(
    expert_texts: Sequence[str],
    application_texts: Sequence[str],
    *,
    ngram_range: tuple[int, int] = NGRAM_RANGE,
    analyzer: str = ANALYZER,
    sublinear_tf: bool = SUBLINEAR_TF,
    profile: str = PROFILE,
) -> np.ndarray:
    """Cosine similarity of the texts' TF-IDF vectors (:class:`matching.text_model.TextModel`).

    The vocabulary and document frequencies are fitted on both lists together, so a rare n-gram shared by an
    expert and an application weighs more than a common one. To score a large round in blocks, fit the model
    once on every text (``TextModel.fit``) and take dot products of ``model.vectors(block)`` rows.

    Parameters
    ----------
    expert_texts : sequence of str, length n_experts
    application_texts : sequence of str, length n_applications
    ngram_range, analyzer, sublinear_tf, profile
        Passed to :meth:`matching.text_model.TextModel.fit` (defaults: the production settings).

    Returns
    -------
    ndarray of float, shape (n_experts, n_applications)
        In [0, 1]; 0 where either text is empty.
    """
    shape = (len(expert_texts), len(application_texts))
    model = TextModel.fit([*expert_texts, *application_texts], ngram_range=ngram_range, analyzer=analyzer,
                          sublinear_tf=sublinear_tf, profile=profile)
    if model.vectorizer is None or not shape[0] or not shape[1]:
        return np.zeros(shape)
    return np.clip(_cosine(model.vectors(expert_texts), model.vectors(application_texts)), 0.0, 1.0)


def _cosine(experts: sparse.csr_matrix, applications: sparse.csr_matrix) -> np.ndarray:
    """Row-by-row dot products of L2-normalized TF-IDF rows, shape (n_experts, n_applications).

    The result is dense anyway, so a sparse × dense product is faster than sparse × sparse; terms no
    application uses are dropped first, and applications go in blocks that keep the dense part under
    :data:`DENSE_BLOCK` values.
    """
    used = np.flatnonzero(applications.getnnz(axis=0))
    experts, applications = experts[:, used].tocsr(), applications[:, used]
    block = max(1, DENSE_BLOCK // max(1, len(used)))
    result = np.empty((experts.shape[0], applications.shape[0]))
    for start in range(0, applications.shape[0], block):
        dense = applications[start:start + block].T.toarray()
        result[:, start:start + block] = experts @ dense
    return result


def _indicator(rows: Iterable[Iterable[str]], vocabulary: dict[str, int]) -> np.ndarray:
    rows = list(rows)
    matrix = np.zeros((len(rows), len(vocabulary)))
    for r, codes in enumerate(rows):
        for code in codes:
            matrix[r, vocabulary[code]] = 1.0
    return matrix


def field_similarity(experts: Sequence[Expert], applications: Sequence[Application]) -> np.ndarray:
    """The taxonomy component of the fit (see the module docstring for the rule per pool).

    Returns
    -------
    ndarray of float, shape (n_experts, n_applications)
        1.0, :data:`SECTOR_FIT` or 0.
    """
    fields = {code: k for k, code in enumerate(sorted({c for e in experts for c in e.fields}
                                                       | {a.field for a in applications}))}
    sectors = {code: k for k, code in enumerate(sorted({sector_of(code) for code in fields}))}
    same_field = _indicator((e.fields for e in experts), fields) @ _indicator(
        ((a.field,) for a in applications), fields).T > 0
    same_sector = _indicator((e.sectors for e in experts), sectors) @ _indicator(
        ((a.sector,) for a in applications), sectors).T > 0
    field_pool = np.array([e.pool in FIELD_POOLS for e in experts])[:, None]
    specialist = np.where(same_field, 1.0, np.where(same_sector, SECTOR_FIT, 0.0))
    generalist = np.where(same_sector, 1.0, 0.0)
    return np.where(field_pool, specialist, generalist)


def compute_fit(problem: Problem) -> FitMatrix:
    """Fit of every expert to every application, with components (DESIGN §6).

    Parameters
    ----------
    problem : Problem
        Uses experts' pools, fields and profiles, applications' fields and texts, ``settings.weights``, and
        ``affinity`` when given.

    Returns
    -------
    FitMatrix
        Rows in ``problem.experts`` order, columns in ``problem.applications`` order.
    """
    experts = tuple(e.ref for e in problem.experts)
    applications = tuple(a.ref for a in problem.applications)
    if problem.affinity is not None:
        return FitMatrix(experts, applications, given_fit(problem), None, None)
    field_fit = field_similarity(problem.experts, problem.applications)
    text_fit = text_similarity([e.profile for e in problem.experts], [a.text for a in problem.applications])
    weights = problem.settings.weights
    fit = np.clip(weights.field * field_fit + weights.text * text_fit, 0.0, 1.0)
    return FitMatrix(experts, applications, fit, field_fit, text_fit)


def given_fit(problem: Problem) -> np.ndarray:
    """The problem's ``affinity`` list as a matrix, shape (n_experts, n_applications); missing pairs are 0."""
    fit = np.zeros((len(problem.experts), len(problem.applications)))
    experts, apps, scores = affinity_arrays(problem)
    fit[experts, apps] = scores
    return fit


def affinity_arrays(problem: Problem) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ``affinity`` list as arrays in list order: expert rows, application columns (int64), scores."""
    entries = problem.affinity or ()
    experts, apps = problem.expert_index, problem.application_index
    count = len(entries)
    return (np.fromiter((experts[s.expert] for s in entries), dtype=np.int64, count=count),
            np.fromiter((apps[s.application] for s in entries), dtype=np.int64, count=count),
            np.fromiter((s.score for s in entries), dtype=np.float64, count=count))


def fit_components(matrix: FitMatrix, digits: int = 4) -> list[dict]:
    """Every pair's fit and components as JSON-ready dicts (the ``affinity`` command's output).

    Components are None when the fit was given. Rows go expert by expert, applications in order.
    """
    fit = np.round(matrix.fit, digits).tolist()
    field_fit = np.round(matrix.field_fit, digits).tolist() if matrix.field_fit is not None else None
    text_fit = np.round(matrix.text_fit, digits).tolist() if matrix.text_fit is not None else None
    return [
        {
            "expert": expert,
            "application": application,
            "fit": fit[i][j],
            "field_fit": field_fit[i][j] if field_fit is not None else None,
            "text_fit": text_fit[i][j] if text_fit is not None else None,
        }
        for i, expert in enumerate(matrix.experts)
        for j, application in enumerate(matrix.applications)
    ]
