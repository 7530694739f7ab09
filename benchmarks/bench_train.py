"""Training throughput (images/s): LLC head vs real-valued head on the same backbone, and our training step
vs a plain torchvision-style loop, for the paper-scale model and the two CIFAR models.

    python benchmarks/bench_train.py [--steps 5] [--warmup 2] [--batch-imagenet N] [--batch-cifar N]

Synthetic batches (224x224 for the ``imagenet`` profile's ResNet50, 32x32 for the ``cpu`` profile's
ResNet-9) already on the device, so only the model, loss and optimiser are timed. "ours" is
``train.train_step`` on the ``train.Objective`` of each mode (channels_last everywhere and bf16 autocast on CUDA,
as in ``train.train``), once more in the micro-batches of the cpu profile's Phase 2 (``TrainConfig.micro_batch``;
the batch's gradient accumulated over them); "plain" is model(x) -> cross_entropy -> backward -> SGD step on the
same network.
Goals: LLC overhead <= 5 % vs the real-valued head, with the profile's whole Phase-1 recipe (fused nested
prefixes, aux head); ours >= 0.9x plain on CUDA. The per-prefix row is the unfused loss, for comparison.
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F

from llc_lib.config.profiles import get_profile
from llc_lib.engine.device import autocast, pick_device
from llc_lib.engine.models import build_model
from llc_lib.engine.train import Objective, _lr_lambda, _param_groups, train_step
from llc_lib.methods import llc as llc_method


class PerPrefixObjective(Objective):
    """Phase 1 with one product and one cross-entropy per nested prefix (the unfused definition)."""

    def forward(self, x, y):
        return llc_method.phase1_loss_per_prefix(self.model, self.model.backbone(x), y, self.cfg)


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def images_per_second(step, batch: int, steps: int, warmup: int, device) -> float:
    for _ in range(warmup):
        step()
    _sync(device)
    t = time.perf_counter()
    for _ in range(steps):
        step()
    _sync(device)
    return batch * steps / (time.perf_counter() - t)


def ours(profile, cfg, kind, batch, device, size, classes, objective=Objective, micro_batch=None, **model_kw):
    model = (
        build_model(
            kind, classes, width=profile.width, backbone=profile.backbone, scaled=profile.scaled_head, **model_kw
        )
        .to(device)
        .to(memory_format=torch.channels_last)
    )
    opt = torch.optim.SGD(_param_groups(model, cfg), lr=cfg.lr, momentum=cfg.momentum, nesterov=cfg.nesterov)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, _lr_lambda(cfg, 10_000))
    net, amp = objective(model, cfg).train(), autocast(device, cfg.cpu_bf16)
    x, y = _batch(batch, size, classes, device)
    return lambda: train_step(net, opt, sched, x, y, amp, micro_batch)


def plain(profile, cfg, batch, device, size, classes):
    model = build_model("real", classes, width=profile.width, backbone=profile.backbone).to(device)
    model.to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    amp = autocast(device)
    x, y = _batch(batch, size, classes, device)

    def step():
        with amp:
            loss = F.cross_entropy(model(x), y, label_smoothing=cfg.label_smoothing)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return step


def _batch(batch, size, classes, device):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(batch, 3, size, size, generator=g).to(device).contiguous(memory_format=torch.channels_last)
    return x, torch.randint(0, classes, (batch,), generator=g).to(device)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=None, help="timed steps per round (default 10 CUDA, 3 CPU)")
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds; the best round counts")
    ap.add_argument("--batch-imagenet", type=int, default=None, help="default 256 on CUDA, 4 on CPU")
    ap.add_argument("--batch-cifar", type=int, default=256)
    ap.add_argument("--device", default=None)
    ap.add_argument("--models", nargs="+", default=["imagenet", "cpu", "gpu"], choices=["imagenet", "cpu", "gpu"])
    args = ap.parse_args(argv)
    device = pick_device(args.device)
    cuda = device.type == "cuda"
    steps = args.steps or (10 if cuda else 3)
    name = torch.cuda.get_device_name(device) if cuda else f"CPU, {torch.get_num_threads()} threads"
    print(
        f"device: {name}; torch {torch.__version__}; best of {args.rounds} interleaved rounds of {steps} "
        f"timed steps (after {args.warmup} warm-up)\n"
    )
    print("| model | batch | head / loop | img/s | ratio |")
    print("|---|---:|---|---:|---|")
    b_in = args.batch_imagenet or (256 if cuda else 4)
    models = (
        ("imagenet", b_in, 224, "ResNet50 224px (imagenet)"),
        ("cpu", args.batch_cifar, 32, "ResNet-9 w16 32px (cpu)"),
        ("gpu", args.batch_cifar, 32, "ResNet-9 w64 32px (gpu)"),
    )
    for prof_name, batch, size, label in models:
        if prof_name not in args.models:
            continue
        p = get_profile(prof_name)
        classes = 1000 if prof_name == "imagenet" else 100
        runs = {
            "real-valued head (ours)": ours(p, p.real, "real", batch, device, size, classes),
            "LLC head, single k": ours(
                p, p.llc.replace(nested=(), aux_weight=0.0), "llc", batch, device, size, classes, bits=p.llc.bits
            ),
        }
        if len(p.sweep) > 1 or p.aux_weight:
            recipe = p.llc.replace(nested=p.sweep, aux_weight=p.aux_weight)
            text = f"LLC head, profile recipe ({len(p.sweep)} nested prefixes{', aux head' if p.aux_weight else ''})"
            runs[text] = ours(p, recipe, "llc", batch, device, size, classes, bits=p.llc.bits, aux=p.aux_weight > 0)
            runs[text + ", one CE per prefix"] = ours(
                p,
                recipe,
                "llc",
                batch,
                device,
                size,
                classes,
                objective=PerPrefixObjective,
                bits=p.llc.bits,
                aux=p.aux_weight > 0,
            )
        micro = get_profile("cpu").instance.micro_batch
        if micro and micro < batch:
            runs[f"real-valued head (ours), micro-batches of {micro}"] = ours(
                p, p.real, "real", batch, device, size, classes, micro_batch=micro
            )
        runs["plain torchvision-style loop, real head"] = plain(p, p.real, batch, device, size, classes)
        best = {k: 0.0 for k in runs}
        for _ in range(args.rounds):  # interleaved, so that drift of the machine hits every variant alike
            for k, step in runs.items():
                best[k] = max(best[k], images_per_second(step, batch, steps, args.warmup, device))
        real = best["real-valued head (ours)"]
        for k, ips in best.items():
            if k == "real-valued head (ours)":
                ratio = "1.00"
            elif k.startswith("real"):
                ratio = f"{ips / real:.2f} (the same step in micro-batches, against whole batches)"
            elif k.startswith("LLC"):
                over = 1 - ips / real
                met = "met" if over <= 0.05 else "NOT met"
                ratio = f"{ips / real:.2f} (overhead {100 * over:+.1f} %, goal <= 5 %: {met})"
            else:
                goal = f"goal >= 0.9x: {'met' if real / ips >= 0.9 else 'NOT met'}" if cuda else "goal is for CUDA"
                ratio = f"ours/plain {real / ips:.2f} ({goal})"
            print(f"| {label} | {batch} | {k} | {ips:.1f} | {ratio} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
