"""The LLC head (torch): a bias-free projection to k dims whose logits are its product with sign(C), C a
learnable (num_classes, k) real codebook binarised by a straight-through estimator (``binarize_ste``); nested code
lengths train by masking the projection to each prefix (``prefix_mask``)."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


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
