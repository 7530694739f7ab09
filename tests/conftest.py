import os
from pathlib import Path

import numpy as np
import pytest
import torch

from llc_lib.engine.data import ArrayDataset

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared" / "datasets"


def synthetic_dataset(n_per_class=8, num_classes=5, seed=0) -> ArrayDataset:
    """Tiny random-image dataset for unit tests (never used for reported numbers)."""
    g = np.random.default_rng(seed)
    n = n_per_class * num_classes
    images = torch.from_numpy(g.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8))
    labels = torch.arange(n) % num_classes
    return ArrayDataset(images, labels, tuple(f"c{i}" for i in range(num_classes)))


@pytest.fixture
def tiny():
    return synthetic_dataset()


@pytest.fixture(autouse=True)
def _isolated_runs(tmp_path, monkeypatch):
    """Every test writes runs into its own temporary folder, never into runs/ or figures/."""
    monkeypatch.setenv("LLC_RUNS_DIR", str(tmp_path / "runs"))
    torch.set_num_threads(2)


def real_data_or_skip():
    """Skip when data/cifar100.npz is absent, but fail in CI where ../shared/datasets exists."""
    from llc_lib.engine.data import data_dir

    if (data_dir() / "cifar100.npz").exists():
        return
    if SHARED.exists() or os.environ.get("CI"):
        pytest.fail(f"{data_dir() / 'cifar100.npz'} is missing although ../shared/datasets exists; run `make data`")
    pytest.skip("data/cifar100.npz is absent (no ../shared/datasets); run `make data` or set LLC_DATA_DIR")
