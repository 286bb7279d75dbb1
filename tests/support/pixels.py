"""Measures over decoded pixels (``png.Image``): what a redaction check asserts on.

A box is ``(left, top, width, height)`` in image pixels.
"""

from __future__ import annotations

import itertools

from tests.support.png import Image

Box = tuple[int, int, int, int]
"""``(left, top, width, height)``."""


def luma(pixel: tuple[int, int, int]) -> float:
    """Perceived brightness of an RGB pixel (ITU-R BT.601 weights), 0 to 255."""
    r, g, b = pixel
    return 0.299 * r + 0.587 * g + 0.114 * b


def variance(image: Image, box: Box) -> float:
    """Variance of the luma over the box: how much its brightness varies."""
    values = [luma(p) for p in image.region(*box)]
    mean = sum(values) / len(values)
    return sum((v - mean) ** 2 for v in values) / len(values)


def sharpest_step(image: Image, box: Box) -> float:
    """Largest luma step between neighbouring pixels: text strokes have hard edges."""
    left, top, width, height = box
    lumas = [
        [luma(image.pixel(x, y)) for x in range(left, left + width)]
        for y in range(top, top + height)
    ]
    steps = [abs(row[i] - row[i + 1]) for row in lumas for i in range(width - 1)]
    steps += [
        abs(a - b)
        for upper, lower in itertools.pairwise(lumas)
        for a, b in zip(upper, lower, strict=True)
    ]
    return max(steps)


def spread(image: Image, box: Box) -> int:
    """Largest difference of any channel between any two pixels of the box."""
    pixels = image.region(*box)
    return max(max(p[c] for p in pixels) - min(p[c] for p in pixels) for c in range(3))


def max_difference(a: Image, b: Image, box: Box) -> int:
    """Largest difference of any channel between the same pixel of two images in the box."""
    return max(
        abs(pa[c] - pb[c])
        for pa, pb in zip(a.region(*box), b.region(*box), strict=True)
        for c in range(3)
    )


def inset(box: Box, by: int) -> Box:
    """The box shrunk by ``by`` pixels on every side."""
    left, top, width, height = box
    return left + by, top + by, width - 2 * by, height - 2 * by
