"""Charts as inline SVG rendered on the server: no script, no CDN, readable on a phone.

Every mark carries a <title> (the browser shows it as a tooltip) and the charts
sit next to tables with the same numbers, so nothing is only in the picture.
"""
from __future__ import annotations

import math

from markupsafe import Markup, escape

#: drawing sizes in SVG units; CSS scales a picture to the width of its card (and enlarges the text on phones)
WIDTH = 480
SERIES_HEIGHT = 240
BAR_WIDTH = 600
BAR_ROW = 38


def nice_max(value: float) -> float:
    """Round *value* up to 1, 2 or 5 times a power of ten (at least 1) for the axis top."""
    if value <= 1:
        return 1
    magnitude = 1
    while magnitude * 10 <= value:
        magnitude *= 10
    for step in (1, 2, 5, 10):
        if step * magnitude >= value:
            return step * magnitude
    return 10 * magnitude  # pragma: no cover


def _num(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def series_chart(points: list[tuple[str, float]], label: str, unit: str = "", kind: str = "bars") -> Markup:
    """Draw a time series (bars, or a line for kind="line") of (period label, value) points."""
    left, right, top, bottom = 58, 12, 14, 36
    plot_w, plot_h = WIDTH - left - right, SERIES_HEIGHT - top - bottom
    top_value = nice_max(max((v for _, v in points), default=0))
    # Counts: whole-number steps (up to 5 one per number; 1×/5×10ⁿ in fifths, 2×10ⁿ in quarters).
    ticks = int(top_value) if top_value <= 5 else (4 if str(int(top_value))[0] == "2" else 5)
    parts = [f'<svg class="chart chart-series" viewBox="0 0 {WIDTH} {SERIES_HEIGHT}" role="img" '
             f'aria-label="{escape(label)}" preserveAspectRatio="xMidYMid meet">']
    for i in range(ticks + 1):  # grid lines and the y axis
        value = top_value * i / ticks
        y = top + plot_h - plot_h * i / ticks
        parts.append(f'<line class="c-grid" x1="{left}" x2="{WIDTH - right}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(f'<text class="c-axis" x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{_num(value)}</text>')
    if not points:
        parts.append(f'<text class="c-axis" x="{left + plot_w / 2}" y="{top + plot_h / 2}" text-anchor="middle">'
                     '没有数据</text></svg>')
        return Markup("".join(parts))
    step = plot_w / len(points)
    coords = []
    for i, (name, value) in enumerate(points):
        x = left + i * step
        height = plot_h * value / top_value
        y = top + plot_h - height
        tip = f"{escape(name)}：{_num(value)}{escape(unit)}"
        if kind == "line":
            coords.append((x + step / 2, y))
            parts.append(f'<circle class="c-dot" cx="{x + step / 2:.1f}" cy="{y:.1f}" r="{3 if len(points) < 60 else 1.5}">'
                         f'<title>{tip}</title></circle>')
        else:
            gap = min(step * 0.2, 4)
            parts.append(f'<rect class="c-bar" x="{x + gap / 2:.1f}" y="{y:.1f}" width="{max(step - gap, 0.5):.1f}" '
                         f'height="{max(height, 0):.1f}"><title>{tip}</title></rect>')
    if kind == "line" and len(coords) > 1:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
        parts.insert(len(parts) - len(points), f'<polyline class="c-line" points="{path}"/>')
    # As many time-axis labels as fit without overlapping at the phone's larger text (19 units, see app.css):
    # digits about 0.55 em, Chinese characters 1 em; first and last always.
    widest = max(sum(19 if ord(ch) > 0x2E80 else 10.5 for ch in name) for name, _ in points) + 14
    fit = max(2, int(plot_w // widest))
    every = max(1, math.ceil((len(points) - 1) / (fit - 1))) if len(points) > fit else 1
    shown = sorted({0, len(points) - 1, *range(0, len(points), every)})
    for i in shown:
        if i != len(points) - 1 and len(points) - 1 - i < every:
            continue  # too close to the last label
        x = left + i * step + step / 2
        anchor = "start" if i == 0 and len(points) > 1 else ("end" if i == len(points) - 1 and len(points) > 1
                                                             else "middle")
        if anchor == "start":
            x = left
        elif anchor == "end":
            x = WIDTH - right
        parts.append(f'<text class="c-axis" x="{x:.1f}" y="{SERIES_HEIGHT - 12}" text-anchor="{anchor}">'
                     f'{escape(points[i][0])}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def bar_chart(rows: list[tuple[str, float, str | None, str]], label: str, maximum: float | None = None) -> Markup:
    """Draw horizontal bars of (name, value, link or None, value text); linked bars drill down."""
    name_w, value_w = 230, 90
    height = max(len(rows), 1) * BAR_ROW + 8
    top_value = maximum if maximum is not None else nice_max(max((v for _, v, _, _ in rows), default=0))
    plot_w = BAR_WIDTH - name_w - value_w
    parts = [f'<svg class="chart chart-bars" viewBox="0 0 {BAR_WIDTH} {height}" role="img" '
             f'aria-label="{escape(label)}" preserveAspectRatio="xMidYMin meet">']
    if not rows:
        parts.append(f'<text class="c-axis" x="{BAR_WIDTH / 2}" y="22" text-anchor="middle">没有下级单位</text>')
    for i, (name, value, link, text) in enumerate(rows):
        y = 4 + i * BAR_ROW
        width = plot_w * min(value, top_value) / top_value if top_value else 0
        shown = name if len(name) <= 9 else name[:8] + "…"
        row = (f'<text class="c-name" x="{name_w - 8}" y="{y + 24}" text-anchor="end">{escape(shown)}</text>'
               f'<rect class="c-track" x="{name_w}" y="{y + 9}" width="{plot_w}" height="20" rx="3"/>'
               f'<rect class="c-bar" x="{name_w}" y="{y + 9}" width="{width:.1f}" height="20" rx="3"/>'
               f'<text class="c-value" x="{name_w + plot_w + 8}" y="{y + 24}">{escape(text)}</text>'
               f'<title>{escape(name)}：{escape(text)}</title>')
        if link:
            parts.append(f'<a href="{escape(link)}" class="c-drill"><g>{row}</g></a>')
        else:
            parts.append(f"<g>{row}</g>")
    parts.append("</svg>")
    return Markup("".join(parts))
