"""Overrides of a profile: ``apply_sets(profile, ["llc.lr=0.05", ...])``, the one grammar of the CLI's ``--set``, the
notebooks' ``overrides`` and the recipe variants. A key is ``<run>.<field>`` (a run's TrainConfig field) or a
profile field; a key the profile's runs do not read is refused with the valid keys listed, and every value is
converted to the field's type and range-checked before anything trains."""

from __future__ import annotations

import dataclasses

from .profiles import RUN_SECTIONS, Profile, scale_epochs
from .recipe import TrainConfig


def _scale(profile: Profile, key: str, value: int) -> Profile:
    """``profile`` with one whole-profile key of ``SCALED`` set to ``value`` (a positive integer), recorded in
    ``overrides``. epochs: Phase 1 and real runs (Phase 2, the baselines' Phase 2, hashing, OOD and CSQ keep their
    ratio to them, at least 1); batch_size: the global batch, the learning rates scaled linearly with it (a
    micro-batch never above it); max_steps: optimiser steps per epoch at most; subset: images per class (training
    and test)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{key} must be a positive integer, got {value!r}")

    def run(cfg: TrainConfig | None, phase2: bool = False) -> TrainConfig | None:
        if cfg is None:
            return None
        if key == "epochs":
            return cfg.replace(epochs=scale_epochs(cfg.epochs, value, profile.llc.epochs) if phase2 else value)
        if key == "batch_size":
            micro = None if cfg.micro_batch is None else min(cfg.micro_batch, value)
            return cfg.replace(batch_size=value, lr=cfg.lr * value / cfg.batch_size, micro_batch=micro)
        if key == "max_steps":
            return cfg.replace(max_steps_per_epoch=value)
        return cfg

    changed = {"overrides": profile.overrides + (f"{key}={value}",)}
    if key == "subset":
        changed.update(per_class=value, test_per_class=value)
    if key == "epochs":
        changed.update(
            ood_epochs=scale_epochs(profile.ood_epochs, value, profile.llc.epochs),
            csq_epochs=scale_epochs(profile.csq_epochs, value, profile.llc.epochs),
        )
    runs = {name: run(getattr(profile, name), phase2=name not in ("real", "llc")) for name in RUN_SECTIONS}
    return dataclasses.replace(profile, **runs, **changed)


# --------------------------------------------------------------------------------- --set key=value


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
    "cpu_bf16",
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
    "holdout",
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


# keys that change the whole profile at once: {key: what it does}
SCALED = {
    "epochs": "Phase 1 and real-valued epochs; every other run keeps its ratio to them (at least 1)",
    "batch_size": "the global batch of every run, its learning rates scaled linearly",
    "max_steps": "optimiser steps per epoch at most, every run",
    "subset": "images per class, training and test",
}


def _relative(text: str, current, key: str) -> str:
    """``*m`` (m times ``current``, the profile's value of ``key``) as a concrete value; other text as it is. An
    integer field takes any factor that gives an integer (``instance.epochs=*0.5`` of 30 epochs is 15)."""
    if not text.startswith("*"):
        return text
    if isinstance(current, bool) or not isinstance(current, (int, float)):
        raise ValueError(f"--set {key}={text}: only a number can be scaled, and {key} is {current!r}")
    try:
        m = float(text[1:])
    except ValueError:
        raise ValueError(f"--set {key}={text}: the factor after '*' must be a number") from None
    value = current * m
    if isinstance(current, int):
        if not value.is_integer():
            raise ValueError(f"--set {key}={text}: {key} is an integer, and {current} x {text[1:]} is not")
        return str(int(value))
    return str(value)


def apply_sets(profile: Profile, sets) -> Profile:
    """``profile`` with overrides: the one grammar of the CLI (``--set``, and ``--epochs``, ``--subset`` ... which
    stand for ``epochs=``, ``subset=`` ...), the notebooks' ``overrides`` and the recipe variants. Each item is
    ``key=value`` (nanoGPT style) with key

    - ``<run>.<field>``, run one of real, llc, instance, comparison, hashing (``llc.lr=0.05``, ``instance.epochs=10``);
    - a Profile field (``width=32``);
    - a whole-profile key of ``SCALED`` (``epochs=2``, ``batch_size=64``, ``max_steps=1``, ``subset=10``).

    A value ``*m`` is m times the profile's value (``instance.epochs=*2``) and is recorded as the number it gives.
    Values are parsed by the field's type and checked (finite, in range) before anything trains; a key the run graph
    would overwrite or the run's recipe does not read is refused, with the valid keys listed (``settable_keys``).
    Each override is recorded in ``overrides`` in the order given, and its new value is part of every affected spec,
    so it trains under new keys."""
    if isinstance(sets, str):
        sets = [sets]
    valid = settable_keys(profile)
    for item in sets or ():
        if not isinstance(item, str) or "=" not in item:
            raise ValueError(f"--set takes key=value (e.g. llc.lr=0.05), got {item!r}")
        key, text = (x.strip() for x in item.split("=", 1))
        if key in SCALED:
            if text.startswith("*"):
                raise ValueError(f"--set {key}={text}: {key} takes a number, not a factor")
            try:
                value = int(text)
            except ValueError:
                raise ValueError(f"--set {key}={text}: {key} must be a positive integer") from None
            profile = _scale(profile, key, value)
            continue
        field = key.rpartition(".")[2]
        elsewhere = SET_ELSEWHERE.get(key) or (SET_ELSEWHERE.get(field) if field in ("seed", "mode") else None)
        if elsewhere:
            raise ValueError(f"--set {key}: the run graph sets this itself; change {elsewhere}")
        if key == "image_size" and profile.dataset == "cifar100":
            raise ValueError("image_size is the training crop of ImageFolder data; CIFAR images are always 32 x 32")
        if key not in valid:
            raise ValueError(
                f"--set {key}: not a setting of profile {profile.name!r}; valid keys: {', '.join(valid + list(SCALED))}"
            )
        try:
            if "." in key:
                run = key.split(".")[0]
                ftype = {f.name: str(f.type) for f in dataclasses.fields(TrainConfig)}[field]
                text = _relative(text, getattr(getattr(profile, run), field), key)
                new = getattr(profile, run).replace(**{field: _coerce(text, ftype, key)})
                profile = dataclasses.replace(profile, **{run: new})
                value = getattr(new, field)
            else:
                ftype = {f.name: str(f.type) for f in dataclasses.fields(Profile)}[key]
                text = _relative(text, getattr(profile, key), key)
                profile = dataclasses.replace(profile, **{key: _coerce(text, ftype, key)})
                value = getattr(profile, key)
        except ValueError as e:
            raise ValueError(str(e) if str(e).startswith("--set") else f"--set {key}={text}: {e}") from None
        canon = ",".join(map(str, value)) if isinstance(value, tuple) else str(value)
        if key not in UNRECORDED:
            profile = dataclasses.replace(profile, overrides=profile.overrides + (f"{key}={canon}",))
    return profile
