"""Every environment variable the project reads, in one place; nothing else reads ``os.environ`` for them."""

from __future__ import annotations

import os

# Every environment variable the project reads, in one place (name: meaning).
ENV = {
    "LLC_PROFILE": "profile that 'auto' resolves to (smoke, cpu, gpu, imagenet, tinyimagenet)",
    "LLC_HOME": (
        "default home of data/, runs/ and figures/ of an installed package run outside a checkout (default "
        "~/.cache/llc_lib; core.paths.home states the rule; a checkout's own folder always wins)"
    ),
    "LLC_RUNS_DIR": "folder of checkpoints, codebooks and results (default <home>/runs, core.paths.home)",
    "LLC_DATA_DIR": "folder holding cifar100.npz and the OOD sets (default <home>/data, core.paths.home)",
    "LLC_ARCHIVES": "folder of the official dataset archives that `llc_lib data` builds from instead of downloading",
    "LLC_FIGURES_DIR": (
        "folder the notebooks write figures and JSON to (default <home>/figures, <home>/figures/gpu, "
        "<runs>/smoke/figures)"
    ),
    "LLC_THREADS": (
        "worker threads of the binary decoding and retrieval kernels (default: the CPUs this process may use)"
    ),
    "XDG_CACHE_HOME": "the user's cache folder (freedesktop.org); core.paths.home puts llc_lib/ under it",
}


def env(name: str) -> str | None:
    """The value of one of the project's environment variables (``ENV``), None when unset or empty."""
    if name not in ENV:
        raise KeyError(f"{name} is not one of the project's environment variables {sorted(ENV)}")
    return os.environ.get(name) or None
