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

At national scale (20,000 applications × 50,000 experts, a billion pairs) the one dense matrix kept is the fit
itself, in float32 (4 bytes a pair; fits are reported to 6 decimals and float32 carries 7): it is computed a
block of applications at a time, so temporaries stay under :data:`FIT_BLOCK` pairs, and the components are
written only for the pairs someone reads (:meth:`FitMatrix.components`), or as whole matrices when asked for
(:attr:`FitMatrix.field_fit`, the ``affinity`` command).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy import sparse

from matching.text_model import ANALYZER, NGRAM_RANGE, PROFILE, SUBLINEAR_TF, TextModel
from matching.types import FIELD_POOLS, Application, Expert, Problem, sector_of

SECTOR_FIT = 0.5
"""Field fit of a technology or industry expert whose fields share only the sector with the application."""

DENSE_BLOCK = 8_000_000
"""Most values of the dense term × application block in :func:`_cosine` (32 MB of float32)."""

FIT_BLOCK = 1 << 24
"""Pairs of one block of :func:`compute_fit` (16.8 M: each float32 temporary of a block is 64 MB). The setting
that bounds the fit's working memory beyond the fit matrix itself."""

FIT_DTYPE = np.float32


@dataclass(frozen=True)
class FitParts:
    """What the components of any pair are computed from: field indicators and text vectors per row."""

    expert_fields: sparse.csr_matrix
    expert_sectors: sparse.csr_matrix
    field_pool: np.ndarray
    app_field: np.ndarray
    app_sector: np.ndarray
    expert_text: sparse.csr_matrix
    app_text: sparse.csr_matrix

    def field_block(self, experts: np.ndarray | slice, apps: np.ndarray | slice) -> np.ndarray:
        """Field fit of ``experts`` × ``apps``, float32, shape (len(experts), len(apps)).

        A field lies in its sector, so a specialist's fit is ``SECTOR_FIT`` · same sector + (1 − ``SECTOR_FIT``)
        · same field and a generalist's is 1 · same sector: two weighted indicator columns per application,
        added (0, 0.5 and 1 are exact in float32).
        """
        sectors = _columns(self._weighted_sectors[experts], self.app_sector[apps])
        sectors += _columns(self._weighted_fields[experts], self.app_field[apps])
        return sectors

    @cached_property
    def _weighted_sectors(self) -> sparse.csr_matrix:
        weight = np.where(self.field_pool, SECTOR_FIT, 1.0).astype(FIT_DTYPE)
        return sparse.csr_matrix(self.expert_sectors.multiply(weight[:, None]), dtype=FIT_DTYPE)

    @cached_property
    def _weighted_fields(self) -> sparse.csr_matrix:
        weight = np.where(self.field_pool, 1.0 - SECTOR_FIT, 0.0).astype(FIT_DTYPE)
        return sparse.csr_matrix(self.expert_fields.multiply(weight[:, None]), dtype=FIT_DTYPE)

    def text_block(self, experts: np.ndarray | slice, apps: np.ndarray | slice) -> np.ndarray:
        """Text fit of ``experts`` × ``apps``, float32."""
        if self.app_text.shape[1] == 0:
            return np.zeros((_length(experts, self.expert_text.shape[0]), _length(apps, self.app_text.shape[0])),
                            dtype=FIT_DTYPE)
        values = _cosine(self.expert_text[experts], self.app_text[apps])
        return np.clip(values, FIT_DTYPE(0.0), FIT_DTYPE(1.0), out=values)

    def pairs(self, experts: np.ndarray, apps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Field and text fit of the pairs (experts[k], apps[k]), float32, shape (K,)."""
        experts, apps = np.asarray(experts, dtype=np.int64), np.asarray(apps, dtype=np.int64)
        fields = self.expert_fields[experts]
        same_field = np.asarray(fields[np.arange(len(experts)), self.app_field[apps]]).ravel() > 0
        same_sector = np.asarray(self.expert_sectors[experts][np.arange(len(experts)), self.app_sector[apps]]) \
            .ravel() > 0
        specialist = np.where(same_field, 1.0, np.where(same_sector, SECTOR_FIT, 0.0))
        field = np.where(self.field_pool[experts], specialist, np.where(same_sector, 1.0, 0.0))
        if self.app_text.shape[1] == 0:
            return field.astype(FIT_DTYPE), np.zeros(len(experts), dtype=FIT_DTYPE)
        text = np.asarray(self.expert_text[experts].multiply(self.app_text[apps]).sum(axis=1)).ravel()
        return field.astype(FIT_DTYPE), np.clip(text, 0.0, 1.0).astype(FIT_DTYPE)


def _columns(matrix: sparse.csr_matrix, columns: np.ndarray) -> np.ndarray:
    """``matrix[:, columns]`` as a dense float32 array."""
    if not len(columns):
        return np.zeros((matrix.shape[0], 0), dtype=FIT_DTYPE)
    return matrix[:, columns].toarray().astype(FIT_DTYPE, copy=False)


def _length(index: np.ndarray | slice, size: int) -> int:
    return len(range(size)[index]) if isinstance(index, slice) else len(index)


@dataclass(frozen=True, eq=False)
class FitMatrix:
    """Fit of every (expert, application) pair, in the problem's order.

    Attributes
    ----------
    experts, applications : tuple of str
        Row and column refs.
    fit : ndarray of float32, shape (n_experts, n_applications)
        The blended fit in [0, 1] the solver maximizes.
    parts : FitParts or None
        What the components are computed from; None when the problem's ``affinity`` list supplied the fit.
    """

    experts: tuple[str, ...]
    applications: tuple[str, ...]
    fit: np.ndarray
    parts: FitParts | None = None

    @property
    def given(self) -> bool:
        """True when the fit came from the problem's affinity list rather than being computed."""
        return self.parts is None

    @cached_property
    def field_fit(self) -> np.ndarray | None:
        """The field component of every pair, float32, shape (n_experts, n_applications); None when given.
        Written when first asked for (the solver never needs it)."""
        return None if self.parts is None else self.parts.field_block(slice(None), slice(None))

    @cached_property
    def text_fit(self) -> np.ndarray | None:
        """The text component of every pair, likewise."""
        return None if self.parts is None else self.parts.text_block(slice(None), slice(None))

    def components(self, experts: np.ndarray, apps: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """Field and text fit of the pairs (experts[k], apps[k]); None when the fit was given."""
        return None if self.parts is None else self.parts.pairs(experts, apps)

    def component_lookups(self, experts: np.ndarray, apps: np.ndarray) -> tuple[dict | None, dict | None]:
        """Field and text fit of the pairs (experts[k], apps[k]) as lookups ``[(e, a)]``, computed for those pairs
        only (for the explanations of an assignment); None when the fit was given."""
        if self.parts is None:
            return None, None
        field, text = self.parts.pairs(experts, apps)
        pairs = list(zip(experts.tolist(), apps.tolist(), strict=True))
        return dict(zip(pairs, field.tolist(), strict=True)), dict(zip(pairs, text.tolist(), strict=True))


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
    result = np.empty((experts.shape[0], applications.shape[0]), dtype=np.float32)
    for start in range(0, applications.shape[0], block):
        dense = applications[start:start + block].T.toarray()
        result[:, start:start + block] = experts @ dense
    return result


def _indicator(rows: Iterable[Iterable[str]], vocabulary: dict[str, int]) -> np.ndarray:
    rows = list(rows)
    matrix = np.zeros((len(rows), max(1, len(vocabulary))))
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


def fit_parts(experts: Sequence[Expert], applications: Sequence[Application]) -> FitParts:
    """Field indicators and fitted text vectors of a round: everything a pair's components are computed from."""
    fields = {code: k for k, code in enumerate(sorted({c for e in experts for c in e.fields}
                                                       | {a.field for a in applications}))}
    sectors = {code: k for k, code in enumerate(sorted({sector_of(code) for code in fields}))}
    expert_texts, app_texts = [e.profile for e in experts], [a.text for a in applications]
    model = TextModel.fit([*expert_texts, *app_texts])
    return FitParts(
        expert_fields=sparse.csr_matrix(_indicator((e.fields for e in experts), fields), dtype=np.float32),
        expert_sectors=sparse.csr_matrix(_indicator((e.sectors for e in experts), sectors), dtype=np.float32),
        field_pool=np.array([e.pool in FIELD_POOLS for e in experts], dtype=bool),
        app_field=np.array([fields[a.field] for a in applications], dtype=np.int64),
        app_sector=np.array([sectors[a.sector] for a in applications], dtype=np.int64),
        expert_text=model.vectors(expert_texts), app_text=model.vectors(app_texts),
    )


def compute_fit(problem: Problem, *, block: int = FIT_BLOCK) -> FitMatrix:
    """Fit of every expert to every application (DESIGN §6), float32, computed ``block`` pairs at a time.

    Parameters
    ----------
    problem : Problem
        Uses experts' pools, fields and profiles, applications' fields and texts, ``settings.weights``, and
        ``affinity`` when given.
    block : int
        Most pairs per block of applications (:data:`FIT_BLOCK`): bounds the temporaries beside the result.

    Returns
    -------
    FitMatrix
        Rows in ``problem.experts`` order, columns in ``problem.applications`` order.
    """
    experts = tuple(e.ref for e in problem.experts)
    applications = tuple(a.ref for a in problem.applications)
    if problem.affinity is not None:
        return FitMatrix(experts, applications, given_fit(problem))
    parts = fit_parts(problem.experts, problem.applications)
    weights = problem.settings.weights
    fit = np.empty((len(experts), len(applications)), dtype=FIT_DTYPE)
    width = max(1, block // max(1, len(experts)))
    for start in range(0, len(applications), width):
        apps = slice(start, min(len(applications), start + width))
        values = parts.field_block(slice(None), apps)
        values *= FIT_DTYPE(weights.field)
        text = parts.text_block(slice(None), apps)
        text *= FIT_DTYPE(weights.text)
        values += text
        del text
        fit[:, apps] = np.clip(values, FIT_DTYPE(0.0), FIT_DTYPE(1.0), out=values)
    return FitMatrix(experts, applications, fit, parts)


def given_fit(problem: Problem) -> np.ndarray:
    """The problem's ``affinity`` list as a matrix, shape (n_experts, n_applications); missing pairs are 0.

    Kept in float64, the scores exactly as given: a list of every pair is JSON of ~66 bytes a pair, so this
    path never meets the sizes where the matrix's width matters."""
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
    def rounded(values: np.ndarray) -> list:     # in float64: a float32 0.6234 would print as 0.6233999729…
        return np.round(values.astype(np.float64), digits).tolist()

    fit = rounded(matrix.fit)
    field_fit = rounded(matrix.field_fit) if matrix.field_fit is not None else None
    text_fit = rounded(matrix.text_fit) if matrix.text_fit is not None else None
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
