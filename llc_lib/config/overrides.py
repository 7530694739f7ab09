"""Overrides of a profile: ``apply_sets(profile, ["llc.lr=0.05", ...])``, the one grammar of the CLI's ``--set``, the
notebooks' ``overrides`` and the recipe variants. A key is ``<run>.<field>`` (a run's TrainConfig field) or a
profile field; a key the profile's runs do not read is refused with the valid keys listed, and every value is
converted to the field's type and range-checked before anything trains."""

from __future__ import annotations

import dataclasses

from .profiles import RUN_SECTIONS, Profile, scale_epochs
from .recipe import TrainConfig


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
