"""Which of the project's packages this interpreter lacks, by group, for machines without a package index.

    python -m llc_lib.core.deps [core] [notebooks] [test] [bench]    # exit 0 when all are importable, else 2

``make … VENV=`` runs this instead of creating a virtual environment, so that a machine whose Python already
has torch (a GPU box without internet) can run ``make reproduce`` and ``make test`` as it is.
"""

from __future__ import annotations

import importlib.util
import sys

# group: {import name: pip name}; the same packages as pyproject.toml's dependencies and extras
GROUPS = {
    "core": {
        "numpy": "numpy",
        "torch": "torch",
        "torchvision": "torchvision",
        "PIL": "pillow",
        "matplotlib": "matplotlib",
        "seaborn": "seaborn",
        "scipy": "scipy",
        "sklearn": "scikit-learn",
        "tqdm": "tqdm",
    },
    "notebooks": {"papermill": "papermill", "ipykernel": "ipykernel", "nbformat": "nbformat"},
    "test": {"pytest": "pytest", "nbval": "nbval", "papermill": "papermill", "ipykernel": "ipykernel", "ruff": "ruff"},
    "bench": {"faiss": "faiss-cpu"},
}


def missing(groups=("core",)) -> list[str]:
    """pip names of the packages of ``groups`` that this interpreter cannot import, in a stable order."""
    unknown = [g for g in groups if g not in GROUPS]
    if unknown:
        raise ValueError(f"unknown package groups {unknown}; choose from {sorted(GROUPS)}")
    out: dict[str, None] = {}
    for g in groups:
        for mod, pip in GROUPS[g].items():
            if importlib.util.find_spec(mod) is None:
                out[pip] = None
    return list(out)


def main(argv=None) -> int:
    groups = (argv if argv is not None else sys.argv[1:]) or ["core"]
    gone = missing(groups)
    if not gone:
        print(f"{sys.executable}: every package of {', '.join(groups)} is importable")
        return 0
    print(
        f"{sys.executable} lacks {', '.join(gone)} (needed by {', '.join(groups)}). Install them "
        f"(`{sys.executable} -m pip install {' '.join(gone)}`), or on a machine without a package index bring "
        f"them as wheels and install with `pip install --no-index --find-links WHEELS_DIR {' '.join(gone)}` "
        f"(docs/development.md).",
        file=sys.stderr,
    )
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
