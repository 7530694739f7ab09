"""Linear probes on frozen features (linear-separability checks)."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


def fit_linear(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    num_classes: int,
    bottleneck: int | None = None,
    epochs: int = 30,
    lr: float = 3e-3,
    batch_size: int = 512,
    weight_decay: float = 1e-4,
    seed: int = 0,
) -> dict:
    """Train a (bottleneck-)linear classifier on frozen features with Adam; standardise features first.

    bottleneck=k gives Linear(d, k, no bias) -> Linear(k, C): the "real-valued k-dim" baseline.
    Returns {'train_acc', 'test_acc', 'model', 'embed'}: ``embed(x)`` maps raw features (N, d) to the
    (N, k) bottleneck outputs (the standardised features without a bottleneck).
    """
    g = torch.Generator().manual_seed(seed)
    xt, xs = torch.as_tensor(x_train, dtype=torch.float32), torch.as_tensor(x_test, dtype=torch.float32)
    mu, sd = xt.mean(0), xt.std(0) + 1e-6
    xt, xs = (xt - mu) / sd, (xs - mu) / sd
    yt, ys = torch.as_tensor(y_train, dtype=torch.long), torch.as_tensor(y_test, dtype=torch.long)
    d = xt.shape[1]
    with torch.random.fork_rng(devices=[]):  # initialise under ``seed`` without touching the global RNG
        torch.manual_seed(seed)
        layers = (
            [nn.Linear(d, bottleneck, bias=False), nn.Linear(bottleneck, num_classes)]
            if bottleneck
            else [nn.Linear(d, num_classes)]
        )
    model = nn.Sequential(*layers)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    steps = epochs * -(-len(xt) // batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps)
    for _ in range(epochs):
        perm = torch.randperm(len(xt), generator=g)
        for s in range(0, len(xt), batch_size):
            idx = perm[s : s + batch_size]
            loss = F.cross_entropy(model(xt[idx]), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()

    @torch.no_grad()
    def embed(x) -> np.ndarray:
        z = (torch.as_tensor(x, dtype=torch.float32) - mu) / sd
        return (model[0](z) if bottleneck else z).numpy()

    with torch.no_grad():
        acc = lambda x, y: float((model(x).argmax(1) == y).float().mean())  # noqa: E731
        return {"train_acc": acc(xt, yt), "test_acc": acc(xs, ys), "model": model, "embed": embed}
