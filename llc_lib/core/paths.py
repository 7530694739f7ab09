"""The repository's root folder: the default home of data/, runs/, figures/, weights/ and notebooks/."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
