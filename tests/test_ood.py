"""OOD scores, thresholds and metrics on hand-made cases."""

import numpy as np
import pytest
from sklearn.metrics import roc_curve

from llc_lib.kernels import ood


def test_scores():
    logits = np.array([[10.0, 0.0], [0.0, 0.0]])
    assert ood.msp_score(logits) == pytest.approx([1 / (1 + np.exp(-10)), 0.5])
    assert ood.energy_score(logits) == pytest.approx([np.log(np.exp(10) + 1), np.log(2)])


def test_best_threshold_maximises_balanced_accuracy():
    s_in, s_out = np.array([0.9, 0.8, 0.7, 0.2]), np.array([0.1, 0.3, 0.75])
    t = ood.best_threshold(s_in, s_out)
    acc = ood.detection_accuracy(s_in >= t, s_out >= t)["acc"]
    grid = np.unique(np.r_[s_in, s_out, np.inf])
    best = max(ood.detection_accuracy(s_in >= g, s_out >= g)["acc"] for g in grid)
    assert acc == pytest.approx(best) == pytest.approx(0.75) and t == pytest.approx(0.8)


def test_detection_accuracy_is_balanced():
    r = ood.detection_accuracy(np.array([True, True, False, True]), np.array([False, True]))
    assert r == pytest.approx({"acc": (0.75 + 0.5) / 2, "tpr": 0.75, "tnr": 0.5})


def test_threshold_free_metrics():
    s_in, s_out = np.arange(100, 200.0), np.arange(0, 100.0)
    r = ood.threshold_free(s_in, s_out)
    assert r["auroc"] == 1.0 and r["fpr_at_95_tpr"] == 0.0
    r = ood.threshold_free(np.arange(100.0), np.arange(100.0))  # identical distributions
    assert r["auroc"] == pytest.approx(0.5) and r["fpr_at_95_tpr"] == pytest.approx(0.95, abs=0.02)


def test_tuned_curve_improves_with_samples_and_skips_impossible_n():
    rng = np.random.default_rng(0)
    val_in, val_out = rng.normal(1, 1, 500), rng.normal(-1, 1, 500)
    te_in, te_out = rng.normal(1, 1, 2000), rng.normal(-1, 1, 2000)
    c = ood.tuned_threshold_curve(val_in, val_out, te_in, te_out, [2, 10, 300, 1000], repeats=30)
    assert c["n"] == [2, 10, 300]  # 1000 > the 500 validation scores
    assert c["acc_mean"][-1] > c["acc_mean"][0] and c["acc_std"][-1] < c["acc_std"][0]
    assert c["acc_mean"][-1] == pytest.approx(0.84, abs=0.02)  # Bayes rate of N(1,1) vs N(-1,1)
    assert ood.samples_to_match(c, 0.80) in (10, 300) and ood.samples_to_match(c, 0.99) is None


def test_split_pool():
    v, t = ood.split_pool(10, 4, seed=1)
    assert len(v) == 4 and len(t) == 6 and set(v) | set(t) == set(range(10)) and not set(v) & set(t)


def roc_tpr_at(s_in, s_out, fpr):
    """Reference: the largest TPR on sklearn's ROC curve (every threshold) among the points with FPR <= fpr."""
    y = np.r_[np.ones(len(s_in)), np.zeros(len(s_out))]
    f, t, _ = roc_curve(y, np.r_[s_in, s_out], drop_intermediate=False)
    return t[f <= fpr].max()


def test_tpr_at_fpr_is_the_roc_curve_tpr_at_that_fpr():
    s_out = np.arange(10.0)
    s_in = np.array([7.5, 8.0, 8.5, 9.5])
    assert ood.tpr_at_fpr(s_in, s_out, 0.2) == 1.0  # t = 7.5 accepts OOD 8 and 9 only
    assert ood.tpr_at_fpr(s_in, s_out, 0.1) == 0.5  # t = 8.5 accepts OOD 9
    assert ood.tpr_at_fpr(s_in, s_out, 1 - 0.9) == 0.5  # 1 - 0.9 is 2e-17 below 0.1 in floats: still that point
    assert ood.tpr_at_fpr(s_in, s_out, 0.0) == 0.25  # t = 9.5: above every OOD score
    assert ood.tpr_at_fpr(s_in, np.full(10, 8.0), 0.2) == 0.5  # ties: accepting all ten would exceed 20 %
    assert ood.tpr_at_fpr(np.full(4, 0.5), np.full(3, 0.5), 0.99) == 0.0  # one tie group: all or nothing
    assert ood.tpr_at_fpr(np.zeros(4), np.ones(3), 1.0) == 1.0  # fpr 1 accepts everything
    msp_in, msp_out = np.array([1.0, 1.0, 0.9, 0.6]), np.array([0.95, 0.7, 0.5])
    assert ood.tpr_at_fpr(msp_in, msp_out, 0.0) == 0.5  # saturated MSP = 1 beats every OOD score


@pytest.mark.parametrize("trial", range(6))
def test_tpr_at_fpr_matches_sklearn_roc_curve_on_continuous_and_tied_scores(trial):
    rng = np.random.default_rng(trial)
    if trial % 2:  # minus Hamming distances of 8-bit codes, heavily tied; OOD at distances 1..6 only
        s_in, s_out = -rng.binomial(8, 0.5, 300).astype(float), -1.0 - rng.binomial(5, 0.5, 200)
    else:
        s_in, s_out = rng.normal(1, 1, 300), rng.normal(0, 1, 200)
    y = np.r_[np.ones(len(s_in)), np.zeros(len(s_out))]
    points = roc_curve(y, np.r_[s_in, s_out], drop_intermediate=False)[0]
    for f in np.r_[0.0, 1.0, 0.05, 0.1, 0.37, 0.5, 0.93, points]:
        assert ood.tpr_at_fpr(s_in, s_out, f) == pytest.approx(roc_tpr_at(s_in, s_out, f), abs=1e-15)
    assert ood.tpr_at_fpr(s_in, s_out, 1.0) == 1.0


def test_tpr_at_fpr_refuses_bad_input():
    ok = np.arange(5.0)
    for s_in, s_out, f in [
        (ok, ok, -0.1),
        (ok, ok, 1.5),
        (ok, ok, float("nan")),
        (np.array([]), ok, 0.1),
        (ok, np.array([]), 0.1),
        (np.array([1.0, np.nan]), ok, 0.1),
        (ok, np.r_[ok, np.inf], 0.1),
        (ok[None], ok, 0.1),
    ]:
        with pytest.raises(ValueError):
            ood.tpr_at_fpr(s_in, s_out, f)
