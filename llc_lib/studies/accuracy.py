"""Accuracy vs code length for LLC and the Random / SVD / CCA codebooks, the paper's codebook table, the
warm-start and nested-codebook ablations, and "faster codebook learning" (notebooks 02 and 05)."""

from __future__ import annotations

import json

import numpy as np

from ..engine.data import labels_of
from ..engine.inference import class_codes, head_logits, outputs
from ..graph import plan
from ..kernels.codebooks import num_unique_codes
from ..kernels.metrics import bits_right_split, code_metrics, top1
from ..results import claims
from ..results.budget import phase2_budget
from . import Context, check_bits, fits
from .evaluation import fast_codebook_metrics, real_kdim, single_length_acc
from .headline import number_checkpoints

BASELINES = ("random", "svd", "cca")
SAME_PATH = BASELINES + ("llc",)  # codebooks compared after the same Phase 2 from the real-valued backbone


def _prefix_metrics(proj: np.ndarray, codes: np.ndarray, y: np.ndarray, bits) -> dict:
    return {str(k): code_metrics(proj[:, :k], codes[:, :k], y) for k in bits}


def phase1_scores(model, data, device) -> dict:
    """How a warm start (or the run it is compared with) is scored: {'class_code_acc': top-1 of the class-code
    logits, 'sign_mhd': MHD accuracy of sign(P(f)) against the model's own class codes, 'unique': its distinct
    class codes} on ``data`` (fractions; no Phase 2)."""
    o, codes, y = outputs(model, data, device), class_codes(model), labels_of(data).numpy()
    return {
        "class_code_acc": top1(o["logits"], y),
        "sign_mhd": code_metrics(o["proj"], codes, y)["mhd_acc"],
        "unique": num_unique_codes(codes),
    }


@fits(lambda p, seed: [plan.equal_budget(p, plan.real(p, seed))])
def equal_budget_study(ctx: Context, seed: int) -> dict:
    """The real-valued classifier of Phase 1's budget and the same model trained on under Phase 2's recipe
    (``plan.equal_budget``: as many epochs as LLC's instance codes), fitted (cached) and scored on the test
    split: {'profile', 'seed', 'real_top1', 'real_top1_equal_budget' (fractions), 'epochs': {'real',
    'real_equal_budget'}, 'equal_budget_checkpoints': {'real', 'real_equal_budget': checkpoint name}}. Notebook
    02's results hold it; alone it is a per-seed results file (``claims.seed_files``)."""
    prof, ws = ctx.profile, ctx.ws
    real_s = plan.real(prof, seed)
    eq_s = plan.equal_budget(prof, real_s)
    te = ctx.test(seed)
    y = te.labels.numpy()
    return {
        "profile": prof.name,
        "seed": seed,
        "real_top1": top1(outputs(ws.fit(real_s), te, ws.device)["logits"], y),
        "real_top1_equal_budget": top1(outputs(ws.fit(eq_s), te, ws.device)["logits"], y),
        "epochs": {"real": real_s.cfg.epochs, "real_equal_budget": real_s.cfg.epochs + eq_s.cfg.epochs},
        "equal_budget_checkpoints": plan.seed_file_checkpoints(prof, "equal_budget", seed),
    }


@fits(
    lambda p, seed: (
        list(plan.headline(p, seed))
        + [plan.baseline_instance(p, m, seed) for m in SAME_PATH]
        + plan.ablations(p, seed)
        + [plan.real_bottleneck(p, seed), plan.equal_budget(p, plan.real(p, seed))]
    )
)
def accuracy_vs_bits(ctx: Context, seed: int, bits) -> dict:
    """Accuracy of LLC, Random/SVD/CCA codebooks and real-valued k-dim features for every k in ``bits``;
    LLC's class-code accuracy and its bits right split by whether the class code is right
    ('llc_bits_right_split', ``metrics.bits_right_split``); plus 'warm_start' and 'nested' with their verdicts
    and the thresholds used; 'seed_spread' (``seed_spread``) from the ``seeds.json`` beside the figures.
    'real_top1' is the real-valued model of Phase 1's budget (what class codes compare with),
    'real_top1_equal_budget' that model trained on under Phase 2's recipe (``plan.equal_budget``: as many epochs
    as LLC's instance codes, what they compare with), both with 'profile', 'seed' and 'equal_budget_checkpoints'
    from ``equal_budget_study``; 'epochs' gives each budget. 'phase2_budget': the cpu
    profile's committed measurements of Phase 2's length (``results.budget.phase2_budget``).

    methods: 'llc' = LLC's own path (Phase 1 end to end, then its Phase 2); 'random', 'svd', 'cca' and
    'llc_same_path' = each codebook frozen into the real-valued backbone and trained by the same Phase 2,
    so that these four differ only in the codebook."""
    prof, ws = ctx.profile, ctx.ws
    bits = check_bits(bits, prof.max_bits)
    _, llc_s, inst_s = plan.headline(prof, seed)
    llc, inst = ws.fit(llc_s), ws.fit(inst_s)
    te = ctx.test(seed)
    y = te.labels.numpy()
    codes = class_codes(llc)
    ctx.step("accuracy: LLC and the real-valued models on the test split")
    p1, p2 = outputs(llc, te, ws.device), outputs(inst, te, ws.device)
    eq = equal_budget_study(ctx, seed)
    res = {
        "profile": eq["profile"],
        "seed": seed,
        "bits": bits,
        "table_bits": prof.table_bits,
        "real_top1": eq["real_top1"],
        "real_top1_equal_budget": eq["real_top1_equal_budget"],
        "equal_budget_checkpoints": eq["equal_budget_checkpoints"],
        "methods": {"llc": _prefix_metrics(p2["proj"], codes, y, bits)},
        "llc_class_code_acc": {str(k): top1(head_logits(llc, p1["proj"], k), y) for k in bits},
        "llc_phase1_sign": _prefix_metrics(p1["proj"], codes, y, bits),
    }
    res["phase2_epochs"] = {"llc": inst_s.cfg.epochs, "same_path": plan.baseline_instance(prof, "llc", seed).cfg.epochs}
    res["phase2_budget"] = phase2_budget()  # the cpu profile's measurements of Phase 2's length
    res["epochs"] = {
        **eq["epochs"],
        "llc_class_codes": llc_s.cfg.epochs,
        "llc_instance_codes": llc_s.cfg.epochs + inst_s.cfg.epochs,
    }
    res["llc_bits_right_split"] = {  # bits right = a R + (1 - a) W, a = class-code accuracy
        str(k): bits_right_split(p2["proj"][:, :k], codes[:, :k], y, head_logits(llc, p1["proj"], k).argmax(1))
        for k in bits
    }
    ctx.step("accuracy: the Random, SVD, CCA and LLC codebooks on one path, and the real k-dim features")
    base = {}  # name: (test projections (N, max bits), codes (C, max bits))
    for name in SAME_PATH:
        spec = plan.baseline_instance(prof, name, seed)
        base[name] = outputs(ws.fit(spec), te, ws.device)["proj"], ws.codebook(spec.codebook)["codes"]
        res["methods"][claims.same_path_key(name)] = _prefix_metrics(*base[name], y, bits)
    kdim = {k: real_kdim(ctx, seed, k) for k in bits}
    res["real_bottleneck"] = {str(k): r["test_acc"] for k, r in kdim.items()}
    res["real_bottleneck_kind"] = kdim[bits[0]]["kind"]
    # warm starts: LLC initialised from the SVD / CCA codebook. before: the baseline codebook's Phase 2
    # instance codes; after: sign(P(f)) of the warm-started Phase 1 model (no Phase 2); MHD at k bits
    k = prof.table_bits
    warm = {}
    for init in ("svd", "cca"):
        after = phase1_scores(ws.fit(plan.llc(prof, seed, bits=k, init=init, epochs=prof.warm_epochs)), te, ws.device)
        before = _prefix_metrics(*base[init], y, [k])[str(k)]
        warm[init] = {
            "before_mhd": before["mhd_acc"],
            "before_unique": before["unique_codes"],
            **{f"after_{name}": v for name, v in after.items()},
            "epochs": prof.warm_epochs,
        }
    # what a warm start is compared with: the same trained backbone with LLC's default head (the control: the
    # verdict, what the codebook adds beyond the backbone), and LLC from scratch (what the backbone adds)
    others = {}
    for init, name in (("real", "control"), ("scratch", "scratch")):
        got = phase1_scores(ws.fit(plan.llc(prof, seed, bits=k, init=init, epochs=prof.warm_epochs)), te, ws.device)
        others[name] = {
            "class_code_acc": got["class_code_acc"],
            "sign_mhd": got["sign_mhd"],
            "epochs": prof.warm_epochs,
        }
    control, scratch = others["control"], others["scratch"]
    warm["summary"] = (
        "; ".join(
            f"LLC warm-started from the {n.upper()} codebook (its MHD {100 * w['before_mhd']:.1f}, "
            f"{w['before_unique']} unique), {w['epochs']} epochs: MHD {100 * w['after_sign_mhd']:.1f}"
            for n, w in warm.items()
        )
        + f"; the same trained backbone with LLC's default head (the control), {control['epochs']} epochs: MHD "
        f"{100 * control['sign_mhd']:.1f}; LLC from scratch: MHD {100 * scratch['sign_mhd']:.1f} (one seed)"
    )
    warm["holds"] = all(
        claims.warm_start_helps(w["after_sign_mhd"], control["sign_mhd"]) for w in warm.values() if isinstance(w, dict)
    )
    warm["control"], warm["scratch"] = control, scratch
    res["warm_start"] = warm
    # nested: the main run's prefixes of plan.NESTED_BITS bits and longer (up to 30) vs a separate run of that length
    n = plan.NESTED_BITS
    single = single_length_acc(ctx, seed)
    nested = {
        "prefix_class_code_acc": {
            str(q): top1(head_logits(llc, p1["proj"], q), y)
            for q in sorted({n, *prof.sweep})
            if n <= q <= min(30, codes.shape[1])
        },
        "single_class_code_acc": single,
        "bits": n,
        "threshold_points": claims.THRESHOLDS["nested_prefix_points"],
    }
    prefix = nested["prefix_class_code_acc"].get(str(n))
    nested["cost_points"] = None if prefix is None else 100 * claims.nesting_cost(prefix, single)
    nested["summary"] = (
        (
            f"nesting costs {nested['cost_points']:+.1f} points of class-code accuracy at {n} bits: the "
            f"{n}-bit prefix of the nested {codes.shape[1]}-bit code {100 * prefix:.1f} vs a separate "
            f"{n}-bit run {100 * single:.1f} (seed {seed})"
        )
        if prefix is not None
        else "n/a"
    )
    nested["holds"] = None if prefix is None else claims.nested_is_free(prefix, single)
    res["nested"] = nested
    path = ctx.figdir / "seeds.json"
    res["seed_spread"] = seed_spread(
        json.loads(path.read_text()) if path.exists() else None, res, seed, number_checkpoints(prof, seed)
    )
    return res


def seed_spread(seeds: dict | None, res: dict, seed: int, sources: dict[str, list[str]]) -> dict:
    """{'seeds': [...], 'sd': {'llc_mhd_acc@k' | 'llc_ed_acc@k' | 'llc_class_code_acc@k' | 'real_top1': sample
    std}, 'why'} from a ``seeds.json`` (``headline.seeds_study``) for the numbers of ``res`` (of
    ``accuracy_vs_bits``). ``sources``: the checkpoints each number of ``res`` comes from
    (``headline.number_checkpoints``). Only numbers the seed study ran from those checkpoints at ``seed`` get a
    spread (``claims.usable_seed_numbers``); 'why' says what was left out, so that error bars are never drawn
    from other checkpoints."""
    usable, why = claims.usable_seed_numbers(seeds, seed, sources)
    if usable is None:
        return {"seeds": list((seeds or {}).get("seeds", [])), "sd": {}, "why": why}
    names = ["real_top1"] + [f"llc_{m}@{k}" for k in res["bits"] for m in ("mhd_acc", "ed_acc", "class_code_acc")]
    numbers = usable["numbers"]
    return {"seeds": list(usable["seeds"]), "sd": {n: numbers[n]["std"] for n in names if n in numbers}, "why": why}


@fits(lambda p, seed: [plan.fast_codebook(p, seed), plan.fast_codebook_reference(p, seed)])
def fast_codebook(ctx: Context, seed: int) -> dict:
    """The paper's "faster codebook learning" (``evaluation.fast_codebook_metrics``)."""
    return fast_codebook_metrics(ctx, seed)
