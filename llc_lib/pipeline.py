"""The reproduction pipeline: cached training of every model a profile needs, and its evaluation.

Every ``get_*`` function returns a trained model, training it (or resuming a killed run) only when its
checkpoint under ``runs/<profile>/ckpt/`` is missing or unfinished; notebooks and ``reproduce`` share them.

CPU recipe for LLC (how it differs from the paper's end-to-end recipe, and why): training the binary
codebook from scratch does not converge in the few epochs a 2-core CPU affords, so Phase 1 warm-starts
from the real-valued model -- its backbone, and a head initialised from the SVD of its classifier
(projection = V_k scaled, codebook reals = U_k S_k; the paper's "warm start with SVD codebooks"
ablation) -- and then trains backbone, projection and codebook end-to-end with the LLC loss for
``profile.llc.epochs`` epochs. One nested run (cross-entropy averaged over the prefixes ``profile.bits``)
gives the codebooks for every bit width. The ``gpu`` profile uses the same code with the paper's recipe.
"""
from __future__ import annotations

import json
import os
import platform
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from . import codebook as cb
from .config import Profile, TrainConfig, get_profile, pick_device
from .data import REPO_ROOT, ArrayDataset, load_cifar100, stratified_subset
from .metrics import code_metrics, top1
from .models import CodeNet, build_model
from .train import load_checkpoint, outputs, seeded, train


def run_dir(profile: Profile) -> Path:
    """``$LLC_RUNS_DIR/<profile>`` (default ``<repo>/runs/<profile>``)."""
    return Path(os.environ.get("LLC_RUNS_DIR") or REPO_ROOT / "runs") / profile.name


def load_data(profile: Profile, seed: int = 0) -> tuple[ArrayDataset, ArrayDataset]:
    """(train, test) CIFAR-100 for the profile (stratified subsets for ``smoke``)."""
    tr = stratified_subset(load_cifar100("train"), profile.per_class, seed)
    te = stratified_subset(load_cifar100("test"), profile.test_per_class, seed)
    return tr, te


def _fit(model: CodeNet, data: ArrayDataset, cfg: TrainConfig, path: Path, device, **kw) -> CodeNet:
    """Train (or resume, or just load when finished) ``model`` at checkpoint ``path``."""
    if path.exists():
        ck = load_checkpoint(path, model)
        if ck["epoch"] >= cfg.epochs and ck["config"] == asdict(cfg):
            return model.to(device)
    train(model, data, cfg, device=device, ckpt=path, **kw)
    return model


def get_real(profile: Profile, data: ArrayDataset, device, seed: int = 0, bottleneck: int | None = None) -> CodeNet:
    """The real-valued classifier (optionally with a ``bottleneck``-dim linear layer before it)."""
    cfg = profile.real.replace(seed=seed, bits=bottleneck)
    seeded(seed)
    model = build_model("real", data.num_classes, width=profile.width, bits=bottleneck)
    tag = f"real_d{bottleneck}" if bottleneck else "real"
    return _fit(model, data, cfg, run_dir(profile) / "ckpt" / f"{tag}_s{seed}.pt", device)


def svd_warm_start(llc: CodeNet, real: CodeNet) -> None:
    """Copy ``real``'s backbone into ``llc`` and initialise its head from the SVD of real's classifier.

    Projection row j = V_j * mean_c |U_cj S_j|, so that P(f) . sign(U_k S_k)^T matches the scale of the
    rank-k classifier (f V_k)(U_k S_k)^T; codebook reals = U_k S_k.
    """
    llc.backbone.load_state_dict(real.backbone.state_dict())
    w = real.head.fc.weight.detach().cpu().numpy()
    _, reals, proj = cb.svd_codebook(w, llc.head.bits)
    scale = np.abs(reals).mean(0)
    llc.head.load_codebook(reals, proj * scale[:, None])


def get_llc(profile: Profile, data: ArrayDataset, device, seed: int = 0, real: CodeNet | None = None,
            bits: int | None = None, nested: tuple[int, ...] | None = None) -> CodeNet:
    """Phase 1 LLC model (class codes). Default: the profile's nested run at max(bits), SVD warm start."""
    cfg = profile.llc.replace(seed=seed)
    if bits is not None:
        cfg = cfg.replace(bits=bits, nested=tuple(p for p in (nested or ()) if p <= bits))
    seeded(seed)
    model = build_model("llc", data.num_classes, width=profile.width, bits=cfg.bits)
    nest = "n" + "-".join(map(str, cfg.nested)) if cfg.nested else "single"
    path = run_dir(profile) / "ckpt" / f"llc_k{cfg.bits}_{nest}_s{seed}.pt"
    if not path.exists():
        svd_warm_start(model, real if real is not None else get_real(profile, data, device, seed))
    return _fit(model, data, cfg, path, device)


def class_codes(llc: CodeNet) -> np.ndarray:
    """(C, k) int8 +-1 class codes of a Phase 1 model."""
    return cb.binarize(llc.head.codebook)


def get_instance(profile: Profile, data: ArrayDataset, device, seed: int = 0, llc: CodeNet | None = None) -> CodeNet:
    """Phase 2 model (instance codes): warm-started from the Phase 1 model, its codebook frozen."""
    cfg = profile.instance.replace(seed=seed)
    llc = llc if llc is not None else get_llc(profile, data, device, seed)
    seeded(seed)
    model = build_model("llc", data.num_classes, width=profile.width, bits=cfg.bits)
    path = run_dir(profile) / "ckpt" / f"instance_k{cfg.bits}_s{seed}.pt"
    if not path.exists():
        model.load_state_dict(llc.state_dict())
    return _fit(model, data, cfg, path, device, codebook=class_codes(llc))


def evaluate_llc(llc: CodeNet, inst: CodeNet, data: ArrayDataset, device, bits: tuple[int, ...]) -> dict:
    """Per prefix length k: class-code accuracy of Phase 1 and code metrics of the Phase 2 instance codes."""
    codes = class_codes(llc)
    p1 = outputs(llc, data, device)
    p2 = outputs(inst, data, device)
    y = data.labels.numpy()
    rows = {}
    for k in bits:
        row = {"class_code_acc": top1(p1["proj"][:, :k] @ codes[:, :k].T.astype(np.float32), y)}
        row.update(code_metrics(p2["proj"][:, :k], codes[:, :k], y))
        phase1_sign = code_metrics(p1["proj"][:, :k], codes[:, :k], y)
        row["phase1_sign_mhd_acc"], row["phase1_sign_ed_acc"] = phase1_sign["mhd_acc"], phase1_sign["ed_acc"]
        rows[k] = row
    return rows


def write_json(obj, path: Path) -> None:
    """Write JSON atomically (temp file + rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(obj, indent=2, default=float))
    os.replace(tmp, path)


def reproduce(profile_name: str = "auto", seed: int = 0, device: str | None = None) -> dict:
    """Train (cached) and evaluate the real baseline and nested LLC for a profile; write results.json."""
    t0 = time.time()
    profile = get_profile(profile_name)
    dev = pick_device(device)
    tr, te = load_data(profile, seed)
    timings = {}
    t = time.time(); real = get_real(profile, tr, dev, seed); timings["real"] = time.time() - t
    t = time.time(); llc = get_llc(profile, tr, dev, seed, real=real); timings["llc_phase1"] = time.time() - t
    t = time.time(); inst = get_instance(profile, tr, dev, seed, llc=llc); timings["llc_phase2"] = time.time() - t
    t = time.time()
    real_acc = top1(outputs(real, te, dev)["logits"], te.labels.numpy())
    rows = evaluate_llc(llc, inst, te, dev, profile.bits)
    timings["evaluate"] = time.time() - t
    timings["total"] = time.time() - t0
    res = {"profile": profile.name, "seed": seed, "device": str(dev), "torch": torch.__version__,
           "machine": platform.processor() or platform.machine(), "threads": torch.get_num_threads(),
           "train_images": len(tr), "test_images": len(te), "num_classes": tr.num_classes,
           "real_top1": real_acc, "llc": {str(k): v for k, v in rows.items()},
           "recipe": {"real": asdict(profile.real), "llc": asdict(profile.llc), "instance": asdict(profile.instance),
                      "width": profile.width},
           "seconds": timings}
    write_json(res, run_dir(profile) / "results.json")
    return res


def format_table(res: dict) -> str:
    """Markdown table of a ``reproduce`` result."""
    lines = [f"Real-valued top-1: {100 * res['real_top1']:.2f} %  ({res['profile']} profile, seed {res['seed']})", "",
             "| bits | class-code acc | MHD (instance) | ED (instance) | ED no-match | unique codes | bits right |",
             "|---:|---:|---:|---:|---:|---:|---:|"]
    for k, r in res["llc"].items():
        lines.append(f"| {k} | {100 * r['class_code_acc']:.2f} | {100 * r['mhd_acc']:.2f} | {100 * r['ed_acc']:.2f} "
                     f"| {100 * r['ed_no_match_rate']:.1f} % | {r['unique_codes']} | {r['bits_right']:.2f} / {k} |")
    return "\n".join(lines)
