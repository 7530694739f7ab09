"""Import of checkpoints in the official LLC release format (github.com/RAIVNLab/LLC, ImageNet ResNet50).

The official ResNet50 keeps torchvision's layer names (conv1, bn1, layer1..layer4 with conv1..3, bn1..3,
downsample.0/.1), stored under ``state_dict`` and usually prefixed ``module.`` (DataParallel). Its head is

* ``fc_lr``: a 1x1 convolution 2048 -> k without bias, weight (k, 2048, 1, 1): the projection P;
* ``fc`` (Phase 1 checkpoints only): a 1x1 convolution k -> C without bias whose weight (C, k, 1, 1) holds the
  real-valued codebook; the forward pass uses sign(weight) (0 -> -1) with a straight-through gradient.

So the official logits are sign(fc) . fc_lr(avgpool(features)), and a Phase 2 (instance-code) checkpoint has
only ``fc_lr``; its codebook is a separate ``.npy`` file of shape (C, k) (``--save-codebook`` there).
``import_official`` maps either into a ``CodeNet`` with a torchvision ResNet50 backbone and an unscaled
``LLCHead`` whose logits are the same numbers.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from .ckpt import CheckpointError, non_finite, read_checkpoint
from .models import CodeNet, build_model


def _state_dict(checkpoint) -> dict[str, torch.Tensor]:
    if isinstance(checkpoint, (str, Path)):
        checkpoint = read_checkpoint(
            checkpoint,
            "give the path of the official .pth/.state file",
            "is it a complete download of the official release?",
        )
    sd = checkpoint.get("state_dict", checkpoint) if isinstance(checkpoint, dict) else None
    if not isinstance(sd, dict):
        raise CheckpointError("an official checkpoint is a dict with a 'state_dict' (or the state dict itself)")
    return {k.removeprefix("module."): v for k, v in sd.items()}


def _codebook(codebook, num_bits: int) -> torch.Tensor:
    if isinstance(codebook, (str, Path)):
        path = Path(codebook)
        if not path.exists():
            raise CheckpointError(f"codebook file {path} does not exist")
        codebook = np.load(path, allow_pickle=False)
    c = torch.as_tensor(np.asarray(codebook), dtype=torch.float32)
    if c.ndim == 4:
        c = c.flatten(1)
    if c.ndim == 1 and c.numel() % num_bits == 0:  # the official loader reshapes a flat array to (C, k)
        c = c.view(-1, num_bits)
    if c.ndim != 2 or c.shape[1] != num_bits:
        raise CheckpointError(
            f"the codebook has shape {tuple(c.shape)}, but the projection fc_lr gives "
            f"{num_bits} bits: expected (num_classes, {num_bits})"
        )
    return c


def import_official(checkpoint, codebook=None, backbone: str = "resnet50") -> CodeNet:
    """A ``CodeNet`` (torchvision ``backbone``, unscaled LLCHead) holding an official LLC checkpoint.

    checkpoint: path or loaded dict (``{'state_dict': ...}`` or the state dict; ``module.`` prefixes are
    stripped). codebook: (C, k) real or +-1 codebook, or the path of the official ``.npy``; needed for a
    Phase 2 checkpoint (no ``fc``), and when given it replaces a Phase 1 checkpoint's ``fc``. Raises
    CheckpointError naming what does not fit.
    """
    sd = _state_dict(checkpoint)
    if "fc_lr.weight" not in sd:
        raise CheckpointError(
            "no 'fc_lr.weight' in the checkpoint: not an LLC checkpoint (the official "
            "projection to k bits is the 1x1 convolution fc_lr)"
        )
    proj = sd.pop("fc_lr.weight")
    proj = proj.flatten(1) if proj.ndim == 4 else proj
    fc = sd.pop("fc.weight", None)
    if codebook is None and fc is None:
        raise CheckpointError(
            "this checkpoint has no codebook (fc.weight): it is a Phase 2 (instance-code) "
            "checkpoint; pass codebook= the official .npy codebook file"
        )
    codes = _codebook(codebook if codebook is not None else fc, proj.shape[0])
    model = build_model("llc", codes.shape[0], backbone=backbone, bits=proj.shape[0], scaled=False)
    try:
        missing, unexpected = model.backbone.load_state_dict(sd, strict=False)
    except RuntimeError as e:  # a tensor of the wrong shape
        raise CheckpointError(
            f"the backbone does not match a torchvision {backbone}: {str(e).splitlines()[-1].strip()}"
        ) from e
    if missing or unexpected:
        raise CheckpointError(
            f"the backbone does not match a torchvision {backbone}: missing {sorted(missing)[:5]}"
            f"{'...' if len(missing) > 5 else ''}, unexpected {sorted(unexpected)[:5]}"
            f"{'...' if len(unexpected) > 5 else ''}"
        )
    if proj.shape[1] != model.backbone.feature_dim:
        raise CheckpointError(
            f"fc_lr expects {proj.shape[1]}-dim features, {backbone} gives {model.backbone.feature_dim}"
        )
    model.head.load_codebook(codes, proj)
    bad = non_finite(model.state_dict())
    if bad:
        raise CheckpointError(
            f"the official checkpoint holds NaN or infinite values in {', '.join(bad[:3])}; "
            f"is it a complete download of the official release?"
        )
    return model.eval()
