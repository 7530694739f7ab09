"""Every environment variable the project reads, in one place; nothing else reads ``os.environ`` for them."""

from __future__ import annotations

import os

# Every environment variable the project reads, in one place (name: meaning).
ENV = {
    "LLC_PROFILE": "profile that 'auto' resolves to (smoke, cpu, gpu, imagenet, tinyimagenet)",
    "LLC_RUNS_DIR": "folder of checkpoints, codebooks and results (default <repo>/runs)",
    "LLC_DATA_DIR": "folder holding cifar100.npz and the OOD sets (default <repo>/data)",
    "LLC_ARCHIVES": "folder of the official dataset archives that `llc_lib data` builds from instead of downloading",
    "LLC_FIGURES_DIR": (
        "folder the notebooks write figures and JSON to (default figures/, figures/gpu/, runs/smoke/figures)"
    ),
    "LLC_THREADS": (
        "worker threads of the binary decoding and retrieval kernels (default: the CPUs this process may use)"
    ),
}


def env(name: str) -> str | None:
    """The value of one of the project's environment variables (``ENV``), None when unset or empty."""
    if name not in ENV:
        raise KeyError(f"{name} is not one of the project's environment variables {sorted(ENV)}")
    return os.environ.get(name) or None
