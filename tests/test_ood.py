"""OOD scores, thresholds and metrics on hand-made cases."""
import numpy as np
import pytest

from llc_lib import ood


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


def test_tpr_at_fpr_is_the_id_fraction_kept_at_that_ood_acceptance():
    from llc_lib.ood import tpr_at_fpr
    s_out = np.arange(10.0)  # accepting 2 of 10 OOD samples means t = 8
    s_in = np.array([7.5, 8.0, 8.5, 9.5])
    assert tpr_at_fpr(s_in, s_out, 0.2) == 0.75
    assert tpr_at_fpr(s_in, s_out, 0.0) == 0.0  # nothing accepted: t above every OOD score
    assert tpr_at_fpr(s_in, np.full(10, 8.0), 0.2) == 0.5  # ties: accepting all ten would exceed 20 %
