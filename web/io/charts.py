"""Small charts drawn on the server as inline SVG: no script, so the page keeps its 'self'-only CSP, and a
screen reader gets the figures from the table beside it (the SVG carries a title and per-bar titles)."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

WIDTH, BAR, GAP, GROUP_GAP, HEIGHT, LABEL = 12, 10, 2, 18, 80, 16


def grouped_bars(title: str, groups: Sequence[tuple[str, float | None, Sequence[tuple[str, float | None]]]]) -> str:
    """An SVG of bar groups, each scaled to its own largest figure or target (so 万元 and counts sit side by
    side): ``groups`` are (label, target or None, [(bar label, value or None)]); a missing value is no bar and
    the target is a dashed line."""
    parts, x = [], 0
    for label, target, bars in groups:
        top = max([value for _, value in bars if value is not None] + ([target] if target else []) + [1e-9])
        start = x
        for bar_label, value in bars:
            if value is not None:
                height = HEIGHT * value / top
                parts.append(f'<rect x="{x}" y="{HEIGHT - height:.1f}" width="{BAR}" height="{height:.1f}" '
                             f'class="bar"><title>{escape(label)} {escape(bar_label)}: {value:g}</title></rect>')
            x += BAR + GAP
        if target:
            level = HEIGHT * (1 - target / top)
            parts.append(f'<line x1="{start - 1}" x2="{x - GAP + 1}" y1="{level:.1f}" y2="{level:.1f}" '
                         f'class="target"><title>{escape(label)}: {target:g}</title></line>')
        parts.append(f'<text x="{start}" y="{HEIGHT + LABEL - 4}" class="label">{escape(label)}</text>')
        x += GROUP_GAP + 40
    return (f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{escape(title)}" class="chart" '
            f'viewBox="0 0 {max(x, 1)} {HEIGHT + LABEL}" width="{max(x, 1)}" height="{HEIGHT + LABEL}">'
            f'<title>{escape(title)}</title>{"".join(parts)}</svg>')
