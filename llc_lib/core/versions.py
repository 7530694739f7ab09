"""The exact versions of Python and of every package that computes a number of a run, for the run's record."""

from __future__ import annotations

import importlib
import importlib.util
import platform
import sys
from importlib import metadata

# record key: (module, the distributions that may provide it, in the order asked). faiss is optional (the bench
# extra); pillow decodes the JPEGs of ImageFolder data.
PACKAGES = {
    "numpy": ("numpy", ("numpy",)),
    "scipy": ("scipy", ("scipy",)),
    "scikit-learn": ("sklearn", ("scikit-learn",)),
    "torch": ("torch", ("torch",)),
    "torchvision": ("torchvision", ("torchvision",)),
    "pillow": ("PIL", ("pillow",)),
    "faiss": ("faiss", ("faiss-cpu", "faiss-gpu", "faiss")),
}


def _version(module: str, dists: tuple[str, ...]) -> str | None:
    """The version pip reports for the first of ``dists`` installed; for a module without package metadata (a
    source tree on the path) its ``__version__`` (importing it when it is not imported already); None when the
    module cannot be imported (checked without importing it). Metadata first, so that the answer does not depend
    on what the process has imported: torch's ``__version__`` carries a build label (``+cu130``) that its
    metadata does not, and a re-run must record the same versions."""
    for dist in dists:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    loaded = sys.modules.get(module)
    if loaded is None and importlib.util.find_spec(module) is None:
        return None
    loaded = loaded or importlib.import_module(module)
    return str(getattr(loaded, "__version__", "unknown"))


def versions() -> dict[str, str]:
    """{'python': e.g. '3.11.7', then each of ``PACKAGES`` that can be imported: its exact version as pip
    reports it, e.g. '2.4.6' (``_version``)}; a package that cannot be imported (faiss without the bench extra)
    is left out. Imports no package that has installed metadata."""
    out = {"python": platform.python_version()}
    for key, (module, dists) in PACKAGES.items():
        v = _version(module, dists)
        if v is not None:
            out[key] = v
    return out
