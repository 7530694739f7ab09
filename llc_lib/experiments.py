"""The computations behind each notebook. Each function takes a ``pipeline.Context``, gets its (cached)
models through ``pipeline``, and returns a JSON-ready dict plus, where a figure needs them, arrays."""
from __future__ import annotations

import numpy as np

import torch

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

    Also writes the headline table (``pipeline.reproduce``) to runs/<profile>/results.json and to
    headline_results.json in the figure folder."""
    headline = P.reproduce(ctx.profile.name, ctx.seed, str(ctx.device))
    P.write_json(headline, ctx.figdir / "headline_results.json")
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


def seed_study(ctx: P.Context, seeds=None) -> dict:
    """The headline models (real-valued, nested LLC Phase 1 and Phase 2) trained (or loaded) once per seed in
    ``seeds`` (default: the profile's) and evaluated; ``pipeline.summarize_seeds`` of them plus each seed's
    full result under "runs". Each seed has its own checkpoints and runs/<profile>/results*.json."""
    seeds = list(ctx.profile.seeds if seeds is None else seeds)
    if not seeds or any(not isinstance(s, int) or isinstance(s, bool) or s < 0 for s in seeds):
        raise ValueError(f"seeds must be a non-empty list of non-negative integers, got {seeds!r}")
    runs = {s: P.reproduce(ctx.profile, s, str(ctx.device)) for s in seeds}
    return {**P.summarize_seeds(runs), "runs": {str(s): r for s, r in runs.items()}}


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


# -------------------------------------------------------------------------------------------- retrieval

def check_retrieval_bits(profile, bits) -> list[int]:
    """``bits`` sorted, if every code length is one the profile trains hash heads for (else ValueError)."""
    bits = P.check_bits(bits, profile.max_bits)
    other = [k for k in bits if k not in profile.retrieval_bits]
    if other:
        raise ValueError(f"retrieval bits {other} are not trained in profile {profile.name!r}; "
                         f"choose from {list(profile.retrieval_bits)}")
    return bits


def retrieval_study(ctx: P.Context, bits, R: int = 1000, pr_bits=(10, 16), example_bits: int = 16,
                    n_examples: int = 6, hash_epochs: int | None = None) -> dict:
    """Image retrieval on CIFAR-100: queries = test split, database = training split, relevant = same class.

    Methods at every k in ``bits``: LLC Phase 2 instance codes (prefixes of the main run's code), HashNet and
    CSQ (hash layers fine-tuned from the real-valued backbone for the profile's Phase 2 epochs, or
    ``hash_epochs``), real-valued k-dim features (a linear
    bottleneck trained on the frozen real-valued features; cosine and Euclidean ranking) and the signs of those
    features (Hamming). Binary codes get tie-aware and stable MAP@R and tie statistics (``retrieval``).
    The database is put in a fixed random order (seed 0) so that the stable tie rule favours no class.
    Returns the JSON-ready results plus '_examples' (arrays for the example figure; drop before saving).
    """
    from . import retrieval as rt

    prof, dev = ctx.profile, ctx.device
    bits = check_retrieval_bits(prof, bits)
    example_bits = example_bits if example_bits in bits else bits[0]
    real, llc, inst = main_models(ctx)
    perm = np.random.default_rng(0).permutation(len(ctx.train))
    yq, ydb = ctx.test.labels.numpy(), ctx.train.labels.numpy()[perm]
    n_db = len(ydb)
    R = min(R, n_db)

    def proj(model):  # (query, database) outputs, database in the shuffled order
        return outputs(model, ctx.test, dev)["proj"], outputs(model, ctx.train, dev)["proj"][perm]

    codes = {"LLC": proj(inst)}
    hashing, centers_unique = {}, {}
    for method in ("hashnet", "csq"):
        model = P.get_hashing(prof, ctx.train, dev, method, ctx.seed, real=real, epochs=hash_epochs)
        q, d = proj(model)
        hashing[method] = (model.head.split(torch.from_numpy(q)), model.head.split(torch.from_numpy(d)))
        if method == "csq":
            centers_unique = {str(k): cb.num_unique_codes(c.numpy()) for k, c in
                              model.head.split(model.head.centers).items()}
    ftr = P.train_features(real, ctx.train, dev)[perm]
    fte = outputs(real, ctx.test, dev)["features"]
    res = {"R": R, "bits": bits, "queries": len(yq), "database": n_db, "methods": {}, "classification": {},
           "csq_unique_centers": centers_unique, "example_bits": example_bits,
           "hash_epochs": hash_epochs or prof.hashing.epochs}
    examples = {"perm": perm, "queries": yq}
    for k in bits:
        pr = k in pr_bits
        embed = fit_linear(ftr, ydb, fte, yq, ctx.train.num_classes, bottleneck=k, seed=ctx.seed)
        zq, zd = embed["embed"](fte), embed["embed"](ftr)
        binary = {"LLC": (codes["LLC"][0][:, :k], codes["LLC"][1][:, :k]),
                  "HashNet": tuple(h[k].numpy() for h in hashing["hashnet"]),
                  "CSQ": tuple(h[k].numpy() for h in hashing["csq"]),
                  "real k-dim, sign": (zq, zd)}
        for name, (q, d) in binary.items():
            r = rt.evaluate_hamming(q, d, yq, ydb, R, pr=pr, keep_top=k == example_bits and name == "LLC")
            if "top" in r:
                examples["LLC"] = r.pop("top")[:, :8]
            res["methods"].setdefault(name, {})[str(k)] = r
        for metric in ("cosine", "euclidean"):
            keep = k == example_bits and metric == "cosine"
            r = rt.evaluate_real(zq, zd, yq, ydb, R, metric, pr=pr and metric == "cosine", keep_top=keep)
            if "top" in r:
                examples["real"] = r.pop("top")[:, :8]
            res["methods"].setdefault(f"real k-dim, {metric}", {})[str(k)] = r
        res["classification"][str(k)] = {"real_bottleneck_top1": embed["test_acc"]}
    full = rt.evaluate_real(fte, ftr, yq, ydb, R, "cosine", pr=False)
    res["real_full_width"] = {"dims": int(fte.shape[1]), "map_cosine": full["map"]}
    # a few queries with their top retrieved images: one per class group, fixed by the seed
    rng = np.random.default_rng(ctx.seed)
    examples["query_idx"] = np.sort(rng.choice(len(yq), n_examples, replace=False))
    res["_examples"] = examples
    return res


# -------------------------------------------------------------------------------------------------- OOD

def ood_data(ctx: P.Context, n_val: int = 3000) -> dict:
    """The OOD study's data. ID = classes 0..C_in-1; their training split trains the models, their test
    split is halved per class into ID validation / ID test. Near OOD = classes C_in..99: validation from
    their (never trained on) training split, test = their test split. Far OOD = CIFAR-10 test and
    TinyImageNet (resized), each split at random into ``n_val`` (capped at 60 %) validation and the rest test.
    Returns {'train_in', 'val_in', 'test_in', 'ood': {name: (val, test)}} of ArrayDatasets."""
    from .data import class_subset, load_ood, stratified_indices
    from .ood import split_pool

    c_in, c_all = ctx.profile.ood_classes, ctx.train.num_classes
    if not 2 <= c_in < c_all:
        raise ValueError(f"ood_classes must lie in 2..{c_all - 1}, got {c_in}")
    test_in = class_subset(ctx.test, range(c_in))
    val_idx = stratified_indices(test_in.labels, c_in, len(test_in) // c_in // 2, seed=ctx.seed)
    keep = torch.ones(len(test_in), dtype=torch.bool)
    keep[val_idx] = False
    near_val = class_subset(ctx.train, range(c_in, c_all))
    near_test = class_subset(ctx.test, range(c_in, c_all))
    ood = {"CIFAR-100 held-out classes (near)": (near_val, near_test)}
    for name, key in (("CIFAR-10 (far)", "cifar10"), ("TinyImageNet (far)", "tinyimagenet")):
        full = load_ood(key)
        if ctx.profile.per_class is not None:  # smoke: a small random part
            full = full.take(np.sort(np.random.default_rng(ctx.seed).permutation(len(full))[:len(ctx.test)]))
        v, t = split_pool(len(full), min(n_val, int(0.6 * len(full))), seed=ctx.seed)
        ood[name] = (full.take(v), full.take(t))
    return {"train_in": class_subset(ctx.train, range(c_in)), "val_in": test_in.take(val_idx),
            "test_in": test_in.take(torch.nonzero(keep).flatten()), "ood": ood}


def ood_study(ctx: P.Context, ns=(10, 30, 100, 300, 1000, 3000), repeats: int = 20) -> dict:
    """LLC's zero-tuning OOD detector against MSP / energy thresholds tuned on n samples.

    Trains (cached) on the first ``profile.ood_classes`` classes: a real-valued classifier, a nested LLC
    Phase 1 run over ``profile.ood_bits`` and its Phase 2 instance codes. For every OOD set: LLC's ED
    operating point at each k (no samples), AUROC / FPR@95 of every score, and the tuned-threshold curves.
    Returns the JSON-ready results plus '_scores' (arrays for the histogram figure; drop before saving).
    """
    from . import ood as O
    from .decode import mhd_decode

    prof, dev, seed = ctx.profile, ctx.device, ctx.seed
    d = ood_data(ctx, n_val=max(ns))
    c_in, bits = prof.ood_classes, tuple(prof.ood_bits)
    tag = f"_ood{c_in}"
    real = P.get_real(prof, d["train_in"], dev, seed, tag=tag)
    llc = P.get_llc(prof, d["train_in"], dev, seed, bits=max(bits), nested=bits, tag=tag)
    inst = P.get_instance(prof, d["train_in"], dev, seed, llc=llc, tag=tag, bits=max(bits))
    codes = P.class_codes(llc)

    def scores(ds) -> dict[str, np.ndarray]:
        logits, proj = outputs(real, ds, dev)["logits"], outputs(inst, ds, dev)["proj"]
        out = {"MSP": O.msp_score(logits), "energy": O.energy_score(logits), "_logits": logits}
        for k in bits:  # graded LLC score: minus the Hamming distance to the nearest class code (0 = ED match)
            m = mhd_decode(proj[:, :k], codes[:, :k], ties=False)
            out[f"LLC {k} bits"] = -m["dist"].astype(np.float64)
            out[f"_pred{k}"] = m["pred"]
        return out

    s_val_in, s_test_in = scores(d["val_in"]), scores(d["test_in"])
    y_in = d["test_in"].labels.numpy()
    res = {"id_classes": c_in, "ood_bits": list(bits), "ns": list(ns), "repeats": repeats,
           "sizes": {"train_in": len(d["train_in"]), "val_in": len(d["val_in"]), "test_in": len(d["test_in"])},
           "id_accuracy": {"real_top1": top1(s_test_in["_logits"], y_in),
                           **{f"llc_mhd_{k}": float((s_test_in[f"_pred{k}"] == y_in).mean()) for k in bits}},
           "unique_codes": {str(k): cb.num_unique_codes(codes[:, :k]) for k in bits}, "sets": {}}
    kept = {}
    for name, (val, test) in d["ood"].items():
        s_val_out, s_test_out = scores(val), scores(test)
        row = {"val": len(val), "test": len(test), "llc_ed": {}, "threshold_free": {}, "tuned": {},
               "id_val_tpr95": {}, "samples_to_match": {}}
        for k in bits:
            key = f"LLC {k} bits"
            row["llc_ed"][str(k)] = O.detection_accuracy(s_test_in[key] == 0, s_test_out[key] == 0)
            row["threshold_free"][key] = O.threshold_free(s_test_in[key], s_test_out[key])
        for base in ("MSP", "energy"):
            row["threshold_free"][base] = O.threshold_free(s_test_in[base], s_test_out[base])
            row["tuned"][base] = O.tuned_threshold_curve(s_val_in[base], s_val_out[base], s_test_in[base],
                                                          s_test_out[base], ns, repeats, seed)
            t95 = np.quantile(s_val_in[base], 0.05)  # 95 % of ID validation kept: needs no OOD sample
            row["id_val_tpr95"][base] = O.detection_accuracy(s_test_in[base] >= t95, s_test_out[base] >= t95)
            row["samples_to_match"][base] = {str(k): O.samples_to_match(row["tuned"][base], row["llc_ed"][str(k)]["acc"])
                                             for k in bits}
        res["sets"][name] = row
        kept[name] = {k: v for k, v in s_test_out.items() if k.startswith("LLC")}
    kept["ID test"] = {k: v for k, v in s_test_in.items() if k.startswith("LLC")}
    k_main = max(bits)
    main = {n: r["samples_to_match"]["MSP"][str(k_main)] for n, r in res["sets"].items()}
    res["summary"] = "; ".join(
        f"{n}: LLC ED ({k_main} bits) {100 * r['llc_ed'][str(k_main)]['acc']:.1f} % with 0 samples, MSP needs "
        f"{'>' + str(max(r['tuned']['MSP']['n'])) if main[n] is None else main[n]} samples "
        f"(MSP best {100 * max(r['tuned']['MSP']['acc_mean']):.1f} %)" for n, r in res["sets"].items())
    res["holds"] = all(m is None or m >= 1000 for m in main.values())  # None: never matched
    res["paper"] = "LLC (0 samples) as accurate as a baseline tuned on ~3000 samples"
    res["_scores"] = kept
    return res
