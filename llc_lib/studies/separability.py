"""Linear vs Hamming separability of the LLC projections, and whether single bits are interpretable
(notebook 05)."""

from __future__ import annotations

import numpy as np

from ..engine.inference import class_codes, head_logits, outputs
from ..engine.probes import fit_linear
from ..graph import plan
from ..kernels import taxonomy
from ..kernels.metrics import code_metrics, top1
from ..results import claims
from . import Context, check_bits, check_length, fits


@fits(lambda p, seed: list(plan.headline(p, seed))[1:])
def separability(ctx: Context, seed: int, bits) -> dict:
    """Per prefix k and per phase: test accuracy of a linear probe on the real k-dim projection, of a linear
    probe on its signs, of MHD on the signs, and of the class-code logits; 'summary' and the paper's claim."""
    bits = check_bits(bits, ctx.profile.max_bits)
    _, llc_s, inst_s = plan.headline(ctx.profile, seed)
    llc, inst = ctx.fit(llc_s), ctx.fit(inst_s)
    codes = class_codes(llc)
    tr, te, dev = ctx.train(seed), ctx.test(seed), ctx.ws.device
    y, ytr, c = te.labels.numpy(), tr.labels.numpy(), tr.num_classes
    out = {"bits": bits, "rows": {}}
    for name, model in (("phase1", llc), ("phase2", inst)):
        ctx.step(f"separability: {name} projections, then a linear probe per code length")
        ptr, pte = outputs(model, tr, dev)["proj"], outputs(model, te, dev)["proj"]
        for k in bits:
            out["rows"].setdefault(str(k), {})[name] = {
                "linear_real": fit_linear(ptr[:, :k], ytr, pte[:, :k], y, c, seed=seed)["test_acc"],
                "linear_sign": fit_linear(np.sign(ptr[:, :k]), ytr, np.sign(pte[:, :k]), y, c, seed=seed)["test_acc"],
                "hamming_mhd": code_metrics(pte[:, :k], codes[:, :k], y)["mhd_acc"],
                "class_code": top1(head_logits(model, pte, k), y),
            }
    rows = out["rows"]
    out["linear_minus_hamming"] = {
        str(k): rows[str(k)]["phase2"]["linear_real"] - rows[str(k)]["phase2"]["hamming_mhd"] for k in bits
    }
    out["summary"] = "; ".join(
        f"k={k}: linear {100 * rows[str(k)]['phase2']['linear_real']:.1f} vs Hamming "
        f"{100 * rows[str(k)]['phase2']['hamming_mhd']:.1f}"
        for k in bits
    )
    out["paper"] = claims.PAPER["statements"]["separability"]
    return out


SHOWN_BITS, SHOWN_IMAGES = (0, 1, 2, 3), 8  # the bits the figure shows, and its images per side
PERMUTATIONS = 2000  # random codebooks of the same balance per bit, for the interpretability test


def superclass_span_test(
    codes: np.ndarray, superclass: np.ndarray, permutations: int = PERMUTATIONS, seed: int = 0
) -> dict:
    """Are the bits of ``codes`` (C, k) aligned with the superclasses (``superclass`` (C,))? Per bit, the number
    of superclasses its +1 classes span; against random bits of the same balance (the same number of +1
    classes, drawn uniformly). Returns {'span' (k,), 'mean_span', 'random_mean_span', 'p_value': (1 + the
    number of random codebooks whose mean span is <= ours) / (1 + ``permutations``), the Monte Carlo p-value
    that counts our codebook among the draws, so it is never 0 (small = more aligned than chance)}."""
    rng = np.random.default_rng(seed)
    c = len(superclass)
    plus = [np.flatnonzero(codes[:, j] > 0) for j in range(codes.shape[1])]
    span = np.array([len(np.unique(superclass[p])) for p in plus])
    null = np.zeros(permutations)
    for i in range(permutations):
        null[i] = np.mean([len(np.unique(superclass[rng.choice(c, len(p), replace=False)])) for p in plus])
    return {
        "span": span.tolist(),
        "mean_span": float(span.mean()),
        "random_mean_span": float(null.mean()),
        "p_value": float((1 + (null <= span.mean()).sum()) / (1 + permutations)),
    }


@fits(lambda p, seed: list(plan.headline(p, seed))[1:])
def bit_interpretability(ctx: Context, seed: int, bits: int) -> dict:
    """For a few bits: classes whose code has +1 / -1, how many superclasses the +1 side spans, and the test
    images with the largest / smallest projection on that bit (Phase 2 model); the verdict and threshold."""
    bits = check_length(bits, ctx.profile.max_bits)
    _, llc_s, inst_s = plan.headline(ctx.profile, seed)
    codes = class_codes(ctx.fit(llc_s))[:, :bits]
    te, tr = ctx.test(seed), ctx.train(seed)
    proj = outputs(ctx.fit(inst_s), te, ctx.ws.device)["proj"]
    sup = taxonomy.superclass_of_class(tr.labels.numpy(), tr.coarse_labels.numpy(), tr.num_classes)
    out = {"bits": bits, "per_bit": {}}
    for j in SHOWN_BITS:
        order = np.argsort(proj[:, j])
        pos = np.flatnonzero(codes[:, j] > 0)
        out["per_bit"][str(j)] = {
            "plus_classes": [tr.class_names[i] for i in pos],
            "minus_count": int((codes[:, j] < 0).sum()),
            "plus_superclasses": int(len(np.unique(sup[pos]))),
            "top_images": order[::-1][:SHOWN_IMAGES].tolist(),
            "bottom_images": order[:SHOWN_IMAGES].tolist(),
        }
    test = superclass_span_test(codes, sup, seed=seed)
    out["span_test"] = test
    n_sup = int(len(np.unique(sup)))
    whole = taxonomy.superclasses_kept_whole(codes, sup)
    share = claims.THRESHOLDS["interpretable_bit_whole_fraction"]
    alpha = claims.THRESHOLDS["interpretability_alpha"]
    out["kept_whole"] = {"per_bit": whole.tolist(), "superclasses": n_sup, "threshold_fraction": share}
    out["summary"] = (
        f"each of LLC's {bits} bits keeps at most {whole.max()} of {n_sup} superclasses whole (all their classes on "
        f"one side; interpretable from {share * n_sup:.0f}; a random bit keeps {n_sup * 2 / 2**5:.2f} on average); "
        f"descriptive: its +1 side spans {test['mean_span']:.1f} superclasses on average, random bits of the same "
        f"balance {test['random_mean_span']:.1f} (permutation test, p = {test['p_value']:.2g}: "
        f"{'more aligned than chance' if test['p_value'] < alpha else 'as mixed as chance'})"
    )
    out["holds"] = claims.bits_not_interpretable(whole.tolist(), n_sup)
    out["threshold_alpha"] = alpha
    out["paper"] = claims.PAPER["statements"]["interpretability"]
    return out
