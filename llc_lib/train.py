"""One training loop for the three kinds of run, with atomic per-epoch checkpoints and exact resume.

- "real": cross-entropy (label smoothing) on a real-valued classifier.
- "llc" (Phase 1): cross-entropy (label smoothing) on logits P(f) . sign(C)^T, averaged over the nested
  code prefixes in ``cfg.nested`` (just the full code when empty).
- "instance" (Phase 2): the codebook is frozen; per-bit sigmoid BCE of P(f) against (code_y + 1) / 2.

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
import torch.nn.functional as F
from tqdm.auto import tqdm

from .config import TrainConfig
from .data import ArrayDataset, batches
from .models import CodeNet


class CheckpointError(RuntimeError):
    """A checkpoint does not fit the model or run it is loaded into; the message says what to do."""


def seeded(seed: int) -> None:
    """Seed python, numpy and torch (CPU and CUDA) for model initialisation."""
    random.seed(seed)
    np.random.seed(seed % 2 ** 32)
    torch.manual_seed(seed)


def model_meta(model: CodeNet) -> dict:
    """What a checkpoint must agree on: head type, class count, bits/bottleneck, feature dim."""
    h = model.head
    bits = h.bits if model.is_llc else (None if h.bottleneck is None else h.bottleneck.out_features)
    return {"head": "llc" if model.is_llc else "real", "num_classes": h.num_classes, "bits": bits,
            "feature_dim": getattr(model.backbone, "feature_dim", None)}


def save_atomic(obj, path: Path | str) -> None:
    """torch.save to a temporary file in the same folder, then rename (never leaves a half-written file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: Path | str, model: CodeNet | None = None) -> dict:
    """Load a checkpoint; with ``model``, check that it fits (else CheckpointError) and load its weights."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"checkpoint {path} does not exist; train it first (`python -m llc_lib train`).")
    try:
        ck = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as e:
        raise CheckpointError(f"checkpoint {path} could not be read ({e}); delete it and train again.") from e
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
    decay, no_decay, code = [], [], []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        if name.endswith("head.codebook"):
            code.append(p)
        elif p.ndim <= 1:
            no_decay.append(p)  # BatchNorm and biases: no weight decay
        else:
            decay.append(p)
    groups = [{"params": decay, "weight_decay": cfg.weight_decay},
              {"params": no_decay, "weight_decay": 0.0}]
    if code:
        groups.append({"params": code, "weight_decay": cfg.weight_decay, "lr": cfg.lr * cfg.codebook_lr_mult})
    return groups


def loss_fn(model: CodeNet, x: torch.Tensor, y: torch.Tensor, cfg: TrainConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """(scalar loss, (B, C) logits used for the running train accuracy)."""
    f = model.backbone(x)
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


def train(model: CodeNet, data: ArrayDataset, cfg: TrainConfig, *, device: torch.device,
          ckpt: Path | str | None = None, codebook: np.ndarray | None = None, progress: bool = True,
          eval_data: ArrayDataset | None = None, stop_after_steps: int | None = None) -> list[dict]:
    """Train ``model`` in place for ``cfg.epochs`` epochs; return the per-epoch history.

    ckpt: checkpoint path, written atomically after every epoch; if it exists the run resumes from it
    (a finished run returns at once). codebook: required for mode "instance": the (C, k) +-1 class codes
    (e.g. from Phase 1) that are loaded into the head and frozen. stop_after_steps: stop (without saving)
    after that many optimiser steps, to simulate a killed run in tests.
    """
    if cfg.mode in ("llc", "instance") and not model.is_llc:
        raise ValueError(f"mode {cfg.mode!r} needs an LLC model (build_model('llc', ...))")
    if cfg.mode == "real" and model.is_llc:
        raise ValueError("mode 'real' needs a real-valued model (build_model('real', ...))")
    if cfg.aux_weight > 0 and (cfg.mode != "llc" or model.aux is None):
        raise ValueError("aux_weight > 0 needs mode 'llc' and a model built with aux=True")
    if model.is_llc and model.head.bits != cfg.bits:
        raise ValueError(f"model has {model.head.bits} bits but the config asks for {cfg.bits}")
    if cfg.mode == "instance":
        if codebook is None:
            raise ValueError("Phase 2 (mode 'instance') needs the Phase-1 codebook: pass codebook=(C, k) +-1 "
                             "codes, e.g. from llc_lib.codebook.load_codebook or a Phase-1 model.")
        model.head.load_codebook(np.asarray(codebook, dtype=np.float32))
        model.head.codebook.requires_grad_(False)
    if data.labels.min() < 0 or data.labels.max() >= model.head.num_classes:
        raise ValueError(f"labels must lie in 0..{model.head.num_classes - 1}")

    model.to(device)
    if device.type == "cuda":
        model.to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(_param_groups(model, cfg), lr=cfg.lr, momentum=cfg.momentum, nesterov=cfg.nesterov)
    steps_per_epoch = math.ceil(len(data) / cfg.batch_size)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, _lr_lambda(cfg, cfg.epochs * steps_per_epoch))
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

    amp = torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else contextlib.nullcontext()
    steps = 0
    for epoch in range(start, cfg.epochs):
        model.train()
        t0, tot_loss, correct, seen = time.time(), 0.0, 0, 0
        it = batches(data, cfg.batch_size, device, shuffle=True, train_aug=True, seed=cfg.seed * 100_003 + epoch)
        bar = tqdm(it, total=steps_per_epoch, desc=f"{cfg.mode} k={cfg.bits} ep {epoch + 1}/{cfg.epochs}",
                   disable=not progress, leave=False, mininterval=5)
        for x, y in bar:
            with amp:
                loss, logits = loss_fn(model, x, y, cfg)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            tot_loss += loss.item() * len(y)
            correct += (logits.argmax(1) == y).sum().item()
            seen += len(y)
            steps += 1
            if stop_after_steps is not None and steps >= stop_after_steps:
                return history
        row = {"epoch": epoch + 1, "loss": tot_loss / seen, "train_acc": correct / seen,
               "seconds": round(time.time() - t0, 1)}
        if eval_data is not None:
            row["test_acc"] = accuracy(model, eval_data, device)
        history.append(row)
        if progress:
            print(f"[{cfg.mode} k={cfg.bits}] epoch {epoch + 1}/{cfg.epochs} " +
                  " ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()
                           if k != "epoch"), flush=True)
        if ckpt is not None:
            save_atomic({"model": model.state_dict(), "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
                         "epoch": epoch + 1, "config": cfg_dict, "meta": model_meta(model), "history": history,
                         "rng": {"torch": torch.get_rng_state()}}, ckpt)
    return history


@torch.no_grad()
def outputs(model: CodeNet, data: ArrayDataset, device: torch.device, batch_size: int = 1000) -> dict[str, np.ndarray]:
    """Eval-mode outputs over ``data``: 'features' (N, d), 'logits' (N, C) and 'proj' (N, k) for LLC models
    (the real projection; its signs are the instance codes) or 'embed' (N, d') for real models."""
    model.eval().to(device)
    out: dict[str, list] = {"features": [], "logits": [], "proj" if model.is_llc else "embed": []}
    for x, _ in batches(data, batch_size, device):
        f = model.backbone(x).float()
        out["features"].append(f)
        out["logits"].append(model.head(f))
        out["proj" if model.is_llc else "embed"].append(model.head.project(f) if model.is_llc else model.head.embed(f))
    return {k: torch.cat(v).cpu().numpy() for k, v in out.items()}


def accuracy(model: CodeNet, data: ArrayDataset, device: torch.device) -> float:
    """Top-1 accuracy of ``model``'s logits on ``data``."""
    logits = outputs(model, data, device)["logits"]
    return float((logits.argmax(1) == data.labels.numpy()).mean())
