"""One training loop for every kind of run, with atomic per-epoch checkpoints, exact resume and DDP.

- "real": cross-entropy (label smoothing) on a real-valued classifier.
- "llc" (Phase 1): cross-entropy (label smoothing) on logits P(f) . sign(C)^T, averaged over the nested
  code prefixes in ``cfg.nested`` (just the full code when empty).
- "instance" (Phase 2): the codebook is frozen; per-bit sigmoid BCE of P(f) against (code_y + 1) / 2.
- "hashnet": HashNet's weighted pairwise likelihood (Cao et al., ICCV 2017) on h = tanh(beta z), beta grown
  by continuation; "csq": CSQ's central similarity (Yuan et al., CVPR 2020), BCE of (h + 1) / 2 against the
  class's hash centre plus a quantisation term. Both average over the hash heads of ``cfg.nested``.

The loss lives in a small module (``Objective``) so that DistributedDataParallel sees the forward pass.
Under ``torchrun`` every process trains on its shard (``data.TrainBatches``), the per-epoch loss, accuracy
and test accuracy are summed over processes with all-reduce, and only rank 0 prints and writes checkpoints.
On CUDA the model runs in channels_last with bf16 autocast (where the GPU has bf16); on CPU in float32.

Determinism: the caller seeds model initialisation (``seeded``); the order and augmentation of epoch e
come from a generator seeded with (cfg.seed, e), so a run resumed from the checkpoint of epoch e
reproduces the uninterrupted run exactly on CPU.
"""
from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import random
import time
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from .config import TrainConfig
from .data import TrainBatches, eval_batches, labels_of
from .models import CodeNet

HASHNET_ALPHA_TIMES_K = 10.0  # alpha = 10 / k: the published HashNet code's sigmoid parameter
HASHNET_BETA_END = 7.0  # continuation beta = sqrt(1 + gamma t) reaches ~7 after the published 10k steps
CSQ_QUANT_WEIGHT = 1e-4  # lambda of CSQ's quantisation loss


def dist_info() -> tuple[int, int]:
    """(rank, world size) of this process; (0, 1) outside torch.distributed."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


class CheckpointError(RuntimeError):
    """A checkpoint does not fit the model or run it is loaded into; the message says what to do."""


def seeded(seed: int) -> None:
    """Seed python, numpy and torch (CPU and CUDA) for model initialisation."""
    random.seed(seed)
    np.random.seed(seed % 2 ** 32)
    torch.manual_seed(seed)


def model_meta(model: CodeNet) -> dict:
    """What a checkpoint must agree on: head type, class count, bits (bottleneck / hash widths), feature dim."""
    h = model.head
    if model.kind == "llc":
        bits = h.bits
    elif model.kind == "hash":
        bits = list(h.widths)
    else:
        bits = None if h.bottleneck is None else h.bottleneck.out_features
    meta = {"head": model.kind, "num_classes": h.num_classes, "bits": bits,
            "feature_dim": getattr(model.backbone, "feature_dim", None)}
    if model.kind == "llc":
        meta["scaled"] = h.scaled
    return meta


def save_atomic(obj, path: Path | str) -> None:
    """torch.save to a temporary file in the same folder, then rename (never leaves a half-written file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def read_checkpoint(path: Path | str, missing: str = "train it first (`python -m llc_lib train`)",
                    unreadable: str = "delete it and train again") -> dict:
    """torch.load of a checkpoint file onto the CPU; CheckpointError (with the given advice) if it is missing
    or unreadable."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"checkpoint {path} does not exist; {missing}.")
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as e:
        raise CheckpointError(f"checkpoint {path} could not be read ({e}); {unreadable}.") from e


def load_checkpoint(path: Path | str, model: CodeNet | None = None) -> dict:
    """Load a checkpoint; with ``model``, check that it fits (else CheckpointError) and load its weights."""
    ck = read_checkpoint(path)
    if model is not None:
        want, got = model_meta(model), ck.get("meta", {})
        diff = {k: (got.get(k), v) for k, v in want.items() if got.get(k) != v}
        if diff:
            detail = ", ".join(f"{k}: checkpoint {a} vs model {b}" for k, (a, b) in diff.items())
            raise CheckpointError(f"checkpoint {path} does not match the model ({detail}). Use a checkpoint "
                                  f"trained with the same bit width and class count, or another run folder.")
        model.load_state_dict(ck["model"])
    return ck


def _lr_lambda(cfg: TrainConfig, total: int):
    warm = max(1, int(cfg.warmup * total))

    def f(step: int) -> float:
        if step < warm:
            return (step + 1) / warm
        t = (step - warm) / max(1, total - warm)
        return max(0.0, 1 - t) if cfg.schedule == "onecycle" else 0.5 * (1 + math.cos(math.pi * min(t, 1.0)))

    return f


def _param_groups(model: CodeNet, cfg: TrainConfig):
    """SGD groups: weight decay except on BatchNorm/biases; the head at lr x head_lr_mult; the LLC codebook
    at lr x codebook_lr_mult."""
    groups: dict[tuple, list] = {}
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        if name.endswith("head.codebook"):
            key = (cfg.weight_decay, cfg.codebook_lr_mult)
        else:
            key = (cfg.weight_decay if p.ndim > 1 else 0.0, cfg.head_lr_mult if name.startswith("head.") else 1.0)
        groups.setdefault(key, []).append(p)
    return [{"params": ps, "weight_decay": wd, "lr": cfg.lr * mult} for (wd, mult), ps in groups.items()]


def hashnet_loss(z: torch.Tensor, y: torch.Tensor, beta: float) -> torch.Tensor:
    """HashNet's weighted maximum-likelihood loss over the pairs of a batch.

    h = tanh(beta z) (B, k); for i != j, s_ij = [y_i == y_j] and the pair loss is
    log(1 + exp(alpha h_i.h_j)) - alpha s_ij h_i.h_j with alpha = 10/k, weighted by |S|/|S_1| for similar and
    |S|/|S_0| for dissimilar pairs (the paper's balancing of the rare similar pairs); returns the weighted
    sum divided by |S|.
    """
    h = torch.tanh(beta * z.float())
    ip = (HASHNET_ALPHA_TIMES_K / h.shape[1]) * h @ h.t()
    sim = y[:, None] == y[None, :]
    off = ~torch.eye(len(y), dtype=torch.bool, device=y.device)
    pos, neg = sim & off, ~sim & off
    n_pos, n_neg = pos.sum().clamp(min=1), neg.sum().clamp(min=1)
    n_all = n_pos + n_neg
    pair = F.softplus(ip) - sim.float() * ip
    w = torch.where(pos, n_all / n_pos, torch.where(neg, n_all / n_neg, torch.zeros_like(ip)))
    return (w * pair).sum() / n_all


def csq_loss(z: torch.Tensor, centers: torch.Tensor) -> torch.Tensor:
    """CSQ: mean over bits of BCE((h + 1)/2, (c + 1)/2) with h = tanh(z) and c the +-1 centre of each image's
    class, plus lambda * mean (|h| - 1)^2. (h + 1)/2 = sigmoid(2z), so the BCE is taken on logits 2z."""
    z = z.float()
    center = F.binary_cross_entropy_with_logits(2 * z, (centers + 1) / 2)
    quant = (torch.tanh(z).abs() - 1).pow(2).mean()
    return center + CSQ_QUANT_WEIGHT * quant


def loss_fn(model: CodeNet, x: torch.Tensor, y: torch.Tensor, cfg: TrainConfig, progress: float = 0.0
            ) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(scalar loss, (B, C) logits for the running train accuracy, or None for the hashing modes).
    ``progress`` in [0, 1] is the fraction of training done (HashNet's continuation)."""
    f = model.backbone(x)
    if cfg.mode in ("hashnet", "csq"):
        parts = model.head.split(model.head.project(f))
        if cfg.mode == "hashnet":
            beta = math.sqrt(1 + (HASHNET_BETA_END ** 2 - 1) * progress)
            losses = [hashnet_loss(zk, y, beta) for zk in parts.values()]
        else:
            cent = model.head.split(model.head.centers[y])
            losses = [csq_loss(zk, cent[k]) for k, zk in parts.items()]
        return torch.stack(losses).mean(), None
    if cfg.mode == "real":
        logits = model.head(f)
        return F.cross_entropy(logits, y, label_smoothing=cfg.label_smoothing), logits
    z, codes = model.head.project(f), model.head.codes()
    if cfg.mode == "llc":
        prefixes = cfg.nested or (cfg.bits,)
        losses = [F.cross_entropy(model.head.logits(z, codes, p), y, label_smoothing=cfg.label_smoothing)
                  for p in prefixes]
        loss = torch.stack(losses).mean()
        if cfg.aux_weight > 0:
            loss = loss + cfg.aux_weight * F.cross_entropy(model.aux(f), y, label_smoothing=cfg.label_smoothing)
        return loss, model.head.logits(z, codes)
    target = (codes[y] + 1) / 2
    return F.binary_cross_entropy_with_logits(z, target), model.head.logits(z, codes)


class Objective(nn.Module):
    """``model`` plus the loss of ``cfg.mode``: forward(x, y) -> (loss, logits or None). DDP wraps this."""

    def __init__(self, model: CodeNet, cfg: TrainConfig):
        super().__init__()
        self.model, self.cfg, self.progress = model, cfg, 0.0

    def forward(self, x, y):
        return loss_fn(self.model, x, y, self.cfg, self.progress)


def autocast(device: torch.device):
    """bf16 autocast on CUDA GPUs that support bf16; a no-op (float32) elsewhere, the CPU included."""
    if device.type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def train_step(net: nn.Module, opt, sched, x, y, amp) -> tuple[torch.Tensor, torch.Tensor | None]:
    """One optimiser step of an ``Objective`` (or its DDP wrapper); returns (loss, logits)."""
    with amp:
        loss, logits = net(x, y)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    sched.step()
    return loss, logits


def _check_run(model: CodeNet, data, cfg: TrainConfig, codebook) -> None:
    kind = {"real": "real", "llc": "llc", "instance": "llc", "hashnet": "hash", "csq": "hash"}[cfg.mode]
    if model.kind != kind:
        name = {"real": "a real-valued model (build_model('real', ...))", "llc": "an LLC model (build_model('llc', ...))",
                "hash": "a hashing model (build_model('hash', ..., widths=...))"}
        raise ValueError(f"mode {cfg.mode!r} needs {name[kind]}, got {name[model.kind].split(' (')[0]}")
    if cfg.aux_weight > 0 and (cfg.mode != "llc" or model.aux is None):
        raise ValueError("aux_weight > 0 needs mode 'llc' and a model built with aux=True")
    if model.is_llc and model.head.bits != cfg.bits:
        raise ValueError(f"model has {model.head.bits} bits but the config asks for {cfg.bits}")
    if kind == "hash" and tuple(model.head.widths) != tuple(cfg.nested):
        raise ValueError(f"hash heads {model.head.widths} differ from the config's code lengths {cfg.nested}")
    if cfg.mode == "instance" and codebook is None:
        raise ValueError("Phase 2 (mode 'instance') needs the Phase-1 codebook: pass codebook=(C, k) +-1 "
                         "codes, e.g. from llc_lib.codebook.load_codebook or a Phase-1 model.")
    labels, c = labels_of(data), model.head.num_classes
    if labels.min() < 0 or labels.max() >= c:
        raise ValueError(f"labels must lie in 0..{c - 1} (the model's classes), got {int(labels.min())}.."
                         f"{int(labels.max())}")


def train(model: CodeNet, data, cfg: TrainConfig, *, device: torch.device, ckpt: Path | str | None = None,
          codebook: np.ndarray | None = None, progress: bool = True, eval_data=None,
          stop_after_steps: int | None = None, workers: int = 0) -> list[dict]:
    """Train ``model`` in place for ``cfg.epochs`` epochs; return the per-epoch history.

    data: an ArrayDataset or an ImageFolder-style dataset (``workers`` DataLoader processes). ckpt:
    checkpoint path, written atomically after every epoch by rank 0; if it exists the run resumes from it
    (a finished run returns at once). codebook: required for mode "instance": the (C, k) +-1 class codes
    (e.g. from Phase 1) that are loaded into the head and frozen. eval_data: also report its top-1 accuracy
    per epoch (summed over processes). stop_after_steps: stop (without saving) after that many optimiser
    steps, to simulate a killed run in tests.
    """
    _check_run(model, data, cfg, codebook)
    if cfg.mode == "instance":
        model.head.load_codebook(np.asarray(codebook, dtype=np.float32))
        model.head.codebook.requires_grad_(False)
    rank, world = dist_info()
    model.to(device)
    if device.type == "cuda":
        model.to(memory_format=torch.channels_last)
    objective = Objective(model, cfg)
    opt = torch.optim.SGD(_param_groups(model, cfg), lr=cfg.lr, momentum=cfg.momentum, nesterov=cfg.nesterov)
    tb = TrainBatches(data, cfg.batch_size, device, cfg.seed, rank, world, workers)
    steps_per_epoch = min(len(tb), cfg.max_steps_per_epoch or len(tb))
    total = cfg.epochs * steps_per_epoch
    sched = torch.optim.lr_scheduler.LambdaLR(opt, _lr_lambda(cfg, total))
    history, start = [], 0
    cfg_dict = dataclasses.asdict(cfg)
    if ckpt is not None and Path(ckpt).exists():
        ck = load_checkpoint(ckpt, model)
        if ck["config"] != cfg_dict:
            changed = sorted(k for k in cfg_dict if ck["config"].get(k) != cfg_dict[k])
            raise CheckpointError(f"checkpoint {ckpt} was trained with other settings ({changed}); "
                                  f"delete it or use another run folder to train with these.")
        opt.load_state_dict(ck["optimizer"])
        sched.load_state_dict(ck["scheduler"])
        history, start = ck["history"], ck["epoch"]
        torch.set_rng_state(ck["rng"]["torch"])
    net = objective
    if world > 1:
        net = nn.parallel.DistributedDataParallel(objective, device_ids=[device.index] if device.type == "cuda" else None)
    amp = autocast(device)
    show = progress and rank == 0
    steps = 0
    for epoch in range(start, cfg.epochs):
        model.train()
        t0 = time.time()
        stats = torch.zeros(3, dtype=torch.float64, device=device)  # loss sum, correct, seen
        bar = tqdm(tb.epoch(epoch), total=steps_per_epoch, desc=f"{cfg.mode} k={cfg.bits} ep {epoch + 1}/{cfg.epochs}",
                   disable=not show, leave=False, mininterval=5)
        for i, (x, y) in enumerate(bar):
            if i >= steps_per_epoch:
                break
            objective.progress = sched.last_epoch / total
            loss, logits = train_step(net, opt, sched, x, y, amp)
            stats[0] += loss.detach().double() * len(y)  # kept on the device: no synchronisation per step
            if logits is not None:
                stats[1] += (logits.argmax(1) == y).sum()
            stats[2] += len(y)
            steps += 1
            if stop_after_steps is not None and steps >= stop_after_steps:
                return history
        bar.close()
        if world > 1:
            dist.all_reduce(stats)
            for buf in model.buffers():  # BatchNorm statistics are per process: use rank 0's everywhere
                dist.broadcast(buf, 0)
        loss_sum, correct, seen = stats.tolist()
        row = {"epoch": epoch + 1, "loss": loss_sum / seen, "seconds": round(time.time() - t0, 1)}
        if cfg.mode not in ("hashnet", "csq"):
            row["train_acc"] = correct / seen
        if eval_data is not None:
            row["test_acc"] = accuracy(model, eval_data, device, workers=workers)
        history.append(row)
        if show:
            print(f"[{cfg.mode} k={cfg.bits}] epoch {epoch + 1}/{cfg.epochs} " +
                  " ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()
                           if k != "epoch"), flush=True)
        if ckpt is not None and rank == 0:
            save_atomic({"model": model.state_dict(), "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
                         "epoch": epoch + 1, "config": cfg_dict, "meta": model_meta(model), "history": history,
                         "rng": {"torch": torch.get_rng_state()}}, ckpt)
        if world > 1:
            dist.barrier()
    return history


@torch.no_grad()
def outputs(model: CodeNet, data, device: torch.device, batch_size: int = 1000, workers: int = 0,
            rank: int = 0, world: int = 1) -> dict[str, np.ndarray]:
    """Eval-mode outputs over ``data`` (this rank's shard when ``world`` > 1): 'features' (N, d) and, by head,
    LLC: 'logits' (N, C) and 'proj' (N, k) (the real projection; its signs are the instance codes);
    real: 'logits' and 'embed' (N, d'); hash: 'proj' (N, sum of the head widths)."""
    model.eval().to(device)
    kind = model.kind
    keys = {"llc": ("logits", "proj"), "real": ("logits", "embed"), "hash": ("proj",)}[kind]
    out: dict[str, list] = {k: [] for k in ("features",) + keys}
    with autocast(device):
        for x, _ in eval_batches(data, batch_size, device, rank, world, workers):
            if device.type == "cuda":
                x = x.contiguous(memory_format=torch.channels_last)
            f = model.backbone(x).float()
            out["features"].append(f)
            if "logits" in out:
                out["logits"].append(model.head(f).float())
            if kind == "real":
                out["embed"].append(model.head.embed(f).float())
            else:
                out["proj"].append(model.head.project(f).float())
    return {k: torch.cat(v).cpu().numpy() for k, v in out.items()}


def accuracy(model: CodeNet, data, device: torch.device, workers: int = 0) -> float:
    """Top-1 accuracy of ``model``'s logits on ``data``; under torch.distributed every rank scores its shard
    and the counts are summed with all-reduce."""
    rank, world = dist_info()
    logits = outputs(model, data, device, workers=workers, rank=rank, world=world)["logits"]
    labels = labels_of(data).numpy()
    if world > 1:
        labels = labels[rank::world]
    counts = torch.tensor([(logits.argmax(1) == labels).sum(), len(labels)], dtype=torch.float64, device=device)
    if world > 1:
        dist.all_reduce(counts)
    return float(counts[0] / counts[1])
