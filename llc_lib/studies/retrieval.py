"""Image retrieval with instance codes (notebook 06): LLC vs HashNet, CSQ and real-valued k-dim features."""

from __future__ import annotations

import numpy as np
import torch

from ..engine.inference import class_codes, head_logits, outputs
from ..graph import plan
from ..kernels import retrieval
from ..kernels.codebooks import num_unique_codes
from ..methods import csq as csq_method
from ..methods import hashnet as hashnet_method
from ..results import claims
from . import Context, check_bits, check_int, fits
from .evaluation import real_kdim

REAL_EQUAL_BUDGET = claims.retrieval.REAL_EQUAL_BUDGET

EXAMPLE_QUERIES = 6  # queries shown in the retrieval examples figure


def check_retrieval_bits(profile, bits) -> list[int]:
    """``bits`` sorted, if every code length is one the profile trains hash heads for (else ValueError)."""
    bits = check_bits(bits, profile.max_bits)
    other = [k for k in bits if k not in profile.retrieval_bits]
    if other:
        raise ValueError(
            f"retrieval bits {other} are not trained in profile {profile.name!r}; "
            f"choose from {list(profile.retrieval_bits)}"
        )
    return bits


@fits(
    lambda p, seed: (
        [plan.real(p, seed), plan.headline(p, seed)[2], plan.real_bottleneck(p, seed)]
        + [plan.equal_budget(p, plan.real_bottleneck(p, seed)), plan.equal_budget(p, plan.real(p, seed))]
        + [plan.hashing(p, m, seed) for m in ("hashnet", "csq")]
    )
)
def retrieval_study(
    ctx: Context,
    seed: int,
    bits,
    R: int = 1000,
    pr_bits=(10, 16),
    example_bits: int = 16,
    hash_epochs: int | None = None,
    equal_budget: bool = True,
) -> dict:
    """Image retrieval on CIFAR-100: queries = test split, database = training split, relevant = same class.

    Methods at every k in ``bits``: the real model's predicted class as a ceil(log2 C)-bit code (the same at
    every k; Sablayrolles et al. 2017; with ``equal_budget`` also that of the real model trained on to the
    instance codes' epochs, ``plan.equal_budget``), LLC's predicted class code (the k-bit class code of the class LLC's
    Phase 1 predicts at k bits: what instance codes that collapsed onto their predicted class would give, so
    that LLC's codes can be told apart from its classifier), LLC Phase 2 instance codes (prefixes of the main
    run's code), HashNet and CSQ (hash layers fine-tuned from the real-valued backbone for the profile's
    epochs, ``plan.hashing``, or ``hash_epochs`` for both; 'hash_schedules' gives each one's epochs, its
    published length in epochs of this training set and its per-epoch training loss, 'llc_phase2_loss'
    LLC's), real-valued k-dim features (``evaluation.real_kdim``: the first k dims of a network trained end
    to end with a nested bottleneck; cosine and Euclidean ranking), with ``equal_budget`` the same network
    trained on until it has as many epochs as LLC's instance codes (``REAL_EQUAL_BUDGET``,
    ``plan.equal_budget``; cosine; a declared fit, so Make trains it), and the
    signs of the first features (Hamming). Binary codes get tie-aware and stable MAP@R and tie statistics
    (``retrieval``). The database is put in a fixed random order (seed 0) so that the stable tie rule favours no class.
    Returns the JSON-ready results plus '_examples' (arrays for the example figure; drop before saving).
    """
    prof, ws, dev = ctx.profile, ctx.ws, ctx.ws.device
    bits = check_retrieval_bits(prof, bits)
    pr_bits = check_retrieval_bits(prof, pr_bits)
    R = check_int("R", R)
    if hash_epochs is not None:
        check_int("hash_epochs", hash_epochs)
    example_bits = example_bits if example_bits in bits else bits[0]
    real_s, llc_s, inst_s = plan.headline(prof, seed)
    real, llc, inst = ws.fit(real_s), ws.fit(llc_s), ws.fit(inst_s)
    tr, te = ctx.train(seed), ctx.test(seed)
    perm = np.random.default_rng(0).permutation(len(tr))
    yq, ydb = te.labels.numpy(), tr.labels.numpy()[perm]
    n_db = len(ydb)
    R = min(R, n_db)

    def proj(model):  # (query, database) outputs, database in the shuffled order
        return outputs(model, te, dev)["proj"], outputs(model, tr, dev)["proj"][perm]

    ctx.step(f"retrieval: LLC's codes of {len(yq)} queries and {n_db} database images")
    codes = {"LLC": proj(inst)}
    llc_proj, llc_codes = proj(llc), class_codes(llc)
    llc_class_name = "LLC predicted class code"
    hashing, centers_unique, schedules = {}, {}, {}
    published = {"hashnet": hashnet_method.published_epochs(len(tr)), "csq": csq_method.published_epochs(len(tr))}
    for method in ("hashnet", "csq"):
        ctx.step(f"retrieval: {method} codes")
        spec = plan.hashing(prof, method, seed, epochs=hash_epochs)
        model = ws.fit(spec)
        schedules[method] = {
            "epochs": spec.cfg.epochs,
            "published_epochs": published[method],
            "loss": [h["loss"] for h in ws.history(spec)],
        }
        q, d = proj(model)
        hashing[method] = (model.head.split(torch.from_numpy(q)), model.head.split(torch.from_numpy(d)))
        if method == "csq":
            centers_unique = {
                str(k): num_unique_codes(c.numpy()) for k, c in model.head.split(model.head.centers).items()
            }
    ctx.step("retrieval: the real-valued model's features and predicted classes")
    ftr = ws.features(real_s)[perm]
    out_te = outputs(real, te, dev)
    fte = out_te["features"]

    def predicted_class_codes(q_logits, db_logits):  # (query, database) ceil(log2 C)-bit predicted-class codes
        return tuple(retrieval.class_index_codes(z.argmax(1), tr.num_classes) for z in (q_logits, db_logits[perm]))

    # the predicted-class baseline: the real model's predicted class as a ceil(log2 C)-bit code
    class_q, class_db = predicted_class_codes(out_te["logits"], outputs(real, tr, dev)["logits"])
    class_name = f"predicted class ({class_q.shape[1]} bits)"
    class_res = {pr: retrieval.evaluate_hamming(class_q, class_db, yq, ydb, R, pr=pr) for pr in (False, True)}
    class_same_name = f"{class_name}, equal budget"
    same_s = plan.equal_budget(prof, real_s)
    if equal_budget:  # the same baseline from the real model trained as many epochs as LLC's instance codes
        same_real = ws.fit(same_s)
        same_q, same_db = predicted_class_codes(*(outputs(same_real, d, dev)["logits"] for d in (te, tr)))
        class_same = retrieval.evaluate_hamming(same_q, same_db, yq, ydb, R, pr=False)
    res = {
        "R": R,
        "bits": bits,
        "pr_bits": pr_bits,
        "queries": len(yq),
        "database": n_db,
        "methods": {},
        "classification": {},
        "csq_unique_centers": centers_unique,
        "example_bits": example_bits,
        "hash_epochs": hash_epochs,
        "predicted_class_method": class_name,
        "predicted_class_equal_budget_method": class_same_name if equal_budget else None,
        "llc_predicted_class_method": llc_class_name,
        "hash_schedules": schedules,
        "llc_phase2_loss": [h["loss"] for h in ws.history(inst_s)],
        "epochs": {  # of training in all, for each kind of feature compared
            "LLC": llc_s.cfg.epochs + inst_s.cfg.epochs,
            "real k-dim": plan.real_bottleneck(prof, seed).cfg.epochs,
            class_name: real_s.cfg.epochs,
        },
    }
    if equal_budget:
        bottleneck = plan.real_bottleneck(prof, seed)
        res["epochs"][REAL_EQUAL_BUDGET] = bottleneck.cfg.epochs + plan.equal_budget(prof, bottleneck).cfg.epochs
        res["epochs"][class_same_name] = real_s.cfg.epochs + same_s.cfg.epochs
    examples = {"perm": perm, "queries": yq}
    for k in bits:
        ctx.step(f"retrieval at {k} bits: MAP@{R} of every method")
        pr = k in pr_bits
        embed = real_kdim(ctx, seed, k, with_train=True)
        zq, zd = embed["embed_test"], embed["embed_train"][perm]
        binary = {
            "LLC": (codes["LLC"][0][:, :k], codes["LLC"][1][:, :k]),
            "HashNet": tuple(h[k].numpy() for h in hashing["hashnet"]),
            "CSQ": tuple(h[k].numpy() for h in hashing["csq"]),
            "real k-dim, sign": (zq, zd),
            llc_class_name: tuple(llc_codes[head_logits(llc, z, k).argmax(1), :k] for z in llc_proj),
        }
        for name, (q, d) in binary.items():
            r = retrieval.evaluate_hamming(q, d, yq, ydb, R, pr=pr, keep_top=k == example_bits and name == "LLC")
            if "top" in r:
                examples["LLC"] = r.pop("top")[:, :8]
            res["methods"].setdefault(name, {})[str(k)] = r
        for metric in ("cosine", "euclidean"):
            keep = k == example_bits and metric == "cosine"
            r = retrieval.evaluate_real(zq, zd, yq, ydb, R, metric, pr=pr and metric == "cosine", keep_top=keep)
            if "top" in r:
                examples["real"] = r.pop("top")[:, :8]
            res["methods"].setdefault(f"real k-dim, {metric}", {})[str(k)] = r
        if equal_budget:  # as many epochs as LLC's instance codes
            same = real_kdim(ctx, seed, k, with_train=True, equal_budget=True)
            res["methods"].setdefault(REAL_EQUAL_BUDGET, {})[str(k)] = retrieval.evaluate_real(
                same["embed_test"], same["embed_train"][perm], yq, ydb, R, "cosine", pr=False
            )
        res["methods"].setdefault(class_name, {})[str(k)] = class_res[pr]  # the same codes at every k
        if equal_budget:
            res["methods"].setdefault(class_same_name, {})[str(k)] = class_same
        res["classification"][str(k)] = {"real_bottleneck_top1": embed["test_acc"], "kind": embed["kind"]}
    full = retrieval.evaluate_real(fte, ftr, yq, ydb, R, "cosine", pr=False)
    res["real_full_width"] = {"dims": int(fte.shape[1]), "map_cosine": full["map"]}
    # a few queries with their top retrieved images: one per class group, fixed by the seed
    rng = np.random.default_rng(seed)
    examples["query_idx"] = np.sort(rng.choice(len(yq), EXAMPLE_QUERIES, replace=False))
    res["_examples"] = examples
    return res
