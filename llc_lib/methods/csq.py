"""CSQ, central similarity quantisation (Yuan et al., "Central Similarity Quantization for Efficient Image
and Video Retrieval", CVPR 2020), written from the paper.

Each class gets a +-1 hash centre (``centers``: the paper's rule, or the public code's Hadamard rows with a
balanced random fill); the loss is the BCE of (h + 1)/2 against (c_y + 1)/2 with
h = tanh(z), plus a small quantisation term. Same recipe as HashNet (``hashnet.recipe``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch

QUANT_WEIGHT = 1e-4  # lambda of CSQ's quantisation loss
PUBLISHED_IMAGES = 90 * 13_000  # the public code: 90 epochs of its ImageNet-100 training list (about 13,000 images)


def published_epochs(train_images: int) -> float:
    """The published schedule's length in epochs of a training set of ``train_images`` images, at the same
    number of images seen (CIFAR-100's 50,000: 23.4)."""
    return PUBLISHED_IMAGES / train_images


CENTER_SCHEMES = ("paper", "public")
FILL_DRAWS = 20  # the public code's redraws of the balanced rows


def centers(num_classes: int, bits: int, seed: int = 0, scheme: str = "paper") -> np.ndarray:
    """CSQ's hash centres, (num_classes, bits) int8 +-1, from ``np.random.default_rng(seed)`` where random.

    scheme "paper" (the paper's definition): when ``bits`` is a power of two and num_classes <= 2 * bits, the
    rows of the Hadamard matrix H_bits and of -H_bits (mutually at distance bits/2 or bits), in that order;
    otherwise every bit is an i.i.d. fair coin (duplicates possible; they are counted).
    scheme "public" (the public CSQ code): when ``bits`` is a power of two, the 2 * bits rows of H_bits and
    -H_bits first, and every further class a random row with exactly bits/2 entries -1; the further rows are
    redrawn up to ``FILL_DRAWS`` times until the minimum pairwise distance exceeds bits/4 and the mean reaches
    bits/2 (the last draw is kept otherwise: below 2 log2 C bits balanced rows must repeat). When ``bits`` has no
    Sylvester Hadamard matrix, the paper's fallback: i.i.d. fair coins.
    """
    from scipy.linalg import hadamard

    from ..kernels.codebooks import (
        random_codebook,  # here, not on top: ``config`` reads this file without loading torch
    )

    if scheme not in CENTER_SCHEMES:
        raise ValueError(f"CSQ centre scheme must be one of {CENTER_SCHEMES}, got {scheme!r}")
    power = bits & (bits - 1) == 0
    if power and num_classes <= 2 * bits:
        h = hadamard(bits)
        return np.concatenate([h, -h])[:num_classes].astype(np.int8)
    if scheme == "paper" or not power:
        return random_codebook(num_classes, bits, seed)
    h = hadamard(bits)
    rows = np.concatenate([h, -h]).astype(np.int8)
    rng = np.random.default_rng(seed)
    for _ in range(FILL_DRAWS):
        fill = np.ones((num_classes - len(rows), bits), dtype=np.int8)
        for r in fill:
            r[rng.permutation(bits)[: bits // 2]] = -1
        book = np.concatenate([rows, fill])
        d = (book[:, None, :] != book[None, :, :]).sum(-1)[np.triu_indices(num_classes, 1)]
        if d.min() > bits / 4 and d.mean() >= bits / 2:
            break
    return book


def center_loss(z: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """Mean over bits of BCE((h + 1)/2, (c + 1)/2) with h = tanh(z) and ``c`` (B, k) the +-1 centre of each
    image's class, plus lambda * mean (|h| - 1)^2. (h + 1)/2 = sigmoid(2z), so the BCE is taken on logits 2z."""
    import torch
    import torch.nn.functional as F

    z = z.float()
    center = F.binary_cross_entropy_with_logits(2 * z, (c + 1) / 2)
    quant = (torch.tanh(z).abs() - 1).pow(2).mean()
    return center + QUANT_WEIGHT * quant


def init_head(model, cfg, num_classes: int) -> None:
    """Set the fixed hash centres of every head of a freshly built hashing model (one ``centers`` per code
    length in ``cfg.nested``, from ``cfg.seed``, by the scheme ``cfg.csq_centers``)."""
    import torch

    book = np.concatenate([centers(num_classes, k, cfg.seed, cfg.csq_centers) for k in cfg.nested], axis=1)
    model.head.centers.copy_(torch.from_numpy(book.astype(np.float32)))


def loss(model, f, y, cfg, progress: float = 0.0):
    """(mean of ``center_loss`` over the hash heads, None)."""
    import torch

    parts = model.head.split(model.head.project(f))
    cent = model.head.split(model.head.centers[y])
    return torch.stack([center_loss(zk, cent[k]) for k, zk in parts.items()]).mean(), None
