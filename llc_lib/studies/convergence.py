"""Why the instance codes fall short: three measurements on a profile's trained headline models, no training.

(a) Optimisation. The Phase 2 model's eval-mode features on the training images are fixed, and a linear head
    per evaluated bit is refitted on them to convergence (L-BFGS logistic regression with bias on standardised
    features). If the refitted codes are much better on the training images than the trained head's, the head
    is under-optimised. If they are about as good, the features limit the codes.
(b) Weak codebook entries. Per (class, bit): the error rate of Phase 2's bit on the training images of that
    class, against |C| of Phase 1's real-valued codebook entry. Then the zero-training check: a codebook whose
    entries are the majority sign of each class's Phase 2 training projections, evaluated on the test images.
(c) Geometry. Each class code's Hamming distance to its nearest other class code, for the learnt prefixes and
    for random codebooks of the same size. At the same k, 100 classes sit further apart than 1000.

Every score has the same decomposition: ED, MHD, bits right, R and W (the bits right of images whose Phase-1
class code is right / wrong) and P(exact | class code right).
"""

from __future__ import annotations

import numpy as np

from ..engine.data import labels_of
from ..engine.inference import class_codes, head_logits, outputs
from ..graph import plan
from ..kernels.codebooks import random_codebook
from ..kernels.decode import hamming, pack, to_bits
from ..kernels.metrics import bits_right_split, code_metrics
from . import Context, check_bits, fits


def code_scores(proj: np.ndarray, codes: np.ndarray, labels: np.ndarray, predicted: np.ndarray) -> dict:
    """{'ed_acc', 'mhd_acc', 'bits_right', 'R', 'W', 'p_exact_given_right', 'class_code_acc'} of instance codes
    ``proj`` (N, k) against class codes ``codes`` (C, k), with ``predicted`` (N,) the class-code prediction that
    splits R (prediction right) from W (wrong). Fractions in [0, 1]; bits right, R and W in bits."""
    m = code_metrics(proj, codes, labels)
    split = bits_right_split(proj, codes, labels, predicted)
    return {
        "ed_acc": m["ed_acc"],
        "mhd_acc": m["mhd_acc"],
        "bits_right": m["bits_right"],
        "R": split["if_class_code_right"],
        "W": split["if_class_code_wrong"],
        "p_exact_given_right": split["exact_if_class_code_right"],
        "class_code_acc": float((predicted == labels).mean()),
    }


def refit_heads(
    f_train: np.ndarray, targets: np.ndarray, f_test: np.ndarray, C: float = 10.0, max_iter: int = 3000
) -> tuple[np.ndarray, np.ndarray, list[dict]]:
    """One logistic regression (L-BFGS, with bias, inverse regularisation ``C``) per column of ``targets``
    (N, m) bool on the standardised features ``f_train`` (N, d). Returns (train logits (N, m), test logits
    (M, m), per bit {'train_acc', 'iterations', 'converged'})."""
    from sklearn.linear_model import LogisticRegression

    mu, sd = f_train.mean(0), f_train.std(0) + 1e-6
    a, b = (f_train - mu) / sd, (f_test - mu) / sd
    tr, te, info = [], [], []
    for j in range(targets.shape[1]):
        lr = LogisticRegression(C=C, max_iter=max_iter).fit(a, targets[:, j])
        tr.append(lr.decision_function(a))
        te.append(lr.decision_function(b))
        it = int(np.max(lr.n_iter_))
        info.append({"train_acc": float(lr.score(a, targets[:, j])), "iterations": it, "converged": it < max_iter})
    return np.stack(tr, 1), np.stack(te, 1), info


def nearest_code_distances(codes: np.ndarray) -> np.ndarray:
    """(C,) Hamming distance of each class code to its nearest other class code (0 for a duplicate)."""
    d = hamming(pack(to_bits(codes)), pack(to_bits(codes))).astype(int)
    np.fill_diagonal(d, codes.shape[1] + 1)
    return d.min(1)


@fits(lambda p, seed: list(plan.headline(p, seed)))
def phase2_diagnostics(ctx: Context, seed: int = 0, bits=(14, 16, 20), random_draws: int = 20) -> dict:
    """(a), (b) and (c) of the module docstring for the headline models of ``seed``, at every k in ``bits``
    (prefixes of the nested code), on the whole training split (eval mode, no augmentation) and the test split;
    'checkpoints' names the two models measured."""
    bits = check_bits(bits, ctx.profile.max_bits)
    ws, kmax = ctx.ws, max(bits)
    _, p1_spec, p2_spec = plan.headline(ctx.profile, seed)
    llc, inst = ctx.fit(p1_spec), ctx.fit(p2_spec)
    codes, reals = class_codes(llc), llc.head.codebook.detach().cpu().numpy()
    splits = {"train": ctx.train(seed), "test": ctx.test(seed)}
    out = {
        "seed": seed,
        "bits": bits,
        "checkpoints": plan.phase_names(ctx.profile, seed),
        "trained_head": {},
        "refitted_head": {},
    }
    feats, proj, pred, y = {}, {}, {}, {}
    for name, data in splits.items():
        o2, o1 = outputs(inst, data, ws.device, workers=ws.workers), outputs(llc, data, ws.device, workers=ws.workers)
        feats[name], proj[name], y[name] = o2["features"], o2["proj"], labels_of(data).numpy()
        pred[name] = {k: head_logits(llc, o1["proj"], k).argmax(1) for k in bits}
    # (a) the trained head against a head refitted to convergence on the same features
    targets = codes[y["train"], :kmax] > 0
    fit_tr, fit_te, info = refit_heads(feats["train"], targets, feats["test"])
    refit = {"train": fit_tr, "test": fit_te}
    for name in splits:
        out["trained_head"][name] = {
            str(k): code_scores(proj[name][:, :k], codes[:, :k], y[name], pred[name][k]) for k in bits
        }
        out["refitted_head"][name] = {
            str(k): code_scores(refit[name][:, :k], codes[:, :k], y[name], pred[name][k]) for k in bits
        }
    out["refit"] = {
        "per_bit": info,
        "solver": "sklearn LogisticRegression(lbfgs, C=10, bias), standardised features",
        "feature_dims": int(feats["train"].shape[1]),
    }
    # (b) per (class, bit): error rate on the class's training images against |C|; majority-sign codebook
    c, tb = codes.shape[0], to_bits(proj["train"][:, :kmax])
    err = np.stack([(tb[y["train"] == j] != (codes[j, :kmax] > 0)).mean(0) for j in range(c)])  # (C, kmax)
    mag = np.abs(reals[:, :kmax])
    edges = np.quantile(mag, [0, 0.2, 0.4, 0.6, 0.8, 1.0])
    which = np.clip(np.searchsorted(edges, mag, side="right") - 1, 0, 4)
    from scipy.stats import spearmanr

    rho = spearmanr(mag.ravel(), err.ravel())
    majority = np.where(np.stack([tb[y["train"] == j].mean(0) for j in range(c)]) > 0.5, 1, -1).astype(np.int8)
    out["codebook_entries"] = {
        "spearman_abs_C_vs_error": float(rho.statistic),
        "p_value": float(rho.pvalue),
        "error_by_abs_C_quintile": [float(err[which == q].mean()) for q in range(5)],
        "abs_C_quintile_edges": [float(e) for e in edges],
        "mean_error": float(err.mean()),
        "entries_over_half_wrong": int((err > 0.5).sum()),
        "majority_sign_changes": int((majority != codes[:, :kmax]).sum()),
        "majority_sign_codebook_test": {
            str(k): code_scores(proj["test"][:, :k], majority[:, :k], y["test"], pred["test"][k]) for k in bits
        },
        "majority_sign_unique_codes": {str(k): int(len(np.unique(majority[:, :k], axis=0))) for k in bits},
    }
    # (c) geometry of the codes: nearest other class code, learnt vs random
    geo = {}
    for k in bits:
        learnt = nearest_code_distances(codes[:, :k])
        rand = np.concatenate([nearest_code_distances(random_codebook(c, k, s)) for s in range(random_draws)])
        geo[str(k)] = {
            "learnt_hist": np.bincount(learnt, minlength=k + 1).tolist(),
            "random_hist_per_draw": (np.bincount(rand, minlength=k + 1) / random_draws).tolist(),
            "learnt_mean": float(learnt.mean()),
            "random_mean": float(rand.mean()),
        }
    rand1000 = np.concatenate([nearest_code_distances(random_codebook(1000, 20, s)) for s in range(5)])
    geo["random_1000_classes_20_bits_mean"] = float(rand1000.mean())
    out["geometry"] = geo
    return out
