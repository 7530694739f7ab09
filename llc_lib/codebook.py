"""The LLC head and codebooks.

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

import hashlib
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .files import atomic_file, hash_array


class _SignSTE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return torch.where(x > 0, torch.ones_like(x), -torch.ones_like(x))

    @staticmethod
    def backward(ctx, g):
        return g  # straight-through: identity gradient


def binarize_ste(x: torch.Tensor) -> torch.Tensor:
    """+-1 of ``x`` (0 -> -1) whose gradient is the identity (straight-through estimator)."""
    return _SignSTE.apply(x)


def binarize(x) -> np.ndarray:
    """+-1 int8 array of ``x`` (tensor or array), 0 -> -1."""
    x = x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
    return np.where(x > 0, 1, -1).astype(np.int8)


def prefix_mask(z: torch.Tensor, prefixes) -> torch.Tensor:
    """(n, d) 0/1 mask in ``z``'s dtype and device: row i keeps the first prefixes[i] of the d columns of ``z``."""
    p = torch.as_tensor(tuple(prefixes), device=z.device)
    return (torch.arange(z.shape[1], device=z.device)[None, :] < p[:, None]).to(z.dtype)


class LLCHead(nn.Module):
    """Projection P: R^d -> R^k (no bias) and learnable real codebook C (num_classes x k).

    ``forward(f, bits)`` returns logits P(f)[:, :bits] . sign(C)[:, :bits]^T of shape (B, num_classes),
    divided by sqrt(bits) when ``scaled`` (default); ``bits=None`` uses all k bits. ``project(f)`` returns
    the (B, k) real projection, which Phase 2 trains as k per-bit logits.

    Why ``scaled``: every row of P receives gradient from all classes through the +-1 codebook, so an SGD
    step moves the logits about k times further than for a linear classifier with the same learning rate;
    at the CPU recipe's learning rate the unscaled head diverges (docs/deviations.md). A constant factor
    1/sqrt(k) restores the usual step size. It changes no prediction: class-code argmax, sign(P(f)), MHD and
    ED are all invariant to it. ``scaled=False`` is the official code's formula.
    ``init``: the real codebook's initialisation, "uniform" (nn.Linear's default) or "normal" (kaiming
    normal, the official code's).
    """

    def __init__(self, feature_dim: int, bits: int, num_classes: int, scaled: bool = True, init: str = "uniform"):
        super().__init__()
        self.bits, self.num_classes, self.scaled = bits, num_classes, scaled
        self.proj = nn.Linear(feature_dim, bits, bias=False)
        self.codebook = nn.Parameter(torch.empty(num_classes, bits))
        if init == "uniform":
            nn.init.kaiming_uniform_(self.codebook, a=5**0.5)  # nn.Linear's default init
        elif init == "normal":
            nn.init.kaiming_normal_(self.codebook)  # the official code's init of the codebook
        else:
            raise ValueError(f"codebook init must be 'uniform' or 'normal', got {init!r}")

    def project(self, f: torch.Tensor) -> torch.Tensor:
        return self.proj(f)

    def codes(self) -> torch.Tensor:
        """(num_classes, k) float +-1 class codes (straight-through differentiable)."""
        return binarize_ste(self.codebook)

    def forward(self, f: torch.Tensor, bits: int | None = None) -> torch.Tensor:
        return self.logits(self.project(f), self.codes(), bits)

    def logits(self, z: torch.Tensor, codes: torch.Tensor, bits: int | None = None) -> torch.Tensor:
        """(B, C) logits from a projection z (B, k) and +-1 codes (C, k), using the first ``bits`` bits."""
        bits = bits or z.shape[1]
        out = z[:, :bits] @ codes[:, :bits].t()
        return out * bits**-0.5 if self.scaled else out

    def prefix_logits(self, z: torch.Tensor, codes: torch.Tensor, prefixes) -> torch.Tensor:
        """(n, B, C) logits of every code prefix in ``prefixes`` (n lengths) from one matrix product.

        Row i equals ``logits(z, codes, prefixes[i])``: the projection is masked to its first p_i bits (and
        scaled by p_i^-1/2 when ``scaled``) for all prefixes at once, so the nested loss costs one (n*B, k) x
        (k, C) product instead of n products and n cross-entropies.
        """
        mask = prefix_mask(z, prefixes)  # (n, k)
        if self.scaled:
            mask = mask * mask.sum(1, keepdim=True).rsqrt()
        return (z[None] * mask[:, None]) @ codes.t()

    @torch.no_grad()
    def load_codebook(self, reals: np.ndarray | torch.Tensor, proj: np.ndarray | torch.Tensor | None = None):
        """Set the real codebook (num_classes, k) and optionally the projection weight (k, d)."""
        reals = torch.as_tensor(np.asarray(reals), dtype=self.codebook.dtype)
        if tuple(reals.shape) != tuple(self.codebook.shape):
            raise ValueError(
                f"codebook shape {tuple(reals.shape)} does not match the head's "
                f"(num_classes={self.num_classes}, bits={self.bits})"
            )
        self.codebook.copy_(reals)
        if proj is not None:
            proj = torch.as_tensor(np.asarray(proj), dtype=self.proj.weight.dtype)
            if tuple(proj.shape) != tuple(self.proj.weight.shape):
                raise ValueError(f"projection shape {tuple(proj.shape)} != {tuple(self.proj.weight.shape)}")
            self.proj.weight.copy_(proj)


# ----------------------------------------------------------------------------------------- baselines


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


def _content_sha256(arrays: dict) -> str:
    """SHA-256 (hex) of a codebook file's arrays: each name, dtype, shape and bytes, in name order."""
    h = hashlib.sha256()
    for name in sorted(arrays):
        hash_array(h, arrays[name], name)
    return h.hexdigest()


def save_codebook(
    path: Path | str, reals, class_names=(), proj=None, source_sha256: str = "", book_key: str = ""
) -> None:
    """Write codes (int8 +-1), the underlying reals (float32) and optionally the instance projection
    ``proj`` (k, d) float32 to ``path`` (.npz), atomically. This file is the hand-off from Phase 1 (or a
    baseline construction) to Phase 2, as the official code's ``--save-codebook`` / ``--load-codebook``.

    source_sha256: the ``ckpt.state_digest`` of the weights the codebook was made from ('' for none), so a
    codebook that outlives its model is recognised. The file also stores ``content_sha256``, the hash of all
    its arrays, which ``load_codebook`` verifies. book_key: the run graph's key of the codebook spec ('' for
    none)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    reals = np.asarray(reals.detach().cpu() if isinstance(reals, torch.Tensor) else reals, dtype=np.float32)
    arrays = {
        "codes": binarize(reals),
        "reals": reals,
        "class_names": np.array(class_names, dtype=str),
        "source_sha256": np.array(source_sha256),
        "book_key": np.array(book_key),
    }
    if proj is not None:
        arrays["proj"] = np.asarray(proj, dtype=np.float32)
    with atomic_file(path) as f:  # a failed write (a full disk) is one WriteError naming ``path``
        np.savez(f, content_sha256=np.array(_content_sha256(arrays)), **arrays)


def load_codebook(path: Path | str, num_classes: int | None = None, bits: int | None = None) -> dict:
    """{'codes' (C, k) int8, 'reals' (C, k) float32, 'class_names', 'source_sha256', 'book_key' and
    'content_sha256' (str), and 'proj' (k, d) when saved} from ``save_codebook``. ValueError for an unreadable
    file, one whose arrays do not hash to its ``content_sha256`` (edited or corrupted), codes that are not
    ``binarize(reals)``, or, when asked, a wrong class count or bit width."""
    try:
        with np.load(path, allow_pickle=False) as z:
            out = {k: z[k] for k in z.files}
    except Exception as e:
        raise ValueError(
            f"codebook file {path} could not be read ({type(e).__name__}: {e}); delete it and let it be made again"
        ) from e
    stored = str(out.pop("content_sha256", ""))
    if not stored or _content_sha256(out) != stored or not np.array_equal(out["codes"], binarize(out["reals"])):
        raise ValueError(
            f"codebook file {path} is corrupt or was edited (its arrays do not match the content "
            f"hash stored with them); delete it and let it be made again from its model"
        )
    out["source_sha256"], out["content_sha256"] = str(out["source_sha256"]), stored
    out["book_key"] = str(out.get("book_key", ""))
    c, k = out["codes"].shape
    if (num_classes is not None and c != num_classes) or (bits is not None and k != bits):
        raise ValueError(
            f"{path} holds a {c}-class {k}-bit codebook, expected {num_classes or c} classes and {bits or k} bits"
        )
    return out
