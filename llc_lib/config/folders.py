"""Where a profile's runs, results and figures go: the runs folder, the results folder of the profile as defined or
of a variant (a profile with overrides), and the figures folder; only the profile as defined publishes."""

from __future__ import annotations

from pathlib import Path

from ..core.env import env
from ..core.paths import REPO_ROOT
from .profiles import Profile


def runs_root(profile: Profile, base: Path | str | None = None) -> Path:
    """``<base>/<profile>``, base = the given folder, else ``$LLC_RUNS_DIR``, else ``<repo>/runs``: checkpoints
    and codebooks, shared by the profile as defined and its variants (file names are content hashes, so they
    never mix)."""
    return Path(base or env("LLC_RUNS_DIR") or REPO_ROOT / "runs") / profile.name


def output_root(profile: Profile, root: Path | None = None) -> Path:
    """Where results files go: the profile's runs folder ``root`` (default ``runs_root(profile)``) for the
    profile as defined, ``<root>/variants/<overrides>`` for a profile with overrides (``Profile.variant``), so
    that an experiment never writes the published results."""
    root = Path(root or runs_root(profile))
    return root / "variants" / profile.variant if profile.variant else root


def figures_dir(profile: Profile, root: Path | None = None) -> Path:
    """Where the notebooks write: cpu -> figures/, gpu -> figures/gpu/, smoke -> <runs folder>/figures
    ($LLC_FIGURES_DIR wins); a profile with overrides always -> ``output_root(profile, root)/figures``: only
    the profile as defined publishes. ``root``: the profile's runs folder (default ``runs_root(profile)``)."""
    if profile.variant:
        return output_root(profile, root) / "figures"
    if env("LLC_FIGURES_DIR"):
        return Path(env("LLC_FIGURES_DIR"))
    return {"cpu": REPO_ROOT / "figures", "gpu": REPO_ROOT / "figures" / "gpu"}.get(
        profile.name, Path(root or runs_root(profile)) / "figures"
    )
