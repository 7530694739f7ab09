"""The run graph's nodes: every trained artefact is a frozen ``Spec``, named by a hash of its content.

A spec says everything that determines the weights: the recipe (``TrainConfig``, seed included), the
architecture, the training data (``DataSel``), how the weights start (``init`` from ``parent``) and, for
Phase 2, the frozen codebook (``CodebookSpec``). Its ``key`` is a hash of that content, and the checkpoint
is ``<runs>/ckpt/<label>-<key>.pt``: a changed recipe, data subset or parent trains under a new key, and a
checkpoint is only ever used for the exact spec that made it (the key is stored in the file and checked).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass

from ..config.recipe import TrainConfig
from ..methods import method
from .selection import DataSel

INITS = ("scratch", "backbone", "svd", "cca", "phase1", "codebook", "continue")


CODEBOOKS = ("learnt", "random", "svd", "cca")


@dataclass(frozen=True)
class Arch:
    """Backbone ('resnet9' of ``width``, or torchvision 'resnet18'/'resnet50') and the LLC head scaling."""

    backbone: str = "resnet9"
    width: int = 16
    scaled: bool = True


@dataclass(frozen=True)
class CodebookSpec:
    """The frozen class codes of a Phase 2 run: 'learnt' = the codebook file of the Phase 1 spec ``source``
    (its first ``bits`` bits); 'svd' / 'cca' of the real-valued spec ``source``; 'random' = i.i.d. bits
    for ``num_classes`` classes from ``seed``."""

    method: str
    bits: int
    source: "Spec | None" = None
    seed: int = 0
    num_classes: int = 0

    def __post_init__(self):
        if self.method not in CODEBOOKS:
            raise ValueError(f"unknown codebook {self.method!r}; choose one of {CODEBOOKS}")
        source = None if self.source is None else method(self.source.mode)
        want, ok = {
            "learnt": ("a model that learns a codebook (Phase 1)", source is not None and source.learns_codebook),
            "random": ("no source model", source is None),
        }.get(self.method, ("a real-valued model", source is not None and source.real_valued))
        if not ok:
            raise ValueError(
                f"a {self.method!r} codebook needs {want} as its source, got "
                f"{None if self.source is None else self.source.mode!r}"
            )
        if self.method == "random" and self.num_classes < 2:
            raise ValueError("a random codebook needs num_classes >= 2")
        if self.method == "learnt" and self.bits > self.source.cfg.bits:
            raise ValueError(f"{self.bits} bits asked of a {self.source.cfg.bits}-bit Phase 1 codebook")

    def content(self) -> dict:
        return {
            "method": self.method,
            "bits": self.bits,
            "seed": self.seed,
            "num_classes": self.num_classes,
            "source": None if self.source is None else self.source.content(),
        }

    @property
    def key(self) -> str:
        return _hash(self.content())


@dataclass(frozen=True)
class Spec:
    """One trained artefact. ``label`` only names the file; everything else is hashed into ``key``."""

    cfg: TrainConfig
    arch: Arch
    data: DataSel
    init: str = "scratch"
    parent: "Spec | None" = None
    codebook: CodebookSpec | None = None
    label: str = ""

    def __post_init__(self):
        if self.init not in INITS:
            raise ValueError(f"unknown init {self.init!r}; choose one of {INITS}")
        if (self.init == "scratch") != (self.parent is None):
            raise ValueError(f"init {self.init!r} {'takes no' if self.init == 'scratch' else 'needs a'} parent")
        if self.parent is not None:
            parent = method(self.parent.mode)
            want, ok = {
                "phase1": ("a model that learns a codebook (Phase 1)", parent.learns_codebook),
                "continue": (
                    f"a {self.mode!r} model of {self.cfg.bits} bits (training continued)",
                    (self.parent.mode, self.parent.cfg.bits, self.parent.cfg.nested)
                    == (self.mode, self.cfg.bits, self.cfg.nested),
                ),
            }.get(self.init, ("a real-valued model", parent.real_valued))
            if not ok:
                raise ValueError(f"init {self.init!r} starts from {want}, got a {self.parent.mode!r} parent")
            if (self.parent.arch.backbone, self.parent.arch.width) != (self.arch.backbone, self.arch.width):
                raise ValueError("a parent must have the same backbone and width as the model it initialises")
        if method(self.mode).frozen_codebook != (self.codebook is not None):
            raise ValueError(
                f"mode {self.mode!r}: a method that trains against a frozen codebook (Phase 2) needs "
                f"a codebook spec, and only such a method takes one"
            )
        if self.codebook is not None and self.codebook.bits != self.cfg.bits:
            raise ValueError(f"codebook of {self.codebook.bits} bits for a {self.cfg.bits}-bit run")
        if self.init == "codebook" and self.codebook is None:
            raise ValueError("init 'codebook' starts a Phase 2 run from its codebook spec, and this has none")

    @property
    def mode(self) -> str:
        return self.cfg.mode

    @property
    def seed(self) -> int:
        return self.cfg.seed

    def content(self) -> dict:
        """Everything that determines the weights, as plain JSON-ready data (``label`` excluded), in the
        canonical form of ``canonical``."""
        return {
            "cfg": canonical("cfg", self.cfg),
            "arch": canonical("arch", self.arch),
            "data": canonical("data", self.data),
            "init": self.init,
            "parent": None if self.parent is None else self.parent.content(),
            "codebook": None if self.codebook is None else self.codebook.content(),
        }

    @property
    def key(self) -> str:
        """12 hex digits of the SHA-256 of ``content()``."""
        return _hash(self.content())

    @property
    def name(self) -> str:
        return f"{self.label or self.mode}-{self.key}"

    def ancestors(self) -> list["Spec"]:
        """Every spec this one needs trained first (parents and codebook sources), deepest first, no repeats."""
        out: list[Spec] = []
        for dep in (self.parent, None if self.codebook is None else self.codebook.source):
            if dep is not None:
                for s in dep.ancestors() + [dep]:
                    if s not in out:
                        out.append(s)
        return out


# The fields of each part of a spec that are always hashed into its key. Any other field enters the key only when
# it differs from its default, so a new knob with a default keeps every key.
KEYED_FIELDS = {
    "cfg": (
        "mode",
        "bits",
        "nested",
        "epochs",
        "batch_size",
        "lr",
        "momentum",
        "nesterov",
        "weight_decay",
        "label_smoothing",
        "schedule",
        "warmup",
        "seed",
        "codebook_lr_mult",
        "head_lr_mult",
        "aux_weight",
        "max_steps_per_epoch",
        "codebook_init",
        "bce_bits",
        "cutout",
    ),
    "arch": ("backbone", "width", "scaled"),
    "data": ("dataset", "per_class", "classes", "seed", "image_size"),
}


def canonical(part: str, obj) -> dict:
    """``obj`` (a TrainConfig, Arch or DataSel) as the dict its key hashes: the ``KEYED_FIELDS`` of ``part``
    always, any other field only when it is not at its default."""
    base, values = KEYED_FIELDS[part], dataclasses.asdict(obj)
    return {f.name: values[f.name] for f in dataclasses.fields(obj) if f.name in base or values[f.name] != f.default}


def _hash(content: dict) -> str:
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:12]
