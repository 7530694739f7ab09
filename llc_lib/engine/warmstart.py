"""Initialising a model from another one: copy a backbone, or set an LLC head from a codebook.

- ``svd_head``: the LLC head from the SVD of a real-valued classifier (Phase 1 warm start "svd").
- ``codebook_head``: the LLC head from a baseline codebook's reals and projection (Phase 1 warm start "cca",
  and the start of every baseline codebook's Phase 2); Random has no projection of its own and starts from
  the least-squares regression of each image's class code on its features.
"""

from __future__ import annotations

import numpy as np

from ..kernels.codebooks import cca_codebook, random_codebook, svd_codebook
from .models import CodeNet


def copy_backbone(dst: CodeNet, src: CodeNet) -> None:
    """Load ``src``'s backbone weights into ``dst`` (same architecture)."""
    dst.backbone.load_state_dict(src.backbone.state_dict())


def phase1_weights(llc: CodeNet) -> dict:
    """Phase 1 state dict without the auxiliary head (Phase 2 models have none)."""
    return {k: v for k, v in llc.state_dict().items() if not k.startswith("aux.")}


def unit_projection(proj: np.ndarray, features: np.ndarray) -> np.ndarray:
    """``proj`` (k, d) with rows rescaled so that each projected training feature (N, d) has unit std."""
    z = features @ proj.T
    return proj / (z.std(0)[:, None] + 1e-8)


def baseline_codebook(
    method: str,
    real: CodeNet | None,
    features: np.ndarray | None,
    labels: np.ndarray | None,
    num_classes: int,
    bits: int,
    seed: int = 0,
) -> dict:
    """{'codes' (C, bits) int8, 'reals' (C, bits) float32, 'proj' (bits, d) float32 or None} of a baseline
    codebook: 'random' (seeded i.i.d. bits), 'svd' (of ``real``'s classifier) or 'cca' (of the training
    ``features`` (N, d) vs ``labels`` (N,))."""
    if method == "random":
        codes = random_codebook(num_classes, bits, seed)
        return {"codes": codes, "reals": codes.astype(np.float32), "proj": None}
    if method == "svd":
        codes, reals, proj = svd_codebook(real.head.fc.weight.detach().cpu().numpy(), bits)
    elif method == "cca":
        codes, reals, proj = cca_codebook(features, labels, num_classes, bits)
    else:
        raise ValueError(f"unknown baseline codebook {method!r}; choose random, svd or cca")
    return {"codes": codes, "reals": reals, "proj": proj}


def svd_head(llc: CodeNet, real: CodeNet) -> None:
    """Copy ``real``'s backbone into ``llc`` and initialise its head from the SVD of real's classifier.

    Projection row j = V_j * mean_c |U_cj S_j| (times sqrt(k) for a scaled head), so that the LLC logits
    match the scale of the rank-k classifier (f V_k)(U_k S_k)^T; codebook reals = U_k S_k.
    """
    copy_backbone(llc, real)
    _, reals, proj = svd_codebook(real.head.fc.weight.detach().cpu().numpy(), llc.head.bits)
    scale = np.abs(reals).mean(0) * (llc.head.bits**0.5 if llc.head.scaled else 1.0)
    llc.head.load_codebook(reals, proj * scale[:, None])


def codebook_head(model: CodeNet, real: CodeNet, book: dict, features: np.ndarray, labels: np.ndarray) -> None:
    """Copy ``real``'s backbone into ``model``; head codebook = ``book['reals']``, projection = the book's
    projection, or (none, i.e. Random) the least-squares fit of features (N, d) @ P.T ~ codes[labels], each
    row rescaled to unit-std outputs on the training ``features``."""
    copy_backbone(model, real)
    proj = book.get("proj")
    if proj is None:
        target = book["codes"][labels].astype(np.float64)
        proj = np.linalg.lstsq(features.astype(np.float64), target, rcond=None)[0].T.astype(np.float32)
    model.head.load_codebook(book["reals"], unit_projection(proj, features))


def initialise(
    model: CodeNet,
    init: str,
    parent: CodeNet,
    codes: dict | None = None,
    features: np.ndarray | None = None,
    labels: np.ndarray | None = None,
) -> None:
    """Set up a freshly built ``model`` from ``parent`` by the rule ``init``: 'phase1' (Phase 2 starts from the
    whole Phase 1 model, without its auxiliary head), 'backbone' (the backbone only), 'svd' (the backbone and an
    LLC head from the SVD of the parent's classifier), 'cca' or 'codebook' (the backbone and an LLC head from a
    baseline codebook file's arrays ``codes``, with the parent's (N, d) training ``features`` and their (N,)
    ``labels``), 'continue' (every weight of a parent of the same architecture and head: its training goes on
    under another recipe)."""
    if init == "continue":
        model.load_state_dict(parent.state_dict())
    elif init == "phase1":
        model.load_state_dict(phase1_weights(parent))
    elif init == "backbone":
        copy_backbone(model, parent)
    elif init == "svd":
        svd_head(model, parent)
    elif init in ("cca", "codebook"):
        codebook_head(model, parent, codes, features, labels)
    else:
        raise ValueError(f"unknown initialisation {init!r}")
