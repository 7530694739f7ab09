"""Out-of-distribution detection (notebook 07): LLC's exact-decoding detector (no tuning samples) against
MSP / energy thresholds tuned on n samples."""

from __future__ import annotations

import numpy as np
import torch

from ..engine.data import class_subset, stratified_indices
from ..engine.inference import class_codes, outputs
from ..graph import plan
from ..kernels import ood
from ..kernels.codebooks import num_unique_codes
from ..kernels.decode import mhd_decode
from ..kernels.metrics import top1
from ..results import claims
from ..results.claims.ood import BASELINES, MSP_PHASE1_BUDGET
from . import Context, check_int, check_ints, fits


def ood_data(ctx: Context, seed: int, n_val: int = 3000) -> dict:
    """The OOD study's data. ID = classes 0..C_in-1; their training split trains the models, their test
    split is halved per class into ID validation / ID test. Near OOD = classes C_in..99: validation from
    their (never trained on) training split, test = their test split. Far OOD = CIFAR-10 test and
    TinyImageNet (resized), each split at random into ``n_val`` (capped at 60 %) validation and the rest test.
    Returns {'train_in', 'val_in', 'test_in', 'ood': {name: (val, test)}} of ArrayDatasets."""
    tr, te = ctx.train(seed), ctx.test(seed)
    c_in, c_all = ctx.profile.ood_classes, tr.num_classes
    if not 2 <= c_in < c_all:
        raise ValueError(f"ood_classes must lie in 2..{c_all - 1}, got {c_in}")
    test_in = class_subset(te, range(c_in))
    val_idx = stratified_indices(test_in.labels, c_in, len(test_in) // c_in // 2, seed=seed)
    keep = torch.ones(len(test_in), dtype=torch.bool)
    keep[val_idx] = False
    near_val = class_subset(tr, range(c_in, c_all))
    near_test = class_subset(te, range(c_in, c_all))
    sets = {"CIFAR-100 held-out classes (near)": (near_val, near_test)}
    for name, key in (("CIFAR-10 (far)", "cifar10"), ("TinyImageNet (far)", "tinyimagenet")):
        full = ctx.ws.store.ood(key)
        if ctx.profile.per_class is not None:  # smoke: a small random part
            full = full.take(np.sort(np.random.default_rng(seed).permutation(len(full))[: len(te)]))
        v, t = ood.split_pool(len(full), min(n_val, int(0.6 * len(full))), seed=seed)
        sets[name] = (full.take(v), full.take(t))
    return {
        "train_in": class_subset(tr, range(c_in)),
        "val_in": test_in.take(val_idx),
        "test_in": test_in.take(torch.nonzero(keep).flatten()),
        "ood": sets,
    }


@fits(lambda p, seed: [*plan.ood(p, seed), plan.ood_equal_budget(p, seed)])
def ood_study(ctx: Context, seed: int, ns=(10, 30, 100, 300, 1000, 3000), repeats: int = 20) -> dict:
    """LLC's zero-tuning OOD detector against MSP / energy thresholds tuned on n samples.

    Trains (cached) on the first ``profile.ood_classes`` classes, for ``profile.ood_epochs`` ('epochs' of the
    result): a real-valued classifier, a nested LLC Phase 1 run over ``profile.ood_bits`` and its Phase 2
    instance codes, and the real-valued classifier trained on to as many epochs as the instance codes
    (``plan.ood_equal_budget``), whose scores are the baselines MSP and energy. For every OOD set: LLC's ED
    operating point at each k (no samples), AUROC / FPR@95 of every score, and the tuned-threshold curves; the
    same for MSP of the real-valued classifier of Phase 1's budget (``MSP_PHASE1_BUDGET``), shown beside.
    Returns the JSON-ready results ('profile', 'seed' and the four models' 'checkpoints' first: a per-seed
    results file, ``claims.seed_files``) plus '_scores' (arrays for the histogram figure; drop before saving).
    """
    check_ints("ns", ns)
    check_int("repeats", repeats)
    prof, dev = ctx.profile, ctx.ws.device
    d = ood_data(ctx, seed, n_val=max(ns))
    c_in, bits = prof.ood_classes, tuple(prof.ood_bits)
    specs, same_s = plan.ood(prof, seed), plan.ood_equal_budget(prof, seed)
    short, llc, inst = (ctx.fit(s) for s in specs)
    real = ctx.fit(same_s)  # the baselines' model: as many epochs as the instance codes
    codes = class_codes(llc)

    def scores(ds) -> dict[str, np.ndarray]:
        ctx.step(f"OOD: scores of {len(ds)} images")
        logits, proj = outputs(real, ds, dev)["logits"], outputs(inst, ds, dev)["proj"]
        out = {"MSP": ood.msp_score(logits), "energy": ood.energy_score(logits), "_logits": logits}
        short_logits = outputs(short, ds, dev)["logits"]
        out[MSP_PHASE1_BUDGET], out["_logits_phase1_budget"] = ood.msp_score(short_logits), short_logits
        for k in bits:  # graded LLC score: minus the Hamming distance to the nearest class code (0 = ED match)
            m = mhd_decode(proj[:, :k], codes[:, :k], ties=False)
            out[f"LLC {k} bits"] = -m["dist"].astype(np.float64)
            out[f"_pred{k}"] = m["pred"]
        return out

    s_val_in, s_test_in = scores(d["val_in"]), scores(d["test_in"])
    y_in = d["test_in"].labels.numpy()
    res = {
        "profile": prof.name,
        "seed": seed,
        "checkpoints": plan.seed_file_checkpoints(prof, "ood", seed),
        "id_classes": c_in,
        "ood_bits": list(bits),
        "ns": list(ns),
        "repeats": repeats,
        "epochs": {
            **{name: s.cfg.epochs for name, s in zip(("real", "llc", "instance"), specs)},
            "real_equal_budget": specs[0].cfg.epochs + same_s.cfg.epochs,
        },
        "baselines": {base: "real_equal_budget" for base in BASELINES} | {MSP_PHASE1_BUDGET: "real"},
        "sizes": {"train_in": len(d["train_in"]), "val_in": len(d["val_in"]), "test_in": len(d["test_in"])},
        "id_accuracy": {
            "real_top1": top1(s_test_in["_logits"], y_in),
            "real_top1_phase1_budget": top1(s_test_in["_logits_phase1_budget"], y_in),
            **{f"llc_mhd_{k}": float((s_test_in[f"_pred{k}"] == y_in).mean()) for k in bits},
        },
        "unique_codes": {str(k): num_unique_codes(codes[:, :k]) for k in bits},
        "sets": {},
    }
    kept = {}
    for name, (val, test) in d["ood"].items():
        s_val_out, s_test_out = scores(val), scores(test)
        row = {
            "val": len(val),
            "test": len(test),
            "llc_ed": {},
            "threshold_free": {},
            "tuned": {},
            "id_val_tpr95": {},
            "samples_to_match": {},
            "tpr_at_llc_fpr": {},
        }
        for k in bits:
            key = f"LLC {k} bits"
            row["llc_ed"][str(k)] = ood.detection_accuracy(s_test_in[key] == 0, s_test_out[key] == 0)
            row["threshold_free"][key] = ood.threshold_free(s_test_in[key], s_test_out[key])
        for base in (*BASELINES, MSP_PHASE1_BUDGET):
            row["threshold_free"][base] = ood.threshold_free(s_test_in[base], s_test_out[base])
            row["tuned"][base] = ood.tuned_threshold_curve(
                s_val_in[base], s_val_out[base], s_test_in[base], s_test_out[base], ns, repeats, seed
            )
            t95 = np.quantile(s_val_in[base], 0.05)  # 95 % of ID validation kept: needs no OOD sample
            row["id_val_tpr95"][base] = ood.detection_accuracy(s_test_in[base] >= t95, s_test_out[base] >= t95)
            row["samples_to_match"][base] = {
                str(k): ood.samples_to_match(row["tuned"][base], row["llc_ed"][str(k)]["acc"]) for k in bits
            }
            # the baseline at LLC's operating point: its ROC TPR at an FPR no higher than LLC's ED (ood.tpr_at_fpr)
            row["tpr_at_llc_fpr"][base] = {
                str(k): {
                    "llc_tpr": row["llc_ed"][str(k)]["tpr"],
                    "fpr": 1 - row["llc_ed"][str(k)]["tnr"],
                    "baseline_tpr": ood.tpr_at_fpr(s_test_in[base], s_test_out[base], 1 - row["llc_ed"][str(k)]["tnr"]),
                }
                for k in bits
            }
        res["sets"][name] = row
        kept[name] = {k: v for k, v in s_test_out.items() if k.startswith("LLC")}
    kept["ID test"] = {k: v for k, v in s_test_in.items() if k.startswith("LLC")}
    k_main = max(bits)
    main = {n: r["samples_to_match"]["MSP"][str(k_main)] for n, r in res["sets"].items()}
    ep = res["epochs"]

    def needs(r, base):
        m = r["samples_to_match"][base][str(k_main)]
        return f"{'>' + str(max(r['tuned'][base]['n'])) if m is None else m} samples"

    res["summary"] = (
        f"MSP of the real-valued model of {ep['real_equal_budget']} epochs, the instance codes' {ep['llc']} + "
        f"{ep['instance']}; "
        + "; ".join(
            f"{n}: LLC ED ({k_main} bits) {100 * r['llc_ed'][str(k_main)]['acc']:.1f} % with 0 samples, MSP needs "
            f"{needs(r, 'MSP')} (MSP best {100 * max(r['tuned']['MSP']['acc_mean']):.1f} %; of {ep['real']} epochs "
            f"{needs(r, MSP_PHASE1_BUDGET)})"
            for n, r in res["sets"].items()
        )
    )
    res["holds"] = claims.ood_zero_sample_matches(list(main.values()))
    res["threshold_samples"] = claims.THRESHOLDS["ood_samples_to_match"]
    res["paper"] = claims.PAPER["statements"]["ood"]
    res["_scores"] = kept
    return res
