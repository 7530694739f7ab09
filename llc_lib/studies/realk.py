"""The real-valued k-dim baseline of accuracy-vs-bits and retrieval: the first k dims of a network trained end
to end with a nested bottleneck (``profile.bottleneck_models``, ``plan.real_bottleneck``), else a linear probe
with a k-dim bottleneck on frozen features."""
from __future__ import annotations

import torch

from .. import plan
from ..data import labels_of
from ..inference import outputs
from ..metrics import top1
from ..probes import fit_linear
from . import Context


def real_kdim(ctx: Context, seed: int, k: int, with_train: bool = False) -> dict:
    """{'kind': 'end to end, nested' | 'linear probe', 'test_acc', 'embed_test' (N_test, k) and, with
    ``with_train``, 'embed_train' (N_train, k)} of the real-valued k-dim baseline, on the context's test and
    training splits (dataset order). End to end: test_acc is that of the classifier on the first k dims."""
    prof, ws = ctx.profile, ctx.ws
    tr, te = ctx.train(seed), ctx.test(seed)
    y, ytr = labels_of(te).numpy(), labels_of(tr).numpy()
    if prof.bottleneck_models:
        spec = plan.real_bottleneck(prof, seed)
        if not 1 <= k <= spec.cfg.bits:  # like LLC's codes, any prefix; those in the sweep were trained as such
            raise ValueError(f"the real-valued bottleneck has {spec.cfg.bits} dims; k={k} is not a prefix of it")
        model = ws.fit(spec)

        def embed(data, split):  # (N, max(sweep)), computed once per process
            return ws.memo(("embed", spec.key, split), lambda: outputs(model, data, ws.device, workers=ws.workers)["embed"])

        e = embed(te, "test")
        with torch.no_grad():
            logits = model.head.prefix_logits(torch.as_tensor(e, device=model.head.fc.weight.device), (k,))[0]
        out = {"kind": "end to end, nested", "test_acc": top1(logits.cpu().numpy(), y), "embed_test": e[:, :k]}
        if with_train:
            out["embed_train"] = embed(tr, "train")[:, :k]
        return out
    real_s = plan.headline(prof, seed)[0]
    ftr, fte = ws.features(real_s), outputs(ws.fit(real_s), te, ws.device, workers=ws.workers)["features"]
    fit = fit_linear(ftr, ytr, fte, y, tr.num_classes, bottleneck=k, seed=seed)
    out = {"kind": "linear probe", "test_acc": fit["test_acc"], "embed_test": fit["embed"](fte)}
    if with_train:
        out["embed_train"] = fit["embed"](ftr)
    return out
