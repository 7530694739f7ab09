"""The cpu profile's trained weights as committed files: ``weights/<profile>/`` holds, for every model the
notebooks use, its checkpoint without the optimiser and schedule state (fp32 weights, BatchNorm statistics,
spec, key, data hash and history: everything ``graph.Workspace.fit`` verifies when it loads a finished run),
the codebook files the phases hand over, and ``MANIFEST.json`` with each file's sha256.

``export`` writes the folder from a runs folder (a maintainer, after a recipe changed): every source must be
finished and pass its own content hash before anything is written, and the total must not exceed
``MAX_BYTES``. ``install`` copies it into a runs folder, verified, so that ``make figures`` evaluates every
figure from it without training: the whole manifest is checked before the first file is copied.

What vouches for the committed weights is ``weights/<profile>/MANIFEST.json``, tracked by git: ``install``
copies a file only if its sha256 matches the manifest's. The hash a checkpoint stores of its own weights
(``weights_sha256``), and a codebook file's ``content_sha256``, sit in the file they protect: they catch bytes
changed on disk (bit rot, a truncated copy), not an edited tensor whose hash was computed again.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from pathlib import Path, PurePosixPath

import numpy as np

from ..core.files import tmp_path, write_json
from ..engine.ckpt import CheckpointError, read_checkpoint, save_atomic, verify_weights
from ..engine.codebook_file import load_codebook
from ..engine.data import sha256

MAX_BYTES = 40 * 10**6  # the repository's budget for committed weights
DROPPED = ("optimizer", "scheduler")  # what only resuming an unfinished run needs
_SHA256 = re.compile(r"[0-9a-f]{64}")


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


def _verify(path: Path, then: str) -> dict | None:
    """Read ``path`` and check it against its own content hash: a checkpoint (.pt) must be finite and hash to
    its ``weights_sha256`` (``ckpt.verify_weights``), a codebook file must load (``codebook.load_codebook``).
    Returns the checkpoint (None for a codebook file); CheckpointError naming the file, followed by ``then``,
    when it is missing, unreadable or corrupt."""
    if not path.is_file():
        raise CheckpointError(f"{path} is missing. {then}")
    try:
        if path.suffix == ".pt":
            ck = read_checkpoint(path)
            verify_weights(ck, path)
            return ck
        load_codebook(path)
        return None
    except (CheckpointError, ValueError) as e:
        raise CheckpointError(f"{str(e).rstrip('.')}. {then}") from e


def export(specs, ws, folder: Path | str, roles: dict | None = None, classes=()) -> dict:
    """Write the weights of ``specs`` (finished checkpoints in ``ws``) into ``folder`` and return its manifest
    {'files': {relative path: sha256}, 'bytes', 'roles': {role: {'file', 'key', 'what'}} for each of ``roles``
    ({role: (spec, what)}, ``plan.roles``) whose checkpoint is exported, 'classes': the class names}. A checkpoint
    already in ``folder`` with the same, intact weights is kept as it is. CheckpointError when a checkpoint is
    missing or unfinished, when a checkpoint or codebook file fails its own content hash, or when the total exceeds
    ``MAX_BYTES``; then neither ``folder`` nor its staging folder ``<folder>.new`` is left changed or created."""
    folder = Path(folder)
    files = _files(specs, ws)
    nothing = "Nothing was exported."
    sources = {}  # every source, read and verified before anything is written
    for top in specs:
        for s in top.ancestors() + [top]:
            path = ws.ckpt_path(s)
            if path in sources:
                continue
            if not path.exists():
                raise CheckpointError(f"{path} is missing or unfinished; run `make reproduce PROFILE=...` first")
            ck = sources[path] = _verify(path, nothing)
            if ck.get("epoch", -1) < s.cfg.epochs:
                raise CheckpointError(f"{path} is missing or unfinished; run `make reproduce PROFILE=...` first")
    for src in files.values():
        if src.suffix != ".pt":
            _verify(src, nothing)
    staging = folder.with_name(folder.name + ".new")
    shutil.rmtree(staging, ignore_errors=True)
    manifest = {"files": {}, "bytes": 0}
    try:
        for rel, src in sorted(files.items()):
            dst = staging / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            old = folder / rel
            if old.exists() and (_same_weights(old, src) if src.suffix == ".pt" else _same_codebook(old, src)):
                # the committed file, byte for byte: a re-export changes only what changed, and a kept checkpoint
                # keeps the codebook file whose content hash it recorded as its input
                shutil.copyfile(old, dst)
            elif src.suffix == ".pt":
                save_atomic({k: v for k, v in sources[src].items() if k not in DROPPED}, dst)
            else:
                shutil.copyfile(src, dst)
            _verify(dst, nothing)  # what the manifest vouches for is what was written
            manifest["files"][rel] = sha256(dst)
            manifest["bytes"] += dst.stat().st_size
        if manifest["bytes"] > MAX_BYTES:
            raise CheckpointError(
                f"the weights take {manifest['bytes'] / 1e6:.1f} MB, over the "
                f"{MAX_BYTES / 1e6:.0f} MB budget; nothing was written"
            )
        manifest["roles"] = {
            role: {"file": rel, "key": s.key, "what": what}
            for role, (s, what) in (roles or {}).items()
            if (rel := str(ws.ckpt_path(s).relative_to(ws.root))) in manifest["files"]
        }
        manifest["classes"] = list(classes)
        write_json(manifest, staging / "MANIFEST.json")
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if folder.exists():
        shutil.rmtree(folder)
    staging.rename(folder)
    return manifest


def _read_manifest(folder: Path | str) -> dict[str, str]:
    """{path relative to ``folder``: sha256 (64 lower-case hex digits)} from ``folder/MANIFEST.json``.
    CheckpointError naming the file when it is missing, not JSON, not of the form {"files": {path: sha256}},
    empty, or lists a path that is absolute or leaves the folder (a ``..`` part, or a link inside ``folder``
    that points out of it)."""
    folder = Path(folder)
    path = folder / "MANIFEST.json"
    restore = f"restore it with `git checkout -- {path}`"
    if not path.exists():
        raise CheckpointError(f"{path} is missing: no committed weights for this profile")
    try:
        manifest = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as e:
        raise CheckpointError(f"{path} is not valid JSON ({e}); {restore}") from e
    files = manifest.get("files") if isinstance(manifest, dict) else None
    if not isinstance(files, dict) or not files:
        raise CheckpointError(f'{path} is not of the form {{"files": {{path: sha256, ...}}}}; {restore}')
    root = folder.resolve()
    for rel, digest in files.items():
        if not isinstance(digest, str) or not _SHA256.fullmatch(digest):
            raise CheckpointError(f"{path} gives {rel!r} the sha256 {digest!r}, not 64 hex digits; {restore}")
        parts = PurePosixPath(rel).parts
        if (
            not parts
            or PurePosixPath(rel).is_absolute()
            or ".." in parts
            or not (folder / rel).resolve().is_relative_to(root)
        ):
            raise CheckpointError(f"{path} lists {rel!r}, which is not a path inside {folder}; {restore}")
    return files


def install(folder: Path | str, runs: Path | str) -> list[Path]:
    """Copy the committed weights of ``folder`` into the runs folder ``runs``; returns the files copied. Before
    the first file is copied, the whole manifest is checked (``_read_manifest``: every path stays inside
    ``folder`` and, as a relative path without ``..``, inside ``runs``), and so is every file: its sha256
    against MANIFEST.json and its own content hash (a checkpoint's weights, a codebook file's arrays). A file
    already in ``runs`` with the same content (for a checkpoint: the same intact weights) is kept; one with
    other content is never overwritten. Each refusal is a CheckpointError naming the file, raised before the
    first copy; a copy whose bytes differ from the manifest's sha256 is removed, never renamed into place."""
    folder, runs = Path(folder), Path(runs)
    restore = f"nothing was installed; restore the committed weights with `git checkout -- {folder}`"
    todo = []
    for rel, digest in sorted(_read_manifest(folder).items()):
        src, dst = folder / rel, runs / rel
        if not src.is_file() or sha256(src) != digest:
            raise CheckpointError(f"{src} is missing or differs from MANIFEST.json (sha256); {restore}")
        _verify(
            src,
            "It matches MANIFEST.json, so the committed weights themselves are broken: export them again "
            "(`python -m llc_lib weights --export`); nothing was installed",
        )
        if dst.exists() or dst.is_symlink():
            if dst.is_file() and sha256(dst) == digest:
                continue
            if src.suffix == ".pt" and dst.is_file() and _same_weights(src, dst):
                continue
            raise CheckpointError(
                f"{dst} exists with other content than the committed {src}; move it away to "
                f"use the committed weights (nothing was installed)"
            )
        todo.append((src, dst, digest))
    copied, now = [], time.time()
    for src, dst, digest in todo:
        dst.parent.mkdir(parents=True, exist_ok=True)
        tmp = tmp_path(dst)
        try:
            shutil.copyfile(src, tmp)
            if sha256(tmp) != digest:  # changed between the check and the copy
                raise CheckpointError(f"{src} changed while it was installed; run the command again")
            tmp.replace(dst)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
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
    """Both checkpoints hold the same finished weights, each intact (its weights hash to the ``weights_sha256``
    stored with them); a trained checkpoint still carries its optimiser."""
    try:
        x, y = read_checkpoint(a), read_checkpoint(b)
        verify_weights(x, a)
        verify_weights(y, b)
    except CheckpointError:
        return False
    return x.get("weights_sha256") == y.get("weights_sha256") and x.get("key") == y.get("key")
