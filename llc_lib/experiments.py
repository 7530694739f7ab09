"""The computations behind each notebook. Each function takes a ``pipeline.Context``, gets its (cached)
models through ``pipeline``, and returns a JSON-ready dict plus, where a figure needs them, arrays."""
from __future__ import annotations

import numpy as np

from . import codebook as cb
from . import pipeline as P
from . import taxonomy as tx
from .metrics import code_metrics, top1
from .probes import fit_linear
from .train import outputs


def _prefix_metrics(proj: np.ndarray, codes: np.ndarray, y: np.ndarray, bits) -> dict:
    return {str(k): code_metrics(proj[:, :k], codes[:, :k], y) for k in bits}


def main_models(ctx: P.Context):
    """(real, llc Phase 1, llc Phase 2) of the profile, trained or loaded from cache."""
    real = P.get_real(ctx.profile, ctx.train, ctx.device, ctx.seed)
    llc = P.get_llc(ctx.profile, ctx.train, ctx.device, ctx.seed, real=real)
    inst = P.get_instance(ctx.profile, ctx.train, ctx.device, ctx.seed, llc=llc)
    return real, llc, inst


def train_all(ctx: P.Context) -> dict:
    """Train (or load) every model the class-code notebooks use; return their test accuracies.

    Also writes runs/<profile>/results.json with the headline table (``pipeline.reproduce``)."""
    headline = P.reproduce(ctx.profile.name, ctx.seed, str(ctx.device))
    print(P.format_table(headline))
    real, llc, inst = main_models(ctx)
    y = ctx.test.labels.numpy()
    out = {"real_top1": headline["real_top1"],
           "llc_class_code_acc": top1(outputs(llc, ctx.test, ctx.device)["logits"], y)}
    for name in ("random", "svd", "cca"):
        model, codes = P.get_baseline_instance(ctx.profile, ctx.train, ctx.device, name, ctx.seed, real=real)
        proj = outputs(model, ctx.test, ctx.device)["proj"]
        out[f"{name}_mhd_acc"] = code_metrics(proj, codes, y)["mhd_acc"]
    k = ctx.profile.table_bits
    for init in ("svd", "cca"):
        m = P.get_llc(ctx.profile, ctx.train, ctx.device, ctx.seed, real=real, bits=k, init=init,
                      epochs=ctx.profile.warm_epochs)
        out[f"llc_warm_{init}_class_code_acc"] = top1(outputs(m, ctx.test, ctx.device)["logits"], y)
    single = P.get_llc(ctx.profile, ctx.train, ctx.device, ctx.seed, real=real, bits=20, nested=())
    out["llc_single20_class_code_acc"] = top1(outputs(single, ctx.test, ctx.device)["logits"], y)
    fast = fast_codebook(ctx, real=real)
    out.update({f"fast_{k}": v for k, v in fast.items() if isinstance(v, float)})
    return out


def accuracy_vs_bits(ctx: P.Context, bits) -> dict:
    """Accuracy of LLC, Random/SVD/CCA codebooks and real-valued k-dim features for every k in ``bits``."""
    real, llc, inst = main_models(ctx)
    y, ytr = ctx.test.labels.numpy(), ctx.train.labels.numpy()
    codes = P.class_codes(llc)
    p1, p2 = outputs(llc, ctx.test, ctx.device), outputs(inst, ctx.test, ctx.device)
    res = {"bits": list(bits), "table_bits": ctx.profile.table_bits,
           "real_top1": top1(outputs(real, ctx.test, ctx.device)["logits"], y),
           "methods": {"llc": _prefix_metrics(p2["proj"], codes, y, bits)},
           "llc_class_code_acc": {str(k): top1(P.head_logits(llc, p1["proj"], k), y) for k in bits},
           "llc_phase1_sign": _prefix_metrics(p1["proj"], codes, y, bits)}
    for name in ("random", "svd", "cca"):
        model, bcodes = P.get_baseline_instance(ctx.profile, ctx.train, ctx.device, name, ctx.seed, real=real)
        res["methods"][name] = _prefix_metrics(outputs(model, ctx.test, ctx.device)["proj"], bcodes, y, bits)
    ftr, fte = P.train_features(real, ctx.train, ctx.device), outputs(real, ctx.test, ctx.device)["features"]
    res["real_bottleneck"] = {str(k): fit_linear(ftr, ytr, fte, y, ctx.train.num_classes, bottleneck=k,
                                                 seed=ctx.seed)["test_acc"] for k in bits}
    # warm starts: LLC initialised from the SVD / CCA codebook (the paper: helps the weak codebooks)
    k = ctx.profile.table_bits
    warm = {}
    for init in ("svd", "cca"):
        m = P.get_llc(ctx.profile, ctx.train, ctx.device, ctx.seed, real=real, bits=k, init=init,
                      epochs=ctx.profile.warm_epochs)
        o = outputs(m, ctx.test, ctx.device)
        mc = P.class_codes(m)
        warm[init] = {"before_mhd": res["methods"][init][str(k)]["mhd_acc"],
                      "before_unique": res["methods"][init][str(k)]["unique_codes"],
                      "after_class_code_acc": top1(o["logits"], y),
                      "after_sign_mhd": code_metrics(o["proj"], mc, y)["mhd_acc"],
                      "after_unique": cb.num_unique_codes(mc), "epochs": ctx.profile.warm_epochs}
    # before: the baseline codebook's Phase 2 instance codes; after: sign(P(f)) of the warm-started Phase 1
    # model (no Phase 2), both decoded by MHD at k bits
    warm["summary"] = "; ".join(f"{n.upper()} codebook MHD {100 * w['before_mhd']:.1f} ({w['before_unique']} unique) -> "
                                f"LLC warm-started from it, {w['epochs']} epochs: MHD {100 * w['after_sign_mhd']:.1f} "
                                f"({w['after_unique']} unique)" for n, w in warm.items())
    warm["holds"] = all(w["after_sign_mhd"] > w["before_mhd"] for n, w in warm.items() if isinstance(w, dict))
    res["warm_start"] = warm
    # nested: the main run's 20/25/30-bit prefixes vs a separate single-length 20-bit run
    single = P.get_llc(ctx.profile, ctx.train, ctx.device, ctx.seed, real=real, bits=20, nested=())
    s_acc = top1(outputs(single, ctx.test, ctx.device)["logits"], y)
    nested = {"prefix_class_code_acc": {str(p): top1(P.head_logits(llc, p1["proj"], p), y)
                                        for p in (20, 25, 30) if p <= codes.shape[1]},
              "single_20_class_code_acc": s_acc}
    n20 = nested["prefix_class_code_acc"].get("20")
    nested["summary"] = (f"20-bit prefix of the nested {codes.shape[1]}-bit code {100 * n20:.1f} vs separate "
                         f"20-bit run {100 * s_acc:.1f} (class-code accuracy)") if n20 is not None else "n/a"
    nested["holds"] = None if n20 is None else bool(n20 >= s_acc - 0.02)
    res["nested"] = nested
    return res


def fast_codebook(ctx: P.Context, real=None) -> dict:
    """The paper's "faster codebook learning": learn the codebook with a cheaper backbone on less data,
    then train the full model's instance codes (Phase 2, from the real backbone) with it; compare with
    the full codebook."""
    prof, k = ctx.profile, ctx.profile.table_bits
    from dataclasses import replace

    from .data import stratified_subset
    cheap = replace(prof, name=prof.name, width=prof.fast_width)
    small = stratified_subset(ctx.train, min(prof.fast_per_class, len(ctx.train) // ctx.train.num_classes),
                              ctx.seed)
    llc_small = P.get_llc(cheap, small, ctx.device, ctx.seed, bits=k, nested=(), tag="fast")
    real = real if real is not None else P.get_real(prof, ctx.train, ctx.device, ctx.seed)
    codes = P.class_codes(llc_small)
    model = P.get_instance_with_codes(prof, ctx.train, ctx.device, codes, ctx.seed, real=real, tag="fast")
    y = ctx.test.labels.numpy()
    m = code_metrics(outputs(model, ctx.test, ctx.device)["proj"], codes, y)
    return {"bits": k, "codebook_images": len(small), "codebook_width": prof.fast_width,
            "mhd_acc": m["mhd_acc"], "ed_acc": m["ed_acc"], "unique_codes": m["unique_codes"]}


def taxonomy_study(ctx: P.Context, bits: int, n_clusters: int = 20) -> dict:
    """ARI / purity against CIFAR-100 superclasses for LLC, SVD, Random codes and real classifier weights."""
    real, llc, _ = main_models(ctx)
    sup = tx.superclass_of_class(ctx.train.labels.numpy(), ctx.train.coarse_labels.numpy(), ctx.train.num_classes)
    vecs = {"LLC": (P.class_codes(llc)[:, :bits], "hamming"),
            "SVD": (P.baseline_codebook("svd", real, ctx.train, ctx.device, bits)["codes"], "hamming"),
            "Random": (cb.random_codebook(ctx.train.num_classes, bits, ctx.seed), "hamming"),
            "real-valued weights": (real.head.fc.weight.detach().cpu().numpy(), "cosine")}
    out = {"bits": bits, "n_clusters": n_clusters, "methods": {}}
    for name, (v, metric) in vecs.items():
        r = tx.compare_with_superclasses(v, sup, n_clusters, metric)
        out["methods"][name] = {"ari": r["ari"], "purity": r["purity"], "metric": metric,
                                "clusters": r["clusters"].tolist()}
    out["superclass_of_class"] = sup.tolist()
    return out


def separability(ctx: P.Context, bits) -> dict:
    """Linear vs Hamming separability of the LLC model's k-dim projections, per prefix k."""
    _, llc, inst = main_models(ctx)
    codes = P.class_codes(llc)
    y, ytr, c = ctx.test.labels.numpy(), ctx.train.labels.numpy(), ctx.train.num_classes
    out = {"bits": list(bits), "rows": {}}
    for name, model in (("phase1", llc), ("phase2", inst)):
        ptr, pte = outputs(model, ctx.train, ctx.device)["proj"], outputs(model, ctx.test, ctx.device)["proj"]
        for k in bits:
            out["rows"].setdefault(str(k), {})[name] = {
                "linear_real": fit_linear(ptr[:, :k], ytr, pte[:, :k], y, c, seed=ctx.seed)["test_acc"],
                "linear_sign": fit_linear(np.sign(ptr[:, :k]), ytr, np.sign(pte[:, :k]), y, c, seed=ctx.seed)["test_acc"],
                "hamming_mhd": code_metrics(pte[:, :k], codes[:, :k], y)["mhd_acc"],
                "class_code": top1(P.head_logits(llc if name == "phase1" else inst, pte, k), y)}
    return out


def bit_interpretability(ctx: P.Context, bits: int, which=(0, 1, 2, 3), n_images: int = 8) -> dict:
    """For a few bits: classes whose code has +1 / -1, and the test images with the largest / smallest
    projection on that bit (Phase 2 model)."""
    _, llc, inst = main_models(ctx)
    codes = P.class_codes(llc)[:, :bits]
    proj = outputs(inst, ctx.test, ctx.device)["proj"]
    names = ctx.train.class_names
    sup = tx.superclass_of_class(ctx.train.labels.numpy(), ctx.train.coarse_labels.numpy(), ctx.train.num_classes)
    out = {"bits": bits, "per_bit": {}}
    for j in which:
        order = np.argsort(proj[:, j])
        pos = np.flatnonzero(codes[:, j] > 0)
        # how many superclasses does the +1 side touch, and how "pure" is it?
        out["per_bit"][str(j)] = {
            "plus_classes": [names[i] for i in pos], "minus_count": int((codes[:, j] < 0).sum()),
            "plus_superclasses": int(len(np.unique(sup[pos]))),
            "top_images": order[::-1][:n_images].tolist(), "bottom_images": order[:n_images].tolist()}
    spread = [v["plus_superclasses"] for v in out["per_bit"].values()]
    out["summary"] = (f"the +1 side of bits {list(which)} spans {min(spread)}-{max(spread)} of 20 superclasses")
    out["holds"] = bool(min(spread) >= 5)
    out["paper"] = "no: a bit mixes unrelated classes"
    return out
