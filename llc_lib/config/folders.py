"""Where the data is read from and where a profile's runs, results and figures go: the data folder, the runs folder,
the results folder of the profile as defined or of a variant (a profile with overrides), and the figures folder;
only the profile as defined publishes. Each default lies under ``core.paths.home()``."""

from __future__ import annotations

from pathlib import Path

from ..core.env import env
from ..core.paths import home
from .profiles import Profile


def data_dir() -> Path:
    """``$LLC_DATA_DIR`` if set, else ``<home>/data`` (``core.paths.home``: the checkout's data/ in a checkout,
    else $LLC_HOME or ~/.cache/llc_lib): the folder of cifar100.npz, the OOD sets and ImageFolder data."""
    return Path(env("LLC_DATA_DIR") or home() / "data")


def runs_root(profile: Profile, base: Path | str | None = None) -> Path:
    """``<base>/<profile>``, base = the given folder, else ``$LLC_RUNS_DIR``, else ``<home>/runs``
    (``core.paths.home``: the checkout in a checkout, else $LLC_HOME or ~/.cache/llc_lib): checkpoints
    and codebooks, shared by the profile as defined and its variants (file names are content hashes, so they
    never mix)."""
    return Path(base or env("LLC_RUNS_DIR") or home() / "runs") / profile.name


def output_root(profile: Profile, root: Path | None = None) -> Path:
    """Where results files go: the profile's runs folder ``root`` (default ``runs_root(profile)``) for the
    profile as defined, ``<root>/variants/<overrides>`` for a profile with overrides (``Profile.variant``), so
    that an experiment never writes the published results."""
    root = Path(root or runs_root(profile))
    return root / "variants" / profile.variant if profile.variant else root


def figures_dir(profile: Profile, root: Path | None = None) -> Path:
    """Where the notebooks write: cpu -> <home>/figures, gpu -> <home>/figures/gpu (``core.paths.home``: the
    checkout's figures/ in a checkout), smoke -> <runs folder>/figures ($LLC_FIGURES_DIR wins); a profile with
    overrides always -> ``output_root(profile, root)/figures``: only the profile as defined publishes.
    ``root``: the profile's runs folder (default ``runs_root(profile)``)."""
    if profile.variant:
        return output_root(profile, root) / "figures"
    if env("LLC_FIGURES_DIR"):
        return Path(env("LLC_FIGURES_DIR"))
    figures = home() / "figures"
    return {"cpu": figures, "gpu": figures / "gpu"}.get(profile.name, Path(root or runs_root(profile)) / "figures")
