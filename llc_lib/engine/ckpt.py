"""Checkpoint and result files: atomic writes, reading with one clear error, and the fit checks.

A training checkpoint is a dict written by ``train.train`` after every epoch:
``{"model", "optimizer", "scheduler", "epoch", "config", "meta", "history", "weights_sha256", "provenance"}``
plus what the run graph records (``spec``, ``key``, ``data_sha256``, ``inputs``).
``meta`` says what the model is (head type, class count, bits, feature dim) so that a file can be refused
with a message before torch raises a raw shape error. ``weights_sha256`` is ``state_digest`` of the
weights: a file whose weights no longer hash to it (bytes flipped on disk, an edited tensor) is refused,
and so is one holding NaN or infinite weights or buffers.

Every file is read with ``torch.load(weights_only=True)``: tensors and plain containers only, so a crafted
file cannot run code when it is loaded.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import torch

from ..core.errors import UserError
from ..core.files import atomic_file
from .models import CodeNet


class CheckpointError(UserError):
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
    meta = {
        "head": model.kind,
        "num_classes": h.num_classes,
        "bits": bits,
        "feature_dim": getattr(model.backbone, "feature_dim", None),
    }
    if model.kind == "llc":
        meta["scaled"] = h.scaled
    return meta


def state_digest(state: dict) -> str:
    """SHA-256 (hex) of a state dict: every entry's name, dtype, shape and raw bytes, in name order."""
    h = hashlib.sha256()
    for name in sorted(state):
        t = state[name]
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"state entry {name!r} is a {type(t).__name__}, not a tensor")
        t = t.detach().cpu().contiguous().reshape(-1)
        h.update(f"{name}|{t.dtype}|{tuple(state[name].shape)}|".encode())
        h.update(t.view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def non_finite(state: dict) -> list[str]:
    """Names of the floating-point entries of a state dict (weights and buffers) that hold NaN or inf."""
    return [
        n
        for n, t in state.items()
        if isinstance(t, torch.Tensor) and t.is_floating_point() and not bool(torch.isfinite(t).all())
    ]


def save_atomic(obj, path: Path | str) -> None:
    """torch.save of ``obj`` into memory, then written through ``files.atomic_file``: a temporary file in the
    same folder, renamed when complete, so no half-written file is ever left. A failed write (a full disk)
    raises ``files.WriteError`` naming ``path``, with the temporary file removed; written by Python, not by
    torch's own file writer, whose errors do not say why a write failed. Needs memory for one more copy of
    the serialised file."""
    buf = io.BytesIO()
    torch.save(obj, buf)
    with atomic_file(path) as f:
        f.write(buf.getbuffer())


def read_checkpoint(
    path: Path | str,
    missing: str = "train it first (`python -m llc_lib train`)",
    unreadable: str = "delete it and train again",
) -> dict:
    """``torch.load(weights_only=True)`` of a file onto the CPU (tensors and plain containers only: unpickling
    can run no code); CheckpointError (with the given advice) if it is missing, unreadable or holds objects
    of other types. Checks no content hash: ``load_checkpoint`` does, for the project's own checkpoints."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"checkpoint {path} does not exist; {missing}.")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()] or [type(e).__name__]
        first = next((ln for ln in lines if "Unsupported global" in ln), lines[0])[:200]
        raise CheckpointError(f"checkpoint {path} could not be read safely ({first}); {unreadable}.") from e


def verify_weights(ck: dict, path: Path | str) -> None:
    """CheckpointError unless ``ck["model"]`` is finite and hashes to the ``weights_sha256`` stored with it."""
    if not isinstance(ck, dict) or not isinstance(ck.get("model"), dict):
        raise CheckpointError(f"{path} is not a checkpoint of this project (no 'model' state dict); move it away.")
    if "weights_sha256" not in ck:
        raise CheckpointError(
            f"{path} has no content hash ('weights_sha256'), so its weights cannot be verified; delete it and "
            f"train again."
        )
    bad = non_finite(ck["model"])
    if bad:
        raise CheckpointError(
            f"{path} holds NaN or infinite values in {len(bad)} tensor(s) ({', '.join(bad[:3])}"
            f"{', ...' if len(bad) > 3 else ''}): a diverged run; delete it and train with a "
            f"lower lr."
        )
    try:
        digest = state_digest(ck["model"])
    except TypeError as e:
        raise CheckpointError(f"{path} is not a checkpoint of this project ({e}); move it away.") from e
    if digest != ck["weights_sha256"]:
        raise CheckpointError(
            f"{path} is corrupt: its weights do not match the content hash stored with them "
            f"(changed on disk after it was written); delete it and train again."
        )


def load_checkpoint(path: Path | str, model: CodeNet | None = None, mode: str | None = None) -> dict:
    """Load one of the project's checkpoints, verified (``verify_weights``); with ``model``, check that it
    fits (else CheckpointError) and load its weights. ``mode``: the training mode the file must come from
    (e.g. "instance" refuses a Phase 1 file)."""
    ck = read_checkpoint(path)
    verify_weights(ck, path)
    if mode is not None and ck.get("config", {}).get("mode") != mode:
        raise CheckpointError(
            f"checkpoint {path} holds a {ck.get('config', {}).get('mode')!r} run, but a "
            f"{mode!r} run is expected here; move it away or use another run folder."
        )
    if model is not None:
        want, got = model_meta(model), ck.get("meta", {})
        diff = {k: (got.get(k), v) for k, v in want.items() if got.get(k) != v}
        if diff:
            detail = ", ".join(f"{k}: checkpoint {a} vs model {b}" for k, (a, b) in diff.items())
            raise CheckpointError(
                f"checkpoint {path} does not match the model ({detail}). Use a checkpoint "
                f"trained with the same bit width and class count, or another run folder."
            )
        try:
            model.load_state_dict(ck["model"])
        except RuntimeError as e:
            raise CheckpointError(
                f"checkpoint {path} does not fit the model ({str(e).splitlines()[0]}); "
                f"move it away or use another run folder."
            ) from e
    return ck
