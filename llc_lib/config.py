"""Run settings: one dataclass per training run and one per profile.

A *profile* fixes the data, backbone and the recipe of every run, so that a notebook or the CLI only has
to say ``profile="cpu"``. The CIFAR-100 profiles (``smoke``, ``cpu``, ``gpu``) back the notebooks;
``resolve_profile("auto")`` picks ``$LLC_PROFILE`` when set, else ``gpu`` when CUDA is available, else
``cpu``. The paper-scale profiles (``imagenet``, ``tinyimagenet``) train on ImageFolder data through the
CLI (``python -m llc_lib train``, also under ``torchrun``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import re
from dataclasses import dataclass

from .env import env
from .methods import csq, hashnet, method

PROFILES = ("smoke", "cpu", "gpu")  # CIFAR-100: notebooks and CLI
# Phase 2 of the 64-bit main code: its BCE (a mean over the 64 bits) times 64/20, so that each of the first 20
# bits gets the gradient of a 20-bit BCE (docs/measurements/phase2_convergence_cpu_seed0.md)
PHASE2_BCE_SCALE = 64 / 20
CIFAR100_TRAIN_IMAGES = 50_000
PAPER_PROFILES = ("imagenet", "tinyimagenet")  # ImageFolder: CLI only
NUM_CLASSES = {"cifar100": 100, "imagenet": 1000, "tinyimagenet": 200}
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


@dataclass(frozen=True)
class Profile:
    """Everything the reproduction needs for one compute budget.

    dataset: "cifar100" (the shipped npz), "imagenet" or "tinyimagenet" (ImageFolder, see ``data``).
    backbone: "resnet9" (CIFAR ResNet-9, feature dim 8 * width) or a torchvision "resnet18"/"resnet50";
    image_size: training crop of ImageFolder data. scaled_head: LLC logits divided by sqrt(k) (see
    ``codebook.LLCHead``; False = the official formula). workers: DataLoader workers for ImageFolder data.
    per_class: images per class kept from the training split (None = all); test_per_class likewise.
    bits: code lengths of the headline table (16 bits for 100 classes are about as dense as the paper's 20 for
    1000, by the distance from a code to its nearest other code); sweep: code lengths of the accuracy-vs-bits
    study. The main LLC model is one nested run at max(sweep) whose prefixes are the sweep, so every k comes
    from it; Phase 2 (instance codes) likewise runs once at max(sweep).
    table_bits: the paper-style table's k = 2 ceil(log2 C).
    llc_init: "scratch" (the paper: everything learnt end-to-end from random init) or "svd" (warm start from the
    real-valued model). aux_weight: weight of the auxiliary real-valued head during Phase 1 (0 = none).
    warm_epochs: Phase 1 epochs of the SVD/CCA warm-start ablations. fast_per_class, fast_width: data and
    backbone of the "faster codebook learning" ablation.
    retrieval_bits: code lengths of the retrieval study (prefixes of the main code; one hash head each).
    comparison: the Phase 2 recipe of the codebook comparisons (Random / SVD / CCA / LLC codebook on the same
    path, the fast codebook), which only need every codebook trained alike; None = ``instance``.
    hashing: recipe of the HashNet / CSQ baselines (fine-tuned from the real-valued model's backbone).
    csq_epochs: CSQ's epochs (None = ``hashing.epochs``, as HashNet). The cpu and gpu profiles give each
    baseline at least its published length, in epochs of this training set by images seen (HashNet 14.4 -> 15,
    CSQ 23.4 -> 24: ``published_epochs`` of ``methods.hashnet`` and ``methods.csq``).
    ood_classes: the OOD study trains on classes 0..ood_classes-1; ood_bits: its nested code prefixes.
    ood_epochs: epochs of the OOD study's real-valued and Phase 1 models (its Phase 2 keeps the profile's
    ratio of Phase 2 to Phase 1 epochs); None = the profile's. Its detectors are compared on the same models,
    so they only need equal epochs.
    seeds: the seeds the gpu profile's notebooks repeat the main models with.
    overrides: every change made to the profile as defined (``apply_sets``, ``override``), as canonical
    ``key=value`` strings; empty for the profile as defined, the only one whose results are published.
    """

    name: str
    per_class: int | None
    test_per_class: int | None
    width: int
    bits: tuple[int, ...]
    real: TrainConfig
    llc: TrainConfig
    instance: TrainConfig
    sweep: tuple[int, ...] = (7, 8, 10, 12, 14, 16, 20, 25, 30, 32, 64)
    table_bits: int = 14
    llc_init: str = "scratch"
    aux_weight: float = 1.0
    warm_epochs: int = 4
    fast_per_class: int = 100
    fast_width: int = 8
    retrieval_bits: tuple[int, ...] = (8, 10, 16, 32, 64)
    hashing: TrainConfig | None = None
    csq_epochs: int | None = None
    comparison: TrainConfig | None = None
    ood_classes: int = 75
    ood_bits: tuple[int, ...] = (8, 10, 12, 14)
    ood_epochs: int | None = None
    seeds: tuple[int, ...] = (0,)
    dataset: str = "cifar100"
    backbone: str = "resnet9"
    image_size: int = 32
    scaled_head: bool = True
    workers: int = 0
    overrides: tuple[str, ...] = ()

    def __post_init__(self):
        def ints(name, values, low=1, high=None):
            bad = [
                v
                for v in values
                if isinstance(v, bool) or not isinstance(v, int) or v < low or (high is not None and v > high)
            ]
            if bad or not values:
                span = f"in {low}..{high}" if high is not None else f">= {low}"
                raise ValueError(f"{name} must be integers {span}, got {bad or values!r}")

        ints("sweep", self.sweep)
        top, classes = max(self.sweep), NUM_CLASSES.get(self.dataset, 2)
        ints("bits (the headline's code lengths, prefixes of the main code)", self.bits, 1, top)
        ints("retrieval_bits (prefixes of the main code)", self.retrieval_bits, 1, top)
        ints(
            "table_bits (the ablations' code length; SVD/CCA give at most C - 1)",
            (self.table_bits,),
            1,
            min(top, classes - 1),
        )
        ints("ood_bits", self.ood_bits)
        ints("ood_classes", (self.ood_classes,), 2, classes - 1)
        ints("seeds", self.seeds, 0, MAX_SEED)
        ints("width", (self.width,))
        ints("fast_width", (self.fast_width,))
        ints("fast_per_class", (self.fast_per_class,))
        ints("warm_epochs", (self.warm_epochs,), 1, MAX_EPOCHS)
        for name in ("hashing", "comparison"):
            cfg = getattr(self, name)
            if cfg is not None and not isinstance(cfg, TrainConfig):
                raise ValueError(f"{name} must be a TrainConfig or None, got {cfg!r}")
        if self.comparison is not None and self.comparison.mode != "instance":
            raise ValueError(f"comparison is a Phase 2 recipe (mode 'instance'), got mode {self.comparison.mode!r}")
        if self.ood_epochs is not None:
            ints("ood_epochs", (self.ood_epochs,), 1, MAX_EPOCHS)
        if self.csq_epochs is not None:
            ints("csq_epochs", (self.csq_epochs,), 1, MAX_EPOCHS)
        ints("image_size", (self.image_size,))
        for name in RUN_SECTIONS:  # a square no larger than the training images (image_size x image_size)
            cfg = getattr(self, name)
            if isinstance(cfg, TrainConfig) and not 0 <= cfg.cutout <= self.image_size:
                raise ValueError(
                    f"{name}.cutout must lie in 0..{self.image_size} pixels, the side of the training "
                    f"images, got {cfg.cutout}"
                )
        ints("workers", (self.workers,), 0)
        for name in ("per_class", "test_per_class"):
            if getattr(self, name) is not None:
                ints(name, (getattr(self, name),))
        if self.backbone not in BACKBONES:
            raise ValueError(f"backbone must be one of {BACKBONES}, got {self.backbone!r}")
        if self.llc_init not in LLC_INITS:
            raise ValueError(f"llc_init must be one of {LLC_INITS}, got {self.llc_init!r}")
        low, high = _RANGES["aux_weight"]  # the weight of Phase 1's TrainConfig
        if isinstance(self.aux_weight, bool) or not (
            isinstance(self.aux_weight, (int, float)) and low <= self.aux_weight < high
        ):
            raise ValueError(f"aux_weight must be a finite number in [{low:g}, {high:g}), got {self.aux_weight!r}")

    @property
    def max_bits(self) -> int:
        return max(self.sweep)

    @property
    def variant(self) -> str:
        """'' for the profile as defined; else a folder name made of its overrides (readable part + hash)."""
        if not self.overrides:
            return ""
        text = "+".join(self.overrides)
        readable = re.sub(r"[^A-Za-z0-9.,_-]+", "-", text.replace("=", "-").replace("+", "_"))[:60]
        return f"{readable}-{hashlib.sha256(text.encode()).hexdigest()[:8]}"


def _make(name: str) -> Profile:
    if name == "smoke":  # tiny real subset: every code path in about a minute
        real = TrainConfig(mode="real", epochs=2, batch_size=128, lr=0.2)
        llc = TrainConfig(mode="llc", bits=64, epochs=2, batch_size=128, lr=0.2)
        inst = TrainConfig(mode="instance", bits=64, epochs=1, batch_size=128, lr=0.01, micro_batch=64)
        return Profile(
            "smoke",
            per_class=20,
            test_per_class=10,
            width=8,
            bits=(7, 10, 14, 16, 20),
            real=real,
            llc=llc,
            instance=inst,
            sweep=(7, 8, 10, 14, 16, 20, 32, 64),
            warm_epochs=1,
            fast_per_class=10,
            fast_width=4,
            hashing=hashnet.recipe(inst),
            comparison=inst,
            ood_bits=(8, 14),
        )
    if name == "cpu":  # real CIFAR-100 on a 2-core CPU
        real = TrainConfig(mode="real", epochs=15, lr=0.2)
        llc = TrainConfig(mode="llc", bits=64, epochs=15, lr=0.2)
        # Phase 2: lr 0.2 for 30 epochs, cosine without warm-up, the 64-bit BCE x 64/20, in micro-batches of 64
        # (docs/measurements/phase2_convergence_cpu_seed0.md: meets the cpu goals, not converged); the codebook
        # comparisons train every codebook alike for 3 epochs of the baselines' Phase 2 (lr 0.05); the OOD
        # study's models 8 epochs (the cold-run budget: docs/measurements/run_times_2026-12-02.md)
        inst = TrainConfig(
            mode="instance",
            bits=64,
            epochs=30,
            lr=0.2,
            schedule="cosine",
            warmup=0.0,
            bce_scale=PHASE2_BCE_SCALE,
            micro_batch=64,
        )
        return Profile(
            "cpu",
            per_class=None,
            test_per_class=None,
            width=16,
            bits=(7, 10, 14, 16, 20),
            real=real,
            llc=llc,
            instance=inst,
            warm_epochs=4,
            ood_epochs=8,
            comparison=_BASELINE_PHASE2.replace(epochs=3),
            **_published_hashing(_BASELINE_PHASE2),
        )
    if name == "gpu":
        # A CIFAR recipe, not ImageNet's: the cpu profile's (SGD lr 0.2 at batch 256, Nesterov momentum 0.9,
        # weight decay 5e-4, one-cycle, label smoothing 0.1) for 60 epochs on a ResNet-9 of width 64; why not
        # the official ImageNet recipe, in docs/deviations.md. Phase 2: the cpu profile's recipe (lr 0.2 for 30
        # epochs, cosine without warm-up, BCE x 64/20) in whole batches. Three seeds.
        real = TrainConfig(mode="real", epochs=60, lr=0.2)
        llc = TrainConfig(mode="llc", bits=64, epochs=60, lr=0.2)
        inst = TrainConfig(
            mode="instance", bits=64, epochs=30, lr=0.2, schedule="cosine", warmup=0.0, bce_scale=PHASE2_BCE_SCALE
        )
        return Profile(
            "gpu",
            per_class=None,
            test_per_class=None,
            width=64,
            bits=(7, 10, 14, 16, 20),
            real=real,
            llc=llc,
            instance=inst,
            warm_epochs=15,
            fast_per_class=100,
            fast_width=16,
            seeds=(0, 1, 2),
            comparison=inst,
            **_published_hashing(_BASELINE_PHASE2),
        )
    if name in PAPER_PROFILES:
        # The official recipe: SGD lr 0.1 x batch/256 (batch = the global batch over all GPUs), momentum
        # 0.875, wd 2^-15 (not on BatchNorm/bias), cosine, label smoothing 0.1, 100 epochs; Phase 2 lr 0.01,
        # 25 epochs; the official (unscaled) LLC head, no auxiliary head, from scratch; ResNet50.
        batch = 256
        common = dict(
            momentum=0.875, nesterov=False, weight_decay=2**-15, schedule="cosine", warmup=0.0, batch_size=batch
        )
        imagenet = name == "imagenet"
        k = 20 if imagenet else 16  # 2 log2 C: C = 1000 / 200
        epochs = 100 if imagenet else 60
        real = TrainConfig(mode="real", epochs=epochs, lr=0.1 * batch / 256, **common)
        llc = TrainConfig(mode="llc", bits=k, epochs=epochs, lr=0.1 * batch / 256, **common)
        inst = TrainConfig(mode="instance", bits=k, epochs=25 if imagenet else 15, lr=0.01 * batch / 256, **common)
        return Profile(
            name,
            per_class=None,
            test_per_class=None,
            width=64,
            bits=(k,),
            real=real,
            llc=llc,
            instance=inst,
            sweep=(k,),
            table_bits=k,
            aux_weight=0.0,
            dataset=name,
            backbone="resnet50",
            image_size=224 if imagenet else 64,
            scaled_head=False,
            workers=8,
            retrieval_bits=(k,),
        )
    raise ValueError(f"unknown profile {name!r}; choose one of {PROFILES + PAPER_PROFILES} or 'auto'")


# The baselines' Phase 2 on CIFAR-100: SGD lr 0.05 at batch 256, cosine without warm-up, the 64-bit BCE x 64/20,
# whole batches, 15 epochs; the baselines' three-seed numbers (figures/seeds.json) are measured with it, not with
# the profiles' own Phase 2. HashNet and CSQ take its optimiser and schedule (cpu and gpu; ``_published_hashing``
# sets their lengths), the cpu profile's codebook comparisons 3 epochs of it.
_BASELINE_PHASE2 = TrainConfig(
    mode="instance", bits=64, epochs=15, lr=0.05, schedule="cosine", warmup=0.0, bce_scale=PHASE2_BCE_SCALE
)


def _published_hashing(phase2: TrainConfig) -> dict:
    """Profile fields ``hashing`` and ``csq_epochs`` that give HashNet and CSQ at least their published lengths
    on CIFAR-100's training split (epochs rounded up), with the optimiser and schedule of ``phase2``."""
    n = CIFAR100_TRAIN_IMAGES
    return {
        "hashing": hashnet.recipe(phase2).replace(epochs=math.ceil(hashnet.published_epochs(n))),
        "csq_epochs": math.ceil(csq.published_epochs(n)),
    }


def scale_epochs(n: int | None, to: int, base: int) -> int | None:
    """``n`` epochs scaled by ``to / base`` (at least 1), as a run keeps its ratio to Phase 1's ``base`` epochs
    when those become ``to``; None stays None."""
    return None if n is None else max(1, round(n * to / base))


def override(
    profile: Profile,
    *,
    epochs: int | None = None,
    batch_size: int | None = None,
    max_steps: int | None = None,
    subset: int | None = None,
    image_size: int | None = None,
    workers: int | None = None,
) -> Profile:
    """``profile`` with command-line overrides. epochs: Phase 1 and real runs (Phase 2 keeps its ratio to
    them, at least 1); batch_size: the global batch, the learning rates scaled linearly with it;
    max_steps: optimiser steps per epoch at most; subset: images per class (train and test). Each one given
    is recorded in ``overrides``; workers (DataLoader processes) changes no number and is not."""

    def run(cfg: TrainConfig, phase2: bool = False) -> TrainConfig:
        kw = {}
        if epochs is not None:
            base = profile.llc.epochs
            kw["epochs"] = scale_epochs(cfg.epochs, epochs, base) if phase2 else epochs
        if batch_size is not None:
            kw.update(batch_size=batch_size, lr=cfg.lr * batch_size / cfg.batch_size)
            if cfg.micro_batch is not None:
                kw["micro_batch"] = min(cfg.micro_batch, batch_size)
        if max_steps is not None:
            kw["max_steps_per_epoch"] = max_steps
        return cfg.replace(**kw)

    for name, v in (
        ("epochs", epochs),
        ("batch_size", batch_size),
        ("max_steps", max_steps),
        ("subset", subset),
        ("image_size", image_size),
    ):
        if v is not None and (not isinstance(v, int) or v < 1):
            raise ValueError(f"{name} must be a positive integer, got {v!r}")
    if workers is not None and workers < 0:
        raise ValueError(f"workers must be >= 0, got {workers}")
    if image_size is not None and profile.dataset == "cifar100":
        raise ValueError("--image-size is the training crop of ImageFolder data; CIFAR images are always 32 x 32")
    made = tuple(
        f"{name}={v}"
        for name, v in (
            ("epochs", epochs),
            ("batch_size", batch_size),
            ("max_steps", max_steps),
            ("subset", subset),
            ("image_size", image_size),
        )
        if v is not None
    )
    return dataclasses.replace(
        profile,
        real=run(profile.real),
        llc=run(profile.llc),
        instance=run(profile.instance, phase2=True),
        hashing=None if profile.hashing is None else run(profile.hashing, phase2=True),
        comparison=None if profile.comparison is None else run(profile.comparison, phase2=True),
        ood_epochs=profile.ood_epochs
        if epochs is None
        else scale_epochs(profile.ood_epochs, epochs, profile.llc.epochs),
        csq_epochs=profile.csq_epochs
        if epochs is None
        else scale_epochs(profile.csq_epochs, epochs, profile.llc.epochs),
        per_class=subset if subset is not None else profile.per_class,
        test_per_class=subset if subset is not None else profile.test_per_class,
        image_size=image_size or profile.image_size,
        workers=profile.workers if workers is None else workers,
        overrides=profile.overrides + made,
    )


def resolve_profile(name: str = "auto") -> str:
    """Return a concrete profile name: 'auto' -> $LLC_PROFILE, else 'gpu' with CUDA, else 'cpu'."""
    if not isinstance(name, str):
        raise ValueError(f"profile must be a string, got {name!r}")
    if name == "auto":
        import torch

        name = env("LLC_PROFILE") or ("gpu" if torch.cuda.is_available() else "cpu")
    if name not in PROFILES + PAPER_PROFILES:
        raise ValueError(f"unknown profile {name!r}; choose one of {PROFILES + PAPER_PROFILES} or 'auto'")
    return name


def notebook_profile(name: str = "auto") -> str:
    """``resolve_profile(name)`` when that is a profile the notebooks (and so ``make reproduce``) run: smoke,
    cpu or gpu (``PROFILES``), named or picked by 'auto'. ValueError naming the input otherwise, before
    anything is written; a paper-scale profile trains through the CLI only."""
    picked = env("LLC_PROFILE") if name == "auto" else name
    if (picked or name != "auto") and picked not in PROFILES:
        given = f"$LLC_PROFILE={picked!r} (what 'auto' picks)" if name == "auto" else repr(picked)
        cli = (
            f"; {picked} trains on ImageFolder data through `python -m llc_lib train --profile {picked}`"
            if picked in PAPER_PROFILES
            else ""
        )
        raise ValueError(f"{given} is not a profile of the notebooks: use smoke, cpu, gpu or auto{cli}")
    return resolve_profile(name)


def get_profile(name: str = "auto") -> Profile:
    """The Profile for ``name`` (see ``resolve_profile``)."""
    return _make(resolve_profile(name))


# --------------------------------------------------------------------------------- --set key=value
RUN_SECTIONS = ("real", "llc", "instance", "comparison", "hashing")
_COMMON = (
    "epochs",
    "batch_size",
    "lr",
    "momentum",
    "nesterov",
    "weight_decay",
    "schedule",
    "warmup",
    "max_steps_per_epoch",
    "head_lr_mult",
    "cutout",
    "micro_batch",
)
# the TrainConfig fields each run's recipe reads and the run graph leaves as the profile says
SETTABLE = {
    "real": _COMMON + ("label_smoothing", "bits", "nested"),
    "llc": _COMMON + ("label_smoothing", "codebook_lr_mult", "codebook_init"),
    "instance": _COMMON + ("bce_bits", "bce_scale"),
    "comparison": _COMMON + ("bce_bits", "bce_scale"),
    "hashing": tuple(k for k in _COMMON if k != "micro_batch") + ("csq_centers",),
}  # HashNet: whole batches
# fields the run graph sets itself, and what to change instead
SET_ELSEWHERE = {
    "seed": "the seed (--seed, or a notebook's seed parameter)",
    "mode": "nothing: each run has its mode",
    "llc.bits": "sweep=... (the main run is nested over the sweep, k = max(sweep))",
    "llc.nested": "sweep=...",
    "llc.aux_weight": "aux_weight=...",
    "instance.bits": "sweep=... (Phase 2 takes its Phase 1's length)",
    "instance.nested": "nothing: Phase 2 trains every bit of its codebook",
    "comparison.bits": "table_bits=... or sweep=... (each comparison takes its codebook's length)",
    "comparison.nested": "nothing: Phase 2 trains every bit of its codebook",
    "hashing.bits": "retrieval_bits=...",
    "hashing.nested": "retrieval_bits=...",
}
PROFILE_SETTABLE = (
    "per_class",
    "test_per_class",
    "width",
    "bits",
    "sweep",
    "table_bits",
    "llc_init",
    "aux_weight",
    "warm_epochs",
    "fast_per_class",
    "fast_width",
    "retrieval_bits",
    "ood_classes",
    "ood_bits",
    "ood_epochs",
    "csq_epochs",
    "seeds",
    "backbone",
    "image_size",
    "scaled_head",
    "workers",
)


UNRECORDED = ("workers",)  # settings that change no number: not an override of the published results


def settable_keys(profile: Profile) -> list[str]:
    """Every key ``apply_sets`` takes for ``profile`` (``image_size`` only for ImageFolder data)."""
    runs = [f"{run}.{f}" for run in RUN_SECTIONS if getattr(profile, run) is not None for f in SETTABLE[run]]
    return runs + [k for k in PROFILE_SETTABLE if not (k == "image_size" and profile.dataset == "cifar100")]


def _coerce(text: str, annotation, where: str):
    """``text`` as a value of the (string) type annotation of a dataclass field."""
    t = annotation.replace(" ", "")
    optional = t.endswith("|None")
    t = t.removesuffix("|None")
    if optional and text.lower() in ("none", "null", ""):
        return None
    try:
        if t == "bool":
            if text.lower() not in ("true", "false", "1", "0"):
                raise ValueError
            return text.lower() in ("true", "1")
        if t == "int":
            return int(text)
        if t == "float":
            return float(text)
        if t.startswith("tuple[int"):
            return tuple(int(v) for v in text.strip("()[]").split(",") if v.strip())
        if t == "str":
            return text
    except ValueError:
        article = "an" if t[:1] in "aeiou" else "a"
        raise ValueError(f"--set {where}: {text!r} is not {article} {annotation}") from None
    raise ValueError(f"--set {where}: fields of type {annotation} cannot be set from the command line")


def apply_sets(profile: Profile, sets) -> Profile:
    """``profile`` with typed overrides, nanoGPT style: each item is ``key=value`` where key is a Profile field
    (``width=32``) or ``<run>.<field>`` with run one of real, llc, instance, comparison, hashing (``llc.lr=0.05``,
    ``instance.epochs=10``). Values are parsed by the field's type and checked (finite, in range) before
    anything trains; a key the run graph would overwrite or the run's recipe does not read is refused, with
    the valid keys listed (``settable_keys``). Each override is recorded in ``overrides``, and its new value
    is part of every affected spec, so it trains under new keys."""
    if isinstance(sets, str):
        sets = [sets]
    valid = settable_keys(profile)
    for item in sets or ():
        if not isinstance(item, str) or "=" not in item:
            raise ValueError(f"--set takes key=value (e.g. llc.lr=0.05), got {item!r}")
        key, text = (x.strip() for x in item.split("=", 1))
        field = key.rpartition(".")[2]
        elsewhere = SET_ELSEWHERE.get(key) or (SET_ELSEWHERE.get(field) if field in ("seed", "mode") else None)
        if elsewhere:
            raise ValueError(f"--set {key}: the run graph sets this itself; change {elsewhere}")
        if key not in valid:
            raise ValueError(f"--set {key}: not a setting of profile {profile.name!r}; valid keys: {', '.join(valid)}")
        try:
            if "." in key:
                run = key.split(".")[0]
                ftype = {f.name: str(f.type) for f in dataclasses.fields(TrainConfig)}[field]
                new = getattr(profile, run).replace(**{field: _coerce(text, ftype, key)})
                profile = dataclasses.replace(profile, **{run: new})
                value = getattr(new, field)
            else:
                ftype = {f.name: str(f.type) for f in dataclasses.fields(Profile)}[key]
                profile = dataclasses.replace(profile, **{key: _coerce(text, ftype, key)})
                value = getattr(profile, key)
        except ValueError as e:
            raise ValueError(str(e) if str(e).startswith("--set") else f"--set {key}={text}: {e}") from None
        canon = ",".join(map(str, value)) if isinstance(value, tuple) else str(value)
        if key not in UNRECORDED:
            profile = dataclasses.replace(profile, overrides=profile.overrides + (f"{key}={canon}",))
    return profile
