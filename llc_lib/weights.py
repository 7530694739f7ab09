"""The cpu profile's trained weights as committed files: ``weights/<profile>/`` holds, for every model the
notebooks use, its checkpoint without the optimiser and schedule state (fp32 weights, BatchNorm statistics,
spec, key, data hash and history: everything ``graph.Workspace.fit`` verifies when it loads a finished run),
the codebook files the phases hand over, and ``MANIFEST.json`` with each file's sha256.

``export`` writes the folder from a runs folder (a maintainer, after a recipe changed: it refuses to exceed
``MAX_BYTES``); ``install`` copies it into a runs folder, verified, so that ``make figures`` evaluates every
figure from it without training.
"""
from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import numpy as np

from .ckpt import CheckpointError, read_checkpoint, save_atomic, verify_weights
from .codebook import load_codebook
from .data import sha256
from .files import tmp_path, write_json

MAX_BYTES = 32 * 10 ** 6  # the repository's budget for committed weights
DROPPED = ("optimizer", "scheduler")  # what only resuming an unfinished run needs


def _files(specs, ws) -> dict[str, Path]:
    """{path relative to the runs folder: absolute path} of the checkpoints and codebook files of ``specs``
    (their ancestors included) in workspace ``ws``."""
    out = {}
    for top in specs:
        for s in top.ancestors() + [top]:
            for path in (ws.ckpt_path(s), ws.ckpt_path(s).with_suffix(".codebook.npz")):
                if path.exists():
                    out[str(path.relative_to(ws.root))] = path
            if s.codebook is not None and s.codebook.method != "learnt":
                path = ws.codebook_path(s.codebook)
                out[str(path.relative_to(ws.root))] = path
    return out


def export(specs, ws, folder: Path | str) -> dict:
    """Write the weights of ``specs`` (finished checkpoints in ``ws``) into ``folder`` and return its manifest
    {'files': {relative path: sha256}, 'bytes'}. A checkpoint already in ``folder`` with the same weights is
    kept as it is. CheckpointError when one is missing or unfinished, or when
    the total exceeds ``MAX_BYTES``."""
    folder = Path(folder)
    files = _files(specs, ws)
    for top in specs:
        for s in top.ancestors() + [top]:
            ck = ws.ckpt_path(s)
            if not ck.exists() or read_checkpoint(ck)["epoch"] < s.cfg.epochs:
                raise CheckpointError(f"{ck} is missing or unfinished; run `make reproduce PROFILE=...` first")
    staging = folder.with_name(folder.name + ".new")
    shutil.rmtree(staging, ignore_errors=True)
    manifest = {"files": {}, "bytes": 0}
    for rel, src in sorted(files.items()):
        dst = staging / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        old = folder / rel
        if old.exists() and (_same_weights(old, src) if src.suffix == ".pt" else _same_codebook(old, src)):
            # the committed file, byte for byte: a re-export changes only what changed, and a kept checkpoint keeps
            # the codebook file whose content hash it recorded as its input
            shutil.copyfile(old, dst)
        elif src.suffix == ".pt":
            ck = read_checkpoint(src)
            save_atomic({k: v for k, v in ck.items() if k not in DROPPED}, dst)
        else:
            shutil.copyfile(src, dst)
        manifest["files"][rel] = sha256(dst)
        manifest["bytes"] += dst.stat().st_size
    if manifest["bytes"] > MAX_BYTES:
        shutil.rmtree(staging)
        raise CheckpointError(f"the weights take {manifest['bytes'] / 1e6:.1f} MB, over the {MAX_BYTES / 1e6:.0f} MB "
                              f"budget; nothing was written")
    write_json(manifest, staging / "MANIFEST.json")
    if folder.exists():
        shutil.rmtree(folder)
    staging.rename(folder)
    return manifest


def install(folder: Path | str, runs: Path | str) -> list[Path]:
    """Copy the committed weights of ``folder`` into the runs folder ``runs`` after checking every file's
    sha256 against MANIFEST.json; returns the files copied. A file already there with the same content is
    kept; one with other content is never overwritten (CheckpointError naming it)."""
    folder, runs = Path(folder), Path(runs)
    manifest_path = folder / "MANIFEST.json"
    if not manifest_path.exists():
        raise CheckpointError(f"{manifest_path} is missing: no committed weights for this profile")
    manifest = json.loads(manifest_path.read_text())
    copied, now = [], time.time()
    for rel, digest in manifest["files"].items():
        src, dst = folder / rel, runs / rel
        if not src.exists() or sha256(src) != digest:
            raise CheckpointError(f"{src} is missing or differs from MANIFEST.json (sha256); restore it with "
                                  f"`git checkout -- {folder}`")
        if dst.exists() and sha256(dst) == digest:
            continue
        if src.suffix == ".pt":
            verify_weights(read_checkpoint(src), src)
        if dst.exists():
            if src.suffix == ".pt" and _same_weights(src, dst):
                continue
            raise CheckpointError(f"{dst} exists with other content than the committed {src}; move it away to "
                                  f"use the committed weights")
        dst.parent.mkdir(parents=True, exist_ok=True)
        tmp = tmp_path(dst)
        shutil.copyfile(src, tmp)
        tmp.replace(dst)
        copied.append(dst)
    for dst in copied:  # one timestamp: Make sees no child older than its parent (no refit to check it)
        os.utime(dst, (now, now))
    return copied


def _same_codebook(a: Path, b: Path) -> bool:
    """Both codebook files hold the same codebook (codes, reals, class names, source weights, spec key); their
    bytes and ``content_sha256`` may differ, e.g. when one was written before a field was added."""
    try:
        x, y = load_codebook(a), load_codebook(b)
    except ValueError:
        return False
    keys = (set(x) | set(y)) - {"content_sha256"}
    return all(k in x and k in y and np.array_equal(np.asarray(x[k]), np.asarray(y[k])) for k in keys)


def _same_weights(a: Path, b: Path) -> bool:
    """Both checkpoints hold the same finished weights (a trained checkpoint still carries its optimiser)."""
    try:
        x, y = read_checkpoint(a), read_checkpoint(b)
    except CheckpointError:
        return False
    return x.get("weights_sha256") == y.get("weights_sha256") and x.get("key") == y.get("key")
