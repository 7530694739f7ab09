"""The reproduction pipeline: cached training of every model a profile needs, and its evaluation.

Every ``get_*`` function returns a trained model, training it (or resuming a killed run) only when its
checkpoint under ``runs/<profile>/ckpt/`` is missing or unfinished; notebooks and ``reproduce`` share them.

The main LLC model is learnt from scratch, end to end, as in the paper (``profile.llc_init``), with an
auxiliary real-valued head during Phase 1 on the CIFAR profiles (README: "Where our setup differs"). One
nested run (cross-entropy averaged over the prefixes ``profile.sweep``) gives the codebook of every bit
width; one Phase 2 run at max(sweep) gives the instance codes of every width as prefixes. The same
functions serve the paper-scale ImageFolder profiles (``imagenet``, ``tinyimagenet``) and DDP.
"""
from __future__ import annotations

import json
import os
import platform
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from . import codebook as cb
from .config import Profile, TrainConfig, get_profile, pick_device
from .data import (REPO_ROOT, ArrayDataset, labels_of, load_cifar100, load_image_folders, num_classes_of,
                   per_class_subset, stratified_subset)
from .metrics import code_metrics, top1
from .models import CodeNet, build_model
from .train import CheckpointError, dist_info, load_checkpoint, outputs, seeded, train


@dataclass
class Context:
    """What a notebook works with: profile, seed, device, figure folder and the data."""

    profile: Profile
    seed: int
    device: torch.device
    figdir: Path
    train: ArrayDataset
    test: ArrayDataset


def figures_dir(profile: Profile) -> Path:
    """cpu -> figures/, gpu -> figures/gpu/, smoke -> runs/smoke/figures/ ($LLC_FIGURES_DIR overrides)."""
    if os.environ.get("LLC_FIGURES_DIR"):
        return Path(os.environ["LLC_FIGURES_DIR"])
    return {"cpu": REPO_ROOT / "figures", "gpu": REPO_ROOT / "figures" / "gpu"}.get(
        profile.name, run_dir(profile) / "figures")


def notebook_context(profile: str = "auto", seed: int = 0, dataset: str = "cifar100",
                     device: str | None = None) -> Context:
    """Validate a notebook's parameters and load its data; one clear ValueError for a bad parameter."""
    if dataset != "cifar100":
        raise ValueError(f"dataset {dataset!r} is not available to the notebooks; use 'cifar100' "
                         f"(ImageFolder datasets are for the paper-scale CLI profile)")
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    prof = get_profile(profile)
    if prof.dataset != "cifar100":
        raise ValueError(f"profile {prof.name!r} trains on ImageFolder data through the command line "
                         f"(python -m llc_lib train --profile {prof.name}); notebooks take smoke, cpu or gpu")
    tr, te = load_data(prof, seed)
    ctx = Context(prof, seed, pick_device(device), figures_dir(prof), tr, te)
    ctx.figdir.mkdir(parents=True, exist_ok=True)
    print(f"profile={prof.name} seed={seed} device={ctx.device} train={len(tr)} test={len(te)} "
          f"figures -> {ctx.figdir}")
    return ctx


def check_bits(bits, max_bits: int | None = None) -> list[int]:
    """Validate a list of code lengths (each >= 1 and <= max_bits); return it sorted."""
    bits = [bits] if isinstance(bits, int) else list(bits)
    bad = [k for k in bits if not isinstance(k, int) or k < 1 or (max_bits is not None and k > max_bits)]
    if bad or not bits:
        raise ValueError(f"bit widths must be integers in 1..{max_bits or 'k'}, got {bad or bits}")
    return sorted(bits)


def run_dir(profile: Profile) -> Path:
    """``$LLC_RUNS_DIR/<profile>`` (default ``<repo>/runs/<profile>``)."""
    return Path(os.environ.get("LLC_RUNS_DIR") or REPO_ROOT / "runs") / profile.name


def load_data(profile: Profile, seed: int = 0):
    """(train, test) data of the profile: CIFAR-100 ArrayDatasets (stratified subsets for ``smoke``), or
    ImageFolder datasets (train, val) for the paper-scale profiles (first ``per_class`` images per class)."""
    if profile.dataset != "cifar100":
        tr, va = load_image_folders(profile.dataset, profile.image_size)
        return per_class_subset(tr, profile.per_class), per_class_subset(va, profile.test_per_class)
    tr = stratified_subset(load_cifar100("train"), profile.per_class, seed)
    te = stratified_subset(load_cifar100("test"), profile.test_per_class, seed)
    return tr, te


def build(profile: Profile, kind: str, num_classes: int, **kw) -> CodeNet:
    """``build_model`` with the profile's backbone, width and LLC head scaling."""
    return build_model(kind, num_classes, width=profile.width, backbone=profile.backbone,
                       scaled=profile.scaled_head, **kw)


def _fit(model: CodeNet, data, cfg: TrainConfig, path: Path, device, workers: int = 0, resume: bool = True,
         **kw) -> CodeNet:
    """Train (or resume, or just load when finished) ``model`` at checkpoint ``path``. With ``resume=False``
    an unfinished checkpoint is refused (CheckpointError) instead of continued."""
    if path.exists():
        ck = load_checkpoint(path, model)
        if ck["epoch"] >= cfg.epochs and ck["config"] == asdict(cfg):
            return model.to(device)
        if not resume:
            raise CheckpointError(f"{path} holds an unfinished run (epoch {ck['epoch']} of {cfg.epochs}); pass "
                                  f"--resume to continue it, or delete it / choose another --runs-dir")
    train(model, data, cfg, device=device, ckpt=path, workers=workers, **kw)
    return model


def get_real(profile: Profile, data, device, seed: int = 0, bottleneck: int | None = None, tag: str = "",
             resume: bool = True) -> CodeNet:
    """The real-valued classifier (optionally with a ``bottleneck``-dim linear layer before it)."""
    cfg = profile.real.replace(seed=seed, bits=bottleneck)
    seeded(seed)
    model = build(profile, "real", num_classes_of(data), bits=bottleneck)
    name = f"real{tag}_d{bottleneck}" if bottleneck else f"real{tag}"
    return _fit(model, data, cfg, run_dir(profile) / "ckpt" / f"{name}_s{seed}.pt", device, profile.workers, resume)


def svd_warm_start(llc: CodeNet, real: CodeNet) -> None:
    """Copy ``real``'s backbone into ``llc`` and initialise its head from the SVD of real's classifier.

    Projection row j = V_j * mean_c |U_cj S_j| (times sqrt(k) for a scaled head), so that the LLC logits
    match the scale of the rank-k classifier (f V_k)(U_k S_k)^T; codebook reals = U_k S_k.
    """
    llc.backbone.load_state_dict(real.backbone.state_dict())
    w = real.head.fc.weight.detach().cpu().numpy()
    _, reals, proj = cb.svd_codebook(w, llc.head.bits)
    scale = np.abs(reals).mean(0) * (llc.head.bits ** 0.5 if llc.head.scaled else 1.0)
    llc.head.load_codebook(reals, proj * scale[:, None])


def cca_warm_start(llc: CodeNet, real: CodeNet, data: ArrayDataset, device) -> None:
    """Copy ``real``'s backbone into ``llc``; head from the CCA codebook of real's training features."""
    llc.backbone.load_state_dict(real.backbone.state_dict())
    feats = train_features(real, data, device)
    base = baseline_codebook("cca", real, data, device, llc.head.bits, features=feats)
    llc.head.load_codebook(base["reals"], _unit_projection(base["proj"], feats))


def _unit_projection(proj: np.ndarray, features: np.ndarray) -> np.ndarray:
    """``proj`` (k, d) with rows rescaled so that each projected training feature (N, d) has unit std."""
    z = features @ proj.T
    return proj / (z.std(0)[:, None] + 1e-8)


def get_llc(profile: Profile, data, device, seed: int = 0, real: CodeNet | None = None,
            bits: int | None = None, nested: tuple[int, ...] | None = None, init: str | None = None,
            epochs: int | None = None, tag: str = "", resume: bool = True) -> CodeNet:
    """Phase 1 LLC model (class codes), cached under runs/<profile>/ckpt.

    Default: the profile's main run -- nested over ``profile.sweep`` at max(sweep) bits, initialised as
    ``profile.llc_init``. ``bits``/``nested`` pick another code length (nested prefixes above ``bits`` are
    dropped; () = a single-length run). init: "scratch" (random init, end-to-end as in the paper, with
    the profile's auxiliary real-valued head), "svd" / "cca" (backbone of the real-valued model, head from
    its SVD / CCA codebook), "real" (backbone of the real-valued model, random head). ``tag`` names a
    variant (other data or backbone) in the checkpoint file name.
    """
    init = init or profile.llc_init
    if init not in ("scratch", "svd", "cca", "real"):
        raise ValueError(f"unknown LLC init {init!r}; choose scratch, svd, cca or real")
    cfg = profile.llc.replace(seed=seed, bits=profile.max_bits, nested=profile.sweep,
                              aux_weight=profile.aux_weight if init == "scratch" else 0.0)
    if bits is not None:
        cfg = cfg.replace(bits=bits, nested=tuple(p for p in (profile.sweep if nested is None else nested)
                                                  if p <= bits))
    if epochs is not None:
        cfg = cfg.replace(epochs=epochs)
    seeded(seed)
    model = build(profile, "llc", num_classes_of(data), bits=cfg.bits, aux=cfg.aux_weight > 0)
    nest = "n" + "-".join(map(str, cfg.nested)) if cfg.nested else "single"
    path = run_dir(profile) / "ckpt" / f"llc{tag}_k{cfg.bits}_{nest}_{init}_e{cfg.epochs}_s{seed}.pt"
    if not path.exists() and init != "scratch":
        real = real if real is not None else get_real(profile, data, device, seed, tag=tag)
        if init == "svd":
            svd_warm_start(model, real)
        elif init == "cca":
            cca_warm_start(model, real, data, device)
        else:
            model.backbone.load_state_dict(real.backbone.state_dict())
    return _fit(model, data, cfg, path, device, profile.workers, resume)


def class_codes(llc: CodeNet) -> np.ndarray:
    """(C, k) int8 +-1 class codes of a Phase 1 model."""
    return cb.binarize(llc.head.codebook)


def head_logits(model: CodeNet, proj: np.ndarray, bits: int | None = None) -> np.ndarray:
    """(N, C) class-code logits of an LLC model from its projections ``proj`` (N, k), first ``bits`` bits."""
    codes = torch.from_numpy(class_codes(model).astype(np.float32))
    return model.head.logits(torch.from_numpy(proj), codes, bits).numpy()


def _phase1_weights(llc: CodeNet) -> dict:
    """Phase 1 state dict without the auxiliary head (Phase 2 models have none)."""
    return {k: v for k, v in llc.state_dict().items() if not k.startswith("aux.")}


def get_instance(profile: Profile, data, device, seed: int = 0, llc: CodeNet | None = None, tag: str = "",
                 bits: int | None = None, resume: bool = True) -> CodeNet:
    """Phase 2 model (instance codes): warm-started from the Phase 1 model ``llc`` (default: the profile's
    main run), its codebook frozen; ``bits`` defaults to the main run's max(sweep)."""
    cfg = profile.instance.replace(seed=seed, bits=bits or profile.max_bits)
    llc = llc if llc is not None else get_llc(profile, data, device, seed, resume=resume)
    seeded(seed)
    model = build(profile, "llc", num_classes_of(data), bits=cfg.bits)
    path = run_dir(profile) / "ckpt" / f"instance{tag}_k{cfg.bits}_{profile.llc_init}_s{seed}.pt"
    if not path.exists():
        model.load_state_dict(_phase1_weights(llc))
    return _fit(model, data, cfg, path, device, profile.workers, resume, codebook=class_codes(llc))


def get_instance_with_codes(profile: Profile, data: ArrayDataset, device, codes: np.ndarray, seed: int = 0,
                            real: CodeNet | None = None, tag: str = "") -> CodeNet:
    """Phase 2 with a given frozen codebook, starting from the real-valued backbone (random projection)."""
    cfg = profile.instance.replace(seed=seed, bits=codes.shape[1])
    real = real if real is not None else get_real(profile, data, device, seed)
    seeded(seed)
    model = build(profile, "llc", data.num_classes, bits=cfg.bits)
    path = run_dir(profile) / "ckpt" / f"instance{tag}_k{cfg.bits}_s{seed}.pt"
    if not path.exists():
        model.backbone.load_state_dict(real.backbone.state_dict())
    return _fit(model, data, cfg, path, device, codebook=codes)


def train_features(model: CodeNet, data: ArrayDataset, device) -> np.ndarray:
    """(N, d) eval-mode backbone features of ``data`` (no augmentation)."""
    return outputs(model, data, device)["features"]


def baseline_codebook(name: str, real: CodeNet, data: ArrayDataset, device, bits: int, seed: int = 0,
                      features: np.ndarray | None = None) -> dict:
    """{'codes' (C, bits) int8, 'reals', 'proj' (bits, d) or None} of a baseline codebook built from ``real``:
    'random' (seeded), 'svd' (of real's classifier) or 'cca' (of real's training features vs labels)."""
    c = data.num_classes
    if name == "random":
        codes = cb.random_codebook(c, bits, seed)
        return {"codes": codes, "reals": codes.astype(np.float32), "proj": None}
    if name == "svd":
        codes, reals, proj = cb.svd_codebook(real.head.fc.weight.detach().cpu().numpy(), bits)
    elif name == "cca":
        feats = features if features is not None else train_features(real, data, device)
        codes, reals, proj = cb.cca_codebook(feats, data.labels.numpy(), c, bits)
    else:
        raise ValueError(f"unknown baseline codebook {name!r}; choose random, svd or cca")
    return {"codes": codes, "reals": reals, "proj": proj}


def get_baseline_instance(profile: Profile, data: ArrayDataset, device, name: str, seed: int = 0,
                          real: CodeNet | None = None, bits: int | None = None) -> tuple[CodeNet, np.ndarray]:
    """Phase 2 instance codes for a baseline codebook ('random', 'svd', 'cca') at ``bits`` (default max).

    The model starts from the real-valued backbone, its projection from the baseline's own projection
    (rescaled to unit-variance outputs on the training set). Random has no projection of its own: it starts
    from the least-squares regression of each image's class code on its real features (measured: from a
    random projection, 3 Phase 2 epochs reach only 9.8 % MHD at 32 bits). Then the same Phase 2 recipe as LLC. All three baselines are nested by construction
    (prefixes of a Random/SVD/CCA code are the shorter codes), so one run serves every k.
    Returns (model, codes (C, bits)).
    """
    bits = bits or profile.instance.bits
    cfg = profile.instance.replace(seed=seed, bits=bits)
    real = real if real is not None else get_real(profile, data, device, seed)
    path = run_dir(profile) / "ckpt" / f"instance_{name}_k{bits}_s{seed}.pt"
    # training features, computed once: CCA needs them for its codes, a new run for the projection
    feats = train_features(real, data, device) if name == "cca" or not path.exists() else None
    base = baseline_codebook(name, real, data, device, bits, seed, features=feats)
    seeded(seed)
    model = build(profile, "llc", data.num_classes, bits=bits)
    if not path.exists():
        model.backbone.load_state_dict(real.backbone.state_dict())
        proj = base["proj"]
        if proj is None:  # least squares: features (N, d) @ proj.T ~ codes[y] (N, k)
            target = base["codes"][data.labels.numpy()].astype(np.float64)
            proj = np.linalg.lstsq(feats.astype(np.float64), target, rcond=None)[0].T.astype(np.float32)
        model.head.load_codebook(base["reals"], _unit_projection(proj, feats))
    return _fit(model, data, cfg, path, device, codebook=base["codes"]), base["codes"]


def get_hashing(profile: Profile, data: ArrayDataset, device, method: str, seed: int = 0,
                real: CodeNet | None = None, epochs: int | None = None) -> CodeNet:
    """HashNet or CSQ baseline: the real-valued model's backbone plus one randomly initialised hash layer per
    code length in ``profile.retrieval_bits``, fine-tuned together with ``profile.hashing`` (the Phase 2
    budget; ``epochs`` overrides it). CSQ's hash centres come from ``codebook.csq_centers`` per width (seeded)."""
    if method not in ("hashnet", "csq"):
        raise ValueError(f"unknown hashing method {method!r}; choose hashnet or csq")
    widths = tuple(profile.retrieval_bits)
    cfg = profile.hashing.replace(mode=method, seed=seed, bits=max(widths), nested=widths)
    if epochs is not None:
        cfg = cfg.replace(epochs=epochs)
    real = real if real is not None else get_real(profile, data, device, seed)
    seeded(seed)
    model = build(profile, "hash", data.num_classes, widths=widths)
    if method == "csq":
        centers = np.concatenate([cb.csq_centers(data.num_classes, k, seed) for k in widths], axis=1)
        model.head.centers.copy_(torch.from_numpy(centers.astype(np.float32)))
    ep = "" if epochs is None else f"_e{epochs}"
    path = run_dir(profile) / "ckpt" / f"{method}_k{'-'.join(map(str, widths))}{ep}_s{seed}.pt"
    if not path.exists():
        model.backbone.load_state_dict(real.backbone.state_dict())
    return _fit(model, data, cfg, path, device, profile.workers)


def evaluate_llc(llc: CodeNet, inst: CodeNet, data, device, bits: tuple[int, ...], workers: int = 0) -> dict:
    """Per prefix length k: class-code accuracy of Phase 1 and code metrics of the Phase 2 instance codes.
    ``workers``: DataLoader processes for ImageFolder data (ignored for in-memory data)."""
    codes = class_codes(llc)
    p1 = outputs(llc, data, device, workers=workers)
    p2 = outputs(inst, data, device, workers=workers)
    y = labels_of(data).numpy()
    rows = {}
    for k in bits:
        row = {"class_code_acc": top1(head_logits(llc, p1["proj"], k), y)}
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


def reproduce(profile: str | Profile = "auto", seed: int = 0, device: str | None = None) -> dict:
    """Train (cached) and evaluate the real baseline and nested LLC for a profile (name or Profile); write
    ``results_path(profile, seed)`` (rank 0 only under torchrun)."""
    t0 = time.time()
    profile = profile if isinstance(profile, Profile) else get_profile(profile)
    dev = pick_device(device)
    tr, te = load_data(profile, seed)
    timings = {}
    t = time.time(); real = get_real(profile, tr, dev, seed); timings["real"] = time.time() - t
    t = time.time(); llc = get_llc(profile, tr, dev, seed, real=real); timings["llc_phase1"] = time.time() - t
    t = time.time(); inst = get_instance(profile, tr, dev, seed, llc=llc); timings["llc_phase2"] = time.time() - t
    t = time.time()
    real_acc = top1(outputs(real, te, dev, workers=profile.workers)["logits"], labels_of(te).numpy())
    rows = evaluate_llc(llc, inst, te, dev, profile.bits, profile.workers)
    timings["evaluate"] = time.time() - t
    timings["total"] = time.time() - t0
    res = {"profile": profile.name, "seed": seed, "device": str(dev), "torch": torch.__version__,
           "machine": platform.processor() or platform.machine(), "threads": torch.get_num_threads(),
           "train_images": len(tr), "test_images": len(te), "num_classes": num_classes_of(tr),
           "real_top1": real_acc, "llc": {str(k): v for k, v in rows.items()},
           "recipe": {"real": asdict(profile.real), "llc": asdict(profile.llc), "instance": asdict(profile.instance),
                      "width": profile.width, "backbone": profile.backbone},
           "seconds": timings}
    if dist_info()[0] == 0:
        write_json(res, results_path(profile, seed))
    return res


def results_path(profile: Profile, seed: int = 0) -> Path:
    """runs/<profile>/results.json for seed 0, results_s<seed>.json for any other seed."""
    return run_dir(profile) / ("results.json" if seed == 0 else f"results_s{seed}.json")


SEED_METRICS = ("class_code_acc", "mhd_acc", "ed_acc", "ed_no_match_rate", "unique_codes", "bits_right")


def summarize_seeds(runs: dict[int, dict]) -> dict:
    """Mean and sample standard deviation (ddof=1; 0 for one seed) over ``{seed: reproduce() result}`` of the
    real top-1 and of every LLC metric per code length; fractions stay fractions."""
    seeds = sorted(runs)

    def stat(values) -> dict:
        v = np.asarray(values, dtype=float)
        return {"mean": float(v.mean()), "std": float(v.std(ddof=1)) if len(v) > 1 else 0.0,
                "values": v.tolist()}

    first = runs[seeds[0]]
    llc = {k: {m: stat([runs[s]["llc"][k][m] for s in seeds]) for m in SEED_METRICS} for k in first["llc"]}
    return {"profile": first["profile"], "seeds": seeds, "real_top1": stat([runs[s]["real_top1"] for s in seeds]),
            "llc": llc}


def format_seed_table(summary: dict) -> str:
    """Markdown table (mean ± std over seeds, in %) of a ``summarize_seeds`` result."""
    def pct(d: dict) -> str:
        return f"{100 * d['mean']:.2f} ± {100 * d['std']:.2f}"

    r = summary["real_top1"]
    lines = [f"Real-valued top-1: {pct(r)} %  ({summary['profile']} profile, seeds {summary['seeds']})", "",
             "| bits | class-code acc | MHD (instance) | ED (instance) | unique codes | bits right |",
             "|---:|---:|---:|---:|---:|---:|"]
    for k, row in summary["llc"].items():
        lines.append(f"| {k} | {pct(row['class_code_acc'])} | {pct(row['mhd_acc'])} | {pct(row['ed_acc'])} "
                     f"| {row['unique_codes']['mean']:.1f} ± {row['unique_codes']['std']:.1f} "
                     f"| {row['bits_right']['mean']:.2f} ± {row['bits_right']['std']:.2f} |")
    return "\n".join(lines)


def format_table(res: dict) -> str:
    """Markdown table of a ``reproduce`` result."""
    lines = [f"Real-valued top-1: {100 * res['real_top1']:.2f} %  ({res['profile']} profile, seed {res['seed']})", "",
             "| bits | class-code acc | MHD (instance) | ED (instance) | ED no-match | unique codes | bits right |",
             "|---:|---:|---:|---:|---:|---:|---:|"]
    for k, r in res["llc"].items():
        lines.append(f"| {k} | {100 * r['class_code_acc']:.2f} | {100 * r['mhd_acc']:.2f} | {100 * r['ed_acc']:.2f} "
                     f"| {100 * r['ed_no_match_rate']:.1f} % | {r['unique_codes']} | {r['bits_right']:.2f} / {k} |")
    t = res["seconds"]
    lines += ["", f"Wall time (s): real {t['real']:.0f}, LLC Phase 1 {t['llc_phase1']:.0f}, Phase 2 {t['llc_phase2']:.0f}, "
                  f"evaluation {t['evaluate']:.0f}, total {t['total']:.0f} (0 for models loaded from checkpoints)"]
    return "\n".join(lines)
