"""Reserves (备选专家) and replacement: who can step in for a panel member without moving anybody else.

A reserve for application ``a`` is an expert who could take the seat of at least one current member while every
rule still holds with the rest of the assignment unchanged: the pair is allowed (never a conflicted expert —
OpenReview's matcher lists conflicted reviewers among its alternates; we must not), the expert has load headroom,
the organization limit holds once the member has left, and the pool quotas hold after the swap. Reserves are
ranked by fit. :func:`replace` performs one such swap for a member who declined or recused.
"""

from __future__ import annotations

import numpy as np

from matching.instance import Instance, best_first


class NoReplacement(ValueError):
    """No expert can take the seat without breaking a rule (the message says which application and member)."""


def replacement_mask(instance: Instance, assigned: np.ndarray, application: int, leaving: int,
                     load: np.ndarray | None = None) -> np.ndarray:
    """Experts who can take ``leaving``'s seat on ``application``'s panel, everyone else staying put.

    Parameters
    ----------
    instance : Instance
    assigned : ndarray, shape (E, A), bool
    application, leaving : int
        Column of the application and row of the member who leaves.
    load : ndarray, shape (E,), optional
        ``assigned.sum(axis=1)``, when the caller already has it (a pass over every pair otherwise).

    Returns
    -------
    ndarray, shape (E,), bool
    """
    a = application
    panel = assigned[:, a]
    load = assigned.sum(axis=1) if load is None else load
    candidate = instance.allowed[:, a] & ~panel & (load < instance.load_cap)
    org = instance.expert_org
    staying = panel.copy()
    staying[leaving] = False
    org_on_panel = np.bincount(org[staying & (org >= 0)], minlength=max(int(org.max(initial=-1)) + 1, 1))
    org_ok = (org < 0) | (org_on_panel[np.maximum(org, 0)] < instance.max_per_org)
    pool = instance.expert_pool
    counts = np.bincount(pool[panel], minlength=instance.n_pools)
    low, high = instance.pool_quotas[:, 0], instance.pool_quotas[:, 1]
    old = pool[leaving]
    pool_ok = (pool == old) | ((counts[old] - 1 >= low[old]) & (counts[pool] + 1 <= high[pool]))
    return candidate & org_ok & pool_ok


def reserve_list(instance: Instance, assigned: np.ndarray, application: int, count: int,
                 load: np.ndarray | None = None) -> np.ndarray:
    """Up to ``count`` reserves for one application, best fit first (ties by expert order).

    ``load`` as in :func:`replacement_mask`.

    Returns
    -------
    ndarray, shape (≤ count,), int
        Expert indices; each can replace at least one current member (see the module docstring).
    """
    load = assigned.sum(axis=1) if load is None else load
    members = np.nonzero(assigned[:, application])[0]
    usable = np.zeros(instance.n_experts, dtype=bool)
    for member in members:
        usable |= replacement_mask(instance, assigned, application, member, load)
    ranked = np.nonzero(usable)[0]
    return best_first(ranked, instance.fit[ranked, application], count)


def all_reserves(instance: Instance, assigned: np.ndarray, count: int) -> list[np.ndarray]:
    """:func:`reserve_list` for every application, in column order (the loads counted once)."""
    load = assigned.sum(axis=1)
    return [reserve_list(instance, assigned, a, count, load) for a in range(instance.n_apps)]


def replace(instance: Instance, assigned: np.ndarray, application: int, expert: int,
            *, excluded: np.ndarray | None = None) -> tuple[np.ndarray, int]:
    """Swap ``expert`` out of ``application``'s panel for the best feasible reserve; nobody else moves.

    Parameters
    ----------
    excluded : ndarray, shape (E,), bool, optional
        Experts who must not be chosen (e.g. those who already declined this application).

    Returns
    -------
    assigned : ndarray, shape (E, A), bool
        A new assignment; the input is not modified.
    incoming : int
        The expert who took the seat.

    Raises
    ------
    NoReplacement
        If ``expert`` is not on the panel or nobody can take the seat.
    """
    if not assigned[expert, application]:
        raise NoReplacement(f"expert {expert} is not on the panel of application {application}")
    usable = replacement_mask(instance, assigned, application, expert)
    if excluded is not None:
        usable &= ~excluded
    if not usable.any():
        raise NoReplacement(f"no expert can replace expert {expert} on application {application}")
    incoming = int(np.argmax(np.where(usable, instance.fit[:, application], -np.inf)))
    result = assigned.copy()
    result[expert, application] = False
    result[incoming, application] = True
    return result, incoming
