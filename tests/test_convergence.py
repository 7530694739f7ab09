"""The Phase-2 diagnostics' pieces against hand-made cases: the score decomposition, refitted heads and code
geometry."""

import numpy as np
import pytest

from llc_lib.studies.convergence import code_scores, nearest_code_distances, refit_heads


def test_code_scores_split_exact_codes_by_whether_the_class_code_is_right():
    codes = np.array([[1, 1, 1, 1], [-1, -1, -1, -1], [1, -1, 1, -1]])
    labels = np.array([0, 0, 1, 2])
    proj = np.array(
        [
            [1, 1, 1, 1],  # exact, class right
            [1, 1, 1, -1],  # 3 of 4 right, class right
            [-1, -1, -1, -1],  # exact, class wrong
            [1, -1, 1, -1.0],
        ]
    )  # exact, class right
    pred = np.array([0, 0, 2, 2])
    s = code_scores(proj, codes, labels, pred)
    assert s["p_exact_given_right"] == pytest.approx(2 / 3)
    assert s["R"] == pytest.approx((4 + 3 + 4) / 3) and s["W"] == 4
    assert s["bits_right"] == pytest.approx(0.75 * s["R"] + 0.25 * s["W"])
    assert s["ed_acc"] == 0.75 and s["class_code_acc"] == 0.75


def test_nearest_code_distances():
    codes = np.array([[1, 1, 1, 1], [1, 1, 1, -1], [-1, -1, -1, -1], [-1, -1, -1, -1]])
    assert nearest_code_distances(codes).tolist() == [1, 1, 0, 0]


def test_refitted_heads_fit_separable_bits():
    rng = np.random.default_rng(0)
    f = rng.normal(size=(400, 5))
    targets = np.stack([f[:, 0] > 0, f[:, 1] + f[:, 2] > 0], 1)
    tr, te, info = refit_heads(f, targets, f[:50])
    assert ((tr > 0) == targets).mean() > 0.97 and te.shape == (50, 2)
    assert all(i["converged"] and i["train_acc"] > 0.97 for i in info)
