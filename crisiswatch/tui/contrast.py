"""Every cell readable in every theme: text is nudged until it has 4.5:1 contrast with its background.

Themes are designed for a few widgets; the dashboard puts warning-orange keyword
highlights on tinted rows, error-red severity labels on panels and muted ages on
cursor bars, and in some themes those pairs fall to 1.4:1. Rather than tuning
each colour for each of nineteen themes (and again when Textual adds one), a
line filter — the hook Textual itself uses for NO_COLOR — looks at each
segment's final colours and, where the WCAG contrast ratio is below
``MIN_CONTRAST``, moves the text colour towards black or white (whichever the
background contrasts with) just far enough. Colours that already read are left
exactly as the theme drew them. Results are cached per (style, background), so
this costs a dictionary lookup per segment.
"""

from __future__ import annotations

from functools import lru_cache

from rich.color import Color as RichColor
from rich.segment import Segment
from rich.style import Style
from textual.color import Color
from textual.filter import LineFilter

MIN_CONTRAST = 4.5
"""WCAG AA for body text; the dashboard holds all text to it, secondary text included."""
DIM_FACTOR = 0.5


def _channel(value: int) -> float:
    c = value / 255
    return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4


def luminance(rgb: tuple[int, int, int]) -> float:
    r, g, b = rgb
    return 0.2126 * _channel(r) + 0.7152 * _channel(g) + 0.0722 * _channel(b)


def contrast_ratio(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    """The WCAG 2 contrast ratio of two sRGB colours (1.0 to 21.0)."""
    la, lb = luminance(a), luminance(b)
    hi, lo = max(la, lb), min(la, lb)
    return (hi + 0.05) / (lo + 0.05)


def _blend(a: tuple[int, int, int], b: tuple[int, int, int], t: float) -> tuple[int, int, int]:
    return (round(a[0] + (b[0] - a[0]) * t), round(a[1] + (b[1] - a[1]) * t), round(a[2] + (b[2] - a[2]) * t))


def readable(fg: tuple[int, int, int], bg: tuple[int, int, int],
             minimum: float = MIN_CONTRAST) -> tuple[int, int, int]:
    """``fg`` itself if it reads on ``bg``, else the nearest colour towards black or white that does."""
    if contrast_ratio(fg, bg) >= minimum:
        return fg
    black, white = (0, 0, 0), (255, 255, 255)
    target = white if contrast_ratio(white, bg) >= contrast_ratio(black, bg) else black
    lo, hi = 0.0, 1.0
    for _ in range(12):
        mid = (lo + hi) / 2
        if contrast_ratio(_blend(fg, target, mid), bg) >= minimum:
            hi = mid
        else:
            lo = mid
    return _blend(fg, target, hi)


def _rgb(color: RichColor | None, default: tuple[int, int, int]) -> tuple[int, int, int]:
    if color is None or color.is_default:
        return default
    triplet = color.get_truecolor()
    return (triplet.red, triplet.green, triplet.blue)


@lru_cache(maxsize=8192)
def readable_style(style: Style, background: tuple[int, int, int]) -> Style:
    if style.color is None and not style.reverse:
        return style  # the terminal's default colour: nothing to measure
    fg = _rgb(style.color, (255, 255, 255))
    bg = _rgb(style.bgcolor, background)
    if style.reverse:
        fg, bg = bg, fg
    dimmed = bool(style.dim)
    if dimmed:
        fg = _blend(bg, fg, DIM_FACTOR)
    fixed = readable(fg, bg)
    if fixed == fg and not dimmed:
        return style
    new = RichColor.from_rgb(*fixed)
    if style.reverse:
        # Reverse video draws the background colour as the text: that is the one to move.
        return style + Style(bgcolor=new, dim=False)
    return style + Style(color=new, dim=False)


class ContrastFilter(LineFilter):
    """Raise every text segment to ``MIN_CONTRAST`` against the background it is drawn on."""

    def apply(self, segments: list[Segment], background: Color) -> list[Segment]:
        base = (background.r, background.g, background.b)
        out: list[Segment] = []
        for segment in segments:
            text, style, control = segment
            if style is None or control or not text.strip():
                out.append(segment)
                continue
            fixed = readable_style(style, base)
            out.append(segment if fixed is style else Segment(text, fixed, control))
        return out
