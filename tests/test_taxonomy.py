import numpy as np
import pytest

from llc_lib.engine.probes import fit_linear
from llc_lib.kernels import taxonomy as tx


def test_clustering_recovers_planted_groups():
    rng = np.random.default_rng(0)
    centres = np.where(rng.random((4, 24)) < 0.5, 1, -1)
    truth = np.repeat(np.arange(4), 5)
    codes = centres[truth].copy()
    flip = rng.random(codes.shape) < 0.05  # a little noise inside each group
    codes[flip] *= -1
    r = tx.compare_with_superclasses(codes, truth, n_clusters=4)
    assert r["ari"] == pytest.approx(1.0) and r["purity"] == pytest.approx(1.0)
    rand = tx.compare_with_superclasses(np.where(rng.random((20, 24)) < 0.5, 1, -1), truth, n_clusters=4)
    assert rand["ari"] < 0.5


def test_purity_and_hamming_matrix():
    assert tx.purity([0, 0, 1, 1], [0, 1, 1, 1]) == pytest.approx(0.75)
    d = tx.hamming_matrix(np.array([[1, 1, -1], [1, -1, -1], [-1, -1, 1]]))
    assert d.tolist() == [[0, 1, 3], [1, 0, 2], [3, 2, 0]]
    assert tx.superclass_of_class([2, 0, 1, 0], [5, 3, 4, 3], 3).tolist() == [3, 4, 5]


def test_linear_probe_separates_separable_data():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 600)
    x = rng.normal(size=(600, 5)) + 4 * np.eye(3, 5)[y]
    r = fit_linear(x[:400], y[:400], x[400:], y[400:], 3, bottleneck=2, epochs=20, lr=1e-2, batch_size=32)
    assert r["test_acc"] > 0.9


def test_tied_merges_and_the_ari_spread_over_class_orders():
    from llc_lib.kernels import taxonomy

    # distances 1/3, 2/3, 1: merges at 1/3 and 5/6, no tie
    assert taxonomy.tied_merges(taxonomy.linkage(np.array([[1, 1, 1], [1, 1, -1], [-1, -1, -1]]))) == 0
    four = np.array([[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, -1], [-1, -1, -1, -1, -1, -1], [-1, -1, -1, -1, -1, 1]])
    assert taxonomy.tied_merges(taxonomy.linkage(four)) == 2  # the two pairs merge at the same height
    sup = np.array([0, 0, 1, 1])
    t = taxonomy.tie_sensitivity(four, sup, 2, draws=5)
    assert t["ari_mean"] == t["ari_min"] == t["ari_max"] == 1.0 and t["draws"] == 5
