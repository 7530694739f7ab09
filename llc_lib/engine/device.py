"""The device a run uses, mixed precision, and torch.distributed plumbing (rank, world, process group)."""

from __future__ import annotations

import contextlib
import os
import platform

import torch
import torch.distributed as dist

from ..core.versions import versions


def pick_device(prefer: str | None = None) -> torch.device:
    """The one device a run uses: ``prefer`` if given (checked), else CUDA when available, else CPU. With
    several GPUs visible and no preference, GPU number (process id mod GPU count), so that the trainings
    ``make -j`` starts together spread over the GPUs (one model over several GPUs: torchrun).

    Raises ValueError for a device that is not there (e.g. ``cuda`` on a machine without a GPU, ``mps`` off
    Apple silicon) and for a kind of device runs are not made for (any but cpu, cuda and mps, e.g. ``meta``)."""
    if not prefer:
        if not torch.cuda.is_available():
            return torch.device("cpu")
        n = torch.cuda.device_count()
        return torch.device("cuda", os.getpid() % n) if n > 1 else torch.device("cuda")
    try:
        dev = torch.device(prefer)
    except RuntimeError as e:
        raise ValueError(f"device {prefer!r} is not a torch device name (use cpu, cuda or cuda:N)") from e
    if dev.type not in ("cpu", "cuda", "mps"):
        raise ValueError(f"device {prefer!r}: runs are made for cpu, cuda, cuda:N or mps, not {dev.type}")
    if dev.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(
            f"device {prefer!r} asked for, but this machine has no MPS backend (Apple silicon GPU); "
            f"use --device cpu or leave --device out"
        )
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device {prefer!r} asked for, but this machine has no CUDA GPU; use --device cpu or leave --device out"
        )
    if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        raise ValueError(f"device {prefer!r} asked for, but only {torch.cuda.device_count()} GPU(s) are visible")
    return dev


def autocast(device: torch.device, cpu_bf16: bool = False):
    """bf16 autocast on CUDA GPUs that support bf16, and on the CPU when ``cpu_bf16``; a no-op (float32)
    elsewhere."""
    if device.type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.autocast("cuda", dtype=torch.bfloat16)
    if device.type == "cpu" and cpu_bf16:
        return torch.autocast("cpu", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def eval_batch_size(device: torch.device) -> int:
    """Images per forward pass in eval mode: 1000 on CUDA; 128 elsewhere: on the CPU a ResNet-9 w16 runs 2.5x
    faster at 128 than at 1000 (its activations stay in cache) with bit-identical outputs
    (docs/measurements/eval_batch_cpu.md)."""
    return 1000 if device.type == "cuda" else 128


def dist_info() -> tuple[int, int]:
    """(rank, world size) of this process; (0, 1) outside torch.distributed."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def init_distributed(device: str | None) -> tuple[torch.device, bool]:
    """(device, started): joins the torchrun process group when WORLD_SIZE > 1 (NCCL on CUDA, gloo on CPU;
    the CUDA device is LOCAL_RANK); otherwise ``pick_device(device)`` and no group."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return pick_device(device), False
    use_cuda = torch.cuda.is_available() and (device is None or device.startswith("cuda"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if use_cuda:
        torch.cuda.set_device(local)
    dist.init_process_group("nccl" if use_cuda else "gloo")
    return (torch.device("cuda", local) if use_cuda else torch.device("cpu")), True


def _cpuinfo() -> dict[str, str]:
    """The first processor's fields of /proc/cpuinfo (empty where there is none, e.g. macOS)."""
    try:
        text = open("/proc/cpuinfo").read().split("\n\n")[0]
    except OSError:
        return {}
    return {k.strip(): v.strip() for k, _, v in (line.partition(":") for line in text.splitlines()) if k.strip()}


def provenance(device: torch.device | None = None) -> dict:
    """What decides whether two runs can be bit-identical: the CPU model (vendor, name, family/model/stepping),
    the instruction set torch's CPU kernels dispatch to (``torch.backends.cpu.get_cpu_capability()``), the
    thread count, the torch version, under 'versions' the exact versions of Python and of every numeric package
    (``core.versions.versions``: numpy, scipy, scikit-learn, torch, torchvision, pillow, faiss when installed)
    and, on CUDA, the GPU's name. Same seed and same provenance give the same numbers; a different CPU model or
    capability can change float rounding and so the trained weights."""
    info = _cpuinfo()
    cpu = " ".join(
        x
        for x in (
            info.get("vendor_id"),
            info.get("model name") or platform.processor(),
            "family {} model {} stepping {}".format(info.get("cpu family"), info.get("model"), info.get("stepping"))
            if "cpu family" in info
            else None,
        )
        if x
    )
    out = {
        "cpu": cpu or platform.machine(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "machine": platform.machine(),
        "threads": torch.get_num_threads(),
        "torch": str(torch.__version__),
        "versions": versions(),
    }
    if device is not None:
        out["device"] = str(device)
        if device.type == "cuda":
            out["gpu"] = torch.cuda.get_device_name(device)
    return out
