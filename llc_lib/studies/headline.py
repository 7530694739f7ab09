"""The headline numbers (real-valued top-1; LLC class-code, MHD, ED, unique codes and bits right per k), the
claims' numbers over seeds (``seeds_study``: ``make seeds``, and notebook 01 on a profile with several seeds),
and notebook 01's "train everything" summary. Their tables are in ``report``."""

from __future__ import annotations

import dataclasses
import time

import numpy as np

from ..config.folders import output_root
from ..engine.data import labels_of, num_classes_of
from ..engine.device import dist_info
from ..engine.inference import head_logits, outputs
from ..graph import plan
from ..kernels.metrics import code_metrics, top1
from ..results import claims
from . import Context, check_ints, check_seed, fits, public, run_record, write_results
from .evaluation import evaluate_llc, fast_codebook_metrics, single_length_acc
from .taxonomy import taxonomy_study

SEED_METRICS = claims.headline.SEED_FILE_METRICS  # the headline numbers per k that a seed study compares
PHASE1_METRICS = ("class_code_acc", "unique_codes")  # of SEED_METRICS, those of the class codes alone


def number_checkpoints(p, seed: int) -> dict[str, list[str]]:
    """{name of a seed-study number (``claim_numbers``' and the per-seed files', ``claims.seed_files``), without
    its '@k' or '@<set>': the names of the checkpoints it is computed from at ``seed`` (each model with its
    ancestors)}: what a seed study must have run for that number to judge
    these results (``claims.usable_seed_numbers``)."""

    def names(*specs):
        return sorted({s.name for spec in specs for s in spec.ancestors() + [spec]})

    real, phase1, phase2 = plan.headline(p, seed)
    single, ood = plan.single_length(p, seed), plan.ood(p, seed)
    out = {"real_top1": names(real)}
    out.update({f"llc_{m}": names(phase1) if m in PHASE1_METRICS else names(phase1, phase2) for m in SEED_METRICS})
    for name in ("random", "svd", "cca", "llc"):
        key = claims.same_path_key(name)
        out[f"{key}_mhd"] = out[f"{key}_ed"] = names(plan.baseline_instance(p, name, seed))
    out.update(
        {
            "llc_nested_prefix_class_code_acc": names(phase1),
            "llc_single_class_code_acc": names(single),
            "nested_cost": names(phase1, single),
            "taxonomy_ari_llc": names(phase1),
            "taxonomy_ari_svd": names(real),
            "taxonomy_ari_random": [],
            "real_top1_equal_budget": names(plan.equal_budget(p, real)),
            "ood_ed_acc": names(*ood),
            "ood_msp_below_acc": names(*ood),
        }
    )
    return out


def results_path(ctx: Context, seed: int = 0, study: str = "headline"):
    """``output_root``/<study>_results.json for seed 0, <study>_results_s<seed>.json for any other seed: the
    per-seed results file of ``study`` (``claims.seed_files.STUDIES``; the headline's is the file notebook 01
    publishes as ``figures/headline_results.json``)."""
    name = f"{study}_results.json" if seed == 0 else f"{study}_results_s{seed}.json"
    return output_root(ctx.profile, ctx.ws.root) / name


@fits(lambda p, seed: list(plan.headline(p, seed)))
def reproduce(ctx: Context, seed: int = 0) -> dict:
    """Fit (or load) the headline models of ``seed`` and evaluate them on the test split ('llc') and on up to
    100 training images per class ('llc_train', ``plan.train_eval_data``: under-fitting or memorisation); write
    ``results_path`` (rank 0 only under torchrun; the machine goes into ``provenance.json`` beside it).
    'seconds' holds the training time recorded in each checkpoint (the run that made it, fixed by the
    checkpoints); what this call took, which depends on the host, is printed and returned under '_call_seconds'
    ({'fit_or_load', 'evaluate', 'this_call'}), which ``public`` drops from saved results."""
    check_seed(seed)
    prof, ws = ctx.profile, ctx.ws
    specs = dict(zip(("real", "llc_phase1", "llc_phase2"), plan.headline(prof, seed)))
    t0 = time.time()
    real, llc, inst = (ws.fit(s) for s in specs.values())
    fitted = time.time() - t0
    te, tr = ctx.test(seed), ctx.train(seed)
    t = time.time()
    real_acc = top1(outputs(real, te, ws.device, workers=ws.workers)["logits"], labels_of(te).numpy())
    rows = evaluate_llc(llc, inst, te, ws.device, prof.bits, ws.workers)
    seen = ws.store.get(plan.train_eval_data(prof, seed), "train")  # training images, scored the same way
    rows_train = evaluate_llc(llc, inst, seen, ws.device, prof.bits, ws.workers)
    seconds = {name: round(sum(r["seconds"] for r in ws.history(s)), 1) for name, s in specs.items()}
    call = {
        "fit_or_load": round(fitted, 1),
        "evaluate": round(time.time() - t, 1),
        "this_call": round(time.time() - t0, 1),
    }
    main = specs["llc_phase1"].cfg
    res = {
        "profile": prof.name,
        "seed": seed,
        "train_images": len(tr),
        "test_images": len(te),
        "num_classes": num_classes_of(tr),
        "real_top1": real_acc,
        "llc": {str(k): v for k, v in rows.items()},
        "llc_train": {str(k): v for k, v in rows_train.items()},
        "train_eval_images": len(seen),
        "recipe": {
            "real": dataclasses.asdict(specs["real"].cfg),
            "llc": dataclasses.asdict(main),
            "instance": dataclasses.asdict(specs["llc_phase2"].cfg),
            "width": prof.width,
            "backbone": prof.backbone,
            "init": prof.llc_init,
            "nested": list(main.nested),
            "aux_weight": main.aux_weight,
            "scaled_head": prof.scaled_head,
        },
        "checkpoints": plan.seed_file_checkpoints(prof, "headline", seed),
        "number_checkpoints": number_checkpoints(prof, seed),
        "seconds": seconds,
        "run": run_record(prof, ws),
        "_call_seconds": call,
    }
    if dist_info()[0] == 0:
        print(
            f"headline seed {seed}: fit or load {call['fit_or_load']:.1f} s, evaluate {call['evaluate']:.1f} s, "
            f"this call {call['this_call']:.1f} s",
            flush=True,
        )
        write_results(public(res), results_path(ctx, seed), ws.device)
    return res


def nesting_numbers(prefix: float, single: float, n: int) -> dict[str, float]:
    """The nesting claim's numbers at n bits: the nested code's prefix and a separate n-bit run (class-code
    accuracies, fractions) and the cost of nesting, single - prefix (positive: the prefix is worse)."""
    return {
        f"llc_nested_prefix_class_code_acc@{n}": prefix,
        f"llc_single_class_code_acc@{n}": single,
        f"nested_cost@{n}": claims.nesting_cost(prefix, single),
    }


def claim_numbers(ctx: Context, seed: int) -> dict[str, float]:
    """The numbers of one seed behind the headline and the codebook claims: 'real_top1', 'llc_<metric>@<k>'
    for the headline metrics at every headline k, and '<codebook>_mhd@<k>' / '<codebook>_ed@<k>' at
    k = table_bits for the Random, SVD, CCA and LLC ('llc_same_path') codebooks after the same Phase 2; the
    nesting claim at n = ``plan.NESTED_BITS``: 'llc_nested_prefix_class_code_acc@n',
    'llc_single_class_code_acc@n' and their difference 'nested_cost@n' (single - prefix); the taxonomy claim
    at k = table_bits: 'taxonomy_ari_<llc|svd|random>@<k>' (``taxonomy_study``'s ARI averaged over class
    orders, cut into as many clusters as there are superclasses). Accuracies are fractions."""
    prof, ws = ctx.profile, ctx.ws
    res = reproduce(ctx, seed)
    out = {"real_top1": res["real_top1"]}
    for k, row in res["llc"].items():
        out.update({f"llc_{m}@{k}": float(row[m]) for m in SEED_METRICS})
    te, k = ctx.test(seed), prof.table_bits
    y = labels_of(te).numpy()
    for name in ("random", "svd", "cca", "llc"):
        spec = plan.baseline_instance(prof, name, seed)
        proj = outputs(ws.fit(spec), te, ws.device, workers=ws.workers)["proj"][:, :k]
        m = code_metrics(proj, ws.codebook(spec.codebook)["codes"][:, :k], y)
        key = claims.same_path_key(name)
        out[f"{key}_mhd@{k}"], out[f"{key}_ed@{k}"] = m["mhd_acc"], m["ed_acc"]
    # nesting: the main run's prefix against a separate single-length run of that length (class codes)
    n, llc = plan.NESTED_BITS, ws.fit(plan.headline(prof, seed)[1])
    prefix = top1(head_logits(llc, outputs(llc, te, ws.device, workers=ws.workers)["proj"], n), y)
    out.update(nesting_numbers(prefix, single_length_acc(ctx, seed), n))
    # taxonomy: ARI against the superclasses, averaged over random class orders, at the table's k
    tax = taxonomy_study(ctx, seed, k, len(ctx.train(seed).coarse_names))
    for name in ("LLC", "SVD", "Random"):
        out[f"taxonomy_ari_{name.lower()}@{k}"] = tax["methods"][name]["class_order"]["ari_mean"]
    return out


@fits(
    lambda p, seeds=(0, 1, 2): [
        s for other in (seeds if isinstance(seeds, (list, tuple)) else (0, 1, 2)) for s in _seed_models(p, other)
    ]
)
def seeds_study(ctx: Context, seeds=(0, 1, 2)) -> dict:
    """``claim_numbers`` for every seed: {'profile', 'seeds', 'table_bits', 'numbers': {name: {'mean', 'std'
    (sample, ddof=1), 'values' (one per seed)}}, 'checkpoints': {seed: the checkpoint names its numbers come
    from}}. Fractions stay fractions."""
    seeds = check_ints("seeds", list(seeds), 0)
    if len(seeds) < 2:
        raise ValueError(f"a spread needs at least two seeds, got {seeds!r}")
    runs = {s: claim_numbers(ctx, s) for s in seeds}
    names = list(runs[seeds[0]])
    numbers = {}
    for n in names:
        v = np.array([runs[s][n] for s in seeds], dtype=float)
        numbers[n] = {"mean": float(v.mean()), "std": float(v.std(ddof=1)), "values": v.tolist()}
    return {
        "profile": ctx.profile.name,
        "seeds": seeds,
        "table_bits": ctx.profile.table_bits,
        "numbers": numbers,
        "checkpoints": {str(s): sorted(spec.name for spec in _seed_models(ctx.profile, s)) for s in seeds},
        "run": run_record(ctx.profile, ctx.ws),
    }


def _seed_models(p, seed: int) -> list:
    """What ``claim_numbers`` fits for one seed: the headline models, the codebooks' Phase 2 models and the
    single-length LLC the nested code is compared with."""
    return (
        list(plan.headline(p, seed))
        + [plan.baseline_instance(p, m, seed) for m in ("random", "svd", "cca", "llc")]
        + [plan.single_length(p, seed)]
    )


def _all_class_code_models(p, seed: int) -> list:
    extra = [s for other in p.seeds if other != seed for s in _seed_models(p, other)] if len(p.seeds) > 1 else []
    return (
        _seed_models(p, seed)
        + plan.ablations(p, seed)
        + [plan.fast_codebook(p, seed), plan.fast_codebook_reference(p, seed)]
        + extra
    )


@fits(_all_class_code_models)
def train_all(ctx: Context, seed: int = 0) -> dict:
    """Fit (or load) every model the class-code notebooks use and return their test accuracies; the headline
    result is included under 'headline' (and written by ``reproduce``); with several profile seeds,
    ``seeds_study`` of them under 'seeds'."""
    prof, ws = ctx.profile, ctx.ws
    headline = reproduce(ctx, seed)
    _, llc_spec, _ = plan.headline(prof, seed)
    te = ctx.test(seed)
    y = te.labels.numpy()

    def acc(spec) -> float:
        return top1(outputs(ws.fit(spec), te, ws.device)["logits"], y)

    out = {"real_top1": headline["real_top1"], "llc_class_code_acc": acc(llc_spec)}
    for name in ("random", "svd", "cca", "llc"):
        spec = plan.baseline_instance(prof, name, seed)
        proj = outputs(ws.fit(spec), te, ws.device)["proj"]
        key = f"{claims.same_path_key(name)}_mhd_acc"
        out[key] = code_metrics(proj, ws.codebook(spec.codebook)["codes"], y)["mhd_acc"]
    for init in ("svd", "cca"):
        out[f"llc_warm_{init}_class_code_acc"] = acc(
            plan.llc(prof, seed, bits=prof.table_bits, init=init, epochs=prof.warm_epochs)
        )
    out[f"llc_single_class_code_acc@{plan.NESTED_BITS}"] = single_length_acc(ctx, seed)
    out.update(
        {
            f"fast_{k}": v
            for k, v in fast_codebook_metrics(ctx, seed).items()
            if isinstance(v, float) and k != "threshold_points"
        }
    )
    res = {"profile": prof.name, "seed": seed, "accuracies": out, "headline": headline}
    if len(prof.seeds) > 1:
        res["seeds"] = seeds_study(ctx, prof.seeds)
    return res


def seeds_from_files(ctx: Context, paths) -> dict:
    """The seed study ``ctx.figdir/seeds.json`` with the numbers of per-seed results files (of the headline, the
    OOD study or the equal budget, ``claims.seed_files.with_seed_files``), each checked against the recipe of
    ``ctx.profile`` at its seed (``plan.seed_file_checkpoints``), and of one of the study's seeds; its 'run'
    record is kept. FileNotFoundError without a seeds.json to start from."""
    import json
    from pathlib import Path

    study = ctx.figdir / "seeds.json"
    if not study.exists():
        raise FileNotFoundError(f"{study} is missing: make it first (make seeds), then add the per-seed files")
    seeds = json.loads(study.read_text())
    files = {p.as_posix(): json.loads(p.read_text()) for p in map(Path, paths)}
    wanted = {
        (kind, h["seed"])
        for h in files.values()
        if (kind := claims.seed_files.study_of(h)) is not None and isinstance(h.get("seed"), int)
    }
    expected = {
        (kind, s): plan.seed_file_checkpoints(ctx.profile, kind, s) for kind, s in wanted if s in seeds["seeds"]
    }
    return claims.seed_files.with_seed_files(seeds, files, expected)
