"""Binary codebooks in numpy: ``binarize``, the baseline codebooks, the count of distinct codes.

Conventions: a *codebook* is a (num_classes, k) array of +-1 (int8 or float); ``binarize`` maps x > 0 to +1
and x <= 0 (zero included) to -1, as in the official code.

Baseline codebooks (the paper's Table "comparison across 20-bit codebooks"):
- Random: i.i.d. +-1 bits from a seeded generator (duplicates are possible and are reported, not fixed).
- SVD: the real-valued classifier W (C x d) of a trained model, centred over classes (the class mean adds
  the same amount to every logit, so it carries no class information), is factorised W_c = U S V^T.
  Class codes = sign(U_k S_k); instance projection = V_k (d x k). U_k S_k V_k^T is the best rank-k
  approximation of the classifier, so this is "binarise the best k-dim linear classifier".
- CCA: canonical correlation analysis between the backbone features X (N x d) and the one-hot labels
  Y (N x C) of the training set, with a ridge ``eps`` on both covariances. Class codes = sign of the
  k leading canonical directions on the label side, evaluated at each (centred) one-hot class vector;
  instance projection = the k leading directions on the feature side.
"""

from __future__ import annotations

import numpy as np


def binarize(x) -> np.ndarray:
    """+-1 int8 array of ``x`` (tensor or array), 0 -> -1."""
    x = x.detach().cpu().numpy() if hasattr(x, "detach") else np.asarray(x)  # a torch tensor, or array-like
    return np.where(x > 0, 1, -1).astype(np.int8)


def random_codebook(num_classes: int, bits: int, seed: int = 0) -> np.ndarray:
    """(num_classes, bits) int8 +-1 codes, i.i.d. fair bits from ``np.random.default_rng(seed)``."""
    rng = np.random.default_rng(seed)
    return np.where(rng.random((num_classes, bits)) < 0.5, 1, -1).astype(np.int8)


def _fix_signs(u: np.ndarray, *others: np.ndarray):
    """Flip columns so that each column's largest-magnitude entry of ``u`` is positive (deterministic SVD)."""
    s = np.sign(u[np.argmax(np.abs(u), axis=0), np.arange(u.shape[1])])
    s[s == 0] = 1
    return (u * s, *(o * s for o in others))


def svd_codebook(weight: np.ndarray, bits: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """SVD codebook of a real classifier ``weight`` (C, d).

    Returns (codes int8 (C, bits), reals float32 (C, bits) = U_k S_k, projection float32 (bits, d) = V_k^T).
    """
    w = np.asarray(weight, dtype=np.float64)
    if bits > min(w.shape):
        raise ValueError(f"SVD gives at most min(C, d) = {min(w.shape)} components, asked for {bits}")
    u, s, vt = np.linalg.svd(w - w.mean(0, keepdims=True), full_matrices=False)
    u, v = _fix_signs(u[:, :bits], vt[:bits].T)
    reals = u * s[:bits]
    return binarize(reals), reals.astype(np.float32), v.T.astype(np.float32)


def _inv_sqrt(c: np.ndarray) -> np.ndarray:
    vals, vecs = np.linalg.eigh(c)
    return (vecs / np.sqrt(np.clip(vals, 1e-12, None))) @ vecs.T


def cca_codebook(
    features: np.ndarray, labels: np.ndarray, num_classes: int, bits: int, eps: float = 1e-3
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CCA codebook between ``features`` (N, d) and one-hot ``labels`` (N,).

    Returns (codes int8 (C, bits), reals float32 (C, bits), projection float32 (bits, d)); the projection
    acts on centred features (subtract the training mean first; ``instance_reals`` does not).
    """
    x = np.asarray(features, dtype=np.float64)
    y = np.eye(num_classes)[np.asarray(labels)]
    if bits > min(x.shape[1], num_classes - 1):
        raise ValueError(f"CCA gives at most min(d, C-1) = {min(x.shape[1], num_classes - 1)} directions")
    x = x - x.mean(0)
    ym = y.mean(0)
    y = y - ym
    n = len(x)
    cxx = x.T @ x / n
    cyy = y.T @ y / n
    cxx += eps * np.trace(cxx) / len(cxx) * np.eye(len(cxx))
    cyy += eps * np.trace(cyy) / len(cyy) * np.eye(len(cyy))
    wx, wy = _inv_sqrt(cxx), _inv_sqrt(cyy)
    u, _, vt = np.linalg.svd(wx @ (x.T @ y / n) @ wy)
    a, b = wx @ u[:, :bits], wy @ vt[:bits].T  # feature-side (d, k), label-side (C, k) directions
    b, a = _fix_signs(b, a)
    reals = (np.eye(num_classes) - ym) @ b  # each class's centred one-hot vector on the label directions
    return binarize(reals), reals.astype(np.float32), a.T.astype(np.float32)


def num_unique_codes(codes) -> int:
    """Number of distinct rows of a (C, k) codebook."""
    return len(np.unique(binarize(codes), axis=0))
