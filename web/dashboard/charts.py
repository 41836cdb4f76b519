"""SVG charts drawn on the server: no JavaScript library, no CDN, and they print and screenshot as they look.

Each function takes plain labels and numbers and returns markup safe to put in a template.
"""
from __future__ import annotations

from markupsafe import Markup, escape

COLORS = ["#0b5cad", "#2e9d5b", "#e0a100", "#d2352f", "#7b4fb3", "#1f9bb4"]


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000):
        if value <= step * 5:
            return step * 5 if value > step * 4 else max(step * (int(value / step) + 1), value)
    return value * 1.1


def bar_chart(items: list[tuple[str, float | None]], *, title: str, unit: str = "", max_value: float | None = None,
              fmt: str = "{:g}") -> Markup:
    """Horizontal bars, one per item, with the value at the bar's end (labels stay readable on a phone)."""
    row, left, width = 26, 130, 640
    height = max(1, len(items)) * row + 30
    top = max_value if max_value is not None else _nice_max(max((v for _, v in items if v is not None), default=0))
    scale = (width - left - 70) / (top or 1)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="{escape(title)}" class="bar-chart"><title>{escape(title)}</title>']
    for i, (label, value) in enumerate(items):
        y = 10 + i * row
        parts.append(f'<text x="{left - 8}" y="{y + 16}" text-anchor="end" font-size="13" fill="#1d2430">'
                     f'{escape(label[:12])}</text>')
        if value is None:  # nothing to measure (e.g. no windows scheduled): say so instead of drawing a zero
            parts.append(f'<text x="{left + 6}" y="{y + 16}" font-size="12" fill="#5b6474">—</text>')
            continue
        w = max(0.0, value * scale)
        color = COLORS[i % len(COLORS)] if len(items) <= 8 else COLORS[0]
        parts.append(f'<rect x="{left}" y="{y + 3}" width="{w:.1f}" height="{row - 8}" rx="3" fill="{color}">'
                     f'<title>{escape(label)}: {escape(fmt.format(value))}{escape(unit)}</title></rect>')
        parts.append(f'<text x="{left + w + 6:.1f}" y="{y + 16}" font-size="12" fill="#5b6474">'
                     f'{escape(fmt.format(value))}{escape(unit)}</text>')
    if not items:
        parts.append(f'<text x="{width / 2}" y="24" text-anchor="middle" font-size="13" fill="#5b6474">—</text>')
    parts.append(f'<line x1="{left}" y1="6" x2="{left}" y2="{height - 16}" stroke="#aab3c2"/>')
    parts.append("</svg>")
    return Markup("".join(parts))


def line_chart(labels: list[str], series: list[tuple[str, list[float | None]]], *, title: str) -> Markup:
    """A few series over the same x labels (weeks); a None value leaves a gap."""
    width, height, left, right, top, bottom = 640, 260, 44, 16, 30, 34
    values = [v for _, vs in series for v in vs if v is not None]
    ymax = _nice_max(max(values, default=0))
    if ymax <= 40:  # four grid steps of whole numbers for small counts
        ymax = 4 * -(-ymax // 4)
    n = max(1, len(labels) - 1)
    sx = (width - left - right) / n
    sy = (height - top - bottom) / (ymax or 1)

    def xy(i, v):
        return left + i * sx, height - bottom - v * sy

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="{escape(title)}" class="line-chart"><title>{escape(title)}</title>']
    for k in range(5):
        v = ymax * k / 4
        y = height - bottom - v * sy
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="#e3e7ee"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" fill="#5b6474">'
                     f'{v:g}</text>')
    for i, label in enumerate(labels):
        x = left + i * sx
        parts.append(f'<text x="{x:.1f}" y="{height - 12}" text-anchor="middle" font-size="11" fill="#5b6474">'
                     f'{escape(label)}</text>')
    for s, (name, vs) in enumerate(series):
        color = COLORS[s % len(COLORS)]
        points = [xy(i, v) for i, v in enumerate(vs) if v is not None]
        if len(points) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
            parts.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2.5"/>')
        for (x, y), v in zip(points, [v for v in vs if v is not None]):
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{color}"><title>{escape(name)}: {v:g}'
                         f'</title></circle>')
        parts.append(f'<rect x="{left + s * 150}" y="6" width="12" height="12" fill="{color}"/>'
                     f'<text x="{left + s * 150 + 16}" y="16" font-size="12" fill="#1d2430">{escape(name)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
