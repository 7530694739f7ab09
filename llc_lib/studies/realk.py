"""The real-valued k-dim baseline of accuracy-vs-bits and retrieval: a network trained end to end with a k-dim
bottleneck (``profile.bottleneck_models``), else a linear probe with a k-dim bottleneck on frozen features."""
from __future__ import annotations

from .. import plan
from ..data import labels_of
from ..inference import outputs
from ..metrics import top1
from ..probes import fit_linear
from . import Context


def real_kdim(ctx: Context, seed: int, k: int, with_train: bool = False) -> dict:
    """{'kind': 'end to end' | 'linear probe', 'test_acc', 'embed_test' (N_test, k) and, with ``with_train``,
    'embed_train' (N_train, k)} of the real-valued k-dim baseline, on the context's test and training splits
    (dataset order)."""
    prof, ws = ctx.profile, ctx.ws
    tr, te = ctx.train(seed), ctx.test(seed)
    y, ytr = labels_of(te).numpy(), labels_of(tr).numpy()
    if prof.bottleneck_models:
        model = ws.fit(plan.real_bottleneck(prof, seed, k))
        o = outputs(model, te, ws.device, workers=ws.workers)
        out = {"kind": "end to end", "test_acc": top1(o["logits"], y), "embed_test": o["embed"]}
        if with_train:
            out["embed_train"] = outputs(model, tr, ws.device, workers=ws.workers)["embed"]
        return out
    real_s = plan.headline(prof, seed)[0]
    ftr, fte = ws.features(real_s), outputs(ws.fit(real_s), te, ws.device, workers=ws.workers)["features"]
    fit = fit_linear(ftr, ytr, fte, y, tr.num_classes, bottleneck=k, seed=seed)
    out = {"kind": "linear probe", "test_acc": fit["test_acc"], "embed_test": fit["embed"](fte)}
    if with_train:
        out["embed_train"] = fit["embed"](ftr)
    return out
