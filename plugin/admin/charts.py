"""Charts as server-rendered SVG: no script, no CDN, readable by assistive technology.

Each chart is an <svg role="img"> labelled by its own <title> and <desc>, every bar has a
<title> with its exact value (a tooltip, and what a screen reader's "explore" mode reads), and
the page shows the same numbers as a table (`Figure.table_rows`). Colours come from CSS classes
(admin.css), so a high-contrast or dark theme restyles them; the values are also printed above
the bars, so no colour carries meaning alone. All text is escaped (markupsafe).
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from markupsafe import Markup, escape

_ids = itertools.count(1)

WIDTH, HEIGHT = 640, 240
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 44, 12, 24, 56


@dataclass
class Bar:
    label: str          # under the bar (short)
    value: float        # bar height, in the chart's unit
    text: str           # the value as printed (formatted for the locale)
    detail: str = ""    # extra words for the tooltip / table


@dataclass
class Figure:
    id: str
    title: str
    desc: str
    svg: Markup
    table_head: list[str] = field(default_factory=list)
    table_rows: list[list[str]] = field(default_factory=list)


def bar_chart(title: str, desc: str, bars: list[Bar], *, x_label: str, y_label: str, max_value: float | None = None,
              table_head: list[str] | None = None, table_rows: list[list[str]] | None = None,
              empty_text: str = "") -> Figure:
    """A vertical bar chart. `max_value` fixes the scale (1.0 for shares); else the largest bar."""
    chart_id = f"bd-chart-{next(_ids)}"
    top = max_value if max_value is not None else max((b.value for b in bars), default=0)
    top = top or 1
    plot_w = WIDTH - MARGIN_LEFT - MARGIN_RIGHT
    plot_h = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
    slot = plot_w / max(len(bars), 1)
    bar_w = max(4.0, slot * 0.7)
    parts = [
        f'<svg class="bd-svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" width="100%" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(desc)}</desc>',
        # Axes and three grid lines.
        f'<g class="bd-axis" aria-hidden="true">'
        f'<line x1="{MARGIN_LEFT}" y1="{MARGIN_TOP + plot_h}" x2="{WIDTH - MARGIN_RIGHT}" y2="{MARGIN_TOP + plot_h}"/>'
        f'<line x1="{MARGIN_LEFT}" y1="{MARGIN_TOP}" x2="{MARGIN_LEFT}" y2="{MARGIN_TOP + plot_h}"/>',
    ]
    for fraction in (0.5, 1.0):
        y = MARGIN_TOP + plot_h * (1 - fraction)
        value = top * fraction
        label = f"{value * 100:.0f}%" if max_value == 1.0 else (f"{value:.0f}" if value >= 10 else f"{value:.1f}")
        parts.append(f'<line class="bd-grid" x1="{MARGIN_LEFT}" y1="{y:.1f}" x2="{WIDTH - MARGIN_RIGHT}" y2="{y:.1f}"/>'
                     f'<text x="{MARGIN_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{escape(label)}</text>')
    parts.append(f'<text x="{MARGIN_LEFT + plot_w / 2:.1f}" y="{HEIGHT - 6}" text-anchor="middle">{escape(x_label)}</text>'
                 f'<text x="12" y="{MARGIN_TOP + plot_h / 2:.1f}" text-anchor="middle" '
                 f'transform="rotate(-90 12 {MARGIN_TOP + plot_h / 2:.1f})">{escape(y_label)}</text></g>')
    if not bars or all(b.value == 0 for b in bars):
        parts.append(f'<text class="bd-empty" x="{WIDTH / 2:.0f}" y="{MARGIN_TOP + plot_h / 2:.0f}" '
                     f'text-anchor="middle">{escape(empty_text)}</text>')
    parts.append('<g class="bd-bars">')
    for index, bar in enumerate(bars):
        height = plot_h * min(max(bar.value, 0) / top, 1.0)
        x = MARGIN_LEFT + slot * index + (slot - bar_w) / 2
        y = MARGIN_TOP + plot_h - height
        tip = f"{bar.label}: {bar.text}" + (f" ({bar.detail})" if bar.detail else "")
        parts.append(
            f'<g class="bd-bar"><title>{escape(tip)}</title>'
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{max(height, 0.5):.1f}" rx="2"/>'
            f'<text class="bd-value" x="{x + bar_w / 2:.1f}" y="{y - 4:.1f}" text-anchor="middle">{escape(bar.text)}</text>'
            f'<text class="bd-label" x="{x + bar_w / 2:.1f}" y="{MARGIN_TOP + plot_h + 14}" text-anchor="middle">'
            f'{escape(bar.label)}</text></g>')
    parts.append("</g></svg>")
    return Figure(chart_id, title, desc, Markup("".join(parts)), list(table_head or []),
                  [list(map(str, row)) for row in (table_rows or [])])
