"""The sentences that go with every flag: Chinese first, English beside it.

Kept in one place so that the wording is consistent across the ranking page, the exports and the CLI.
"""

from __future__ import annotations

from functools import lru_cache

from .outliers import TestStep
from .types import ACT, INFO, Criterion, Diagnostic, Flag


@lru_cache(maxsize=1 << 12)
def number(value: float, places: int = 2) -> str:
    """A number as a person writes it: 60, 84.8, 83.65 (no trailing zeros).

    Remembered for the last few thousand values: a round's totals and medians repeat on the steps' grid, and
    the result lines write hundreds of thousands of them."""
    text = f"{value:.{places}f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _ask(level: str) -> tuple[str, str]:
    """What the reader should do about an outlier flag of this level."""
    if level == ACT:
        return "，请专家确认或说明理由", "; ask the expert to confirm or explain"
    return "（仅供参考）", " (for information)"


def robust(expert: str, total: float, z: float, median: float, threshold: float, level: str = ACT) -> Flag:
    side, side_en = ("高", "high") if z > 0 else ("低", "low")
    ask, ask_en = _ask(level)
    return Flag("ROBUST",
                f"专家 {expert} 的总分 {number(total)} 明显偏{side}：稳健 z 值 {number(z)}，"
                f"超过阈值 {number(threshold)}（专家组中位数 {number(median)}）{ask}",
                f"Expert {expert}'s total {number(total)} is abnormally {side_en}: robust z {number(z)} beyond "
                f"{number(threshold)} (panel median {number(median)}){ask_en}",
                expert=expert, value=round(float(z), 4), level=level)


def deviation(expert: str, total: float, others_median: float, share: float, threshold: float,
              level: str = ACT) -> Flag:
    """``share``: the distance from the other experts' median in shares of the total's range."""
    side, side_en = ("高", "above") if share > 0 else ("低", "below")
    percent = number(abs(share) * 100, 1)
    ask, ask_en = _ask(level)
    return Flag("DEVIATION",
                f"专家 {expert} 的总分 {number(total)} 比其他专家的中位数 {number(others_median, 1)} {side}出满分的 "
                f"{percent}%（阈值 {number(threshold * 100, 1)}%）{ask}",
                f"Expert {expert}'s total {number(total)} is {percent}% of the full score {side_en} the other "
                f"experts' median {number(others_median, 1)} (threshold {number(threshold * 100, 1)}%){ask_en}",
                expert=expert, value=round(float(share), 4), level=level)


def criterion_robust(expert: str, criterion: Criterion, points: float, z: float, median: float) -> Flag:
    return Flag("ROBUST",
                f"（仅供参考）专家 {expert} 在「{criterion.name}」上给 {number(points)} 分，稳健 z 值 {number(z)}"
                f"（该指标中位数 {number(median)}）",
                f"(for information) Expert {expert} gave {number(points)} on '{criterion.name_en or criterion.id}', "
                f"robust z {number(z)} (criterion median {number(median)})",
                expert=expert, criterion=criterion.id, value=round(float(z), 4), level=INFO)


def small_panel(n: int, min_panel: int, small_below: int) -> Flag:
    """Few sheets: the score is their median (trimmed from ``min_panel`` on) or their plain mean (below it)."""
    if n >= min_panel:
        return Flag("SMALL_PANEL",
                    f"仅有 {n} 份有效评分表（少于 {small_below} 份）：去掉一个最高分和一个最低分后，得分即中位数",
                    f"Only {n} valid sheets (fewer than {small_below}): with the highest and lowest total dropped, "
                    "the score is their median", value=n, level=INFO)
    return Flag("SMALL_PANEL",
                f"仅有 {n} 份有效评分表（少于 {min_panel} 份），不去掉最高分和最低分",
                f"Only {n} valid sheets (fewer than {min_panel}): no highest or lowest total dropped",
                value=n, level=INFO)


def insufficient(n: int, minimum: int) -> Flag:
    return Flag("INSUFFICIENT",
                f"仅有 {n} 份有效评分表（少于 {minimum} 份），不计算得分，需补充评审",
                f"Only {n} valid sheets (fewer than {minimum}): no score; more reviews needed",
                value=n)


def tie(rank: int, others: list[str]) -> Flag:
    return Flag("TIE",
                f"与 {'、'.join(others)} 的得分、优先指标、中位数和平均分均相同，并列第 {rank} 名",
                f"Equal to {', '.join(others)} on score, priority criteria, median and mean: shared rank {rank}",
                value=rank, level=INFO)


def veto(criterion: Criterion, mean: float, fraction: float) -> Flag:
    return _below("VETO", "一票否决指标", "Veto criterion", "低于", "below", criterion, mean, fraction)


def gate(criterion: Criterion, mean: float, fraction: float) -> Flag:
    return _below("GATE", "指标", "Criterion", "低于门槛", "below the gate", criterion, mean, fraction)


def _below(code: str, kind: str, kind_en: str, below: str, below_en: str, criterion: Criterion, mean: float,
           fraction: float) -> Flag:
    """A criterion mean under ``fraction`` of its maximum, said in both languages."""
    limit, share = number(fraction * criterion.max), number(fraction * 100)
    return Flag(code,
                f"{kind}「{criterion.name}」的平均分 {number(mean)} {below} {limit}（满分 {number(criterion.max)} 的 "
                f"{share}%）",
                f"{kind_en} '{criterion.name_en or criterion.id}' averages {number(mean)}, {below_en} {limit} "
                f"({share}% of {number(criterion.max)})",
                criterion=criterion.id, value=round(float(mean), 2))


def low_support(expert: str, n: int, minimum: int) -> Flag:
    return Flag("LOW_SUPPORT",
                f"专家 {expert} 仅评审了 {n} 份申报书（少于 {minimum} 份），其评分偏差的估计不可靠",
                f"Expert {expert} reviewed only {n} applications (fewer than {minimum}): the bias estimate is "
                f"unreliable", expert=expert, value=n, level=INFO)


def complete_design(n_experts: int) -> Flag:
    return Flag("COMPLETE_DESIGN",
                f"每位专家（{n_experts} 位）评审了全部申报书：专家偏差对所有申报书相同，校准不改变排序",
                f"Every expert ({n_experts}) reviewed every application: a bias shifts all applications alike, "
                "so calibration cannot change the order", value=n_experts, level=INFO)


def one_link(expert: str) -> Flag:
    return Flag("ONE_LINK",
                f"专家组之间仅通过专家 {expert} 相连：校准后的比较全凭这一位专家的评分，请谨慎使用",
                f"The groups of experts are linked only through expert {expert}: calibrated comparisons across "
                "them rest on this one expert's scores; use with care", expert=expert, level=ACT)


def diagnostic(step: TestStep, expert: str) -> Diagnostic:
    verdict, verdict_en = ("显著", "significant") if step.significant else ("不显著", "not significant")
    name = "Grubbs G" if step.test == "grubbs" else "Dixon r10"
    return Diagnostic(step.test, expert, step.value, round(step.statistic, 4), round(step.critical, 4), step.n,
                      step.significant,
                      f"{name} 检验（n = {step.n}）：专家 {expert} 的总分 {number(step.value)}，统计量 "
                      f"{step.statistic:.4f}，临界值 {step.critical:.3f}，{verdict}（仅供参考）",
                      f"{name} test (n = {step.n}): expert {expert}'s total {number(step.value)}, statistic "
                      f"{step.statistic:.4f}, critical value {step.critical:.3f}, {verdict_en} (report only)")
