"""Checkpoint and result files: atomic writes, reading with one clear error, and the fit checks.

A training checkpoint is a dict written by ``train.train`` after every epoch:
``{"model", "optimizer", "scheduler", "epoch", "config", "meta", "history", "rng", "spec", "key"}``.
``meta`` says what the model is (head type, class count, bits, feature dim) so that a file can be refused
with a message before torch raises a raw shape error.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import torch

from .models import CodeNet


class CheckpointError(RuntimeError):
    """A checkpoint is missing or does not fit the model or run it is loaded into; the message says what to do."""


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


def _tmp(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


def save_atomic(obj, path: Path | str) -> None:
    """torch.save to a temporary file in the same folder, then rename (never leaves a half-written file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp(path)
    torch.save(obj, tmp)
    os.replace(tmp, path)


def write_json(obj, path: Path | str) -> None:
    """Write JSON atomically (temp file + rename); floats of numpy types are written as floats."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp(path)
    tmp.write_text(json.dumps(obj, indent=2, default=float))
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


def load_checkpoint(path: Path | str, model: CodeNet | None = None, mode: str | None = None) -> dict:
    """Load a checkpoint; with ``model``, check that it fits (else CheckpointError) and load its weights.
    ``mode``: the training mode the file must come from (e.g. "instance" refuses a Phase 1 file)."""
    ck = read_checkpoint(path)
    if mode is not None and ck.get("config", {}).get("mode") != mode:
        raise CheckpointError(f"checkpoint {path} holds a {ck.get('config', {}).get('mode')!r} run, but a "
                              f"{mode!r} run is expected here; move it away or use another run folder.")
    if model is not None:
        want, got = model_meta(model), ck.get("meta", {})
        diff = {k: (got.get(k), v) for k, v in want.items() if got.get(k) != v}
        if diff:
            detail = ", ".join(f"{k}: checkpoint {a} vs model {b}" for k, (a, b) in diff.items())
            raise CheckpointError(f"checkpoint {path} does not match the model ({detail}). Use a checkpoint "
                                  f"trained with the same bit width and class count, or another run folder.")
        try:
            model.load_state_dict(ck["model"])
        except RuntimeError as e:
            raise CheckpointError(f"checkpoint {path} does not fit the model ({str(e).splitlines()[0]}); "
                                  f"move it away or use another run folder.") from e
    return ck
