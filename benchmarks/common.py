"""Shared by the benchmark scripts."""

from __future__ import annotations

import time


def best_of(fn, repeats: int):
    """(shortest wall time in seconds of ``repeats`` calls of fn(), the last call's result)."""
    best, out = float("inf"), None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out
