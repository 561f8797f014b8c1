"""The value types of the scoring engine: templates and their criteria."""

from __future__ import annotations

from dataclasses import dataclass, field

ROUND_KINDS = ("selection_review", "site_inspection", "annual", "triennial")


@dataclass(frozen=True)
class Criterion:
    """One line of a score sheet: at most ``max`` points, entered in multiples of ``step``.

    ``priority`` orders the criteria used to break ties in the ranking (1 first; 0 means not used).
    A ``veto`` criterion (一票否决) rejects an application whose criterion mean fails the gate.
    """

    id: str
    name: str
    name_en: str
    max: float
    step: float = 0.5
    group: str = ""
    guidance: str = ""
    veto: bool = False
    comment_required: bool = False
    priority: int = 0


@dataclass(frozen=True)
class Indicator:
    """A quantitative figure the reviewed center reports (annual/triennial), shown beside the scores."""

    id: str
    name: str
    name_en: str
    unit: str = ""


@dataclass(frozen=True)
class Template:
    """A score template: the criteria of one kind of round; the maxima sum to 100."""

    kind: str
    name: str
    name_en: str
    criteria: tuple[Criterion, ...]
    indicators: tuple[Indicator, ...] = field(default=())

    @property
    def total(self) -> float:
        """The most points a sheet can give."""
        return sum(criterion.max for criterion in self.criteria)
