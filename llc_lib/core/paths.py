"""Where the project's folders are: the checkout the package was imported from (``REPO_ROOT``, when it is one),
the home of data/, runs/ and figures/ (``home``), and the committed trained weights (``committed_weights``).
Each is computed on call from the file system and the environment; nothing is cached."""

from __future__ import annotations

import re
from pathlib import Path

from .env import env
from .errors import UserError

REPO_ROOT = Path(__file__).resolve().parents[2]
"""The folder that holds the package: the checkout (docs/, notebooks/, weights/) when ``is_checkout(REPO_ROOT)``,
else the install's folder (site-packages or a ``pip install --target`` folder), which is no place for data."""


class NotACheckout(UserError):
    """What only a checkout of the project's repository holds (the committed weights) was asked for, and the
    package runs from an install."""


def is_checkout(folder: Path | str) -> bool:
    """Whether ``folder`` is a checkout of this project: it holds a pyproject.toml whose project name is llc_lib
    (``llc-lib`` too: names compare as pip normalises them) and a ``.git`` (folder or worktree file) or a
    ``notebooks/`` folder."""
    folder = Path(folder)
    try:
        text = (folder / "pyproject.toml").read_text()
    except (OSError, UnicodeDecodeError):
        return False
    names = re.findall(r"""^name\s*=\s*["']([^"']+)["']""", text, re.M)
    if not any(re.sub(r"[-_.]+", "-", n).lower() == "llc-lib" for n in names):
        return False
    return (folder / ".git").exists() or (folder / "notebooks").is_dir()


def home() -> Path:
    """The folder that data/, runs/ and figures/ go under by default (each has its own variable that wins over
    it: LLC_DATA_DIR, LLC_RUNS_DIR, LLC_FIGURES_DIR). The first that applies:

    1. ``REPO_ROOT`` when the package is imported from a checkout (``is_checkout``): the project folder, which
       the Makefile and the committed figures assume; LLC_HOME is not read.
    2. ``$LLC_HOME``.
    3. The current working directory when it is a checkout (an installed package run from the project folder).
    4. ``$XDG_CACHE_HOME/llc_lib`` (an absolute XDG_CACHE_HOME only, as the XDG spec says), else
       ``~/.cache/llc_lib``.

    Returns an absolute path; the folder is not created."""
    if is_checkout(REPO_ROOT):
        return REPO_ROOT
    if env("LLC_HOME"):
        return Path(env("LLC_HOME")).expanduser().resolve()
    cwd = Path.cwd()
    if is_checkout(cwd):
        return cwd
    cache = env("XDG_CACHE_HOME")
    base = Path(cache) if cache and Path(cache).is_absolute() else Path.home() / ".cache"
    return base / "llc_lib"


def committed_weights(profile: str) -> Path:
    """``<checkout>/weights/<profile>``: the folder of a profile's committed trained weights (it may not exist:
    only some profiles have them; ``weights --export`` writes it). NotACheckout (a UserError, one line) when the
    package does not run from a checkout, where there are none."""
    if not is_checkout(REPO_ROOT):
        raise NotACheckout(
            f"the committed weights are in the project's repository (weights/{profile}), not in an installed "
            f"package; clone it, or pass a checkpoint path"
        )
    return REPO_ROOT / "weights" / profile
