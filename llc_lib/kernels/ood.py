"""Out-of-distribution detection: scores, threshold-free metrics and thresholds tuned on n samples.

Convention: every score is "higher = more in-distribution (ID)"; an image is called ID when its score is
>= the threshold. In-distribution is the positive class of AUROC and TPR.

- Baselines on a real-valued classifier: maximum softmax probability (MSP, Hendrycks & Gimpel 2017) and
  the energy score logsumexp(logits) (Liu et al. 2020, temperature 1, sign flipped to "higher = ID").
- LLC out of the box: exact decoding (ED) calls an image OOD when its instance code equals no class code;
  no sample is needed to set anything. Its graded version, minus the Hamming distance to the nearest class
  code, gives an AUROC.
- Detection accuracy is the balanced accuracy (TPR on ID + TNR on OOD) / 2 (scikit-learn's
  ``balanced_accuracy_score``), so it does not depend on how many ID and OOD test images there are.
- A baseline's threshold is tuned on n ID and n OOD validation samples (the threshold of highest balanced
  accuracy on them), then applied to the test sets; repeated over random draws of the n samples.
"""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp, softmax
from sklearn.metrics import balanced_accuracy_score, roc_auc_score, roc_curve


def msp_score(logits: np.ndarray) -> np.ndarray:
    """(N,) maximum softmax probability."""
    return softmax(np.asarray(logits, np.float64), axis=1).max(1)


def energy_score(logits: np.ndarray) -> np.ndarray:
    """(N,) negative energy logsumexp(logits) at temperature 1 (higher = more in-distribution)."""
    return logsumexp(np.asarray(logits, np.float64), axis=1)


def detection_accuracy(pred_id_in: np.ndarray, pred_id_out: np.ndarray) -> dict[str, float]:
    """{'acc' balanced accuracy, 'tpr' ID kept, 'tnr' OOD rejected} of boolean "called ID" decisions."""
    pred_id_in, pred_id_out = np.asarray(pred_id_in, bool), np.asarray(pred_id_out, bool)
    truth = np.r_[np.ones(len(pred_id_in), bool), np.zeros(len(pred_id_out), bool)]
    acc = balanced_accuracy_score(truth, np.r_[pred_id_in, pred_id_out])
    return {"acc": float(acc), "tpr": float(pred_id_in.mean()), "tnr": float(1 - pred_id_out.mean())}


def threshold_free(score_in: np.ndarray, score_out: np.ndarray) -> dict[str, float]:
    """{'auroc', 'fpr_at_95_tpr'} of a score (ID positive)."""
    y = np.r_[np.ones(len(score_in)), np.zeros(len(score_out))]
    s = np.r_[score_in, score_out]
    fpr, tpr, _ = roc_curve(y, s, drop_intermediate=False)  # every threshold: FPR at the first TPR >= 95 %
    return {"auroc": float(roc_auc_score(y, s)), "fpr_at_95_tpr": float(fpr[np.searchsorted(tpr, 0.95, side="left")])}


def tpr_at_fpr(score_in: np.ndarray, score_out: np.ndarray, fpr: float) -> float:
    """The ROC curve's TPR at a given FPR (ID positive, call ID when score >= t, threshold set on these samples).

    The ROC operating points are the thresholds t at every distinct score (plus t = +inf, which accepts
    nothing), as in ``sklearn.metrics.roc_curve(..., drop_intermediate=False)``. Returns the largest TPR among
    the points whose FPR is <= ``fpr`` (up to 1e-12, so that an FPR computed as 1 - TNR reaches its own
    point): a step function of ``fpr``, not interpolated between thresholds. Tied scores move together, so a
    point is reachable only if all OOD samples tied at its threshold fit under ``fpr``. At ``fpr`` = 0 this is
    the fraction of ID scores above every OOD score; at ``fpr`` = 1 it is 1.

    score_in (N_in,), score_out (N_out,): finite scores, both non-empty; ``fpr`` in [0, 1]. Returns a
    fraction in [0, 1].
    """
    s_in, s_out = np.asarray(score_in, np.float64), np.asarray(score_out, np.float64)
    if s_in.ndim != 1 or s_out.ndim != 1 or not len(s_in) or not len(s_out):
        raise ValueError(f"scores must be non-empty 1-D arrays, got shapes {s_in.shape} and {s_out.shape}")
    if not (np.isfinite(s_in).all() and np.isfinite(s_out).all()):
        raise ValueError("scores contain NaN or infinite values")
    if not 0 <= fpr <= 1:
        raise ValueError(f"fpr must lie in [0, 1], got {fpr}")
    s_in, s_out = np.sort(s_in), np.sort(s_out)
    t = np.unique(np.r_[s_in, s_out])  # every operating point except t = +inf (TPR 0, FPR 0)
    fp = (len(s_out) - np.searchsorted(s_out, t, side="left")) / len(s_out)
    tp = (len(s_in) - np.searchsorted(s_in, t, side="left")) / len(s_in)
    return float(tp[fp <= fpr + 1e-12].max(initial=0.0))


def best_threshold(score_in: np.ndarray, score_out: np.ndarray) -> float:
    """The threshold t (call ID when score >= t) of highest balanced accuracy on the given samples; among
    equally good thresholds the lowest."""
    cand = np.unique(np.r_[score_in, score_out, np.inf])
    s_in, s_out = np.sort(score_in), np.sort(score_out)
    tpr = 1 - np.searchsorted(s_in, cand, side="left") / len(s_in)
    tnr = np.searchsorted(s_out, cand, side="left") / len(s_out)
    return float(cand[np.argmax(tpr + tnr)])


def tuned_threshold_curve(
    val_in: np.ndarray,
    val_out: np.ndarray,
    test_in: np.ndarray,
    test_out: np.ndarray,
    ns,
    repeats: int = 20,
    seed: int = 0,
) -> dict:
    """Detection on the test sets with a threshold tuned on n random ID and n random OOD validation scores,
    for each n in ``ns`` that both validation pools can supply; ``repeats`` draws per n.

    Returns {'n': [...], 'acc_mean', 'acc_std', 'tpr_mean', 'tnr_mean': [...]}.
    """
    rng = np.random.default_rng(seed)
    out = {"n": [], "acc_mean": [], "acc_std": [], "tpr_mean": [], "tnr_mean": []}
    for n in ns:
        if n > min(len(val_in), len(val_out)):
            continue
        runs = []
        for _ in range(repeats):
            t = best_threshold(rng.choice(val_in, n, replace=False), rng.choice(val_out, n, replace=False))
            runs.append(detection_accuracy(test_in >= t, test_out >= t))
        acc = np.array([r["acc"] for r in runs])
        out["n"].append(int(n))
        out["acc_mean"].append(float(acc.mean()))
        out["acc_std"].append(float(acc.std()))
        out["tpr_mean"].append(float(np.mean([r["tpr"] for r in runs])))
        out["tnr_mean"].append(float(np.mean([r["tnr"] for r in runs])))
    return out


def samples_to_match(curve: dict, target: float) -> int | None:
    """Smallest n whose mean tuned-threshold accuracy reaches ``target`` (None if none does)."""
    for n, a in zip(curve["n"], curve["acc_mean"]):
        if a >= target:
            return n
    return None


def split_pool(n: int, n_val: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A seeded split of range(n) into (validation indices (n_val,), test indices), both sorted."""
    perm = np.random.default_rng(seed).permutation(n)
    return np.sort(perm[:n_val]), np.sort(perm[n_val:])
