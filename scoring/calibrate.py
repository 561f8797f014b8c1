"""Expert calibration (DESIGN §7.1 step 4): the additive model y = v + b + ε by weighted least squares.

Each used sheet's total y is the application's value v plus the expert's bias b plus noise; weights are the
sheets' confidence squared, and the gauge Σb = 0 fixes the otherwise free constant. This is the two-way
additive model of incomplete block designs; with a complete design and equal weights the values are the raw
means. Biases are identified only within a connected expert–application graph, so a disconnected design is
refused with its components listed rather than answered with numbers that mean nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import connected_components


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
    """

    values: np.ndarray
    biases: np.ndarray
    support: np.ndarray


def calibrate(applications: np.ndarray, experts: np.ndarray, totals: np.ndarray, weights: np.ndarray,
              application_refs: Sequence[str], expert_refs: Sequence[str]) -> Calibration:
    """Fit y = v[application] + b[expert] by weighted least squares with Σb = 0.

    The application values are eliminated first (v = weighted mean of y − b per application), leaving the
    E × E reduced normal equations S b = r, whose null space is the all-ones vector when the design is
    connected; adding 11ᵀ to S picks the solution with Σb = 0.

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
    biases = np.full(n_experts, np.nan)
    biases[active] = np.linalg.solve(reduced[np.ix_(active, active)] + 1.0, rhs[active])
    residual = np.bincount(applications, weights * (totals - biases[experts]), minlength=n_applications)
    values = np.divide(residual, app_weight, out=np.full(n_applications, np.nan), where=app_weight > 0)
    return Calibration(values, biases, support)


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
