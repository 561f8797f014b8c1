"""Expert calibration (DESIGN §7.1 step 4): the additive model y = v + b + ε, with the biases shrunk.

Each used sheet's total y is the application's value v plus the expert's bias b plus noise; weights are the
sheets' confidence squared, and the gauge Σb = 0 fixes the otherwise free constant. This is the two-way
additive model of incomplete block designs; with a complete design and equal weights the values are the raw
means. Biases are identified only within a connected expert–application graph, so a disconnected design is
refused with its components listed rather than answered with numbers that mean nothing.

An expert seen on three sheets has a least-squares bias that is mostly noise. The biases are therefore treated as
random effects b ~ N(0, τ²) with the noise ε ~ N(0, σ²/w): σ² comes from the residuals of the least-squares fit,
τ² by the method of moments from the spread of the least-squares biases less what the noise alone would give,
and each bias is replaced by its best linear unbiased predictor (Henderson's mixed-model equations), which
pulls it towards 0 the more, the fewer sheets support it. When the data show no more spread than noise (τ² = 0)
every bias is 0 and calibration changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import connected_components

SETTLED = 1e-9  # σ²/τ² below this is rounding noise in an exact fit, not noise in the data


class DisconnectedDesign(ValueError):
    """The expert–application graph falls into several components; ``components`` lists them as
    (application refs, expert refs) pairs."""

    def __init__(self, components: list[tuple[list[str], list[str]]]):
        self.components = components
        parts = "; ".join(f"{{{', '.join(apps)}}} × {{{', '.join(experts)}}}" for apps, experts in components)
        super().__init__(f"calibration refused: the expert–application design falls into {len(components)} "
                         f"unconnected groups, whose experts' biases cannot be compared: {parts}")


@dataclass(frozen=True)
class Calibration:
    """Calibrated application values and expert biases.

    Attributes
    ----------
    values : ndarray of float, shape (A,)
        v, NaN for an application without sheets.
    biases : ndarray of float, shape (E,)
        b, summing to 0 over the experts with sheets; NaN for an expert without sheets.
    support : ndarray of int, shape (E,)
        Sheets per expert.
    raw_biases : ndarray of float, shape (E,)
        The least-squares biases before shrinkage.
    bias_variance, noise_variance : float or None
        τ² and σ²; None when the design leaves no residual degree of freedom to estimate σ² (the biases are
        then not shrunk).
    """

    values: np.ndarray
    biases: np.ndarray
    support: np.ndarray
    raw_biases: np.ndarray | None = None
    bias_variance: float | None = None
    noise_variance: float | None = None


def calibrate(applications: np.ndarray, experts: np.ndarray, totals: np.ndarray, weights: np.ndarray,
              application_refs: Sequence[str], expert_refs: Sequence[str], shrink: bool = True) -> Calibration:
    """Fit y = v[application] + b[expert] with Σb = 0, the biases shrunk by empirical Bayes.

    The application values are eliminated first (v = weighted mean of y − b per application), leaving the
    E × E reduced normal equations S b = r, whose null space is the all-ones vector when the design is
    connected; adding 11ᵀ to S picks the least-squares solution b̂ with Σb̂ = 0. Its residuals give
    σ² = RSS / (S − A − E + 1); since Cov(b̂) = σ²·S⁺, E[Σb̂²] = (E − 1)·τ² + σ²·tr(S⁺), which gives τ². The
    shrunk biases solve (S + σ²/τ²·I) b = r, and still sum to 0 because r does.

    Parameters
    ----------
    applications, experts : ndarray of int, shape (S,)
        Application and expert index of each sheet.
    totals, weights : ndarray of float, shape (S,)
        y and the weight (confidence²) of each sheet.
    application_refs, expert_refs : sequence of str, lengths A and E
        Names for the indices, used to report a disconnected design.

    Raises
    ------
    DisconnectedDesign
        When the expert–application graph has more than one component.

    Examples
    --------
    Three experts, biases +6, 0 and −6, and no noise: σ² = 0, nothing to shrink.

    >>> fit = calibrate(np.array([0, 0, 1, 1, 2, 2]), np.array([0, 1, 1, 2, 2, 0]),
    ...                 np.array([86.0, 80, 75, 69, 64, 76]), np.ones(6), "ABC", ["E1", "E2", "E3"])
    >>> fit.biases.round(6).tolist(), fit.values.round(6).tolist()
    ([6.0, 0.0, -6.0], [80.0, 75.0, 70.0])
    """
    n_applications, n_experts = len(application_refs), len(expert_refs)
    groups = components(applications, experts, n_applications, n_experts)
    if len(groups) > 1:
        raise DisconnectedDesign([([application_refs[i] for i in apps], [expert_refs[i] for i in group_experts])
                                  for apps, group_experts in groups])
    app_weight = np.bincount(applications, weights, minlength=n_applications).astype(float)
    expert_weight = np.bincount(experts, weights, minlength=n_experts).astype(float)
    support = np.bincount(experts, minlength=n_experts)
    active = expert_weight > 0
    design = sparse.csr_matrix((weights, (applications, experts)), shape=(n_applications, n_experts))
    inverse_app = np.divide(1.0, app_weight, out=np.zeros(n_applications), where=app_weight > 0)
    app_mean = np.bincount(applications, weights * totals, minlength=n_applications) * inverse_app
    reduced = (sparse.diags(expert_weight) - design.T @ sparse.diags(inverse_app) @ design).toarray()
    rhs = np.bincount(experts, weights * totals, minlength=n_experts) - design.T @ app_mean
    system, right = reduced[np.ix_(active, active)], rhs[active]
    inverse = np.linalg.inv(system + 1.0)
    raw = np.full(n_experts, np.nan)
    raw[active] = inverse @ right
    values = _values(applications, experts, totals, weights, raw, app_weight)
    noise, spread = _variances(applications, experts, totals, weights, raw, values, inverse)
    biases = raw.copy()
    if shrink and noise is not None and noise > SETTLED * spread:        # exact data: nothing to shrink
        biases[active] = (np.linalg.solve(system + noise / spread * np.eye(system.shape[0]), right)
                          if spread > 0 else 0.0)
        values = _values(applications, experts, totals, weights, biases, app_weight)
    return Calibration(values, biases, support, raw, spread, noise)


def _values(applications: np.ndarray, experts: np.ndarray, totals: np.ndarray, weights: np.ndarray,
            biases: np.ndarray, app_weight: np.ndarray) -> np.ndarray:
    """v per application: the weighted mean of its totals less their experts' biases, shape (A,)."""
    residual = np.bincount(applications, weights * (totals - biases[experts]), minlength=app_weight.size)
    return np.divide(residual, app_weight, out=np.full(app_weight.size, np.nan), where=app_weight > 0)


def _variances(applications: np.ndarray, experts: np.ndarray, totals: np.ndarray, weights: np.ndarray,
               raw: np.ndarray, values: np.ndarray, inverse: np.ndarray) -> tuple[float | None, float | None]:
    """σ² and τ² (method of moments) from the least-squares fit; (None, None) without residual freedom.

    ``inverse`` is (S + 11ᵀ)⁻¹ over the active experts, whose trace is tr(S⁺) + 1/E.
    """
    n_active = inverse.shape[0]
    freedom = totals.size - np.unique(applications).size - n_active + 1
    if freedom <= 0 or n_active == 0:
        return None, None
    residuals = totals - values[applications] - raw[experts]
    noise = float((weights * residuals**2).sum() / freedom)
    expected_noise = noise * (np.trace(inverse) - 1.0 / n_active)
    spread = max(0.0, (float(np.nansum(raw**2)) - expected_noise) / max(n_active - 1, 1))
    return noise, spread


def components(applications: np.ndarray, experts: np.ndarray, n_applications: int,
               n_experts: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """The connected components of the expert–application graph of the sheets, as (application indices,
    expert indices) pairs; applications and experts without sheets belong to none."""
    nodes = n_applications + n_experts
    graph = sparse.coo_matrix((np.ones(applications.size), (applications, n_applications + experts)),
                              shape=(nodes, nodes))
    _, labels = connected_components(graph, directed=False)
    touched = np.zeros(nodes, dtype=bool)
    touched[applications] = True
    touched[n_applications + experts] = True
    groups = []
    for label in np.unique(labels[touched]):
        members = np.flatnonzero((labels == label) & touched)
        groups.append((members[members < n_applications], members[members >= n_applications] - n_applications))
    return groups


def is_complete(applications: np.ndarray, experts: np.ndarray, n_applications: int, n_experts: int) -> bool:
    """True when every expert with sheets scored every application with sheets: a bias then weighs on all
    applications alike and calibration has nothing to correct."""
    pairs = np.unique(applications * n_experts + experts)
    return pairs.size == np.unique(applications).size * np.unique(experts).size


LINK_CHECK_LIMIT = 500  # experts; above it the one-link check is skipped (it reads an experts × experts graph)


def lone_links(applications: np.ndarray, experts: np.ndarray, n_applications: int, n_experts: int) -> list[int]:
    """The experts without whom the design falls apart into groups of experts that share no application: every
    calibrated comparison across those groups rests on that one expert's scores.

    Two experts left after removing one are still linked exactly when a chain of experts, each sharing an
    application with the next, joins them without the removed one; so the question is asked on the graph of
    experts sharing an application, and answered for all experts by one depth-first search (the cut vertices of
    Hopcroft and Tarjan, 1973) instead of one search per expert. Empty when there are more than
    ``LINK_CHECK_LIMIT`` experts.
    """
    present = np.unique(experts)
    if present.size > LINK_CHECK_LIMIT:
        return []
    incidence = sparse.csr_matrix((np.ones(applications.size), (applications, experts)),
                                  shape=(n_applications, n_experts))
    shared = (incidence.T @ incidence).tocsr()
    neighbours = [shared.indices[shared.indptr[e]:shared.indptr[e + 1]].tolist() for e in range(n_experts)]
    groups, pieces = _pieces_without(present.tolist(), neighbours)
    return [expert for expert in present.tolist() if groups - 1 + pieces[expert] > 1]


def _pieces_without(nodes: list[int], neighbours: list[list[int]]) -> tuple[int, dict[int, int]]:
    """The number of connected groups of ``nodes``, and for each node the number of groups its own group falls
    into without it (0 for a node alone), by an iterative depth-first search keeping discovery times and
    low points."""
    discovered: dict[int, int] = {}
    low: dict[int, int] = {}
    pieces: dict[int, int] = {}
    groups = 0
    for root in nodes:
        if root in discovered:
            continue
        groups += 1
        discovered[root] = low[root] = len(discovered)
        pieces[root] = 0                                  # a root splits into one piece per child of the search
        stack = [(root, -1, iter(neighbours[root]))]
        while stack:
            node, parent, pending = stack[-1]
            for other in pending:
                if other not in discovered:
                    discovered[other] = low[other] = len(discovered)
                    pieces[other] = 1                     # the part above it, plus each child cut off below it
                    stack.append((other, node, iter(neighbours[other])))
                    break
                low[node] = min(low[node], discovered[other])
            else:
                stack.pop()
                if parent >= 0:
                    low[parent] = min(low[parent], low[node])
                    if parent == root or low[node] >= discovered[parent]:
                        pieces[parent] += 1
    return groups, pieces
