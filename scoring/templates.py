"""The default score templates of the Shanghai Manufacturing Innovation Center call (DESIGN §7).

Derived from the notice 沪经信技〔2020〕421号: the construction-plan sections become the selection-review
criteria; the site-inspection and evaluation criteria follow its 组建和运行 and 考核评估 sections.
Organizers may edit them; these are only the starting point of a new round.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .types import Criterion, Indicator, Template

SELECTION_REVIEW = Template(
    kind="selection_review",
    name="遴选综合评审",
    name_en="Selection review",
    criteria=(
        Criterion("necessity", "建设必要性与重大需求", "Necessity and major demand", 10, group="plan"),
        Criterion("goals", "中长期目标与任务", "Mid/long-term goals and tasks", 10, group="plan"),
        Criterion("technical_route", "技术路线、先进性与可行性", "Technical route, advancement and feasibility",
                  20, group="technical", priority=1),
        Criterion("ip_and_standards", "知识产权与标准", "IP and standards", 10, group="technical"),
        Criterion("market", "成果商业化与市场前景", "Commercialization and market prospects", 15,
                  group="technical", priority=2),
        Criterion("foundation", "基础与优势（团队、联盟、设施）", "Foundation and strengths (teams, alliance, facilities)",
                  15, group="foundation"),
        Criterion("organization", "组织与管理机制", "Organization and management mechanism", 10, group="management"),
        Criterion("investment", "研发投入计划", "R&D investment plan", 5, group="management"),
        Criterion("risks", "风险分析与对策", "Risk analysis and countermeasures", 5, group="management"),
    ),
)

SITE_INSPECTION = Template(
    kind="site_inspection",
    name="现场考察",
    name_en="Site inspection",
    criteria=(
        Criterion("authenticity", "申报材料真实性", "Authenticity of the material", 20, veto=True,
                  comment_required=True),
        Criterion("facilities", "场地设施与仪器设备", "Facilities and equipment", 20, priority=2),
        Criterion("team", "研发团队到位情况", "R&D team in place", 20, priority=1),
        Criterion("mechanism", "运行与治理机制", "Operating and governance mechanism", 15),
        Criterion("collaboration", "成员单位协同情况", "Member collaboration", 15),
        Criterion("funding", "资金到位情况", "Funding in place", 10),
    ),
)

_EVALUATION_CRITERIA = (
    Criterion("results", "技术成果（数量与质量）", "Technical results (quantity and quality)", 30, priority=1),
    Criterion("transfer", "成果转移扩散与产业化", "Transfer, diffusion and industrialization", 25, priority=2),
    Criterion("industry_support", "对行业的支撑作用", "Support to the industry", 20),
    Criterion("talent", "人才队伍建设", "Talent team", 15),
    Criterion("international", "国际交流与合作", "International cooperation", 10),
)

_EVALUATION_INDICATORS = (
    Indicator("commissioned_contracts", "委托研发合同数", "Commissioned R&D contracts", "项"),
    Indicator("commissioned_value", "委托研发合同金额", "Commissioned R&D contract value", "万元"),
    Indicator("market_transactions", "技术市场交易额", "Technology-market transaction value", "万元"),
    Indicator("incubated_companies", "孵化企业数", "Incubated companies", "家"),
)

ANNUAL = Template("annual", "年度评估", "Annual evaluation", _EVALUATION_CRITERIA, _EVALUATION_INDICATORS)
TRIENNIAL = Template("triennial", "三年考核", "Triennial assessment", _EVALUATION_CRITERIA, _EVALUATION_INDICATORS)

DEFAULT_TEMPLATES: dict[str, Template] = {
    template.kind: template for template in (SELECTION_REVIEW, SITE_INSPECTION, ANNUAL, TRIENNIAL)
}


TOTAL_POINTS = 100
_TOLERANCE = 1e-9


@dataclass(frozen=True)
class TemplateIssue:
    """One rule a template breaks, as a code with the values it names, so that a caller words it in its reader's
    language; ``str()`` gives the English line the command line and the JSON problems show.

    ``index`` and ``criterion`` name the criterion at fault (its position and id); both are unset for a rule of
    the whole template (``no_criteria``, ``maxima_sum``). ``values`` holds the figures the rule names.
    """

    code: str
    index: int | None = None
    criterion: object = None
    values: tuple[tuple[str, object], ...] = ()

    def value(self, name: str) -> object:
        """One of the figures the rule names."""
        return dict(self.values)[name]

    def __str__(self) -> str:
        where = "template" if self.index is None else f"template.criteria[{self.index}]"
        if self.index is not None and self.code != "id_missing":
            where += f" ({self.criterion})"
        return f"{where}: {ISSUE_TEXTS[self.code].format(**dict(self.values))}"


ISSUE_TEXTS = {
    "no_criteria": "has no criteria",
    "id_missing": "id: must be a non-empty string",
    "id_duplicate": "id: duplicate criterion id {id!r}",
    "max_not_positive": "max: must be a positive number, got {max!r}",
    "step_not_positive": "step: must be a positive number, got {step!r}",
    "step_not_dividing": "step: {step:g} does not divide the maximum {max:g}",
    "priority_negative": "priority: must be a whole number ≥ 0, got {priority!r}",
    "maxima_sum": "the criterion maxima sum to {total:g}, not {expected}",
}
"""The codes of :class:`TemplateIssue` and their English wording (callers with a catalog word them themselves)."""


def template_issues(template: Template) -> list[TemplateIssue]:
    """Every rule a template breaks, each naming its criterion: ids unique, maxima positive and summing to 100,
    steps positive and dividing their maxima, priorities not negative.

    Examples
    --------
    >>> template_issues(SELECTION_REVIEW)
    []
    >>> broken = Template("custom", "x", "x", (Criterion("a", "A", "A", 60, step=7),))
    >>> for issue in template_issues(broken):
    ...     print(issue.code, issue)
    step_not_dividing template.criteria[0] (a): step: 7 does not divide the maximum 60
    maxima_sum template: the criterion maxima sum to 60, not 100
    """
    issues: list[TemplateIssue] = []
    if not template.criteria:
        issues.append(TemplateIssue("no_criteria"))
    seen: set[str] = set()
    for index, criterion in enumerate(template.criteria):
        if not isinstance(criterion.id, str) or not criterion.id:
            issues.append(TemplateIssue("id_missing", index, criterion.id))
        elif criterion.id in seen:
            issues.append(TemplateIssue("id_duplicate", index, criterion.id, (("id", criterion.id),)))
        seen.add(criterion.id)
        issues.extend(_criterion_issues(index, criterion))
    maxima = [criterion.max for criterion in template.criteria if is_number(criterion.max)]
    if len(maxima) == len(template.criteria) and template.criteria and abs(sum(maxima) - TOTAL_POINTS) > 1e-6:
        issues.append(TemplateIssue("maxima_sum", values=(("total", sum(maxima)), ("expected", TOTAL_POINTS))))
    return issues


def validate_template(template: Template) -> list[str]:
    """Every rule a template breaks, as English lines naming the criterion (see :func:`template_issues`).

    Examples
    --------
    >>> validate_template(SELECTION_REVIEW)
    []
    """
    return [str(issue) for issue in template_issues(template)]


def _criterion_issues(index: int, criterion: Criterion) -> list[TemplateIssue]:
    """The rules one criterion breaks on its own."""
    issues = []

    def broken(code: str, **values: object) -> None:
        issues.append(TemplateIssue(code, index, criterion.id, tuple(values.items())))

    if not is_number(criterion.max) or criterion.max <= 0:
        broken("max_not_positive", max=criterion.max)
    if not is_number(criterion.step) or criterion.step <= 0:
        broken("step_not_positive", step=criterion.step)
    elif is_number(criterion.max) and not is_multiple(criterion.max, criterion.step):
        broken("step_not_dividing", step=criterion.step, max=criterion.max)
    if not isinstance(criterion.priority, int) or isinstance(criterion.priority, bool) or criterion.priority < 0:
        broken("priority_negative", priority=criterion.priority)
    return issues


def is_number(value: object) -> bool:
    """A finite int or float, not a bool."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def is_multiple(value: float, step: float) -> bool:
    """Whether ``value`` is a whole multiple of ``step`` (up to float noise: 7.5 on 0.5 yes, 7.3 no)."""
    ratio = value / step
    return abs(ratio - round(ratio)) <= _TOLERANCE * max(1.0, abs(ratio))
