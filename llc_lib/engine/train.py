"""One training loop for every method, with atomic per-epoch checkpoints, exact resume and DDP.

The objective of each method lives in ``methods`` (its registry names the loss of ``cfg.mode``); this
file only runs it. The loss sits in a small module (``Objective``) so that DistributedDataParallel sees the
forward pass. Under ``torchrun`` every process trains on its shard (``data.TrainBatches``), the per-epoch
loss, accuracy and test accuracy are summed over processes with all-reduce, and only rank 0 prints and
writes checkpoints. The model runs in channels_last (faster convolutions on CUDA and on this project's CPU, see
docs/benchmarks.md), with bf16 autocast on CUDA (where the GPU has bf16) and in float32 on CPU unless
``cfg.cpu_bf16``.

Determinism: the caller builds (and so initialises) the model under its seed (``graph.fit``); the order and
augmentation of epoch e come from a generator seeded with (cfg.seed, e), and nothing draws from torch's global
RNG, so a run resumed from the checkpoint of epoch e reproduces the uninterrupted run exactly on CPU (no RNG
state needs saving).
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import time
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from tqdm.auto import tqdm

from ..config.recipe import TrainConfig
from ..core.errors import UserError
from ..methods import method
from .ckpt import CheckpointError, load_checkpoint, model_meta, non_finite, save_atomic, state_digest
from .data import ArrayDataset, TrainBatches, dataset_digest, labels_of
from .device import autocast, dist_info, provenance
from .inference import outputs
from .models import MODEL_KINDS, CodeNet


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


class TrainingDiverged(UserError):
    """The training loss, the weights or a buffer (BatchNorm statistics) became NaN or infinite."""


class Objective(nn.Module):
    """``model`` plus the loss of ``cfg.mode``: forward(x, y) -> (loss, logits or None). DDP wraps this."""

    def __init__(self, model: CodeNet, cfg: TrainConfig):
        super().__init__()
        self.model, self.cfg, self.progress = model, cfg, 0.0

    def forward(self, x, y):
        return method(self.cfg.mode).loss(self.model, self.model.backbone(x), y, self.cfg, self.progress)


def train_step(
    net: nn.Module, opt, sched, x, y, amp, micro_batch: int | None = None
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """One optimiser step of an ``Objective`` (or its DDP wrapper) on the batch (x, y), its gradient accumulated
    over micro-batches of ``micro_batch`` images (None = one pass), each weighted by its share of the batch;
    returns (the batch's mean loss, detached; (B, C) logits, detached, or None). One pass is one part of
    weight 1, which leaves the loss and gradients bit for bit as ``loss.backward()`` gives them."""
    opt.zero_grad(set_to_none=True)
    parts = list(zip(x.split(micro_batch or len(y)), y.split(micro_batch or len(y))))
    loss, pieces = 0.0, []
    for i, (xs, ys) in enumerate(parts):
        # under DDP, all-reduce the gradients once, with the last micro-batch's backward pass
        sync = i == len(parts) - 1 or not hasattr(net, "no_sync")
        with contextlib.nullcontext() if sync else net.no_sync():
            with amp:
                part, logits = net(xs, ys)
            (part * (len(ys) / len(y))).backward()
        loss = loss + part.detach() * (len(ys) / len(y))
        pieces.append(logits)
    logits = None if pieces[0] is None else torch.cat([p.detach() for p in pieces])
    opt.step()
    sched.step()
    return loss, logits


def _check_run(model: CodeNet, data, cfg: TrainConfig, codebook) -> None:
    m = method(cfg.mode)
    kind = m.head
    if model.kind != kind:
        raise ValueError(f"mode {cfg.mode!r} needs {MODEL_KINDS[kind]}, got {MODEL_KINDS[model.kind].split(' (')[0]}")
    if cfg.aux_weight > 0 and (not m.aux_head or model.aux is None):
        raise ValueError(
            f"aux_weight > 0 needs a method with an auxiliary head (mode 'llc'), got "
            f"{cfg.mode!r}, and a model built with aux=True"
        )
    if model.is_llc and model.head.bits != cfg.bits:
        raise ValueError(f"model has {model.head.bits} bits but the config asks for {cfg.bits}")
    if kind == "hash" and tuple(model.head.widths) != tuple(cfg.nested):
        raise ValueError(f"hash heads {model.head.widths} differ from the config's code lengths {cfg.nested}")
    if m.frozen_codebook and codebook is None:
        raise ValueError(
            f"mode {cfg.mode!r} (Phase 2) needs the Phase-1 codebook: pass codebook=(C, k) +-1 "
            "codes, e.g. from llc_lib.engine.codebook_file.load_codebook or a Phase-1 model."
        )
    labels, c = labels_of(data), model.head.num_classes
    if labels.min() < 0 or labels.max() >= c:
        raise ValueError(
            f"labels must lie in 0..{c - 1} (the model's classes), got {int(labels.min())}..{int(labels.max())}"
        )


def train_one_epoch(
    net: nn.Module,
    objective: Objective,
    opt,
    sched,
    batches,
    steps: int,
    total: int,
    amp,
    device: torch.device,
    desc: str,
    show: bool,
    step_budget: int | None = None,
) -> tuple[torch.Tensor, int]:
    """At most ``steps`` optimiser steps over ``batches``; returns (stats, steps taken) with stats the float64
    tensor (loss sum, correct, images, images with class logits) on ``device`` (no synchronisation per step).
    ``step_budget``: stop after that many steps (a killed run, in tests). ``total``: the run's step count,
    for the objective's progress."""
    stats = torch.zeros(4, dtype=torch.float64, device=device)
    taken = 0
    bar = tqdm(batches, total=steps, desc=desc, disable=not show, leave=False, mininterval=5)
    for i, (x, y) in enumerate(bar):
        if i >= steps or (step_budget is not None and taken >= step_budget):
            break
        objective.progress = sched.last_epoch / total
        loss, logits = train_step(net, opt, sched, x, y, amp, objective.cfg.micro_batch)
        stats[0] += loss.detach().double() * len(y)
        if logits is not None:
            stats[1] += (logits.argmax(1) == y).sum()
            stats[3] += len(y)
        stats[2] += len(y)
        taken += 1
    bar.close()
    return stats, taken


def evaluate(model: CodeNet, data, device: torch.device, workers: int = 0) -> float:
    """Top-1 accuracy (a fraction) of ``model``'s class logits on ``data``; under torch.distributed every rank
    scores its shard and the counts are summed with all-reduce."""
    rank, world = dist_info()
    logits = outputs(model, data, device, workers=workers, rank=rank, world=world)["logits"]
    labels = labels_of(data).numpy()
    if world > 1:
        labels = labels[rank::world]
    counts = torch.tensor([(logits.argmax(1) == labels).sum(), len(labels)], dtype=torch.float64, device=device)
    if world > 1:
        dist.all_reduce(counts)
    return float(counts[0] / counts[1])


def check_finite(model: CodeNet, loss_sum: float, seen: float, cfg: TrainConfig, epoch: int) -> dict:
    """The model's state dict, after checking that the epoch's loss and every weight and buffer are finite
    (BatchNorm's running_var can overflow on its own); TrainingDiverged otherwise."""
    state = model.state_dict()
    bad = non_finite(state)
    if not math.isfinite(loss_sum) or bad:
        raise TrainingDiverged(
            f"{cfg.mode} k={cfg.bits}: training diverged in epoch {epoch + 1} (mean loss {loss_sum / seen}, "
            f"non-finite tensors: {', '.join(bad[:3]) or 'none'}{', ...' if len(bad) > 3 else ''}); "
            f"nothing of this epoch was saved. Train with a lower lr (or head_lr_mult) in this run's config."
        )
    return state


def resume(
    ckpt: Path | str | None, model: CodeNet, opt, sched, cfg: TrainConfig, record: dict, device: torch.device
) -> tuple[list[dict], int, dict]:
    """(history, epochs done, record) of the run in ``ckpt``, its weights, optimiser and schedule loaded into
    ``model``, ``opt`` and ``sched``; ([], 0, record) when there is no checkpoint. CheckpointError when it was
    trained with another config (a field it does not know counts as at its default), on other data than
    ``record['data_sha256']``, or, on the CPU (``device``), started with another torch thread count than this
    process's."""
    if ckpt is None or not Path(ckpt).exists():
        return [], 0, record
    ck = load_checkpoint(ckpt, model, mode=cfg.mode)
    cfg_dict = dataclasses.asdict(cfg)
    # a field added to TrainConfig since the checkpoint was written counts as at its default (as in the key)
    stored = {f.name: ck["config"].get(f.name, f.default) for f in dataclasses.fields(cfg)}
    if stored != cfg_dict:
        changed = sorted(k for k in cfg_dict if stored[k] != cfg_dict[k])
        raise CheckpointError(
            f"checkpoint {ckpt} was trained with other settings ({changed}); "
            f"delete it or use another run folder to train with these."
        )
    if ck.get("data_sha256") != record["data_sha256"]:
        raise CheckpointError(
            f"checkpoint {ckpt} was trained on other data (dataset hash differs); delete it "
            f"to train on this data, or resume it on the data it was trained on."
        )
    if device.type == "cpu" and ck.get("threads") not in (None, torch.get_num_threads()):
        raise CheckpointError(
            f"checkpoint {ckpt} was started with {ck['threads']} torch threads, this process has "
            f"{torch.get_num_threads()}; resume it with OMP_NUM_THREADS={ck['threads']} (the same seed and thread "
            f"count give the same numbers), or delete it to train again."
        )
    opt.load_state_dict(ck["optimizer"])
    sched.load_state_dict(ck["scheduler"])
    return ck["history"], ck["epoch"], {**{k: ck[k] for k in ("spec", "key", "inputs", "threads") if k in ck}, **record}


def train(
    model: CodeNet,
    data,
    cfg: TrainConfig,
    *,
    device: torch.device,
    ckpt: Path | str | None = None,
    codebook: np.ndarray | None = None,
    progress: bool = True,
    eval_data=None,
    stop_after_steps: int | None = None,
    workers: int = 0,
    record: dict | None = None,
) -> list[dict]:
    """Train ``model`` in place for ``cfg.epochs`` epochs; return the per-epoch history.

    data: an ArrayDataset or an ImageFolder-style dataset (``workers`` DataLoader processes). ckpt:
    checkpoint path, written atomically after every epoch by rank 0; if it exists the run resumes from it
    (a finished run returns at once). codebook: required by a method with a frozen codebook (Phase 2): the
    (C, k) +-1 class codes (e.g. from Phase 1) that are loaded into the head and frozen. eval_data: also
    report its top-1 accuracy per epoch (summed over processes). stop_after_steps: stop (without saving)
    after that many optimiser steps, to simulate a killed run in tests. record: extra entries written into
    every checkpoint (the run graph's spec, key and inputs); ``data_sha256`` (``data.dataset_digest`` of
    ``data``) is always written, and a resumed run must have been trained on the same data.
    """
    # the model, its optimiser and schedule
    _check_run(model, data, cfg, codebook)
    if method(cfg.mode).frozen_codebook:
        model.head.load_codebook(np.asarray(codebook, dtype=np.float32))
        model.head.codebook.requires_grad_(False)
    rank, world = dist_info()
    model.to(device).to(memory_format=torch.channels_last)
    objective = Objective(model, cfg)
    opt = torch.optim.SGD(_param_groups(model, cfg), lr=cfg.lr, momentum=cfg.momentum, nesterov=cfg.nesterov)
    if cfg.cutout and not isinstance(data, ArrayDataset):
        raise ValueError("cutout is implemented for in-memory (CIFAR) data only; set cutout=0")
    tb = TrainBatches(data, cfg.batch_size, device, cfg.seed, rank, world, workers, cutout=cfg.cutout)
    steps_per_epoch = min(len(tb), cfg.max_steps_per_epoch or len(tb))
    total = cfg.epochs * steps_per_epoch
    sched = torch.optim.lr_scheduler.LambdaLR(opt, _lr_lambda(cfg, total))

    # resume from the last finished epoch, of the same recipe on the same data
    record = dict(record or {})
    if "data_sha256" not in record:  # the run graph passes the digest it already has
        record["data_sha256"] = dataset_digest(data)
    history, start, record = resume(ckpt, model, opt, sched, cfg, record, device)
    cfg_dict = dataclasses.asdict(cfg)
    net = objective
    if world > 1:
        net = nn.parallel.DistributedDataParallel(
            objective, device_ids=[device.index] if device.type == "cuda" else None
        )
    amp, show, steps = autocast(device, cfg.cpu_bf16), progress and rank == 0, 0

    # one epoch at a time: train, reduce over processes, check, log, save
    for epoch in range(start, cfg.epochs):
        model.train()
        t0 = time.time()
        budget = None if stop_after_steps is None else stop_after_steps - steps
        stats, taken = train_one_epoch(
            net,
            objective,
            opt,
            sched,
            tb.epoch(epoch),
            steps_per_epoch,
            total,
            amp,
            device,
            f"{cfg.mode} k={cfg.bits} ep {epoch + 1}/{cfg.epochs}",
            show,
            budget,
        )
        steps += taken
        if stop_after_steps is not None and steps >= stop_after_steps:
            return history
        if world > 1:
            dist.all_reduce(stats)
            for buf in model.buffers():  # BatchNorm statistics are per process: use rank 0's everywhere
                dist.broadcast(buf, 0)
        loss_sum, correct, seen, scored = stats.tolist()
        state = check_finite(model, loss_sum, seen, cfg, epoch)
        row = {"epoch": epoch + 1, "loss": loss_sum / seen, "seconds": round(time.time() - t0, 1)}
        if scored:  # methods whose loss gives class logits
            row["train_acc"] = correct / scored
        if eval_data is not None:
            row["test_acc"] = evaluate(model, eval_data, device, workers=workers)
        history.append(row)
        if show:
            print(
                f"[{cfg.mode} k={cfg.bits}] epoch {epoch + 1}/{cfg.epochs} "
                + " ".join(
                    f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items() if k != "epoch"
                ),
                flush=True,
            )
        if ckpt is not None and rank == 0:
            save_atomic(
                {
                    "model": state,
                    "optimizer": opt.state_dict(),
                    "scheduler": sched.state_dict(),
                    "epoch": epoch + 1,
                    "config": cfg_dict,
                    "meta": model_meta(model),
                    "history": history,
                    "weights_sha256": state_digest(state),
                    "provenance": provenance(device),
                    **record,
                },
                ckpt,
            )
        if world > 1:
            dist.barrier()
    return history
