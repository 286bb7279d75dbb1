"""The event loop of the long-running processes (``serve``, ``worker``, ``up``).

uvloop: every request crosses many loop callbacks (HTTP, Redis, the Playwright driver's
pipe), and uvloop runs them cheaper than the default loop: a click round trip measured
0.6 - 1 ms shorter with it (two ``serve`` processes side by side, see docs/benchmarks.md).
"""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any, TypeVar

import uvloop

T = TypeVar("T")


def run(main: Coroutine[Any, Any, T]) -> T:
    """Run ``main`` to completion on a fresh uvloop event loop."""
    return uvloop.run(main)
