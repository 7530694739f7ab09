"""CSQ, central similarity quantisation (Yuan et al., "Central Similarity Quantization for Efficient Image
and Video Retrieval", CVPR 2020), written from the paper.

Each class gets a +-1 hash centre (``centers``); the loss is the BCE of (h + 1)/2 against (c_y + 1)/2 with
h = tanh(z), plus a small quantisation term. Same recipe as HashNet (``hashnet.recipe``).
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ..codebook import random_codebook

QUANT_WEIGHT = 1e-4  # lambda of CSQ's quantisation loss


def centers(num_classes: int, bits: int, seed: int = 0) -> np.ndarray:
    """CSQ's hash centres, (num_classes, bits) int8 +-1.

    When ``bits`` is a power of two and num_classes <= 2 * bits: the rows of the Hadamard matrix H_bits and
    of -H_bits (mutually at distance bits/2 or bits), in that order. Otherwise every bit is an i.i.d. fair
    coin from ``np.random.default_rng(seed)`` (duplicates possible; they are counted), as the paper defines
    it. (The public CSQ code instead keeps the 2 * bits Hadamard rows and fills the remaining classes with
    random rows of exactly bits/2 ones, redrawn up to 20 times for a minimum distance; it needs a power of
    two. At 16 and 32 bits that raises the minimum pairwise distance by about one bit.)
    """
    from scipy.linalg import hadamard

    if bits & (bits - 1) == 0 and num_classes <= 2 * bits:
        h = hadamard(bits)
        return np.concatenate([h, -h])[:num_classes].astype(np.int8)
    return random_codebook(num_classes, bits, seed)


def center_loss(z: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """Mean over bits of BCE((h + 1)/2, (c + 1)/2) with h = tanh(z) and ``c`` (B, k) the +-1 centre of each
    image's class, plus lambda * mean (|h| - 1)^2. (h + 1)/2 = sigmoid(2z), so the BCE is taken on logits 2z."""
    z = z.float()
    center = F.binary_cross_entropy_with_logits(2 * z, (c + 1) / 2)
    quant = (torch.tanh(z).abs() - 1).pow(2).mean()
    return center + QUANT_WEIGHT * quant


def init_head(model, cfg, num_classes: int) -> None:
    """Set the fixed hash centres of every head of a freshly built hashing model (one ``centers`` per code
    length in ``cfg.nested``, from ``cfg.seed``)."""
    book = np.concatenate([centers(num_classes, k, cfg.seed) for k in cfg.nested], axis=1)
    model.head.centers.copy_(torch.from_numpy(book.astype(np.float32)))


def loss(model, f, y, cfg, progress: float = 0.0):
    """(mean of ``center_loss`` over the hash heads, None)."""
    parts = model.head.split(model.head.project(f))
    cent = model.head.split(model.head.centers[y])
    return torch.stack([center_loss(zk, cent[k]) for k, zk in parts.items()]).mean(), None
