"""What a profile trains: one spec builder per kind of artefact the studies use (see ``graph``).

Every builder takes the profile and the seed and returns a ``graph.Spec``; parents are built here too, so
the whole dependency chain of a model is visible in one call (``spec.ancestors()``).
"""

from __future__ import annotations

from ..config.profiles import NUM_CLASSES, Profile, scale_epochs
from ..config.recipe import TrainConfig
from .selection import DataSel
from .spec import Arch, CodebookSpec, Spec


def arch(p: Profile, width: int | None = None) -> Arch:
    return Arch(p.backbone, width or p.width, p.scaled_head)


def train_data(p: Profile, seed: int, classes: int | None = None, per_class: int | None = None) -> DataSel:
    """The training images of profile ``p`` (``per_class`` overrides the profile's), first ``classes`` only."""
    return DataSel(p.dataset, per_class or p.per_class, classes, seed, p.image_size, p.holdout)


def train_eval_data(p: Profile, seed: int) -> DataSel:
    """Training images on which the headline is also scored (eval mode, no augmentation): up to 100 per class,
    as many as the test split has."""
    return DataSel(p.dataset, min(p.per_class or 100, p.test_per_class or 100), None, seed, p.image_size, p.holdout)


def validation_data(p: Profile, seed: int) -> DataSel:
    """The held-out training images (``p.holdout`` per class) recipe choices are scored on: get it with split
    'validation'. ValueError when the profile holds none out."""
    if not p.holdout:
        raise ValueError(f"profile {p.name!r} holds no validation images out; set holdout (e.g. --set holdout=50)")
    return train_data(p, seed)


def test_data(p: Profile, seed: int, classes: int | None = None) -> DataSel:
    return DataSel(p.dataset, p.test_per_class, classes, seed, p.image_size)


def real(p: Profile, seed: int, classes: int | None = None, epochs: int | None = None) -> Spec:
    """The real-valued classifier (the accuracy reference and the backbone of every baseline); ``epochs``
    overrides the profile's."""
    return Spec(
        p.real.replace(seed=seed, epochs=epochs or p.real.epochs), arch(p), train_data(p, seed, classes), label="real"
    )


def real_bottleneck(p: Profile, seed: int) -> Spec:
    """The real-valued k-dim representations (the paper's "real-valued k-dim" baseline) for every k of the
    sweep: one network trained end to end with a linear bottleneck of max(sweep) dims before its classifier,
    nested over the sweep like LLC's main run, so its first k dims are a k-dim representation trained to
    classify on their own, and the comparison with LLC's nested k-bit prefixes is like for like. Its head
    (bottleneck and classifier) trains at half the profile's lr: two stacked linear layers at the full lr
    diverge (docs/deviations.md)."""
    cfg = p.real.replace(seed=seed, bits=p.max_bits, nested=p.sweep, head_lr_mult=0.5 * p.real.head_lr_mult)
    return Spec(cfg, arch(p), train_data(p, seed), label=f"real-nested{p.max_bits}")


def equal_budget(p: Profile, spec: Spec, total: int | None = None) -> Spec:
    """``spec`` (a real-valued model) trained on under Phase 2's optimisation (batch and micro-batch, lr,
    momentum, weight decay, schedule and warm-up) until it has trained as many epochs in all as LLC's instance
    codes, so that a claim about them compares with a real-valued model of equal budget. ``total``: the
    instance codes' epochs (Phase 1 + Phase 2); the profile's headline ones unless given."""
    inst = p.instance
    total = p.llc.epochs + inst.epochs if total is None else total
    # at least one more epoch (a recipe whose real-valued model already trains that long, an override, still
    # gets a model to compare with)
    epochs = max(1, total - spec.cfg.epochs)
    cfg = spec.cfg.replace(
        epochs=epochs,
        batch_size=inst.batch_size,
        micro_batch=inst.micro_batch,
        lr=inst.lr,
        momentum=inst.momentum,
        nesterov=inst.nesterov,
        weight_decay=inst.weight_decay,
        schedule=inst.schedule,
        warmup=inst.warmup,
    )
    return Spec(cfg, spec.arch, spec.data, "continue", spec, label=f"{spec.label}-plus{epochs}")


def llc(
    p: Profile,
    seed: int,
    *,
    bits: int | None = None,
    nested: tuple[int, ...] | None = None,
    init: str | None = None,
    epochs: int | None = None,
    classes: int | None = None,
) -> Spec:
    """Phase 1 (class codes). Default: the main run, nested over ``p.sweep`` at max(sweep) bits, initialised as
    ``p.llc_init``. ``bits``/``nested`` pick another length (prefixes above ``bits`` dropped; () = one
    length). init: 'scratch' (with the profile's auxiliary head), 'svd' / 'cca' (backbone and head from the
    real-valued model's codebook) or 'real' (its backbone, random head)."""
    init = init or p.llc_init
    if init not in ("scratch", "svd", "cca", "real"):
        raise ValueError(f"unknown LLC init {init!r}; choose scratch, svd, cca or real")
    cfg = p.llc.replace(
        seed=seed, bits=p.max_bits, nested=p.sweep, aux_weight=p.aux_weight if init == "scratch" else 0.0
    )
    if bits is not None:
        cfg = cfg.replace(bits=bits, nested=tuple(q for q in (p.sweep if nested is None else nested) if q <= bits))
    if epochs is not None:
        cfg = cfg.replace(epochs=epochs)
    parent = None if init == "scratch" else real(p, seed, classes)
    return Spec(
        cfg,
        arch(p),
        train_data(p, seed, classes),
        {"real": "backbone"}.get(init, init),
        parent,
        label=f"llc-k{cfg.bits}-{init}",
    )


def _phase2(p: Profile, seed: int, bits: int, comparison: bool = False):
    """The profile's Phase 2 recipe at ``bits`` (a BCE restricted to more bits than the code has covers all;
    ``bce_scale`` compensates the mean over the main code's ``p.instance.bits`` bits, so a code of another
    length, read at every bit, takes the plain mean); ``comparison``: the codebook comparisons' recipe
    (``p.comparison``) where the profile sets one."""
    base = p.comparison if comparison and p.comparison is not None else p.instance
    bce = base.bce_bits
    return base.replace(
        seed=seed,
        bits=bits,
        bce_bits=None if bce is None or bce >= bits else bce,
        bce_scale=base.bce_scale if bits == p.instance.bits else 1.0,
    )


def instance(p: Profile, phase1: Spec, epochs: int | None = None) -> Spec:
    """Phase 2 (instance codes) of a Phase 1 spec: its weights, its codebook file frozen, per-bit BCE;
    ``epochs`` overrides the profile's."""
    cfg = _phase2(p, phase1.seed, phase1.cfg.bits)
    cfg = cfg.replace(epochs=epochs or cfg.epochs)
    return Spec(
        cfg,
        phase1.arch,
        phase1.data,
        "phase1",
        phase1,
        CodebookSpec("learnt", cfg.bits, phase1),
        label=f"instance-k{cfg.bits}",
    )


def headline(p: Profile, seed: int) -> tuple[Spec, Spec, Spec]:
    """(real-valued, main LLC Phase 1, its Phase 2): the models of the headline table."""
    phase1 = llc(p, seed)
    return real(p, seed), phase1, instance(p, phase1)


def phase_names(p: Profile, seed: int) -> dict[str, str]:
    """{'phase1', 'phase2': the checkpoint names of ``p``'s headline Phase 1 and Phase 2 at ``seed``}. Names are
    content hashes, so equal names mean equal recipes and data."""
    _, phase1, phase2 = headline(p, seed)
    return {"phase1": phase1.name, "phase2": phase2.name}


def baseline_instance(p: Profile, method: str, seed: int, bits: int | None = None) -> Spec:
    """Phase 2 with a Random / SVD / CCA codebook (nested by construction, so one run serves every k) or
    with LLC's learnt codebook ("llc", from the main Phase 1 run), from the real-valued backbone with the head
    set from the codebook (``warmstart.codebook_head``): the same path and recipe (``p.comparison``) for every
    codebook."""
    bits = bits or p.instance.bits
    r = real(p, seed)
    if method == "llc":
        book = CodebookSpec("learnt", bits, llc(p, seed))
    else:
        book = CodebookSpec(
            method, bits, None if method == "random" else r, seed, NUM_CLASSES[p.dataset] if method == "random" else 0
        )
    return Spec(
        _phase2(p, seed, bits, comparison=True),
        arch(p),
        train_data(p, seed),
        "codebook",
        r,
        book,
        label=f"instance-{method}-k{bits}",
    )


NESTED_BITS = 20  # the nesting claim compares the main code's prefix of this length with a separate run of it


def single_length(p: Profile, seed: int) -> Spec:
    """LLC Phase 1 with one unnested ``NESTED_BITS``-bit code: what the main nested code's prefix is compared with."""
    return llc(p, seed, bits=NESTED_BITS, nested=())


def ablations(p: Profile, seed: int) -> list[Spec]:
    """The Phase 1 ablations: warm starts from the SVD and CCA codebooks at ``p.table_bits`` (``p.warm_epochs``),
    what a warm start is compared with for the same epochs (the real-valued model's backbone with LLC's default
    head, 'real': the control, which tells the codebook's part from the backbone's; and LLC from scratch), and
    ``single_length``."""
    warm = [llc(p, seed, bits=p.table_bits, init=i, epochs=p.warm_epochs) for i in ("svd", "cca", "real", "scratch")]
    return warm + [single_length(p, seed)]


def fast_codebook(p: Profile, seed: int) -> Spec:
    """The "faster codebook learning" ablation: a ``p.table_bits`` codebook learnt with a narrow backbone on
    ``p.fast_per_class`` images per class; the returned Phase 2 spec trains the full model's instance codes
    against it on the codebook comparison's path (``baseline_instance``: real-valued backbone, head set from the
    codebook, ``p.comparison``), so that it compares with ``fast_codebook_reference``. Its codebook
    source is ``.codebook.source``."""
    k = p.table_bits
    per_class = min(p.fast_per_class, p.per_class or p.fast_per_class)
    cheap = Spec(
        p.llc.replace(seed=seed, bits=k, nested=(), aux_weight=p.aux_weight),
        arch(p, p.fast_width),
        train_data(p, seed, per_class=per_class),
        label=f"llc-fast-k{k}",
    )
    return Spec(
        _phase2(p, seed, k, comparison=True),
        arch(p),
        train_data(p, seed),
        "codebook",
        real(p, seed),
        CodebookSpec("learnt", k, cheap),
        label=f"instance-fast-k{k}",
    )


def fast_codebook_reference(p: Profile, seed: int) -> Spec:
    """What the fast codebook is compared with, at its ``p.table_bits`` bits: the main run's codebook on the same
    path (``baseline_instance`` of LLC's codebook, the codebook comparison's own run, read at that prefix)."""
    return baseline_instance(p, "llc", seed)


def hashing(p: Profile, method: str, seed: int, epochs: int | None = None) -> Spec:
    """HashNet or CSQ: one hash layer per ``p.retrieval_bits`` on the real-valued backbone, fine-tuned with
    ``p.hashing``, CSQ for ``p.csq_epochs`` when set (``epochs`` overrides either length)."""
    if method not in ("hashnet", "csq"):
        raise ValueError(f"unknown hashing method {method!r}; choose hashnet or csq")
    widths = tuple(p.retrieval_bits)
    cfg = p.hashing.replace(mode=method, seed=seed, bits=max(widths), nested=widths)
    if method != "csq":  # hash centres are CSQ's alone
        cfg = cfg.replace(csq_centers=TrainConfig.csq_centers)
    if method == "csq" and p.csq_epochs is not None:
        cfg = cfg.replace(epochs=p.csq_epochs)
    if epochs is not None:
        cfg = cfg.replace(epochs=epochs)
    return Spec(cfg, arch(p), train_data(p, seed), "backbone", real(p, seed), label=method)


def ood(p: Profile, seed: int) -> tuple[Spec, Spec, Spec]:
    """(real-valued, nested LLC Phase 1 over ``p.ood_bits``, its Phase 2), trained on the first
    ``p.ood_classes`` classes only, for ``p.ood_epochs`` (Phase 2 in the profile's ratio to Phase 1)."""
    c, bits, e = p.ood_classes, tuple(p.ood_bits), p.ood_epochs
    phase1 = llc(p, seed, bits=max(bits), nested=bits, init="scratch", classes=c, epochs=e)
    phase2_epochs = None if e is None else scale_epochs(p.instance.epochs, e, p.llc.epochs)
    return real(p, seed, classes=c, epochs=e), phase1, instance(p, phase1, epochs=phase2_epochs)


def ood_equal_budget(p: Profile, seed: int) -> Spec:
    """The OOD study's real-valued classifier trained on (``equal_budget``) to as many epochs as the OOD study's
    instance codes (its Phase 1 + Phase 2): the model its tuned baselines (MSP, energy) are scored with."""
    real_s, phase1, phase2 = ood(p, seed)
    return equal_budget(p, real_s, total=phase1.cfg.epochs + phase2.cfg.epochs)


def roles(p: Profile, seed: int = 0) -> dict[str, tuple[Spec, str]]:
    """{role: (spec, what it is)}: the models of profile ``p`` a reader may want by name rather than by key (the
    committed weights' MANIFEST.json lists them; ``llc_lib.load(profile, role)`` loads the LLC ones)."""
    real_s, phase1, phase2 = headline(p, seed)
    ood_real, ood_phase1, ood_phase2 = ood(p, seed)
    out = {
        "headline": (phase2, "LLC Phase 2 of the headline: the instance codes (encode, classify, OOD, retrieval)"),
        "phase1": (phase1, "LLC Phase 1 of the headline: the learnt class codes (nested over the sweep)"),
        "real": (real_s, "real-valued classifier, Phase 1's budget (what class codes compare with)"),
        "real_equal_budget": (equal_budget(p, real_s), "real-valued classifier, as many epochs as the instance codes"),
        "real_bottleneck": (real_bottleneck(p, seed), "real-valued k-dim features (a nested linear bottleneck)"),
        "real_bottleneck_equal_budget": (
            equal_budget(p, real_bottleneck(p, seed)),
            "real-valued k-dim features, as many epochs as the instance codes",
        ),
        "hashnet": (hashing(p, "hashnet", seed), "HashNet hash layers on the real-valued backbone"),
        "csq": (hashing(p, "csq", seed), "CSQ hash layers on the real-valued backbone"),
        "ood_phase2": (ood_phase2, f"LLC Phase 2 of the OOD study: trained on the first {p.ood_classes} classes"),
        "ood_real": (ood_real, f"real-valued classifier of the OOD study (first {p.ood_classes} classes)"),
        "ood_real_equal_budget": (
            ood_equal_budget(p, seed),
            "the OOD study's real-valued classifier, as many epochs as its instance codes (its baselines' model)",
        ),
    }
    for method in ("random", "svd", "cca", "llc"):
        out[f"same_path_{method}"] = (
            baseline_instance(p, method, seed),
            f"Phase 2 on the {method.upper()} codebook frozen into the real-valued backbone (codebook comparison)",
        )
    return out


def seed_file_checkpoints(p: Profile, study: str, seed: int) -> dict[str, str]:
    """{role: checkpoint name} of the models a per-seed results file of ``study`` (``claims.seed_files.STUDIES``)
    is computed from at ``seed``: 'headline' {'real', 'llc_phase1', 'llc_phase2'}, 'ood' the same and
    'real_equal_budget', 'equal_budget' {'real', 'real_equal_budget'}. The study writes them into its file and
    the seed study refuses a file that names others (another recipe)."""
    if study == "equal_budget":
        real_s = real(p, seed)
        return {"real": real_s.name, "real_equal_budget": equal_budget(p, real_s).name}
    specs = {"headline": headline, "ood": ood}
    if study not in specs:
        raise ValueError(f"no per-seed results file of study {study!r}; one of {['equal_budget', *specs]}")
    out = dict(zip(("real", "llc_phase1", "llc_phase2"), (s.name for s in specs[study](p, seed))))
    if study == "ood":
        out["real_equal_budget"] = ood_equal_budget(p, seed).name
    return out
