"""The real-valued k-dim baseline of accuracy-vs-bits and retrieval: the first k dims of one network trained end
to end with a nested bottleneck (``plan.real_bottleneck``), the real-valued analogue of LLC's nested codes."""
from __future__ import annotations

import torch

from .. import plan
from ..data import labels_of
from ..inference import outputs
from ..metrics import top1
from . import Context


def real_kdim(ctx: Context, seed: int, k: int, with_train: bool = False) -> dict:
    """{'kind': 'end to end, nested', 'test_acc', 'embed_test' (N_test, k) and, with ``with_train``,
    'embed_train' (N_train, k)} of the real-valued k-dim baseline, on the context's test and training splits
    (dataset order). test_acc is that of the network's classifier restricted to the first k dims."""
    ws = ctx.ws
    tr, te = ctx.train(seed), ctx.test(seed)
    spec = plan.real_bottleneck(ctx.profile, seed)
    if not 1 <= k <= spec.cfg.bits:  # like LLC's codes, any prefix; those in the sweep were trained as such
        raise ValueError(f"the real-valued bottleneck has {spec.cfg.bits} dims; k={k} is not a prefix of it")
    model = ws.fit(spec)

    def embed(data, split):  # (N, max(sweep)), computed once per process
        return ws.memo(("embed", spec.key, split), lambda: outputs(model, data, ws.device, workers=ws.workers)["embed"])

    e = embed(te, "test")
    with torch.no_grad():
        logits = model.head.prefix_logits(torch.as_tensor(e, device=model.head.fc.weight.device), (k,))[0]
    out = {"kind": "end to end, nested", "test_acc": top1(logits.cpu().numpy(), labels_of(te).numpy()),
           "embed_test": e[:, :k]}
    if with_train:
        out["embed_train"] = embed(tr, "train")[:, :k]
    return out
