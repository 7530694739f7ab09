"""Backbones and heads.

``resnet9(width)`` is a CIFAR-sized ResNet-9 (the DAWNBench design) whose channel widths are
(w, 2w, 4w, 8w); its feature dimension is 8w. ``torchvision_backbone`` gives resnet18/resnet50 for
ImageNet-sized input (its state-dict keys are torchvision's, which the official LLC ResNet50 shares).
A ``CodeNet`` is backbone + head, where the head is a ``RealHead`` (the real-valued baseline, optionally
through a d-dim bottleneck), an ``LLCHead`` (see ``codebook``) or a ``HashHead`` (deep-hashing baselines).
"""

from __future__ import annotations

import torch
from torch import nn

from .head import LLCHead, prefix_mask


def _conv_bn(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class _Residual(nn.Module):
    def __init__(self, c: int):
        super().__init__()
        self.body = nn.Sequential(_conv_bn(c, c), _conv_bn(c, c))

    def forward(self, x):
        return x + self.body(x)


class ResNet9(nn.Module):
    """CIFAR ResNet-9: (B, 3, 32, 32) -> (B, 8*width) features (global max pool)."""

    def __init__(self, width: int = 16):
        super().__init__()
        w = width
        self.feature_dim = 8 * w
        self.net = nn.Sequential(
            _conv_bn(3, w),
            _conv_bn(w, 2 * w),
            nn.MaxPool2d(2),
            _Residual(2 * w),
            _conv_bn(2 * w, 4 * w),
            nn.MaxPool2d(2),
            _conv_bn(4 * w, 8 * w),
            nn.MaxPool2d(2),
            _Residual(8 * w),
            nn.AdaptiveMaxPool2d(1),
            nn.Flatten(),
        )

    def forward(self, x):
        return self.net(x)


def resnet9(width: int = 16) -> ResNet9:
    return ResNet9(width)


def torchvision_backbone(name: str = "resnet50") -> nn.Module:
    """torchvision resnet18/resnet50 (random init) with ``fc`` removed; ``.feature_dim`` is set."""
    import torchvision

    if name not in ("resnet18", "resnet50"):
        raise ValueError(f"unknown backbone {name!r}; choose resnet18 or resnet50")
    net = getattr(torchvision.models, name)(weights=None)
    net.feature_dim = net.fc.in_features
    net.fc = nn.Identity()
    return net


class RealHead(nn.Module):
    """Real-valued linear classifier; with ``bottleneck=d`` the features first go through Linear(d_feat, d)."""

    def __init__(self, feature_dim: int, num_classes: int, bottleneck: int | None = None):
        super().__init__()
        self.bottleneck = None if bottleneck is None else nn.Linear(feature_dim, bottleneck, bias=False)
        self.fc = nn.Linear(bottleneck or feature_dim, num_classes)
        self.num_classes = num_classes

    def embed(self, f: torch.Tensor) -> torch.Tensor:
        """(B, d) bottleneck features (or the backbone features when there is no bottleneck)."""
        return f if self.bottleneck is None else self.bottleneck(f)

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        return self.fc(self.embed(f))

    def prefix_logits(self, e: torch.Tensor, prefixes) -> torch.Tensor:
        """(n, B, C) logits of the first p_i bottleneck dims of ``e`` (B, d') for each of the n ``prefixes``:
        the classifier restricted to those dims (weights shared across prefixes), from one matrix product."""
        mask = prefix_mask(e, prefixes)  # (n, d')
        return (e[None] * mask[:, None]) @ self.fc.weight.t().to(e.dtype) + self.fc.bias.to(e.dtype)


class HashHead(nn.Module):
    """Hash layers of the deep-hashing baselines: one Linear(d, k) (with bias) per code length k in
    ``widths``, stored as one Linear(d, sum(widths)). ``project(f)`` returns the (B, sum(widths)) outputs;
    ``split`` cuts them per width; an image's k-bit code is the sign of its slice.

    ``centers`` (num_classes, sum(widths)) holds the +-1 hash centres of CSQ per width (zeros for HashNet);
    it is a buffer, so it travels with the checkpoint.
    """

    def __init__(self, feature_dim: int, widths: tuple[int, ...], num_classes: int):
        super().__init__()
        if not widths or any(k < 1 for k in widths):
            raise ValueError(f"hash widths must be positive code lengths, got {widths!r}")
        self.widths, self.num_classes = tuple(widths), num_classes
        self.proj = nn.Linear(feature_dim, sum(widths))
        self.register_buffer("centers", torch.zeros(num_classes, sum(widths)))

    def project(self, f: torch.Tensor) -> torch.Tensor:
        return self.proj(f)

    def split(self, z: torch.Tensor) -> dict[int, torch.Tensor]:
        """{k: (B, k) slice of z} for every head width k."""
        return dict(zip(self.widths, torch.split(z, list(self.widths), dim=-1)))

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        return self.project(f)


MODEL_KINDS = {
    "real": "a real-valued model (build_model('real', ...))",
    "llc": "an LLC model (build_model('llc', ...))",
    "hash": "a hashing model (build_model('hash', ..., widths=...))",
}  # the heads build_model makes


class CodeNet(nn.Module):
    """Backbone followed by a RealHead or an LLCHead; ``forward`` returns (B, num_classes) logits."""

    def __init__(self, backbone: nn.Module, head: nn.Module, aux: nn.Module | None = None):
        super().__init__()
        self.backbone = backbone
        self.head = head
        self.aux = aux  # optional auxiliary real-valued classifier used only as a training signal

    @property
    def is_llc(self) -> bool:
        return isinstance(self.head, LLCHead)

    @property
    def kind(self) -> str:
        """'llc', 'hash' or 'real': what the head is."""
        return "llc" if self.is_llc else "hash" if isinstance(self.head, HashHead) else "real"

    def forward(self, x):
        return self.head(self.backbone(x))


def build_model(
    kind: str,
    num_classes: int,
    *,
    width: int = 16,
    backbone: str = "resnet9",
    bits: int | None = None,
    aux: bool = False,
    scaled: bool = True,
    widths: tuple[int, ...] = (),
    codebook_init: str = "uniform",
) -> CodeNet:
    """A CodeNet. kind: 'real' (bits = optional bottleneck width), 'llc' (bits = code length k; ``scaled``
    and ``codebook_init`` see LLCHead) or 'hash' (one hash layer per code length in ``widths``); ``aux=True``
    adds an auxiliary real-valued classifier (see TrainConfig.aux_weight)."""
    if num_classes < 2:
        raise ValueError(f"num_classes must be >= 2, got {num_classes}")
    body = resnet9(width) if backbone == "resnet9" else torchvision_backbone(backbone)
    if kind == "real":
        head = RealHead(body.feature_dim, num_classes, bits)
    elif kind in ("llc", "instance"):
        if not bits or bits < 1:
            raise ValueError(f"an LLC model needs bits >= 1, got {bits!r}")
        head = LLCHead(body.feature_dim, bits, num_classes, scaled=scaled, init=codebook_init)
    elif kind == "hash":
        head = HashHead(body.feature_dim, tuple(widths), num_classes)
    else:
        raise ValueError(f"unknown model kind {kind!r}; choose 'real', 'llc' or 'hash'")
    return CodeNet(body, head, RealHead(body.feature_dim, num_classes) if aux else None)
