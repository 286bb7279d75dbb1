"""Bar charts drawn on the server as SVG geometry (the template writes the elements).

No script and no inline style: bars are ``<rect>`` elements with presentation attributes
and a class the stylesheet colours, so the strict Content-Security-Policy holds.
"""

from __future__ import annotations

from dataclasses import dataclass

WIDTH = 720
HEIGHT = 180
_TOP = 16
_BOTTOM = 24
_LEFT = 40
_GAP = 0.2


@dataclass(frozen=True)
class Bar:
    """One day's bar and its label."""

    x: float
    y: float
    width: float
    height: float
    value: int
    label: str
    """The day (``YYYY-MM-DD``), shown in the bar's tooltip."""


@dataclass(frozen=True)
class Tick:
    """A label under the axis."""

    x: float
    text: str


@dataclass(frozen=True)
class Chart:
    """A chart's view box, bars, axis labels and scale."""

    title: str
    width: int
    height: int
    bars: list[Bar]
    ticks: list[Tick]
    peak: int
    baseline: float
    left: int


def nice_peak(value: int) -> int:
    """The scale's top: the smallest of 1, 2, 5 times 10^n at or above ``value`` (1 for 0)."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= value:
                return max(1, step * factor)
        step *= 10


def bar_chart(title: str, days: list[str], values: list[int]) -> Chart:
    """Bars of ``values`` (one per day, oldest first), scaled to the chart's height."""
    peak = nice_peak(max(values, default=0))
    plot_w = WIDTH - _LEFT - 8
    plot_h = HEIGHT - _TOP - _BOTTOM
    slot = plot_w / max(1, len(values))
    baseline = float(_TOP + plot_h)
    bars = []
    for i, (day, value) in enumerate(zip(days, values, strict=True)):
        height = plot_h * value / peak
        bars.append(
            Bar(
                x=round(_LEFT + i * slot + slot * _GAP / 2, 2),
                y=round(baseline - height, 2),
                width=round(slot * (1 - _GAP), 2),
                height=round(height, 2),
                value=value,
                label=day,
            )
        )
    ticks = [
        Tick(x=round(_LEFT + i * slot + slot / 2, 2), text=days[i][5:])
        for i in range(0, len(days), 7)
    ]
    return Chart(title, WIDTH, HEIGHT, bars, ticks, peak, baseline, _LEFT)
