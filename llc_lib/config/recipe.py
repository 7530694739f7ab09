"""One training run's recipe: ``TrainConfig`` (method, optimiser, schedule, code length, seed), validated when
made, and the limits its fields are checked against."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ..methods import method

BACKBONES = ("resnet9", "resnet18", "resnet50")


LLC_INITS = ("scratch", "svd", "cca", "real")


# [low, high) of TrainConfig's float fields (warmup: [0, 1]). The profiles use lr <= 0.2, weight decay <= 5e-4,
# multipliers and weights <= 3.2. A learning rate far above that diverges, which training reports as such
# (train.TrainingDiverged: "lower lr"); the bounds only keep every product SGD forms of these fields finite in
# float32 (largest 3.4e38), the parameters' type, where lr = 1e308 would overflow in the first optimiser step
# instead of being refused here. Weight decay below 1: each step shrinks the weights by the fraction
# lr x weight decay, at 1 or more as much as a whole step of the learning rate.
_RANGES = {
    "lr": (0, 1e15),
    "momentum": (0, 1),
    "weight_decay": (0, 1),
    "label_smoothing": (0, 1),
    "warmup": (0, 1),
    "codebook_lr_mult": (0, 1000),
    "head_lr_mult": (0, 1000),
    "aux_weight": (0, 1000),
    "bce_scale": (0, 1000),
}


# Most epochs of one run: a CIFAR-100 epoch takes seconds on a GPU and minutes on a CPU, so more epochs than
# this could not finish in weeks; the profiles train 1 to 100.
MAX_EPOCHS = 10_000


# Seeds are integers in 0..MAX_SEED: numpy's legacy seeding takes no more, and torch's generators (up to
# 2^64 - 1) take MAX_SEED x 100_003 + epoch, the seed of an epoch's batches (data.TrainBatches).
MAX_SEED = 2**32 - 1


@dataclass(frozen=True)
class TrainConfig:
    """One training run.

    mode: "real" (linear classifier, optionally through a d-dim bottleneck), "llc" (Phase 1: class codes),
    "instance" (Phase 2: per-bit BCE against a frozen codebook), "hashnet" / "csq" (deep-hashing
    baselines for retrieval, see ``methods``).
    bits: code length k ("llc"/"instance"; the longest head for "hashnet"/"csq") or bottleneck width
    ("real"; None = no bottleneck).
    nested: "llc": code prefixes that each get a cross-entropy term (the paper's nested codebooks; () means
    only the full k bits). "real" with a bottleneck: the bottleneck prefixes that each get a cross-entropy
    term (``methods.real``). "hashnet"/"csq": the code lengths of the hash heads trained together.
    max_steps_per_epoch: cap on optimiser steps per epoch (None = whole epoch), for smoke-testing the
    paper-scale profiles; the learning-rate schedule follows the capped length.
    schedule: "onecycle" (linear warm-up for ``warmup`` of the steps, then linear decay to 0) or "cosine"
    (cosine decay from lr to 0 after the same warm-up).
    head_lr_mult: learning-rate multiplier of the head's projection (the hash layer of "hashnet"/"csq").
    aux_weight: Phase 1 only: weight of the cross-entropy of an auxiliary real-valued linear classifier on the
    backbone features (the model must be built with ``aux=True``; the aux head is discarded afterwards).
    codebook_init: Phase 1: "uniform" (nn.Linear's default, kaiming uniform with a = sqrt(5)) or "normal"
    (kaiming normal, as the official code).
    bce_bits: Phase 2: the BCE covers the first ``bce_bits`` bits only (None = all k bits).
    bce_scale: Phase 2: the BCE (a mean over images and bits) multiplied by this factor; 64 / 20 = 3.2 gives
    each of the first 20 bits of a 64-bit code the gradient a BCE over those 20 bits alone would give them,
    while still training all 64.
    csq_centers: "csq": the hash centres, "paper" (Hadamard rows only when C <= 2k, else i.i.d. bits) or
    "public" (the public code: Hadamard rows, then balanced random rows; see ``methods.csq.centers``).
    cutout: side in pixels of a random square zeroed in every training image (0 = none; Cutout, DeVries &
    Taylor 2017), on top of the random crop and flip.
    micro_batch: images per forward pass (None = the whole batch): each optimiser step accumulates the
    gradients of the batch's micro-batches, weighted by their sizes, so the loss is the batch mean as before,
    but BatchNorm takes its statistics over each micro-batch ("ghost batches", as per-GPU BatchNorm does in
    data-parallel training). Faster on a CPU whose cache holds a micro-batch's activations
    (docs/measurements/run_times_2026-12-02.md). Not for a loss over the pairs of a batch (HashNet).
    cpu_bf16: on the CPU, train under bf16 autocast (``torch.autocast("cpu", torch.bfloat16)``: convolutions and
    matrix products in bfloat16, weights and optimiser state in float32), as CUDA GPUs with bf16 always do;
    it changes nothing on CUDA but the key. Evaluation stays in float32.
    """

    mode: str = "real"
    bits: int | None = None
    nested: tuple[int, ...] = ()
    epochs: int = 10
    batch_size: int = 256
    lr: float = 0.2
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 5e-4
    label_smoothing: float = 0.1
    schedule: str = "onecycle"
    warmup: float = 0.25
    seed: int = 0
    codebook_lr_mult: float = 1.0
    head_lr_mult: float = 1.0
    aux_weight: float = 0.0
    max_steps_per_epoch: int | None = None
    codebook_init: str = "uniform"
    bce_bits: int | None = None
    bce_scale: float = 1.0
    cutout: int = 0
    csq_centers: str = "paper"
    micro_batch: int | None = None
    cpu_bf16: bool = False

    def __post_init__(self):
        method(self.mode)  # a registered method, else ValueError
        if self.mode != "real" and (self.bits is None or self.bits < 1):
            raise ValueError(f"mode {self.mode!r} needs bits >= 1, got {self.bits!r}")
        if self.bits is not None and self.bits < 1:
            raise ValueError(f"bits must be >= 1, got {self.bits}")
        if self.mode == "real" and self.nested and self.bits is None:
            raise ValueError("a nested real-valued bottleneck needs bits (its width) >= max(nested)")
        if any(p < 1 or (self.bits is not None and p > self.bits) for p in self.nested):
            raise ValueError(f"nested prefixes {self.nested} must lie in 1..bits={self.bits}")
        if self.schedule not in ("onecycle", "cosine"):
            raise ValueError(f"schedule must be 'onecycle' or 'cosine', got {self.schedule!r}")
        if self.epochs < 1 or self.batch_size < 1 or self.lr <= 0:
            raise ValueError("epochs, batch_size and lr must be positive")
        if self.epochs > MAX_EPOCHS:
            raise ValueError(
                f"epochs of a {self.mode!r} run must lie in 1..{MAX_EPOCHS} (more could not finish), got {self.epochs}"
            )
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or not 0 <= self.seed <= MAX_SEED:
            raise ValueError(f"seed must be an integer in 0..{MAX_SEED}, got {self.seed!r}")
        if self.codebook_init not in ("uniform", "normal"):
            raise ValueError(f"codebook_init must be 'uniform' or 'normal', got {self.codebook_init!r}")
        if self.bce_bits is not None and not 1 <= self.bce_bits <= (self.bits or 0):
            raise ValueError(f"bce_bits must lie in 1..bits={self.bits}, got {self.bce_bits}")
        if self.csq_centers not in ("paper", "public"):
            raise ValueError(f"csq_centers must be 'paper' or 'public', got {self.csq_centers!r}")
        if self.bce_scale == 0:
            raise ValueError("bce_scale must be > 0")
        if self.cutout < 0:
            raise ValueError(f"cutout must be >= 0 pixels, got {self.cutout}")
        if self.micro_batch is not None and not 1 <= self.micro_batch <= self.batch_size:
            raise ValueError(
                f"micro_batch must lie in 1..batch_size={self.batch_size} or be None, got {self.micro_batch}"
            )
        if self.micro_batch is not None and method(self.mode).pairwise:
            raise ValueError(f"mode {self.mode!r} has a loss over the pairs of a batch: train it without micro_batch")
        if self.max_steps_per_epoch is not None and self.max_steps_per_epoch < 1:
            raise ValueError(f"max_steps_per_epoch must be >= 1 or None, got {self.max_steps_per_epoch}")
        for name, (low, high) in _RANGES.items():  # [low, high), warmup [0, 1]
            v = getattr(self, name)
            number = not isinstance(v, bool) and isinstance(v, (int, float))
            inside = number and (low <= v < high or (name == "warmup" and v == high))  # False for nan
            if not inside:
                raise ValueError(
                    f"{name} must be a finite number in [{low:g}, {high:g}{']' if name == 'warmup' else ')'}, got {v!r}"
                )
        if self.nesterov and self.momentum == 0:
            raise ValueError("nesterov needs momentum > 0")

    def replace(self, **kw) -> "TrainConfig":
        return dataclasses.replace(self, **kw)
