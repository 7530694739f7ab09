"""Evaluations of fitted models that several studies share: a layer below the studies, importing none of them.
``ctx`` is a ``studies.Context``: the profile, the workspace that fits models, and the data splits."""

from __future__ import annotations

import numpy as np
import torch

from ..engine.data import labels_of
from ..engine.inference import class_codes, head_logits, outputs
from ..graph import plan
from ..kernels.metrics import bits_right_split, code_metrics, top1
from ..results import claims


def evaluate_llc(llc, inst, data, device, bits, workers: int = 0) -> dict:
    """Per prefix length k: class-code accuracy of Phase 1, code metrics of the Phase 2 instance codes, and
    their bits right split by whether Phase 1's class-code prediction is right (``metrics.bits_right_split``).

    P(exact | right), the fraction of images whose instance code equals their class code on every bit among those
    whose class decision is right, three ways: 'p_exact_given_phase2_class_right' (the primary one: the decision of
    the network that makes the instance code, Phase 2's head; its accuracy is 'phase2_class_acc'),
    'p_exact_given_class_code_right' (Phase 1's class decision, another network) and the paper-style ratio
    'ed_over_class_code_acc' (ED accuracy / Phase 1's class-code accuracy, which also counts exact codes of images
    Phase 1 gets wrong)."""
    codes = class_codes(llc)
    p1 = outputs(llc, data, device, workers=workers)
    p2 = outputs(inst, data, device, workers=workers)
    y = labels_of(data).numpy()
    rows = {}
    for k in bits:
        logits = head_logits(llc, p1["proj"], k)
        row = {"class_code_acc": top1(logits, y)}
        row.update(code_metrics(p2["proj"][:, :k], codes[:, :k], y))
        split = bits_right_split(p2["proj"][:, :k], codes[:, :k], y, logits.argmax(1))
        row["p_exact_given_class_code_right"] = split.pop("exact_if_class_code_right")
        own = head_logits(inst, p2["proj"], k)
        row["phase2_class_acc"] = top1(own, y)
        row["p_exact_given_phase2_class_right"] = bits_right_split(p2["proj"][:, :k], codes[:, :k], y, own.argmax(1))[
            "exact_if_class_code_right"
        ]
        row["ed_over_class_code_acc"] = row["ed_acc"] / row["class_code_acc"] if row["class_code_acc"] else float("nan")
        row.update({f"bits_right_{key}": value for key, value in split.items()})
        phase1_sign = code_metrics(p1["proj"][:, :k], codes[:, :k], y)
        row["phase1_sign_mhd_acc"], row["phase1_sign_ed_acc"] = phase1_sign["mhd_acc"], phase1_sign["ed_acc"]
        rows[k] = row
    return rows


def real_kdim(ctx, seed: int, k: int, with_train: bool = False, equal_budget: bool = False) -> dict:
    """{'kind': 'end to end, nested', 'test_acc', 'embed_test' (N_test, k) and, with ``with_train``,
    'embed_train' (N_train, k)} of the real-valued k-dim baseline, on the context's test and training splits
    (dataset order). test_acc is that of the network's classifier restricted to the first k dims.
    ``equal_budget``: the same network trained on for Phase 2's epochs (``plan.equal_budget``), as many in all
    as LLC's instance codes."""
    ws = ctx.ws
    tr, te = ctx.train(seed), ctx.test(seed)
    spec = plan.real_bottleneck(ctx.profile, seed)
    if equal_budget:
        spec = plan.equal_budget(ctx.profile, spec)
    if not 1 <= k <= spec.cfg.bits:  # like LLC's codes, any prefix; those in the sweep were trained as such
        raise ValueError(f"the real-valued bottleneck has {spec.cfg.bits} dims; k={k} is not a prefix of it")
    model = ws.fit(spec)

    def embed(data, split):  # (N, max(sweep)), computed once per process
        return ctx.once(
            ("embed", spec.key, split), lambda: outputs(model, data, ws.device, workers=ws.workers)["embed"]
        )

    e = embed(te, "test")
    with torch.no_grad():
        logits = model.head.prefix_logits(torch.as_tensor(e, device=model.head.fc.weight.device), (k,))[0]
    out = {
        "kind": "end to end, nested",
        "test_acc": top1(logits.cpu().numpy(), labels_of(te).numpy()),
        "embed_test": e[:, :k],
    }
    if with_train:
        out["embed_train"] = embed(tr, "train")[:, :k]
    return out


def codebooks(ctx, seed: int, bits: int) -> dict[str, np.ndarray]:
    """{'LLC', 'SVD', 'Random': (C, bits) int8 +-1}: the first ``bits`` bits of the main run's class codes and
    of the SVD and Random codebooks the codebook comparison trains and evaluates (their codebook files)."""
    _, llc_s, _ = plan.headline(ctx.profile, seed)
    out = {"LLC": class_codes(ctx.fit(llc_s))[:, :bits]}
    for name in ("SVD", "Random"):
        book = plan.baseline_instance(ctx.profile, name.lower(), seed).codebook
        out[name] = ctx.ws.codebook(book)["codes"][:, :bits]
    return out


def single_length_acc(ctx, seed: int) -> float:
    """Test class-code accuracy (a fraction) of the separate single-length LLC run of ``plan.NESTED_BITS``
    bits (``plan.single_length``) that the nested code's prefix is compared with."""
    ws, te = ctx.ws, ctx.test(seed)
    logits = outputs(ws.fit(plan.single_length(ctx.profile, seed)), te, ws.device, workers=ws.workers)["logits"]
    return top1(logits, labels_of(te).numpy())


def fast_codebook_metrics(ctx, seed: int) -> dict:
    """The paper's "faster codebook learning": a codebook learnt with a narrow backbone on a fraction of the
    data, frozen for Phase 2 of the full model; its test metrics ('mhd_acc', 'ed_acc', 'unique_codes') and
    those of the main run's codebook on the same path, at the same length ('main_mhd_acc', 'main_ed_acc';
    ``plan.fast_codebook_reference``), with the verdict of ``claims.fast_codebook_close``."""
    prof, ws = ctx.profile, ctx.ws
    spec, ref = plan.fast_codebook(prof, seed), plan.fast_codebook_reference(prof, seed)
    cheap, k = spec.codebook.source, spec.cfg.bits
    te = ctx.test(seed)
    y = te.labels.numpy()
    m = code_metrics(outputs(ws.fit(spec), te, ws.device)["proj"], ws.codebook(spec.codebook)["codes"], y)
    main = code_metrics(
        outputs(ws.fit(ref), te, ws.device)["proj"][:, :k], ws.codebook(ref.codebook)["codes"][:, :k], y
    )
    return {
        "bits": k,
        "codebook_images": len(ws.store.get(cheap.data)),
        "codebook_width": cheap.arch.width,
        "epochs": spec.cfg.epochs,
        "mhd_acc": m["mhd_acc"],
        "ed_acc": m["ed_acc"],
        "unique_codes": m["unique_codes"],
        "main_mhd_acc": main["mhd_acc"],
        "main_ed_acc": main["ed_acc"],
        "holds": claims.fast_codebook_close(100 * m["mhd_acc"], 100 * main["mhd_acc"]),
        "threshold_points": claims.THRESHOLDS["fast_codebook_points"],
    }
